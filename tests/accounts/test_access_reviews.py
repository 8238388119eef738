"""Access-review campaigns: snapshot, reviewers, decisions, escalation, closing, the periodic job
(R-OPS-8 quarterly reviews, R-WORK-3; decision 0128)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db.models import F

from safeguard.accounts import review_selectors, reviews, selectors, services
from safeguard.accounts.contracts import LastAdministrator
from safeguard.accounts.models import ApiToken, Notification, RoleAssignment
from safeguard.accounts.review_contracts import (
    CampaignExists,
    CampaignNotOpen,
    ItemAlreadyDecided,
    NotYourItem,
    ReviewError,
    ReviewItemNotFound,
    SelfReview,
)
from safeguard.accounts.review_models import AccessReviewCampaign, AccessReviewItem
from safeguard.audit.contracts import Actor
from safeguard.audit.models import Event
from tests.factories import SYSTEM, make_user

pytestmark = pytest.mark.django_db

START = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)  # in 2026-Q4


def _actor(user) -> Actor:
    return Actor(kind="user", id=str(user.id), label=user.email)


def _actions(prefix: str) -> list[str]:
    return list(Event.objects.filter(action__startswith=prefix).order_by("seq")
                .values_list("action", flat=True))


@pytest.fixture
def staff():
    """Two reviewers (administrator, compliance manager), an auditor with a token, a service
    account with a token."""
    alice = make_user(email="alice@example.test", roles=("administrator",))
    bob = make_user(email="bob@example.test", roles=("compliance_manager",))
    carol = make_user(email="carol@example.test", roles=("auditor",))
    gateway = make_user(email="gateway@example.test", is_service_account=True, mfa=False,
                        password="")
    services.role_grant(actor=SYSTEM, user_id=gateway.id, role_slug="agent")
    carol_token = services.token_issue(actor=SYSTEM, user_id=carol.id, name="reports",
                                       scopes=["accounts.view_users"], expires_in_days=30)
    gw_token = services.token_issue(actor=SYSTEM, user_id=gateway.id, name="ingest",
                                    scopes=sorted(selectors.user_permissions(
                                        user_id=gateway.id))[:1], expires_in_days=30)
    # a revoked token is not a grant: it gets no item
    old = services.token_issue(actor=SYSTEM, user_id=carol.id, name="old",
                               scopes=["accounts.view_users"], expires_in_days=30)
    services.token_revoke(actor=SYSTEM, token_id=old.token.id)
    return {"alice": alice, "bob": bob, "carol": carol, "gateway": gateway,
            "carol_token": carol_token, "gw_token": gw_token}


def _start(now=START):
    with time_machine.travel(now, tick=False):
        return reviews.campaign_start(actor=SYSTEM)


def _item(key: str) -> AccessReviewItem:
    return AccessReviewItem.objects.get(grant_key=key)


def test_a_campaign_snapshots_every_grant_of_every_active_user(staff):
    # given a disabled user with a role (not reviewed: not active)
    leaver = make_user(email="leaver@example.test", roles=("agent",))
    services.user_disable(actor=SYSTEM, user_id=leaver.id, reason="left")
    ApiToken.objects.filter(id=staff["carol_token"].token.id).update(
        last_used_at=START - timedelta(days=2))
    # when the Q4 campaign starts
    campaign = _start()
    # then one item per role assignment and per live token, nothing for the leaver
    a, b, c, g = (staff[k] for k in ("alice", "bob", "carol", "gateway"))
    keys = set(AccessReviewItem.objects.values_list("grant_key", flat=True))
    assert keys == {f"role:{a.id}:administrator", f"role:{b.id}:compliance_manager",
                    f"role:{c.id}:auditor", f"role:{g.id}:agent",
                    f"token:{staff['carol_token'].token.id}", f"token:{staff['gw_token'].token.id}"}
    assert (campaign.label, campaign.total, campaign.decided, campaign.status) == (
        "2026-Q4", 6, 0, "open")
    assert campaign.due_at == START + timedelta(days=21)
    assert campaign.escalate_at == START + timedelta(days=24)
    # the snapshot holds the grant's permissions, the user's effective ones and activity
    role = _item(f"role:{c.id}:auditor")
    assert role.grant_permissions == sorted(selectors.role_permissions(
        RoleAssignment.objects.get(user=c).role))
    assert role.effective_permissions == sorted(selectors.user_permissions(user_id=c.id))
    token = _item(f"token:{staff['carol_token'].token.id}")
    assert token.grant_permissions == ["accounts.view_users"]
    assert token.grant_label == f"API token: reports ({staff['carol_token'].token.prefix})"
    assert token.token_last_used_at == START - timedelta(days=2)
    assert token.last_activity_at == START - timedelta(days=2)
    assert token.snapshot_at == START
    # reviewers: never the user; the least loaded (ties: lowest id)
    assert _item(f"role:{a.id}:administrator").reviewer_id == b.id
    assert _item(f"role:{b.id}:compliance_manager").reviewer_id == a.id
    assert role.reviewer_id == a.id
    assert _item(f"role:{g.id}:agent").reviewer_id == b.id
    assert not AccessReviewItem.objects.filter(reviewer_id=F("user_id")).exists()
    # each reviewer is told once; the start and the opening are audited
    assert set(Notification.objects.filter(kind="assignment").values_list("user_id", flat=True)
               ) == {a.id, b.id}
    assert _actions("access_review.") == ["access_review.started", "access_review.opened"]


def test_a_second_start_of_the_same_period_is_refused(staff):
    _start()
    with pytest.raises(CampaignExists):
        _start(START + timedelta(days=1))
    assert AccessReviewCampaign.objects.count() == 1
    assert AccessReviewItem.objects.count() == 6


def test_keep_and_revoke_apply_and_are_audited(staff):
    _start()
    a, c = staff["alice"], staff["carol"]
    token_id = staff["carol_token"].token.id
    # when alice keeps carol's role and revokes carol's token
    kept = reviews.item_decide(actor=_actor(a), item_id=_item(f"role:{c.id}:auditor").id,
                               decision="keep", comment="")
    revoked = reviews.item_decide(actor=_actor(a), item_id=_item(f"token:{token_id}").id,
                                  decision="revoke", comment="unused since the summer")
    # then the token is revoked at once, the role stays
    assert (kept.decision, revoked.decision) == ("keep", "revoke")
    assert revoked.comment == "unused since the summer"
    assert revoked.decided_by_email == a.email
    assert ApiToken.objects.get(id=token_id).revoked_at is not None
    assert selectors.user_role_slugs(user_id=c.id) == ("auditor",)
    events = Event.objects.filter(action="access_review.decided").order_by("seq")
    assert [e.data["decision"] for e in events] == ["keep", "revoke"]
    assert events.last().data["applied"] == "token revoked"
    assert "api_token.revoked" in _actions("api_token.")


def test_revoking_a_role_removes_its_permissions(staff):
    _start()
    b, g = staff["bob"], staff["gateway"]
    reviews.item_decide(actor=_actor(b), item_id=_item(f"role:{g.id}:agent").id,
                        decision="revoke", comment="integration retired")
    assert selectors.user_role_slugs(user_id=g.id) == ()
    assert selectors.user_permissions(user_id=g.id) == frozenset()
    assert Event.objects.filter(action="role.revoked", subject_id=str(g.id)).count() == 1


def test_self_review_is_refused_and_changes_nothing(staff):
    # given bob's item is somehow assigned to bob himself
    _start()
    b = staff["bob"]
    item = _item(f"role:{b.id}:compliance_manager")
    AccessReviewItem.objects.filter(id=item.id).update(reviewer_id=b.id)
    with pytest.raises(SelfReview):
        reviews.item_decide(actor=_actor(b), item_id=item.id, decision="keep", comment="")
    item.refresh_from_db()
    assert item.decision == "pending"
    denied = Event.objects.get(action="access_review.decision_denied")
    assert (denied.outcome, denied.data["why"]) == ("denied", "self-review")


def test_an_item_of_another_reviewer_is_refused(staff):
    _start()
    a, g = staff["alice"], staff["gateway"]
    item = _item(f"role:{g.id}:agent")  # bob's
    with pytest.raises(NotYourItem):
        reviews.item_decide(actor=_actor(a), item_id=item.id, decision="revoke", comment="x")
    assert selectors.user_role_slugs(user_id=g.id) == ("agent",)
    item.refresh_from_db()
    assert item.decision == "pending"


@pytest.mark.parametrize(("decision", "comment", "error"), [
    ("revoke", "", ReviewError),  # a revocation needs a comment
    ("revoke", "   ", ReviewError),
    ("maybe", "", ReviewError),
    ("keep", "x" * 501, ReviewError),
])
def test_bad_decisions_change_nothing(staff, decision, comment, error):
    _start()
    a, c = staff["alice"], staff["carol"]
    item = _item(f"role:{c.id}:auditor")
    with pytest.raises(error):
        reviews.item_decide(actor=_actor(a), item_id=item.id, decision=decision,
                            comment=comment)
    item.refresh_from_db()
    assert (item.decision, item.comment, item.decided_at) == ("pending", "", None)
    assert selectors.user_role_slugs(user_id=c.id) == ("auditor",)
    assert not Event.objects.filter(action="access_review.decided").exists()


def test_unknown_item_and_double_decision_change_nothing(staff):
    _start()
    a, c = staff["alice"], staff["carol"]
    with pytest.raises(ReviewItemNotFound):
        reviews.item_decide(actor=_actor(a), item_id=999_999, decision="keep", comment="")
    item = _item(f"role:{c.id}:auditor")
    reviews.item_decide(actor=_actor(a), item_id=item.id, decision="keep", comment="needed")
    with pytest.raises(ItemAlreadyDecided):
        reviews.item_decide(actor=_actor(a), item_id=item.id, decision="revoke",
                            comment="changed my mind")
    item.refresh_from_db()
    assert (item.decision, item.comment) == ("keep", "needed")
    assert selectors.user_role_slugs(user_id=c.id) == ("auditor",)
    assert Event.objects.filter(action="access_review.decided").count() == 1


def test_a_card_number_in_a_comment_is_not_stored(staff):
    _start()
    a, c = staff["alice"], staff["carol"]
    item = _item(f"role:{c.id}:auditor")
    reviews.item_decide(actor=_actor(a), item_id=item.id, decision="keep",
                        comment="asked about 4111 1111 1111 1111 once")
    item.refresh_from_db()
    assert "4111 1111 1111 1111" not in item.comment
    assert "4111111111111111" not in item.comment


def test_revoking_the_last_administrator_is_refused_and_changes_nothing(staff):
    _start()
    a, b = staff["alice"], staff["bob"]
    item = _item(f"role:{a.id}:administrator")
    with pytest.raises(LastAdministrator):
        reviews.item_decide(actor=_actor(b), item_id=item.id, decision="revoke",
                            comment="no longer admin")
    item.refresh_from_db()
    assert item.decision == "pending"
    assert selectors.user_role_slugs(user_id=a.id) == ("administrator",)


def test_unreviewed_items_escalate_once_after_the_due_date(staff):
    _start()
    a, b, c = staff["alice"], staff["bob"], staff["carol"]
    reviews.item_decide(actor=_actor(a), item_id=_item(f"role:{c.id}:auditor").id,
                        decision="keep", comment="")
    # before the escalation time nothing escalates, but items are overdue after the due date
    with time_machine.travel(START + timedelta(days=22), tick=False):
        assert reviews.escalate_overdue() == 0
        view = review_selectors.campaign_list()[0]
        assert (view.pending, view.overdue, view.escalated) == (5, 5, 0)
    with time_machine.travel(START + timedelta(days=24, minutes=1), tick=False):
        assert reviews.escalate_overdue() == 5
        assert reviews.escalate_overdue() == 0  # idempotent
        view = review_selectors.campaign_list()[0]
    assert (view.overdue, view.escalated) == (5, 5)
    # carol's token (alice reviews it) goes to bob, the other campaign owner
    token_item = _item(f"token:{staff['carol_token'].token.id}")
    notes = Notification.objects.filter(kind="sla_warning", user=b)
    assert notes.filter(dedupe_key=f"access-review-item:{token_item.id}:escalated").count() == 1
    assert Event.objects.filter(action="access_review.escalated").count() == 5
    # and bob, the escalation reviewer, may now decide it
    assert token_item.id in [i.id for i in review_selectors.queue_for(person_id=b.id)]
    reviews.item_decide(actor=_actor(b), item_id=token_item.id, decision="keep", comment="")


def test_the_last_decision_closes_the_campaign_with_a_signed_report(staff):
    _start()
    a, b = staff["alice"], staff["bob"]
    for item in AccessReviewItem.objects.order_by("id"):
        reviewer = a if item.reviewer_id == a.id else b
        reviews.item_decide(actor=_actor(reviewer), item_id=item.id, decision="keep",
                            comment="")
    campaign = AccessReviewCampaign.objects.get()
    assert (campaign.status, campaign.close_reason, campaign.closed_by) == (
        "closed", "complete", "system:access-reviews")
    closed = Event.objects.get(action="access_review.closed")
    assert (closed.data["items"], closed.data["kept"], closed.data["undecided"]) == (6, 6, 0)
    # a closed campaign takes no more decisions
    with pytest.raises(CampaignNotOpen):
        reviews.campaign_close(actor=SYSTEM, campaign_id=campaign.id)


def test_the_periodic_job_is_idempotent_and_resumes_after_a_kill(staff, monkeypatch):
    # given a run killed after the second user was written
    real = reviews._snapshot_user
    calls = {"n": 0}

    def dies_on_third(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("worker killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(reviews, "_snapshot_user", dies_on_third)
    with time_machine.travel(START, tick=False), pytest.raises(KeyboardInterrupt):
        reviews.run_schedule()
    assert AccessReviewCampaign.objects.get().status == "snapshotting"
    partial = AccessReviewItem.objects.count()
    assert partial == 2  # alice's and bob's roles
    monkeypatch.setattr(reviews, "_snapshot_user", real)
    # when the job runs again, twice
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        first = reviews.run_schedule()
        second = reviews.run_schedule()
    # then the campaign is complete, every item written once, nothing notified twice
    assert (first["started"], second["started"]) == (1, 0)
    assert AccessReviewCampaign.objects.count() == 1
    assert AccessReviewCampaign.objects.get().status == "open"
    keys = list(AccessReviewItem.objects.values_list("grant_key", flat=True))
    assert len(keys) == len(set(keys)) == 6
    assert Notification.objects.filter(kind="assignment").count() == 2
    assert _actions("access_review.") == ["access_review.started", "access_review.opened"]


def test_autostart_off_starts_nothing(staff, settings):
    settings.SAFEGUARD_ACCESS_REVIEW_AUTOSTART = False
    with time_machine.travel(START, tick=False):
        assert reviews.run_schedule() == {"started": 0, "escalated": 0, "closed": 0}
    assert not AccessReviewCampaign.objects.exists()


def test_periods_follow_the_setting(settings):
    assert review_selectors.period_of(date(2026, 11, 30)).start.isoformat() == "2026-10-01"
    assert review_selectors.period_of(date(2026, 12, 31)).end.isoformat() == "2027-01-01"
    settings.SAFEGUARD_ACCESS_REVIEW_PERIOD_MONTHS = 6
    half = review_selectors.period_of(date(2026, 8, 1))
    assert (half.start.isoformat(), half.end.isoformat(), half.label) == (
        "2026-07-01", "2027-01-01", "2026-07 to 2026-12")


@pytest.mark.parametrize(("name", "value", "check_id"), [
    ("SAFEGUARD_ACCESS_REVIEW_PERIOD_MONTHS", 5, "safeguard.E325"),
    ("SAFEGUARD_ACCESS_REVIEW_PERIOD_MONTHS", 0, "safeguard.E325"),
    ("SAFEGUARD_ACCESS_REVIEW_DUE_DAYS", 0, "safeguard.E326"),
    ("SAFEGUARD_ACCESS_REVIEW_DUE_DAYS", 85, "safeguard.E326"),
    ("SAFEGUARD_ACCESS_REVIEW_ESCALATION_DAYS", -1, "safeguard.E327"),
    ("SAFEGUARD_ACCESS_REVIEW_AUTOSTART", "yes", "safeguard.E328"),
])
def test_bad_schedule_settings_fail_the_system_check(settings, name, value, check_id):
    from safeguard.accounts.review_checks import schedule_is_sound

    assert schedule_is_sound() == []
    setattr(settings, name, value)
    assert [e.id for e in schedule_is_sound()] == [check_id]

"""Security probe of access-review campaigns (R-OPS-8 quarterly reviews, R-WORK-3; decisions
0128-0130, 0133): what a reviewer, a non-reviewer or a racing request tries. Each refused attempt
changes nothing and the grant under review stays as it was."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from safeguard.accounts import review_selectors, reviews, selectors, services
from safeguard.accounts.models import Notification
from safeguard.accounts.review_contracts import ItemAlreadyDecided, NotYourItem, SelfReview
from safeguard.accounts.review_models import AccessReviewCampaign, AccessReviewItem
from safeguard.accounts.review_permissions import REVIEW_ACCESS
from safeguard.audit.contracts import Actor
from safeguard.audit.models import Event
from tests.factories import SYSTEM, make_user, signed_in_client

pytestmark = pytest.mark.django_db

START = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
ESCALATION = START + timedelta(days=24, minutes=1)  # due 21 days + 3 escalation days, defaults


def _actor(user) -> Actor:
    return Actor(kind="user", id=str(user.id), label=user.email)


def _item(key: str) -> AccessReviewItem:
    return AccessReviewItem.objects.get(grant_key=key)


@pytest.fixture
def staff():
    """Alice and erin administer; bob and dave are compliance managers (reviewers and campaign
    owners); carol is an auditor whose role is under review."""
    people = {name: make_user(email=f"{name}@example.test", roles=(role,)) for name, role in (
        ("alice", "administrator"), ("erin", "administrator"), ("bob", "compliance_manager"),
        ("dave", "compliance_manager"), ("carol", "auditor"))}
    with time_machine.travel(START, tick=False):
        reviews.campaign_start(actor=SYSTEM)
    return people


def _assign(item: AccessReviewItem, reviewer, escalation) -> AccessReviewItem:
    AccessReviewItem.objects.filter(id=item.id).update(reviewer=reviewer,
                                                       escalation_reviewer=escalation)
    item.refresh_from_db()
    return item


def _decide_url(item: AccessReviewItem) -> str:
    return f"/staff/reviews/items/{item.id}/decide/"


# --- IDOR, self-review, CSRF -----------------------------------------------------------------

def test_an_item_of_another_reviewer_is_refused_on_the_page_by_id(staff):
    carol = staff["carol"]
    item = _assign(_item(f"role:{carol.id}:auditor"), staff["bob"], staff["dave"])
    response = signed_in_client(staff["alice"]).post(
        _decide_url(item), {"decision": "revoke", "comment": "mine now"})
    assert response.status_code == 403
    item.refresh_from_db()
    assert item.decision == "pending"
    assert selectors.user_role_slugs(user_id=carol.id) == ("auditor",)
    assert Event.objects.filter(action="access_review.decision_denied",
                                data__why="not assigned").count() == 1


def test_self_review_is_refused_even_when_assigned_to_oneself(staff):
    bob = staff["bob"]
    item = _assign(_item(f"role:{bob.id}:compliance_manager"), bob, bob)
    with pytest.raises(SelfReview):
        reviews.item_decide(actor=_actor(bob), item_id=item.id, decision="keep", comment="")
    AccessReviewItem.objects.filter(id=item.id).update(escalated_at=START)
    assert item.id not in [i.id for i in review_selectors.queue_for(person_id=bob.id)]
    with pytest.raises(SelfReview):
        reviews.item_decide(actor=_actor(bob), item_id=item.id, decision="keep", comment="")


def test_a_decision_without_the_csrf_token_is_refused(staff):
    carol = staff["carol"]
    item = _assign(_item(f"role:{carol.id}:auditor"), staff["bob"], staff["dave"])
    client = signed_in_client(staff["bob"])
    client.handler.enforce_csrf_checks = True
    response = client.post(_decide_url(item), {"decision": "revoke", "comment": "x"})
    assert response.status_code == 403
    item.refresh_from_db()
    assert item.decision == "pending"


def test_closing_needs_the_owner_permission_not_only_review_access(staff):
    services.role_create(actor=SYSTEM, slug="reviewer-only", name="Reviewer only",
                         permissions=[REVIEW_ACCESS])
    reviewer = make_user(email="rita@example.test", roles=("reviewer-only",))
    campaign = AccessReviewCampaign.objects.get()
    response = signed_in_client(reviewer).post(f"/staff/reviews/{campaign.id}/close/")
    assert response.status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == "open"


# --- a reviewer who can no longer review ------------------------------------------------------

def test_a_reviewer_stripped_of_review_access_decides_nothing_page_or_service(staff):
    carol, bob = staff["carol"], staff["bob"]
    item = _assign(_item(f"role:{carol.id}:auditor"), bob, staff["dave"])
    client = signed_in_client(bob)
    services.role_revoke(actor=SYSTEM, user_id=bob.id, role_slug="compliance_manager")
    assert client.post(_decide_url(item), {"decision": "keep"}).status_code == 403
    # the service refused it too (before the fix the assigned reviewer was enough)
    with pytest.raises(NotYourItem):
        reviews.item_decide(actor=_actor(bob), item_id=item.id, decision="revoke",
                            comment="on my way out")
    item.refresh_from_db()
    assert item.decision == "pending"
    assert selectors.user_role_slugs(user_id=carol.id) == ("auditor",)


def test_items_of_disabled_reviewers_reach_the_owners_at_escalation(staff):
    # given carol's grant assigned to bob, escalating to dave, and both leave mid-campaign
    carol, bob, dave, alice = (staff[k] for k in ("carol", "bob", "dave", "alice"))
    item = _assign(_item(f"role:{carol.id}:auditor"), bob, dave)
    for leaver in (bob, dave):
        services.user_disable(actor=SYSTEM, user_id=leaver.id, reason="left")
    # before escalation another owner may not take it
    with pytest.raises(NotYourItem):
        reviews.item_decide(actor=_actor(alice), item_id=item.id, decision="keep", comment="")
    # when the periodic job runs past the escalation time
    with time_machine.travel(ESCALATION, tick=False):
        reviews.run_schedule()
    # then the owners who can act hear of it (not the disabled dave), and may decide it
    key = f"access-review-item:{item.id}:escalated"
    assert set(Notification.objects.filter(dedupe_key=key).values_list("user_id", flat=True)) \
        == {alice.id, staff["erin"].id}
    assert item.id in [i.id for i in review_selectors.queue_for(person_id=alice.id)]
    assert item.id not in [i.id for i in review_selectors.queue_for(person_id=carol.id)]
    reviews.item_decide(actor=_actor(alice), item_id=item.id, decision="revoke",
                        comment="reviewers left")
    assert selectors.user_role_slugs(user_id=carol.id) == ()


def test_an_escalated_item_whose_escalation_reviewer_can_act_stays_theirs(staff):
    carol, bob, dave, alice = (staff[k] for k in ("carol", "bob", "dave", "alice"))
    item = _assign(_item(f"role:{carol.id}:auditor"), bob, dave)
    services.user_disable(actor=SYSTEM, user_id=bob.id, reason="left")
    with time_machine.travel(ESCALATION, tick=False):
        reviews.escalate_overdue()
    key = f"access-review-item:{item.id}:escalated"
    assert list(Notification.objects.filter(dedupe_key=key).values_list("user_id", flat=True)) \
        == [dave.id]
    assert item.id not in [i.id for i in review_selectors.queue_for(person_id=alice.id)]
    with pytest.raises(NotYourItem):
        reviews.item_decide(actor=_actor(alice), item_id=item.id, decision="keep", comment="")


# --- replay and race --------------------------------------------------------------------------

def test_a_replayed_revocation_revokes_once(staff):
    carol, bob = staff["carol"], staff["bob"]
    item = _assign(_item(f"role:{carol.id}:auditor"), bob, staff["dave"])
    client = signed_in_client(bob)
    form = {"decision": "revoke", "comment": "moved teams"}
    assert client.post(_decide_url(item), form).status_code == 302
    assert client.post(_decide_url(item), form).status_code == 409
    assert Event.objects.filter(action="role.revoked", subject_id=str(carol.id)).count() == 1
    assert Event.objects.filter(action="access_review.decided").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_decisions_at_once_one_wins():
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serialises whole-database writes")
    services.roles_ensure_builtin()
    bob = make_user(email="bob@example.test", roles=("compliance_manager",))
    dave = make_user(email="dave@example.test", roles=("compliance_manager",))
    make_user(email="alice@example.test", roles=("administrator",))
    carol = make_user(email="carol@example.test", roles=("auditor",))
    with time_machine.travel(START, tick=False):
        reviews.campaign_start(actor=SYSTEM)
    item = _assign(_item(f"role:{carol.id}:auditor"), bob, dave)
    AccessReviewItem.objects.filter(id=item.id).update(escalated_at=START)
    barrier, outcomes = threading.Barrier(2), []

    def decide(who, decision):
        try:
            barrier.wait()
            reviews.item_decide(actor=_actor(who), item_id=item.id, decision=decision,
                                comment="race")
            outcomes.append("ok")
        except ItemAlreadyDecided:
            outcomes.append("already")
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(bob, "revoke")),
               threading.Thread(target=decide, args=(dave, "keep"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["already", "ok"]
    assert Event.objects.filter(action="access_review.decided").count() == 1
    assert Event.objects.filter(action="role.revoked").count() <= 1


# --- what a comment may carry -----------------------------------------------------------------

def test_a_script_or_a_card_number_in_a_comment_is_escaped_or_never_stored(staff):
    carol, bob = staff["carol"], staff["bob"]
    item = _assign(_item(f"role:{carol.id}:auditor"), bob, staff["dave"])
    comment = '<script>alert(1)</script> card 4111 1111 1111 1111'
    assert signed_in_client(bob).post(_decide_url(item), {
        "decision": "keep", "comment": comment}).status_code == 302
    item.refresh_from_db()
    assert "4111" not in item.comment
    assert "<script>" in item.comment
    campaign = AccessReviewCampaign.objects.get()
    for page in (f"/staff/reviews/{campaign.id}/", "/staff/reviews/queue/"):
        html = signed_in_client(bob).get(page).content.decode()
        assert "<script>alert(1)</script>" not in html
        assert "4111" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in signed_in_client(bob).get(
        f"/staff/reviews/{campaign.id}/").content.decode()
    decided = Event.objects.get(action="access_review.decided")
    assert "4111" not in str(decided.data)


def test_a_stale_second_factor_decides_nothing_even_with_a_valid_form(staff):
    carol, bob = staff["carol"], staff["bob"]
    item = _assign(_item(f"role:{carol.id}:auditor"), bob, staff["dave"])
    stale = signed_in_client(bob, mfa_at=START.timestamp())
    response = stale.post(_decide_url(item), {"decision": "revoke", "comment": "x"})
    assert response.status_code == 302
    assert "/reauthenticate/" in response["Location"]
    item.refresh_from_db()
    assert item.decision == "pending"


# --- refusals inside the decision are recorded too ----------------------------------------------

def test_revoking_the_last_administrator_on_the_page_is_409_recorded_and_changes_nothing(staff):
    alice, erin, bob = staff["alice"], staff["erin"], staff["bob"]
    services.user_disable(actor=SYSTEM, user_id=erin.id, reason="left")  # alice is the last
    item = _assign(_item(f"role:{alice.id}:administrator"), bob, staff["dave"])
    response = signed_in_client(bob).post(_decide_url(item), {"decision": "revoke",
                                                              "comment": "take it away"})
    assert response.status_code == 409
    item.refresh_from_db()
    assert item.decision == "pending"
    assert selectors.user_role_slugs(user_id=alice.id) == ("administrator",)
    # before: no trace of the attempt; now recorded after the rollback
    denied = Event.objects.get(action="access_review.decision_denied")
    assert denied.data == {"item": item.id, "why": "last-administrator"}
    assert not Event.objects.filter(action__in=("access_review.decided", "role.revoked")).exists()


def test_a_replayed_decision_is_recorded_as_refused(staff):
    carol, bob = staff["carol"], staff["bob"]
    item = _assign(_item(f"role:{carol.id}:auditor"), bob, staff["dave"])
    reviews.item_decide(actor=_actor(bob), item_id=item.id, decision="keep", comment="")
    with pytest.raises(ItemAlreadyDecided):
        reviews.item_decide(actor=_actor(bob), item_id=item.id, decision="revoke",
                            comment="again")
    assert Event.objects.get(action="access_review.decision_denied").data["why"] == (
        "access-review-item-decided")
    assert selectors.user_role_slugs(user_id=carol.id) == ("auditor",)

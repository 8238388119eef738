"""Who reviews a grant (the user's manager first, else a role owner; never the user) and
handing an open item to another eligible reviewer (issue 13 section 2; R-OPS-8, R-WORK-3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import override_settings

from safeguard.accounts import review_checks, reviews, services
from safeguard.accounts.models import Notification, User
from safeguard.accounts.review_contracts import (
    CampaignNotOpen,
    NotEligibleReviewer,
    NotYourItem,
    ReviewError,
    SelfReview,
)
from safeguard.accounts.review_models import AccessReviewItem
from safeguard.audit.contracts import Actor
from safeguard.audit.models import Event
from tests.factories import SYSTEM, make_user, signed_in_client

pytestmark = pytest.mark.django_db

START = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


def _actor(user: User) -> Actor:
    return Actor(kind="user", id=str(user.id), label=user.email)


@pytest.fixture
def org():
    """An owner (administrator), two plain reviewers (review_access only), a manager without
    review_access, and three agents."""
    services.role_create(actor=SYSTEM, slug="reviewer", name="Reviewer",
                         permissions=["accounts.review_access"])
    owner = make_user(email="owner@example.test", roles=("administrator",))
    rita = make_user(email="rita@example.test", roles=("reviewer",))
    ron = make_user(email="ron@example.test", roles=("reviewer",))
    plain = make_user(email="plain-manager@example.test", roles=("agent",))
    a1 = make_user(email="a1@example.test", roles=("agent",))
    a2 = make_user(email="a2@example.test", roles=("agent",))
    a3 = make_user(email="a3@example.test", roles=("agent",))
    return {"owner": owner, "rita": rita, "ron": ron, "plain": plain, "a1": a1, "a2": a2,
            "a3": a3}


def _start():
    with time_machine.travel(START, tick=False):
        return reviews.campaign_start(actor=SYSTEM)


def _item(user: User) -> AccessReviewItem:
    return AccessReviewItem.objects.get(grant_key=f"role:{user.id}:agent")


def test_the_manager_reviews_when_eligible_else_a_role_owner_never_the_user(org):
    # a1 under rita (a reviewer): rita reviews a1
    services.user_set_manager(actor=SYSTEM, user_id=org["a1"].id, manager_id=org["rita"].id)
    # a2 under a manager who lacks review_access: the role-owner rule
    services.user_set_manager(actor=SYSTEM, user_id=org["a2"].id, manager_id=org["plain"].id)
    # a3 under ron, who is then disabled: the role-owner rule
    services.user_set_manager(actor=SYSTEM, user_id=org["a3"].id, manager_id=org["ron"].id)
    services.user_disable(actor=SYSTEM, user_id=org["ron"].id, reason="left")
    # rita under herself, forced past the service: she never reviews her own grants
    User.objects.filter(id=org["rita"].id).update(manager_id=org["rita"].id)
    campaign = _start()
    one = _item(org["a1"])
    assert (one.reviewer_id, one.assigned_as) == (org["rita"].id, "manager")
    assert one.escalation_reviewer_id == org["owner"].id
    two = _item(org["a2"])
    assert two.reviewer_id in (org["owner"].id, org["rita"].id)
    assert two.assigned_as == "role_owner"
    three = _item(org["a3"])
    assert three.reviewer_id != org["ron"].id
    assert three.assigned_as == "role_owner"
    rita_items = AccessReviewItem.objects.filter(user=org["rita"])
    assert rita_items.exists()
    assert all(i.reviewer_id != org["rita"].id for i in rita_items)
    assert all(i.assigned_as == "role_owner" for i in rita_items)
    opened = Event.objects.get(action="access_review.opened")
    assert opened.data["by_manager"] == 1
    assert campaign.unassigned == 0


@override_settings(SAFEGUARD_ACCESS_REVIEW_REVIEWER_ORDER="role_owner")
def test_the_role_owner_order_ignores_managers(org):
    services.user_set_manager(actor=SYSTEM, user_id=org["a1"].id, manager_id=org["rita"].id)
    _start()
    assert AccessReviewItem.objects.filter(assigned_as="manager").count() == 0
    assert _item(org["a1"]).assigned_as == "role_owner"


def test_a_reviewer_order_that_is_not_known_fails_the_system_check():
    with override_settings(SAFEGUARD_ACCESS_REVIEW_REVIEWER_ORDER="manager_only"):
        ids = [e.id for e in review_checks.schedule_is_sound()]
    assert ids == ["safeguard.E329"]
    assert review_checks.schedule_is_sound() == []


def test_the_reviewer_hands_an_item_over_with_a_reason_audited_and_notified(org):
    services.user_set_manager(actor=SYSTEM, user_id=org["a1"].id, manager_id=org["rita"].id)
    _start()
    item = _item(org["a1"])
    # when rita hands it to ron
    view = reviews.item_reassign(actor=_actor(org["rita"]), item_id=item.id,
                                 to_user_id=org["ron"].id, reason="  on leave  next month ")
    # then ron reviews it, as a reassignment
    assert (view.reviewer_id, view.reviewer_email, view.assigned_as) == (
        org["ron"].id, "ron@example.test", "reassigned")
    event = Event.objects.get(action="access_review.reassigned")
    assert event.data == {"item": item.id, "grant": item.grant_key, "from": org["rita"].id,
                          "to": org["ron"].id, "reason": "on leave next month",
                          "escalation_reviewer": org["owner"].id}
    assert event.actor_id == str(org["rita"].id)
    note = Notification.objects.get(user=org["ron"], kind="assignment",
                                    title__contains="handed to you")
    # screened like every notification: the address is masked
    assert note.title == "Access review: Role: Agent of [EMAIL] handed to you"
    assert note.url == "/staff/reviews/queue/"
    # and ron now decides it; rita no longer may
    with pytest.raises(NotYourItem):
        reviews.item_decide(actor=_actor(org["rita"]), item_id=item.id, decision="keep",
                            comment="")
    decided = reviews.item_decide(actor=_actor(org["ron"]), item_id=item.id, decision="keep",
                                  comment="")
    assert decided.decision == "keep"


def test_a_campaign_owner_may_reassign_and_the_escalation_reviewer_moves_aside(org):
    _start()
    item = _item(org["a1"])
    assert item.escalation_reviewer_id == org["owner"].id
    # when the owner hands the item to themselves (they were the escalation reviewer)
    reviews.item_reassign(actor=_actor(org["owner"]), item_id=item.id,
                          to_user_id=org["owner"].id, reason="taking it over")
    item.refresh_from_db()
    assert item.reviewer_id == org["owner"].id
    # then escalation goes to someone else, and still happens when it is overdue
    assert item.escalation_reviewer_id not in (None, org["owner"].id, org["a1"].id)
    later = item.campaign.escalate_at + timedelta(minutes=1)
    assert reviews.escalate_overdue(now=later) >= 1
    item.refresh_from_db()
    assert item.escalated_at == later
    escalated = Event.objects.filter(action="access_review.escalated",
                                     data__item=item.id).get()
    assert escalated.data["recipients"] == [item.escalation_reviewer_id]


def test_reassignment_refusals_change_nothing_and_are_recorded(org):
    services.user_set_manager(actor=SYSTEM, user_id=org["a1"].id, manager_id=org["rita"].id)
    _start()
    item = _item(org["a1"])

    def attempt(actor, to, reason="because", exc=ReviewError):
        with pytest.raises(exc):
            reviews.item_reassign(actor=_actor(actor), item_id=item.id, to_user_id=to.id,
                                  reason=reason)

    attempt(org["rita"], org["a1"], exc=SelfReview)          # to the person under review
    attempt(org["a1"], org["ron"], exc=SelfReview)           # by the person under review
    attempt(org["rita"], org["plain"], exc=NotEligibleReviewer)  # lacks review_access
    attempt(org["ron"], org["ron"], exc=NotYourItem)         # not ron's item, not an owner
    attempt(org["rita"], org["rita"], exc=NotEligibleReviewer)   # already hers
    attempt(org["rita"], org["ron"], reason="   ")           # no reason
    item.refresh_from_db()
    assert (item.reviewer_id, item.assigned_as) == (org["rita"].id, "manager")
    whys = [e.data["why"] for e in
            Event.objects.filter(action="access_review.reassign_denied").order_by("seq")]
    assert whys == ["self-review", "self-review", "not eligible", "not assigned",
                    "same reviewer"]
    assert not Event.objects.filter(action="access_review.reassigned").exists()
    # and a closed campaign refuses
    reviews.campaign_close(actor=SYSTEM, campaign_id=item.campaign_id)
    attempt(org["rita"], org["ron"], exc=CampaignNotOpen)
    item.refresh_from_db()
    assert item.reviewer_id == org["rita"].id


def test_the_queue_page_offers_and_performs_the_reassignment(org):
    services.user_set_manager(actor=SYSTEM, user_id=org["a1"].id, manager_id=org["rita"].id)
    _start()
    item = _item(org["a1"])
    client = signed_in_client(org["rita"])
    page = client.get("/staff/reviews/queue/").content.decode()
    assert f'action="/staff/reviews/items/{item.id}/reassign/"' in page
    assert f'<label for="to-{item.id}">New reviewer for a1@example.test' in page
    assert "as the user&#x27;s manager" in page or "as the user's manager" in page
    # a refused handover (to the person under review) is a 4xx with the reason
    response = client.post(f"/staff/reviews/items/{item.id}/reassign/",
                           {"to": str(org["a1"].id), "reason": "x"})
    assert response.status_code == 403
    assert "Nobody reviews their own access" in response.content.decode()
    response = client.post(f"/staff/reviews/items/{item.id}/reassign/",
                           {"to": str(org["ron"].id), "reason": "on leave"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.reviewer_id == org["ron"].id


def test_the_report_names_how_each_reviewer_got_the_item(org):
    from django.template.loader import render_to_string

    from safeguard.accounts import review_selectors as sel

    services.user_set_manager(actor=SYSTEM, user_id=org["a1"].id, manager_id=org["rita"].id)
    campaign = _start()
    a2 = _item(org["a2"])
    target = org["rita"] if a2.reviewer_id == org["ron"].id else org["ron"]
    reviews.item_reassign(actor=_actor(org["owner"]), item_id=a2.id, to_user_id=target.id,
                          reason="balance")
    items = [sel.item_view(i) for i in sel.items(campaign.id)]
    html = render_to_string("accounts/reviews/report_pdf.html",
                            {"campaign": campaign, "items": items, "generated_at": START})
    assert "rita@example.test (manager)" in html
    assert html.count("(reassigned)") == 1

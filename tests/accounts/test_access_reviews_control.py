"""The control "access reviews done this period" (provider ``control.access_reviews_done``;
R-OPS-8, decision 0130): it passes on a complete review and flips to fail when the live
condition breaks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from safeguard.accounts import review_selectors, reviews
from safeguard.accounts.review_models import AccessReviewItem
from safeguard.audit.contracts import Actor
from safeguard.governance import evaluators
from safeguard.web import providers
from tests.factories import SYSTEM, make_user

pytestmark = pytest.mark.django_db

Q4 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


def _actor(user) -> Actor:
    return Actor(kind="user", id=str(user.id), label=user.email)


@pytest.fixture
def pair():
    return (make_user(email="alice@example.test", roles=("administrator",)),
            make_user(email="bob@example.test", roles=("compliance_manager",)))


def _review_all(pair, at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        reviews.campaign_start(actor=SYSTEM)
        for item in AccessReviewItem.objects.filter(decision="pending"):
            who = pair[0] if item.reviewer_id == pair[0].id else pair[1]
            reviews.item_decide(actor=_actor(who), item_id=item.id, decision="keep",
                                comment="")


def _status(at: datetime) -> dict[str, str]:
    with time_machine.travel(at, tick=False):
        return review_selectors.control_access_reviews_done()


def test_the_provider_is_registered_for_the_governance_check():
    provider = providers.get("control.access_reviews_done")
    assert provider is review_selectors.control_access_reviews_done


def test_no_active_grant_is_not_applicable():
    assert _status(Q4)["status"] == "not_applicable"


def test_no_campaign_fails(pair):
    result = _status(Q4 + timedelta(days=30))
    assert result == {"status": "fail",
                      "evidence": "No access review was started for 2026-Q4 (due by "
                                  "2026-10-22)."}


def test_a_complete_review_passes_and_flips_to_fail_when_the_next_one_is_overdue(pair):
    # given the Q4 review closed complete
    _review_all(pair, Q4)
    assert _status(Q4 + timedelta(days=1)) == {
        "status": "pass",
        "evidence": "The 2026-Q4 access review closed on 2026-10-05 with every grant decided."}
    # in the next quarter's due window (no campaign yet) the previous review still counts
    early_q1 = datetime(2027, 1, 10, tzinfo=UTC)
    result = _status(early_q1)
    assert result["status"] == "pass"
    assert "previous access review (2026-Q4) closed complete" in result["evidence"]
    # when the Q1 due date passes with no review, it flips to fail
    assert _status(datetime(2027, 1, 23, tzinfo=UTC))["status"] == "fail"
    # and the governance check reports the same through the provider
    with time_machine.travel(datetime(2027, 1, 23, tzinfo=UTC), tick=False):
        check = evaluators.run("access_reviews")
    assert check.status == "fail"
    assert "control.access_reviews_done" in check.evidence


def test_an_open_campaign_past_due_fails_with_the_count(pair):
    with time_machine.travel(Q4, tick=False):
        reviews.campaign_start(actor=SYSTEM)
    assert _status(Q4 + timedelta(days=22)) == {
        "status": "fail",
        "evidence": "The 2026-Q4 access review is past its due date (2026-10-26) with 2 grants "
                    "undecided."}


def test_a_campaign_closed_with_undecided_items_fails(pair):
    with time_machine.travel(Q4, tick=False):
        campaign = reviews.campaign_start(actor=SYSTEM)
        reviews.campaign_close(actor=_actor(pair[0]), campaign_id=campaign.id)
    assert _status(Q4 + timedelta(days=1)) == {
        "status": "fail",
        "evidence": "The 2026-Q4 access review was closed with 2 grants undecided."}


def test_the_governance_check_passes_on_a_complete_review(pair):
    _review_all(pair, Q4)
    with time_machine.travel(Q4 + timedelta(days=2), tick=False):
        check = evaluators.run("access_reviews")
    assert check.status == "pass"

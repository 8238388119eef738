"""Legal holds by query (R-DATA-3): every case matching a queue, tag or creation-date range is
held — including cases that come to match after the hold was placed — by the sweep and by
erasure requests; released by a second person; a bad query changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from safeguard.audit.models import Event
from safeguard.cases.models import Case, Queue, Tag
from safeguard.privacy import requests as dsr
from safeguard.privacy import services
from safeguard.privacy.contracts import HoldError
from safeguard.privacy.models import LegalHold
from tests.factories import SYSTEM, make_user, signed_in_client
from tests.privacy.conftest import T0, closed_mail_case, make_agent, make_queue, principal_for

pytestmark = pytest.mark.django_db
LATER = T0 + timedelta(days=3 * 365)


@pytest.fixture
def world():
    make_queue("billing")
    make_queue("tech")
    billing = make_agent("billing")
    a = closed_mail_case(billing, email="ann@example.com")
    b = closed_mail_case(billing, email="bob@example.com", at=T0 + timedelta(days=40))
    c = closed_mail_case(billing, email="cy@example.com")
    Case.objects.filter(id=c.id).update(queue=Queue.objects.get(slug="tech"))
    dispute, _ = Tag.objects.get_or_create(name="dispute")
    Case.objects.get(id=c.id).tags.add(dispute)
    return {"a": a, "b": b, "c": c, "officers": (make_user(roles=("privacy_officer",)),
                                                 make_user(roles=("privacy_officer",)))}


def _billing_queue(case):
    return Case.objects.select_related("queue").get(id=case.id).queue.slug


def test_a_query_hold_covers_matching_cases_in_the_sweep_and_in_erasures(world):
    first, second = world["officers"]
    queue = _billing_queue(world["a"])
    day = T0.date()
    # when a hold covers the billing queue's cases created in the first week
    assert services.hold_query_matches(query={"queue": queue, "created_to":
                                              (day + timedelta(days=7)).isoformat()}) == 1
    hold = services.legal_hold_place(
        principal=principal_for(first), scope="query", reason="Regulator inquiry 2025-3",
        query={"queue": queue, "created_to": (day + timedelta(days=7)).isoformat()})
    assert hold.query_text == f"queue={queue}, created …..{day + timedelta(days=7)}"
    [event] = Event.objects.filter(action="legal_hold.placed")
    assert event.data["matches_now"] == 1
    # then the sweep skips exactly that case and anonymises the others
    with time_machine.travel(LATER, tick=False):
        run = services.sweep_run(actor=SYSTEM)
    assert run.held == 1
    assert run.counts == {"case:anonymise": 2}
    assert Case.objects.get(id=world["a"].id).subject != ""
    assert Case.objects.get(id=world["b"].id).subject == ""
    # and an erasure plan for that customer keeps it under the hold
    erase, kept = dsr.erasure_plan(customer_id=str(world["a"].customer_id),
                                   as_of=LATER.date())
    assert erase == []
    assert [(k.case_id, k.record_class) for k in kept] == [(str(world["a"].id), "legal_hold")]
    # when a second person releases it, the next sweep acts on the case
    with pytest.raises(HoldError, match="second person"):
        services.legal_hold_release(principal=principal_for(first), hold_id=hold.id)
    services.legal_hold_release(principal=principal_for(second), hold_id=hold.id)
    with time_machine.travel(LATER + timedelta(days=1), tick=False):
        again = services.sweep_run(actor=SYSTEM)
    assert (again.counts, again.held) == ({"case:anonymise": 1}, 0)


def test_a_case_that_comes_to_match_later_is_held_too(world):
    first, _ = world["officers"]
    services.legal_hold_place(principal=principal_for(first), scope="query",
                              reason="Chargeback disputes", query={"tag": "dispute"})
    # a case tagged after the hold was placed
    Case.objects.get(id=world["b"].id).tags.add(Tag.objects.get(name="dispute"))
    with time_machine.travel(LATER, tick=False):
        run = services.sweep_run(actor=SYSTEM)
    assert run.held == 2
    assert run.counts == {"case:anonymise": 1}
    assert Case.objects.get(id=world["a"].id).subject == ""


@pytest.mark.parametrize(("query", "message"), [
    ({}, "needs a queue, a tag or a date range"),
    ({"queue": "nowhere"}, "No queue 'nowhere'"),
    ({"tag": "nothing"}, "No tag 'nothing'"),
    ({"created_from": "2025-02-30"}, "YYYY-MM-DD"),
    ({"created_from": "2025-06-10", "created_to": "2025-06-01"}, "ends before it starts"),
    ({"customer": "x"}, "Unknown query field"),
])
def test_a_bad_query_is_refused_and_nothing_is_stored(world, query, message):
    with pytest.raises(HoldError, match=message):
        services.legal_hold_place(principal=principal_for(world["officers"][0]),
                                  scope="query", reason="x", query=query)
    assert LegalHold.objects.count() == 0
    assert not Event.objects.filter(action="legal_hold.placed").exists()


def test_the_same_query_twice_and_mixed_scopes_are_refused(world):
    p = principal_for(world["officers"][0])
    services.legal_hold_place(principal=p, scope="query", reason="x", query={"tag": "dispute"})
    with pytest.raises(HoldError, match="already under an active legal hold"):
        services.legal_hold_place(principal=p, scope="query", reason="y",
                                  query={"tag": "dispute"})
    with pytest.raises(HoldError, match="names no customer or case id"):
        services.legal_hold_place(principal=p, scope="query", reason="y",
                                  target_id=str(world["a"].id), query={"tag": "dispute"})
    with pytest.raises(HoldError, match="takes an id, not a query"):
        services.legal_hold_place(principal=p, scope="case", reason="y",
                                  target_id=str(world["a"].id), query={"tag": "dispute"})
    assert LegalHold.objects.count() == 1


def test_a_query_hold_through_the_page(world):
    client = signed_in_client(world["officers"][0])
    response = client.post("/privacy/holds/", {"scope": "query", "target_id": "",
                                               "tag": "dispute", "reason": "Chargebacks"})
    assert response.status_code == 302
    assert LegalHold.objects.get().query == {"tag": "dispute"}
    page = client.get("/privacy/holds/").content.decode()
    assert "tag=dispute" in page
    bad = client.post("/privacy/holds/", {"scope": "query", "reason": "x"})
    assert bad.status_code == 400
    assert "needs a queue, a tag or a date range" in bad.content.decode()
    assert LegalHold.objects.count() == 1

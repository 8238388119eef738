"""Denials on cases are audited (issue 9 §9, R-IR-5) and macros stay in their queues (issue 9
§12, R-WORK-4)."""

from __future__ import annotations

import pytest

from safeguard.audit.models import Event
from safeguard.cases import services
from safeguard.cases.contracts import CaseNotFound
from safeguard.cases.models import Case
from tests.cases.conftest import inbound, make_agent, make_queue, principal_for
from tests.factories import SYSTEM, signed_in_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    make_queue("billing")
    make_queue("fraud")
    billing = Case.objects.get(id=inbound("refund please", queue="billing").case_id)
    fraud = Case.objects.get(id=inbound("stolen card", email="vic@example.com",
                                        queue="fraud").case_id)
    return make_agent("billing"), billing, fraud


def _denials():
    return [(e.actor_id, e.subject_id, e.outcome, e.data["why"])
            for e in Event.objects.filter(action="case.access_denied").order_by("seq")]


# --- denials -------------------------------------------------------------------------------


def test_opening_an_out_of_scope_case_is_recorded_like_an_absent_one_is(world):
    agent, _, fraud = world
    client = signed_in_client(agent)
    page = client.get(f"/cases/{fraud.number}/")
    api = client.get(f"/api/v1/cases/{fraud.number}")
    absent = client.get("/cases/999999/")
    assert (page.status_code, api.status_code, absent.status_code) == (404, 404, 404)
    assert _denials() == [
        (str(agent.id), str(fraud.number), "denied", "out of scope"),
        (str(agent.id), str(fraud.number), "denied", "out of scope"),
        (str(agent.id), "999999", "denied", "absent"),
    ]


def test_a_refused_write_on_an_out_of_scope_case_is_recorded_and_changes_nothing(world):
    agent, _, fraud = world
    with pytest.raises(CaseNotFound):
        services.note_add(case_number=fraud.number, principal=principal_for(agent),
                          text="poking around")
    with pytest.raises(CaseNotFound):
        services.case_tag(case_number=fraud.number, principal=principal_for(agent),
                          tags=["mine"])
    assert [d[3] for d in _denials()] == ["out of scope", "out of scope"]
    assert Case.objects.get(id=fraud.id).tags.count() == 0


def test_an_api_write_on_an_out_of_scope_case_is_recorded(world):
    agent, _, fraud = world
    client = signed_in_client(agent)
    client.handler.enforce_csrf_checks = False
    response = client.post(f"/api/v1/cases/{fraud.number}/messages", {"text": "hello"},
                           content_type="application/json")
    assert response.status_code == 404
    assert _denials() == [(str(agent.id), str(fraud.number), "denied", "out of scope")]


def test_cases_in_scope_record_no_denial(world):
    agent, billing, _ = world
    assert signed_in_client(agent).get(f"/cases/{billing.number}/").status_code == 200
    assert _denials() == []


# --- macros --------------------------------------------------------------------------------


def _macros():
    return {
        "fraud": services.macro_save(actor=SYSTEM, name="Fraud hold",
                                     body="We froze your card (case {case_number}).",
                                     queue="fraud"),
        "billing": services.macro_save(actor=SYSTEM, name="Refund sent",
                                       body="Refund is on its way.", queue="billing"),
        "any": services.macro_save(actor=SYSTEM, name="Thanks", body="Thanks, {agent_name}."),
    }


def test_a_fraud_macro_is_not_offered_in_a_billing_case(world):
    agent, billing, _ = world
    ids = _macros()
    body = signed_in_client(agent).get(f"/cases/{billing.number}/").content.decode()
    assert "Refund sent" in body
    assert "Thanks" in body
    assert "Fraud hold" not in body
    select = body.split('id="macro-select"')[1].split("</select>")[0]
    assert f'value="{ids["fraud"]}"' not in select
    assert f'value="{ids["billing"]}"' in select


def test_a_fraud_macro_cannot_be_rendered_in_a_billing_case_by_id(world):
    agent, billing, _ = world
    ids = _macros()
    client = signed_in_client(agent)
    fraud = client.get(f"/cases/{billing.number}/macro/", {"macro": ids["fraud"]})
    ok = client.get(f"/cases/{billing.number}/macro/", {"macro": ids["billing"]})
    posted = client.post(f"/cases/{billing.number}/macro/", {"macro": ids["fraud"]})
    assert (fraud.status_code, ok.status_code, posted.status_code) == (404, 200, 405)
    assert "froze your card" not in fraud.content.decode() + posted.content.decode()
    assert "Refund is on its way." in ok.content.decode()
    denied = Event.objects.get(action="macro.use_denied")
    assert (denied.actor_id, denied.subject_id, denied.data) == (
        str(agent.id), str(ids["fraud"]), {"case": billing.number})


def test_a_billing_macro_is_not_offered_to_an_assignee_outside_billing(world):
    _, billing, _ = world
    ids = _macros()
    outsider = make_agent("fraud", roles=("agent",))
    Case.objects.filter(id=billing.id).update(assignee_id=outsider.id)
    client = signed_in_client(outsider)
    body = client.get(f"/cases/{billing.number}/").content.decode()
    assert "Refund sent" not in body
    assert "Fraud hold" not in body
    assert "Thanks" in body
    assert client.get(f"/cases/{billing.number}/macro/",
                      {"macro": ids["fraud"]}).status_code == 404

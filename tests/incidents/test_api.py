"""API /api/v1/incidents (R-IR-1, R-IR-2, R-IR-6, R-REG-3): list, read with clocks and notices
owed, open, move one state on, the affected-customer list with jurisdictions; permissions per
operation, step-up for the sensitive list, RFC 9457 problems for bad input that change nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from safeguard.accounts import services as accounts
from safeguard.audit import selectors as audit_selectors
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.customers import services as customers
from safeguard.incidents.models import Incident
from tests.factories import SYSTEM, make_user, signed_in_client

pytestmark = pytest.mark.django_db


def _bearer(user, scopes):  # type: ignore[no-untyped-def]
    issued = accounts.token_issue(actor=SYSTEM, user_id=user.id, name="soar",
                                  scopes=scopes, expires_in_days=30)
    return Client(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")


def _analyst(scopes=("incidents.view", "incidents.manage", "incidents.affected_customers")):  # type: ignore[no-untyped-def]
    return _bearer(make_user(roles=("security_analyst",)), list(scopes))


def _open(client: Client, **overrides):  # type: ignore[no-untyped-def]
    body = {"title": "Insider read records", "severity": "sev2", "category": "insider_misuse",
            "aware_at": (timezone.now() - timedelta(hours=2)).isoformat(),
            "jurisdictions": ["EU-GDPR"], **overrides}
    return client.post("/api/v1/incidents", body, content_type="application/json")


def test_open_read_list_and_transition() -> None:
    client = _analyst()
    created = _open(client)
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["state"], body["next_state"], body["jurisdictions"]) == (
        "detected", "triaged", ["EU-GDPR"])
    assert [c["stage"] for c in body["sla"]] == ["triage", "containment", "eradication",
                                                 "recovery"]
    regulator = [n for n in body["notices_owed"] if n["regulator"]]
    assert regulator[0]["recipient"] == "Lead supervisory authority"
    row = Incident.objects.get(id=body["id"])
    assert regulator[0]["due"].startswith(
        (row.aware_at + timedelta(hours=72)).astimezone(timezone.get_current_timezone())
        .isoformat()[:16])
    got = client.get(f"/api/v1/incidents/{body['id']}").json()
    assert got["title"] == "Insider read records"
    assert [i["id"] for i in client.get("/api/v1/incidents").json()] == [body["id"]]
    moved = client.post(f"/api/v1/incidents/{body['id']}/transition", {"to_state": "triaged"},
                        content_type="application/json")
    assert moved.status_code == 200
    assert moved.json()["state"] == "triaged"
    assert moved.json()["triaged_at"] is not None
    assert audit_selectors.event_list(action="incident.state_changed")[0].data == {
        "from": "detected", "to": "triaged"}


def test_bad_input_is_a_problem_and_changes_nothing() -> None:
    client = _analyst()
    made = _open(client).json()
    before = audit_selectors.last_seq()
    for overrides, status in [({"severity": "sev9"}, 422), ({"category": "x"}, 422),
                              ({"title": ""}, 422), ({"jurisdictions": ["XX-NOPE"]}, 400),
                              ({"aware_at": (timezone.now() + timedelta(days=2)).isoformat()},
                               400),
                              ({"aware_at": "3999-01-01T00:00:00Z"}, 422)]:
        response = _open(client, **overrides)
        assert response.status_code == status, (overrides, response.content)
        assert response["Content-Type"].startswith("application/problem+json")
    skip = client.post(f"/api/v1/incidents/{made['id']}/transition", {"to_state": "closed"},
                       content_type="application/json")
    assert skip.status_code == 400
    assert "only to triaged" in skip.json()["detail"]
    assert client.post(f"/api/v1/incidents/{made['id']}/transition", {"to_state": "gone"},
                       content_type="application/json").status_code == 422
    assert client.get("/api/v1/incidents/999999").status_code == 404
    assert Incident.objects.count() == 1
    assert Incident.objects.get().state == "detected"
    assert audit_selectors.last_seq() == before


def test_permissions_per_operation() -> None:
    reader = _bearer(make_user(roles=("auditor",)), ["incidents.view"])
    assert reader.get("/api/v1/incidents").status_code == 200
    denied = _open(reader)
    assert denied.status_code == 403
    assert denied.json()["detail"] == "This operation needs the permission incidents.manage."
    agent = _bearer(make_user(roles=("agent",)), ["cases.view"])
    assert agent.get("/api/v1/incidents").status_code == 403
    assert Client().get("/api/v1/incidents").status_code == 401
    viewer_only = _analyst(scopes=("incidents.view", "incidents.manage"))
    made = _open(viewer_only).json()
    response = viewer_only.get(f"/api/v1/incidents/{made['id']}/affected",
                               {"kind": "user", "value": "5", "since": "2026-01-01T00:00:00Z",
                                "until": "2026-01-02T00:00:00Z"})
    assert response.status_code == 403
    assert Incident.objects.count() == 1


def test_affected_customers_with_jurisdictions_step_up_and_audit() -> None:
    start = timezone.now() - timedelta(hours=3)
    anna = customers.customer_create(actor=SYSTEM, name="Anna", email="anna@example.test",
                                     address={"line1": "1 A", "postcode": "1", "city": "B",
                                              "country": "DE"})
    with time_machine.travel(start, tick=False):
        audit.record(action="customer.viewed", actor=Actor(kind="user", id="5", label="x"),
                     subject=("customer", anna.id), data={"what": "profile"})
        audit.record(action="case.viewed", actor=Actor(kind="user", id="5", label="x"),
                     subject=("case", 1), data={"customer": uuid.uuid4().hex[:12]})
    client = _analyst()
    made = _open(client).json()
    query = {"kind": "user", "value": "5",
             "since": (start - timedelta(minutes=1)).isoformat(),
             "until": (start + timedelta(minutes=1)).isoformat()}
    rows = client.get(f"/api/v1/incidents/{made['id']}/affected", query).json()
    assert {r["customer"]: r["jurisdictions"] for r in rows}[str(anna.id)] == ["EU-GDPR"]
    assert sorted(r["jurisdictions"][0] for r in rows) == ["EU-GDPR", "unknown"]
    assert audit_selectors.event_list(action="incident.affected_listed")[0].data["customers"] == 2
    bad = client.get(f"/api/v1/incidents/{made['id']}/affected", {**query, "kind": "mac"})
    assert bad.status_code == 422
    analyst = make_user(roles=("security_analyst",))
    stale = signed_in_client(analyst, mfa_at=0)
    refused = stale.get(f"/api/v1/incidents/{made['id']}/affected", query)
    assert refused.status_code == 403
    assert "step-up" in refused.json()["type"]
    fresh = signed_in_client(analyst)
    assert fresh.get(f"/api/v1/incidents/{made['id']}/affected", query).status_code == 200

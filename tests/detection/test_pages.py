"""Analysts' pages: queue with filters and bulk acknowledge, alert page with its evidence
timeline linked to the audit log, triage forms, the incident seam, suppressions."""

from __future__ import annotations

import pytest

from safeguard.audit.contracts import Actor
from safeguard.audit.services import record
from safeguard.detection.models import Alert, Suppression
from safeguard.web import providers
from tests.detection.factories import finding, store
from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db


def _analyst_client():
    client = signed_in_client(make_user(roles=("security_analyst",)))
    client.handler.enforce_csrf_checks = False
    return client


def test_the_queue_lists_open_alerts_and_filters_them():
    ids = store(finding(rule_title="Mass customer access", entity="user:9005"),
                finding(rule_title="Reveal spike", entity="user:9006", severity="critical"))
    client = _analyst_client()
    page = client.get("/detection/alerts/").content.decode()
    assert "Mass customer access" in page
    assert "Reveal spike" in page
    assert 'data-alert-list' in page
    assert f'value="{ids[0]}"' in page
    only = client.get("/detection/alerts/?severity=critical").content.decode()
    assert "Reveal spike" in only
    assert "Mass customer access" not in only
    bad = client.get("/detection/alerts/?severity=bogus")
    assert bad.status_code == 400


def test_bulk_acknowledge_from_the_queue():
    ids = store(finding(), finding())
    client = _analyst_client()
    response = client.post("/detection/alerts/acknowledge/", {"ids": [str(i) for i in ids]})
    assert response.status_code == 302
    assert set(Alert.objects.values_list("status", flat=True)) == {"acknowledged"}
    assert client.post("/detection/alerts/acknowledge/", {"ids": ["x"]}).status_code == 302
    assert set(Alert.objects.values_list("status", flat=True)) == {"acknowledged"}


def test_the_alert_page_shows_the_evidence_timeline_linked_to_the_audit_log(monkeypatch):
    monkeypatch.delitem(providers._providers, "incidents.open_from_alert", raising=False)
    seq = record(action="customer.viewed", actor=Actor(kind="user", id="9", label="a@x.test"),
                 subject=("customer", "c-1"))
    [alert_id] = store(finding(evidence=(seq,), explanation="opened 240 records; median 22"))
    page = _analyst_client().get(f"/detection/alerts/{alert_id}/").content.decode()
    assert "opened 240 records; median 22" in page
    assert f'href="/audit/?before_seq={seq + 1}"' in page
    assert "customer.viewed" in page
    assert "user:a@x.test" in page
    assert "Open an incident" not in page  # no incident provider registered


def test_triage_forms_move_the_alert_and_refusals_are_4xx():
    [alert_id] = store(finding())
    client = _analyst_client()
    assert client.post(f"/detection/alerts/{alert_id}/acknowledge/").status_code == 302
    assert client.post(f"/detection/alerts/{alert_id}/close/", {"resolution": "maybe"}
                       ).status_code == 400
    assert Alert.objects.get(id=alert_id).status == "acknowledged"
    assert client.post(f"/detection/alerts/{alert_id}/close/",
                       {"resolution": "true_positive", "note": "confirmed"}).status_code == 302
    again = client.post(f"/detection/alerts/{alert_id}/acknowledge/")
    assert again.status_code == 409
    assert "cannot become acknowledged" in again.content.decode()
    assert client.get("/detection/alerts/999999/").status_code == 404


def test_the_incident_button_appears_only_when_the_provider_is_registered(monkeypatch):
    [alert_id] = store(finding())
    opened = []

    def open_from_alert(*, alert, principal):
        opened.append((alert.id, principal.email))
        return "/incidents/7/"

    monkeypatch.setitem(providers._providers, "incidents.open_from_alert", open_from_alert)
    client = _analyst_client()
    assert "Open an incident" in client.get(f"/detection/alerts/{alert_id}/").content.decode()
    response = client.post(f"/detection/alerts/{alert_id}/incident/")
    assert response.status_code == 302
    assert response["Location"] == "/incidents/7/"
    assert opened[0][0] == alert_id


def test_suppressions_page_adds_and_revokes():
    client = _analyst_client()
    response = client.post("/detection/suppressions/add/", {
        "rule_id": "r1", "entity": "user:9003", "hours": "4", "reason": "bulk correction"})
    assert response.status_code == 302
    row = Suppression.objects.get()
    assert (row.rule_id, row.entity, row.reason) == ("r1", "user:9003", "bulk correction")
    assert client.post("/detection/suppressions/add/", {
        "rule_id": "r1", "entity": "user:9003", "hours": "0", "reason": "x"}).status_code == 400
    assert Suppression.objects.count() == 1
    client.post(f"/detection/suppressions/{row.id}/revoke/")
    row.refresh_from_db()
    assert row.revoked_at is not None
    assert "bulk correction" in client.get("/detection/suppressions/").content.decode()


def test_agents_cannot_open_the_pages_and_auditors_cannot_triage():
    [alert_id] = store(finding())
    agent = signed_in_client(make_user(roles=("agent",)))
    assert agent.get("/detection/alerts/").status_code == 403
    assert agent.get(f"/detection/alerts/{alert_id}/").status_code == 403
    auditor = signed_in_client(make_user(roles=("auditor",)))
    auditor.handler.enforce_csrf_checks = False
    page = auditor.get(f"/detection/alerts/{alert_id}/").content.decode()
    assert "Acknowledge</button>" not in page
    assert "<h2>Triage</h2>" not in page
    assert auditor.post(f"/detection/alerts/{alert_id}/acknowledge/").status_code == 403
    assert auditor.post("/detection/suppressions/add/", {"rule_id": "r", "entity": "u",
                                                         "hours": "1", "reason": "x"}
                        ).status_code == 403
    assert Alert.objects.get(id=alert_id).status == "new"

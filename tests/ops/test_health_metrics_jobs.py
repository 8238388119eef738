"""Probes, restricted metrics, heartbeat job, JSON logs through the redactor (section 10–11)."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from safeguard.accounts import services
from safeguard.ops import tasks
from safeguard.ops.logging import JsonFormatter, redact_text
from tests.factories import SYSTEM, make_user, signed_in_client

pytestmark = pytest.mark.django_db


def test_liveness_and_readiness_are_open_and_report_checks():
    assert Client().get("/healthz").json() == {"status": "ok"}
    ready = Client().get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {
        "database": "ok", "jobs": "ok", "migrations": "ok", "keys": "ok", "audit_signer": "ok"}}


def test_metrics_need_a_principal_holding_ops_metrics():
    assert Client().get("/metrics").status_code == 401
    agent = make_user(roles=("agent",))
    assert signed_in_client(agent).get("/metrics").status_code == 403
    admin = make_user(roles=("administrator",))
    issued = services.token_issue(actor=SYSTEM, user_id=admin.id, name="prometheus",
                                  scopes=["ops.metrics"], expires_in_days=30)
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    assert response.status_code == 200
    assert b"django_http_requests_total_by_method_total" in response.content


def test_heartbeat_job_runs_and_shows_on_the_health_page():
    # given jobs run immediately in tests; when the periodic heartbeat fires twice
    tasks.heartbeat()
    tasks.heartbeat()
    # then the health page shows its last run and count
    admin = make_user(roles=("administrator",))
    page = signed_in_client(admin).get("/ops/health/").content.decode()
    assert "running" in page
    assert "2 runs" in page


def test_log_lines_are_json_and_card_numbers_are_redacted():
    record = logging.LogRecord("safeguard.test", logging.INFO, __file__, 1,
                               "customer said %s", ("4111 1111 1111 1111",), None)
    line = JsonFormatter().format(record)
    data = json.loads(line)
    assert data["event"] == "customer said [REDACTED-PAN]"
    assert "4111" not in line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4111-1111-1111-1111 ok", "card [REDACTED-PAN] ok"),
        ("5555555555554444", "[REDACTED-PAN]"),
        ("order 1234567890123 shipped", "order 1234567890123 shipped"),  # fails Luhn
        ("ts 20261130005300", "ts 20261130005300"),
    ],
)
def test_redactor(text, expected):
    assert redact_text(text) == expected


def test_organisation_settings_page_saves_and_is_audited():
    from safeguard.audit import selectors as audit

    admin = make_user(roles=("administrator",))
    client = signed_in_client(admin)
    response = client.post("/staff/organisation/", {
        "name": "Acme Support", "dpo_name": "Dee Pio", "dpo_email": "dpo@acme.test",
        "security_hotline": "+1 555 0100", "security_email": "sec@acme.test"})
    assert response.status_code == 302
    page = client.get("/").content.decode()
    assert "Acme Support" in page
    assert "+1 555 0100" in page
    assert audit.event_list(action="organisation.changed")[0].data["fields"] == [
        "dpo_email", "dpo_name", "name", "security_email", "security_hotline"]


def test_organisation_bad_input_changes_nothing():
    from safeguard.accounts import selectors

    admin = make_user(roles=("administrator",))
    before = selectors.organisation()
    response = signed_in_client(admin).post("/staff/organisation/", {
        "name": "", "dpo_email": "not-an-email"})
    assert response.status_code == 200
    assert b"This field is required" in response.content
    assert selectors.organisation() == before


def test_compliance_manager_sees_organisation_read_only():
    user = make_user(roles=("compliance_manager",))
    client = signed_in_client(user)
    assert client.get("/staff/organisation/").status_code == 200
    assert client.post("/staff/organisation/", {"name": "Hijack"}).status_code == 403


def test_client_address_comes_from_the_trusted_proxy_header_when_configured(settings):
    from safeguard.audit import selectors as audit

    settings.SAFEGUARD_CLIENT_IP_HEADER = "X-Real-IP"
    Client().post("/account/login/", {"login": "nobody@example.test", "password": "x" * 12},
                  HTTP_X_REAL_IP="203.0.113.9", REMOTE_ADDR="127.0.0.1")
    Client().post("/account/login/", {"login": "nobody@example.test", "password": "x" * 12},
                  HTTP_X_REAL_IP="not-an-ip", REMOTE_ADDR="127.0.0.1")
    events = audit.event_list(action="auth.login_failed")
    assert [e.source_ip for e in events] == [None, "203.0.113.9"]


def test_log_lines_pass_the_protection_scanner_too():
    record = logging.LogRecord("safeguard.test", logging.INFO, __file__, 1,
                               "iban %s, spoken card %s", ("GB82 WEST 1234 5698 7654 32",
                               "four one one one one one one one one one one one one one one one"),
                               None)
    line = JsonFormatter().format(record)
    assert "GB82" not in line
    assert "four one one one" not in line
    assert "[REDACTED-IBAN]" in line

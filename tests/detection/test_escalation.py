"""Escalation of critical alerts not acknowledged in time (R-OPS-9): the acknowledge window
(1 h) and the escalation window (4 h) on a controlled clock, delivered to a webhook receiver
on loopback (HMAC verified), to Slack- and PagerDuty-shaped targets and by e-mail; a failing
target is retried a bounded number of times."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.core import mail

from safeguard.audit import selectors as audit_selectors
from safeguard.detection import notify, services
from safeguard.detection.models import Escalation
from tests.customers.factories import principal
from tests.detection.factories import finding, store
from tests.factories import make_user

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SECRET = "s3cret-for-the-soc-webhook"


class Receiver:
    """A webhook receiver on 127.0.0.1 recording each request; answers ``status``."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append((dict(self.headers), body))
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self) -> list[dict]:
        return [json.loads(b) for _, b in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    r = Receiver()
    settings.SAFEGUARD_DETECTION_WEBHOOKS = [
        {"name": "soc", "url": r.url + "/hook", "format": "json", "secret": SECRET}]
    yield r
    r.close()


def _critical():
    with time_machine.travel(T0, tick=False):
        [alert_id] = store(finding(severity="critical", rule_title="Detokenize spike",
                                   first_evidence_at=T0 - timedelta(minutes=3)))
    return alert_id


def test_a_critical_alert_is_announced_at_one_hour_and_escalated_at_four(receiver):
    alert_id = _critical()
    with time_machine.travel(T0 + timedelta(minutes=59, seconds=59), tick=False):
        assert services.escalation_check() == {"created": 0, "sent": 0, "retry": 0, "failed": 0}
    assert receiver.requests == []
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        assert services.escalation_check()["sent"] == 1
        now = datetime.now(UTC).timestamp()
        # Again within the same window: sent once only.
        assert services.escalation_check() == {"created": 0, "sent": 0, "retry": 0,
                                               "failed": 0}
    [(headers, body)] = receiver.requests
    assert notify.verify(SECRET, headers[notify.TIMESTAMP_HEADER], body,
                         headers[notify.SIGNATURE_HEADER], now=now)
    assert not notify.verify("another-secret-of-16+", headers[notify.TIMESTAMP_HEADER], body,
                             headers[notify.SIGNATURE_HEADER], now=now)
    assert not notify.verify(SECRET, headers[notify.TIMESTAMP_HEADER], body + b" ",
                             headers[notify.SIGNATURE_HEADER], now=now)
    assert not notify.verify(SECRET, headers[notify.TIMESTAMP_HEADER], body,
                             headers[notify.SIGNATURE_HEADER], now=now + 3600)  # stale replay
    sent = json.loads(body)
    assert sent["level"] == "ack_overdue"
    assert sent["alert"]["id"] == alert_id
    assert sent["alert"]["detection_delay_seconds"] == 180
    assert sent["alert"]["url"].endswith(f"/detection/alerts/{alert_id}/")
    with time_machine.travel(T0 + timedelta(hours=3, minutes=59), tick=False):
        services.escalation_check()
    assert len(receiver.requests) == 1
    with time_machine.travel(T0 + timedelta(hours=4), tick=False):
        services.escalation_check()
    assert [b["level"] for b in receiver.bodies()] == ["ack_overdue", "escalated"]
    escalated = audit_selectors.event_list(action="detection.escalated", limit=5)
    assert [e.data["status"] for e in escalated] == ["escalated", "ack_overdue"]


def test_an_acknowledged_or_non_critical_alert_is_not_escalated(receiver):
    alert_id = _critical()
    with time_machine.travel(T0, tick=False):
        store(finding(severity="high"))
    with time_machine.travel(T0 + timedelta(minutes=30), tick=False):
        services.alert_acknowledge(alert_id=alert_id,
                                   principal=principal(make_user(roles=("security_analyst",))))
    with time_machine.travel(T0 + timedelta(hours=5), tick=False):
        assert services.escalation_check()["created"] == 0
    assert receiver.requests == []


def test_slack_and_pagerduty_targets_get_their_own_payloads(settings, receiver):
    settings.SAFEGUARD_DETECTION_WEBHOOKS = [
        {"name": "slack", "url": receiver.url + "/slack", "format": "slack", "secret": SECRET},
        {"name": "pd", "url": receiver.url + "/pd", "format": "pagerduty", "secret": SECRET,
         "routing_key": "R0UT1NGKEY"}]
    alert_id = _critical()
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        assert services.escalation_check()["sent"] == 2
    slack, pd = receiver.bodies()
    assert slack["text"].startswith(f"[CRITICAL] alert {alert_id} Detokenize spike")
    assert slack["blocks"][0]["type"] == "section"
    assert pd["routing_key"] == "R0UT1NGKEY"
    assert pd["event_action"] == "trigger"
    assert pd["dedup_key"] == f"safeguard-alert-{alert_id}"
    assert pd["payload"]["severity"] == "critical"
    assert pd["payload"]["source"] == "safeguard-detection"


def test_a_failing_target_is_retried_a_bounded_number_of_times(settings, receiver):
    settings.SAFEGUARD_DETECTION_DELIVERY_ATTEMPTS = 3
    receiver.status = 503
    _critical()
    for minute in range(5):
        with time_machine.travel(T0 + timedelta(hours=1, minutes=minute), tick=False):
            services.escalation_check()
    row = Escalation.objects.get()
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.last_error == "soc: HTTP 503"
    assert len(receiver.requests) == 3


def test_email_targets_receive_the_notice(settings):
    settings.SAFEGUARD_DETECTION_ESCALATION_EMAILS = ["soc@example.test"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    alert_id = _critical()
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        assert services.escalation_check()["sent"] == 1
    [message] = mail.outbox
    assert message.to == ["soc@example.test"]
    assert message.subject.startswith(f"[CRITICAL] alert {alert_id}")
    assert f"/detection/alerts/{alert_id}/" in message.body


def test_malformed_webhook_settings_are_named():
    for raw, text in (({"name": "x"}, "JSON list"),
                      ([{"name": "a b", "url": "https://x", "secret": SECRET}], "name"),
                      ([{"name": "a", "url": "ftp://x", "secret": SECRET}], "url"),
                      ([{"name": "a", "url": "https://x", "secret": "short"}], "secret"),
                      ([{"name": "a", "url": "https://x", "secret": SECRET,
                         "format": "pagerduty"}], "routing_key")):
        with pytest.raises(notify.TargetConfigError, match=text):
            notify.webhook_targets(raw)

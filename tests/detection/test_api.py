"""API /api/v1/alerts: filters return the right alerts, triage through the API, bad input is
a 4xx problem that changes nothing, agents are denied (R-OPS-8, R-OPS-9)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from safeguard.accounts import services as accounts
from safeguard.detection import services
from safeguard.detection.models import Alert
from tests.customers.factories import principal
from tests.detection.factories import finding, store
from tests.factories import SYSTEM, make_user, signed_in_client

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _bearer(user, scopes):
    issued = accounts.token_issue(actor=SYSTEM, user_id=user.id, name="soar",
                                  scopes=scopes, expires_in_days=30)
    return Client(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")


@pytest.fixture
def alerts():
    """Four alerts: two rules, three entities, raised a day apart; one closed."""
    out = {}
    for i, (rule, entity) in enumerate((("r1", "user:9001"), ("r1", "user:9002"),
                                        ("r2", "user:9001"),
                                        ("r2", "ip:192.0.2.7"))):
        with time_machine.travel(T0 + timedelta(days=i), tick=False):
            [out[(rule, entity)]] = store(finding(rule_id=rule, rule_title=rule.upper(),
                                                  entity=entity, dedup_key=f"{rule}:{entity}"))
    services.alert_close(alert_id=out[("r2", "user:9001")],
                         principal=principal(make_user(roles=("security_analyst",))),
                         resolution="benign")
    return out


def _ids(response):
    assert response.status_code == 200, response.content
    return [a["id"] for a in response.json()["items"]]


def test_filters_return_the_right_alerts(alerts):
    analyst = make_user(roles=("security_analyst",))
    client = _bearer(analyst, ["detection.view"])
    every = sorted(alerts.values(), reverse=True)
    assert _ids(client.get("/api/v1/alerts")) == every
    assert _ids(client.get("/api/v1/alerts?rule=r1")) == [alerts[("r1", "user:9002")],
                                                          alerts[("r1", "user:9001")]]
    assert _ids(client.get("/api/v1/alerts?entity=user:9001")) == [alerts[("r2", "user:9001")],
                                                                alerts[("r1", "user:9001")]]
    assert _ids(client.get("/api/v1/alerts?status=closed")) == [alerts[("r2", "user:9001")]]
    assert _ids(client.get("/api/v1/alerts?status=open&rule=r2")) == [
        alerts[("r2", "ip:192.0.2.7")]]
    since = (T0 + timedelta(days=2)).isoformat()
    assert _ids(client.get("/api/v1/alerts", {"since": since})) == every[:2]
    page = client.get("/api/v1/alerts?limit=3").json()
    assert page["next_before_id"] == every[2]
    assert _ids(client.get(f"/api/v1/alerts?before_id={page['next_before_id']}")) == every[3:]


def test_one_alert_with_its_clocks(alerts):
    client = signed_in_client(make_user(roles=("security_analyst",)))
    alert_id = alerts[("r1", "user:9001")]
    body = client.get(f"/api/v1/alerts/{alert_id}").json()
    assert (body["rule_id"], body["entity"], body["status"]) == ("r1", "user:9001", "new")
    assert body["detection_delay_seconds"] == 600  # the factory's evidence is 10 min old
    assert body["time_to_acknowledge_seconds"] is None
    assert client.get("/api/v1/alerts/999999").status_code == 404


def test_acknowledge_close_and_bulk_through_the_api(alerts):
    analyst = make_user(roles=("security_analyst",))
    client = _bearer(analyst, ["detection.view", "detection.triage"])
    one = alerts[("r1", "user:9001")]
    acked = client.post(f"/api/v1/alerts/{one}/acknowledge")
    assert acked.json()["status"] == "acknowledged"
    assert acked.json()["owner"] == analyst.email
    closed = client.post(f"/api/v1/alerts/{one}/close",
                         {"resolution": "false_positive", "note": "test account"},
                         content_type="application/json")
    assert (closed.json()["status"], closed.json()["resolution"]) == ("closed", "false_positive")
    bulk = client.post("/api/v1/alerts/acknowledge",
                       {"ids": [alerts[("r1", "user:9002")], alerts[("r2", "user:9001")]]},
                       content_type="application/json")
    assert bulk.json() == {"acknowledged": [alerts[("r1", "user:9002")]]}


@pytest.mark.parametrize(("method", "path", "body"), [
    ("get", "/api/v1/alerts?status=bogus", None),
    ("get", "/api/v1/alerts?since=not-a-time", None),
    ("get", "/api/v1/alerts?limit=0", None),
    ("get", "/api/v1/alerts?entity=a%00b", None),
    ("post", "/api/v1/alerts/{id}/close", {"resolution": "maybe"}),
    ("post", "/api/v1/alerts/{id}/close", {"resolution": "benign", "note": "x" * 2001}),
    ("post", "/api/v1/alerts/acknowledge", {"ids": []}),
    ("post", "/api/v1/alerts/acknowledge", {"ids": ["one"]}),
])
def test_bad_input_is_a_4xx_problem_and_changes_nothing(alerts, method, path, body):
    client = _bearer(make_user(roles=("security_analyst",)),
                     ["detection.view", "detection.triage"])
    before = list(Alert.objects.order_by("id").values())
    url = path.format(id=alerts[("r1", "user:9001")])
    response = (client.get(url) if method == "get" else
                client.post(url, body, content_type="application/json"))
    assert 400 <= response.status_code < 500
    assert response["Content-Type"] == "application/problem+json"
    assert list(Alert.objects.order_by("id").values()) == before


def test_a_transition_the_state_forbids_is_a_409(alerts):
    client = _bearer(make_user(roles=("security_analyst",)),
                     ["detection.view", "detection.triage"])
    closed = alerts[("r2", "user:9001")]
    response = client.post(f"/api/v1/alerts/{closed}/acknowledge")
    assert response.status_code == 409
    assert response.json()["type"].endswith("alert-state")


def test_agents_are_denied_and_auditors_only_read(alerts):
    agent = make_user(roles=("agent",))
    one = alerts[("r1", "user:9001")]
    for client in (signed_in_client(agent), _bearer(agent, ["customers.view"])):
        assert client.get("/api/v1/alerts").status_code == 403
        assert client.get(f"/api/v1/alerts/{one}").status_code == 403
    csrf_free = signed_in_client(agent)
    csrf_free.handler.enforce_csrf_checks = False
    assert csrf_free.post(f"/api/v1/alerts/{one}/acknowledge").status_code == 403
    auditor = signed_in_client(make_user(roles=("auditor",)))
    auditor.handler.enforce_csrf_checks = False
    assert auditor.get(f"/api/v1/alerts/{one}").status_code == 200
    assert auditor.post(f"/api/v1/alerts/{one}/acknowledge").status_code == 403
    assert Alert.objects.get(id=one).status == "new"
    assert Client().get("/api/v1/alerts").status_code == 401

"""Triage (new -> acknowledged -> investigating -> closed), its clocks, and the KPI selectors
registered for the metrics work (R-OPS-9, R-KPI-4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from safeguard.audit import selectors as audit_selectors
from safeguard.detection import selectors, services
from safeguard.detection.contracts import AlertStateError, DetectionError
from safeguard.detection.models import Alert
from safeguard.web import providers
from tests.customers.factories import principal
from tests.detection.factories import finding, store
from tests.factories import make_user

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _analyst():
    return principal(make_user(roles=("security_analyst",)))


def test_clocks_follow_the_alert_from_evidence_to_close():
    analyst = _analyst()
    with time_machine.travel(T0, tick=False):
        [alert_id] = store(finding(first_evidence_at=T0 - timedelta(minutes=7),
                                   last_evidence_at=T0 - timedelta(minutes=2)))
    with time_machine.travel(T0 + timedelta(minutes=25), tick=False):
        acked = services.alert_acknowledge(alert_id=alert_id, principal=analyst)
    with time_machine.travel(T0 + timedelta(minutes=40), tick=False):
        services.alert_investigate(alert_id=alert_id, principal=analyst)
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        closed = services.alert_close(alert_id=alert_id, principal=analyst,
                                      resolution="true_positive", note="confirmed with the TL")
    assert acked.detection_delay_seconds == 7 * 60
    assert acked.time_to_acknowledge_seconds == 25 * 60
    assert acked.owner_email == analyst.email
    assert (closed.status, closed.resolution) == ("closed", "true_positive")
    assert closed.closed_at == T0 + timedelta(hours=2)
    assert closed.time_to_acknowledge_seconds == 25 * 60  # investigating did not restart it
    assert closed.close_note == "confirmed with the TL"
    actions = [e.action for e in audit_selectors.event_list(action="detection.", limit=10)]
    assert actions[:3] == ["detection.closed", "detection.triaged", "detection.triaged"]


def test_transitions_the_state_forbids_are_conflicts_and_change_nothing():
    analyst = _analyst()
    [alert_id] = store(finding())
    services.alert_close(alert_id=alert_id, principal=analyst, resolution="benign")
    before = Alert.objects.values().get(id=alert_id)
    for act in (services.alert_acknowledge, services.alert_investigate):
        with pytest.raises(AlertStateError):
            act(alert_id=alert_id, principal=analyst)
    with pytest.raises(AlertStateError):
        services.alert_close(alert_id=alert_id, principal=analyst, resolution="benign")
    with pytest.raises(DetectionError):
        services.alert_close(alert_id=alert_id, principal=analyst, resolution="maybe")
    assert Alert.objects.values().get(id=alert_id) == before


def test_closing_a_new_alert_stops_its_acknowledge_clock():
    with time_machine.travel(T0, tick=False):
        [alert_id] = store(finding())
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        view = services.alert_close(alert_id=alert_id, principal=_analyst(),
                                    resolution="false_positive")
    assert view.time_to_acknowledge_seconds == 300


def test_bulk_acknowledge_takes_only_new_alerts_and_says_which():
    analyst = _analyst()
    ids = store(finding(), finding(), finding())
    services.alert_close(alert_id=ids[2], principal=analyst, resolution="benign")
    done = services.alerts_acknowledge_bulk(alert_ids=[*ids, 999999], principal=analyst)
    assert done == ids[:2]
    assert list(Alert.objects.order_by("id").values_list("status", flat=True)) == [
        "acknowledged", "acknowledged", "closed"]


def test_the_kpis_compute_mttd_time_to_acknowledge_and_false_positive_rates():
    analyst = _analyst()
    with time_machine.travel(T0, tick=False):
        a, b, c = store(
            finding(rule_id="r1", rule_title="R1", first_evidence_at=T0 - timedelta(minutes=10)),
            finding(rule_id="r1", rule_title="R1", first_evidence_at=T0 - timedelta(minutes=30)),
            finding(rule_id="r2", rule_title="R2", first_evidence_at=T0 - timedelta(minutes=50)))
    with time_machine.travel(T0 + timedelta(minutes=4), tick=False):
        services.alert_acknowledge(alert_id=a, principal=analyst)
    with time_machine.travel(T0 + timedelta(minutes=8), tick=False):
        services.alert_close(alert_id=b, principal=analyst, resolution="false_positive")
        services.alert_close(alert_id=a, principal=analyst, resolution="true_positive")
    start, end = T0 - timedelta(days=1), T0 + timedelta(days=1)
    mttd = providers.get("kpi.mttd_seconds")
    tta = providers.get("kpi.time_to_acknowledge_seconds")
    fp = providers.get("kpi.false_positive_rate_by_rule")
    assert mttd is selectors.mttd_seconds
    # b was a false positive: left out of MTTD -> mean of 10 and 50 minutes.
    assert mttd(start=start, end=end) == 30 * 60
    assert tta(start=start, end=end) == (4 * 60 + 8 * 60) / 2
    assert fp(start=start, end=end) == {
        "r1": {"title": "R1", "closed": 2, "false_positive": 1, "rate": 0.5}}
    assert mttd(start=end, end=end + timedelta(days=1)) is None
    assert tta(start=end, end=end + timedelta(days=1)) is None
    assert c


def test_suppressions_are_bounded_and_revocable_once():
    analyst = _analyst()
    for hours, reason in ((0, "x"), (10**6, "x"), (2, "")):
        with pytest.raises(DetectionError):
            services.suppression_create(principal=analyst, rule_id="r", entity="user:9001",
                                        reason=reason, hours=hours)
    view = services.suppression_create(principal=analyst, rule_id="r", entity="user:9001",
                                       reason="known batch job", hours=2)
    services.suppression_revoke(principal=analyst, suppression_id=view.id)
    with pytest.raises(AlertStateError):
        services.suppression_revoke(principal=analyst, suppression_id=view.id)
    assert [s.revoked_at is not None for s in selectors.suppression_list()] == [True]


def test_the_periodic_jobs_run_detection_and_the_clocks():
    from safeguard.detection import tasks
    from tests.detection.factories import mass_viewer, view_all

    agent, customers, _ = mass_viewer(100, via_token=False)
    view_all(agent, customers)
    assert tasks.detection_run.call_local() == 1  # the mass-access alert
    assert tasks.escalation_check.call_local() == {"created": 0, "sent": 0, "retry": 0,
                                                   "failed": 0}


def test_nobody_triages_or_suppresses_an_alert_about_themselves():
    from safeguard.accounts import services as accounts
    from safeguard.detection.services import OwnAlert
    from tests.factories import SYSTEM

    me = make_user(roles=("security_analyst",))
    token = accounts.token_issue(actor=SYSTEM, user_id=me.id, name="t",
                                 scopes=["detection.view"], expires_in_days=1).token
    about_me, about_my_token, other = store(finding(entity=f"user:{me.id}"),
                                            finding(entity=f"token:{token.id}"), finding())
    mine = principal(me)
    for alert_id in (about_me, about_my_token):
        with pytest.raises(OwnAlert):
            services.alert_acknowledge(alert_id=alert_id, principal=mine)
        with pytest.raises(OwnAlert):
            services.alert_close(alert_id=alert_id, principal=mine, resolution="benign")
    with pytest.raises(OwnAlert):
        services.suppression_create(principal=mine, rule_id="rule-a", entity=f"user:{me.id}",
                                    reason="me", hours=1)
    assert services.alerts_acknowledge_bulk(alert_ids=[about_me, about_my_token, other],
                                            principal=mine) == [other]
    assert Alert.objects.get(id=about_me).status == "new"
    services.alert_close(alert_id=about_me, principal=_analyst(), resolution="true_positive")

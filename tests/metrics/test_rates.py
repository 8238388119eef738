"""Rates on u-charts (R-KPI-9): alerts per 1,000 audited events; the page's limits are
spc.u_chart's over counts taken independently from the database."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from safeguard.audit.contracts import Actor
from safeguard.audit.models import Event
from safeguard.audit.services import record
from safeguard.detection.models import Alert
from safeguard.metrics import rates, spc
from tests.detection.factories import finding, store
from tests.factories import make_user, signed_in_client

DAYS = [(date(2026, 3, 2), 30, 1), (date(2026, 3, 3), 50, 3), (date(2026, 3, 4), 20, 0),
        (date(2026, 3, 5), 40, 2)]


@pytest.fixture
def activity(db):
    for day, events, alerts in DAYS:
        at = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=10)
        with time_machine.travel(at, tick=False):
            for _ in range(events):
                record(action="test.activity", actor=Actor.system("tests"))
            if alerts:
                store(*[finding(at=at - timedelta(minutes=5)) for _ in range(alerts)])


def _independent() -> tuple[list[int], list[float]]:
    counts, sizes = [], []
    for day, _, _ in DAYS:
        lo = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        hi = lo + timedelta(days=1)
        counts.append(Alert.objects.filter(created_at__gte=lo, created_at__lt=hi).count())
        sizes.append(Event.objects.filter(at__gte=lo, at__lt=hi).count() / 1000)
    return counts, sizes


def test_alert_rate_series_is_a_u_chart_of_the_live_counts(activity):
    counts, sizes = _independent()
    assert counts == [1, 3, 0, 2]
    s = rates.rate_series(key="alerts_per_1000_events", start=date(2026, 3, 2),
                          end=date(2026, 3, 5), granularity="daily")
    expected = spc.u_chart(counts, sizes)
    assert s.chart == expected
    assert [p.count for p in s.points] == counts
    assert s.points[1].rate == pytest.approx(3 * 1000 / (sizes[1] * 1000))


def test_rates_page_shows_the_u_chart_with_spc_limits(activity):
    counts, sizes = _independent()
    expected = spc.u_chart(counts, sizes)
    client = signed_in_client(make_user(roles=("supervisor",)))
    resp = client.get("/metrics/rates/", {"start": "2026-03-02", "end": "2026-03-05",
                                          "granularity": "daily"})
    html = resp.content.decode()
    assert resp.status_code == 200
    svg = re.search(r'id="rate-alerts_per_1000_events">.*?(<svg .*?</svg>)', html, re.S).group(1)
    assert f"CL {expected.center:.3g}" in svg
    assert f"UCL {expected.ucl[-1]:.3g}" in svg
    assert f"LCL {expected.lcl[-1]:.3g}" in svg
    assert svg.count('class="point"') + svg.count('class="signal"') == 4


@pytest.mark.django_db
def test_rates_page_refuses_a_bad_range_and_needs_permission():
    client = signed_in_client(make_user(roles=("supervisor",)))
    assert client.get("/metrics/rates/", {"start": "2026-03-05", "end": "x",
                                          "granularity": "daily"}).status_code == 400
    agent = signed_in_client(make_user(roles=("agent",)))
    assert agent.get("/metrics/rates/").status_code == 403

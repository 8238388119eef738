"""MFA coverage history (R-KPI-8, R-KPI-9): the daily job records one snapshot a day
(idempotent), and the KPI page charts the snapshots on a p-chart."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

import pytest
import time_machine

from safeguard.audit.models import Event
from safeguard.metrics import selectors, spc, tasks
from safeguard.metrics.models import MfaSnapshot
from tests.factories import make_user, signed_in_client


@pytest.mark.django_db
def test_snapshot_job_is_idempotent_per_day():
    # given one privileged member with a factor, one without, an agent without
    make_user(roles=("supervisor",), mfa=True)
    make_user(roles=("auditor",), mfa=False)
    make_user(roles=("agent",), mfa=False)
    with time_machine.travel(datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False):
        # when the job runs twice on one day
        assert tasks.mfa_snapshot.call_local() is True
        make_user(roles=("auditor",), mfa=True)  # a change later that day
        assert tasks.mfa_snapshot.call_local() is False
    # then one row, with the state of the first run
    snap = MfaSnapshot.objects.get()
    assert (snap.day, snap.privileged, snap.privileged_with_mfa, snap.all_staff,
            snap.all_with_mfa) == (date(2026, 3, 2), 2, 1, 3, 1)
    assert Event.objects.filter(action="metrics.mfa_snapshot_taken").count() == 1
    # and the next day records the new state
    with time_machine.travel(datetime(2026, 3, 3, 9, tzinfo=UTC), tick=False):
        assert tasks.mfa_snapshot.call_local() is True
    assert MfaSnapshot.objects.get(day=date(2026, 3, 3)).privileged_with_mfa == 2


@pytest.mark.django_db
def test_mfa_kpi_is_charted_from_the_snapshots():
    # given snapshots on five days (privileged, with MFA)
    rows = [(10, 9), (10, 10), (12, 11), (12, 12), (12, 12)]
    for d, (n, k) in enumerate(rows, start=2):
        MfaSnapshot.objects.create(day=date(2026, 3, d), privileged=n, privileged_with_mfa=k,
                                   all_staff=n + 5, all_with_mfa=k,
                                   taken_at=datetime(2026, 3, d, 1, tzinfo=UTC))
    # when the series is built daily over the week
    s = selectors.kpi_series(key="mfa_privileged", start=date(2026, 3, 1),
                             end=date(2026, 3, 7), granularity=selectors.DAILY)
    # then the days with a snapshot are charted on a p-chart with spc's limits
    assert [s.points[i].label for i in s.charted] == [f"2026-03-0{d}" for d in range(2, 7)]
    expected = spc.p_chart([k for _, k in rows], [n for n, _ in rows])
    assert isinstance(s.chart, spc.AttributeChart)
    assert s.chart.center == expected.center == pytest.approx(54 / 56)
    assert s.chart.lcl == expected.lcl
    # and the KPI page shows the chart
    client = signed_in_client(make_user(roles=("supervisor",)))
    html = client.get("/metrics/kpis/", {"start": "2026-03-01", "end": "2026-03-07",
                                         "granularity": "daily", "queue": "",
                                         "channel": ""}).content.decode()
    section = re.search(r'<section class="panel kpi-chart" id="kpi-mfa_privileged">(.*?)'
                        r"</section>", html, re.S).group(1)
    svg = re.search(r"<svg .*?</svg>", section, re.S).group(0)
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    ns = {"s": "http://www.w3.org/2000/svg"}
    marks = root.findall(".//s:circle", ns) + root.findall(".//s:path[@class='signal']", ns)
    assert len(marks) == 5
    assert f"CL {expected.center * 100:.1f}%" in svg

"""Annotated process changes (R-KPI-9 baseline phases): limits recomputed from the change on,
drawn as a labelled phase boundary; recording is permissioned, validated and audited."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date

import pytest

from safeguard.audit.contracts import Actor
from safeguard.metrics import selectors, services, spc, svg
from safeguard.metrics.contracts import MetricsError
from tests.factories import make_user, signed_in_client

ACTOR = Actor.system("tests")


def test_a_change_splits_the_chart_into_phases_with_their_own_limits(world):
    # given a change to FCR recorded on Monday 16 March
    services.process_change_record(actor=ACTOR, user_id=None, kpi_key="fcr",
                                   effective_on=date(2026, 3, 16), label="new triage script")
    # when the weekly series of March is built
    s = selectors.kpi_series(key="fcr", start=date(2026, 3, 2), end=date(2026, 3, 29),
                             granularity=selectors.WEEKLY)
    # then weeks 10-11 and 12-13 are charted on limits of their own
    assert [(start, label) for start, label, _ in s.phase_charts] == [
        (0, "baseline"), (2, "2026-03-16: new triage script")]
    for (_, _, chart), idx in zip(s.phase_charts, ((0, 1), (2, 3)), strict=True):
        ms = [s.points[s.charted[i]].measurement for i in idx]
        assert chart == spc.p_chart([m.hits for m in ms], [m.total for m in ms])
    plot = selectors.series_plot(s)
    assert plot.phases == ((2, "2026-03-16: new triage script"),)
    root = ET.fromstring(svg.render(plot, labels=["a", "b", "c", "d"], title="FCR"))  # noqa: S314
    ns = {"s": "http://www.w3.org/2000/svg"}
    assert [t.text for t in root.findall(".//s:text[@class='phase-label']", ns)] == [
        "2026-03-16: new triage script"]
    # another KPI is not affected
    assert selectors.kpi_series(key="csat", start=date(2026, 3, 2), end=date(2026, 3, 29),
                                granularity=selectors.WEEKLY).phase_charts == ()


def test_an_xmr_phase_with_one_point_falls_back_to_one_set_of_limits(world):
    services.process_change_record(actor=ACTOR, user_id=None, kpi_key="asa",
                                   effective_on=date(2026, 3, 23), label="IVR menu")
    s = selectors.kpi_series(key="asa", start=date(2026, 3, 9), end=date(2026, 3, 29),
                             granularity=selectors.WEEKLY)
    assert s.phase_charts == ()
    assert "fewer than 2 periods" in s.note
    assert isinstance(s.chart, spc.XmR)


@pytest.mark.django_db
def test_recording_is_validated():
    with pytest.raises(MetricsError, match="unknown KPI"):
        services.process_change_record(actor=ACTOR, user_id=None, kpi_key="nope",
                                       effective_on=date(2026, 3, 1), label="x")
    with pytest.raises(MetricsError, match="future"):
        services.process_change_record(actor=ACTOR, user_id=None, kpi_key="fcr",
                                       effective_on=date(2999, 3, 1), label="x")
    with pytest.raises(MetricsError, match="describe"):
        services.process_change_record(actor=ACTOR, user_id=None, kpi_key="fcr",
                                       effective_on=date(2026, 3, 1), label="   ")
    services.process_change_record(actor=ACTOR, user_id=None, kpi_key="fcr",
                                   effective_on=date(2026, 3, 1), label="call 4111111111111111")
    assert "4111111111111111" not in selectors.process_changes(key="fcr")[0].label
    with pytest.raises(MetricsError, match="already"):
        services.process_change_record(actor=ACTOR, user_id=None, kpi_key="fcr",
                                       effective_on=date(2026, 3, 1), label="again")


@pytest.mark.django_db
def test_page_form_records_a_change_with_permission_only():
    viewer = signed_in_client(make_user(roles=("security_analyst",)))
    html = viewer.get("/metrics/kpis/").content.decode()
    assert 'action="/metrics/kpis/changes/"' not in html
    assert viewer.post("/metrics/kpis/changes/", {"kpi": "fcr", "effective_on": "2026-03-01",
                                                  "label": "x"}).status_code == 403
    sup = signed_in_client(make_user(roles=("supervisor",)))
    assert 'action="/metrics/kpis/changes/"' in sup.get("/metrics/kpis/").content.decode()
    bad = sup.post("/metrics/kpis/changes/", {"kpi": "fcr", "effective_on": "2026-03-01",
                                              "label": ""})
    assert bad.status_code == 400
    assert selectors.process_changes() == []
    resp = sup.post("/metrics/kpis/changes/", {"kpi": "fcr", "effective_on": "2026-03-01",
                                               "label": "new script"})
    assert resp.status_code == 302
    html = sup.get("/metrics/kpis/").content.decode()
    assert re.search(r"fcr: 2026-03-01 — new script", html)

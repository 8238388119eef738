"""Quarterly security and yearly programme review packs (R-MEAS-1, R-MEAS-4): every figure
equals an independent count over the seeded rows, links to its evidence page, and the PDF
renders with its charts (pdftoppm turns pages into PNG)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta

import pytest
from PIL import Image

from safeguard.detection.models import Alert
from safeguard.governance import selectors as governance
from safeguard.governance.models import ControlEvaluation, EvaluationRun, Vulnerability
from safeguard.incidents.models import Incident
from safeguard.metrics import packs
from safeguard.metrics.contracts import MetricsError
from safeguard.privacy.models import DataSubjectRequest, SweepRun
from tests.factories import make_user, signed_in_client

Q1 = packs.parse_period("quarterly", "2026-Q1")
START, END = Q1.start, Q1.end  # 2026-01-01 .. 2026-04-01 (exclusive)


def at(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 12, tzinfo=UTC)


INCIDENTS = [  # (aware, severity, closed)
    (at(2026, 2, 10), "sev1", None), (at(2026, 3, 5), "sev2", at(2026, 3, 20)),
    (at(2026, 4, 2), "sev1", None), (at(2025, 12, 30), "sev3", at(2026, 1, 5))]
ALERTS = [  # (created, severity, status, resolution)
    (at(2026, 1, 15), "high", "new", ""), (at(2026, 2, 1), "low", "closed", "false_positive"),
    (at(2026, 4, 1), "high", "new", "")]
VULNS = [  # (first seen, fixed, due)
    (at(2025, 12, 1), None, at(2025, 12, 31)), (at(2026, 3, 20), at(2026, 4, 10), None),
    (at(2026, 1, 10), at(2026, 2, 1), at(2026, 2, 9)), (at(2026, 5, 1), None, None),
    (at(2025, 6, 1), at(2026, 3, 1), at(2025, 7, 1))]
DSRS = [  # (received, due, closed)
    (date(2026, 1, 2), date(2026, 2, 1), date(2026, 1, 20)),
    (date(2026, 2, 1), date(2026, 3, 3), date(2026, 3, 10)),
    (date(2026, 3, 1), date(2026, 3, 20), None)]
SWEEPS = [  # (started, dry run, counts, held)
    (at(2026, 2, 1), False, {"case:delete": 3, "recording:anonymise": 2}, 1),
    (at(2026, 2, 2), True, {"case:delete": 9}, 0),
    (at(2026, 4, 3), False, {"case:delete": 5}, 0)]


@pytest.fixture
def seeded(world):
    for k, (aware, sev, closed) in enumerate(INCIDENTS):
        Incident.objects.create(title=f"Incident {k}", severity=sev, category="data_breach",
                                aware_at=aware, opened_by="tests", closed_at=closed,
                                state="closed" if closed else "detected")
    for k, (created, sev, status, resolution) in enumerate(ALERTS):
        Alert.objects.create(dedup_key=f"k{k}", rule_id="r", rule_title="Rule", severity=sev,
                             entity="user:1", first_evidence_at=created,
                             last_evidence_at=created, explanation="x", status=status,
                             resolution=resolution, created_at=created, updated_at=created,
                             closed_at=created + timedelta(hours=2) if status == "closed"
                             else None)
    for k, (seen, fixed, due) in enumerate(VULNS):
        Vulnerability.objects.create(scanner="pip-audit", vuln_id=f"CVE-2026-{k}", package="p",
                                     source="tests", severity="high", first_seen=seen,
                                     last_seen=seen, fixed_at=fixed, due_at=due)
    for received, due, closed in DSRS:
        DataSubjectRequest.objects.create(kind="access", regime="gdpr", received_on=received,
                                          due_on=due, closed_on=closed,
                                          created_at=at(received.year, received.month,
                                                        received.day))
    for started, dry, counts, held in SWEEPS:
        SweepRun.objects.create(dry_run=dry, status="finished", as_of=started.date(),
                                started_at=started, finished_at=started + timedelta(hours=1),
                                heartbeat_at=started, triggered_by="tests", counts=counts,
                                held=held)
    control = governance.control_states()[0].id
    for when, status in ((at(2026, 1, 5), "pass"), (at(2026, 2, 1), "fail"),
                         (at(2026, 2, 15), "pass")):
        run = EvaluationRun.objects.create(started_at=when, finished_at=when, triggered_by="t")
        ControlEvaluation.objects.create(run=run, control_id=control, status=status,
                                         evidence="e", checked_at=when)
    return control


def figures(section: packs.Section) -> dict[str, str]:
    return {f.label: f.value for f in section.figures}


def inside(t: datetime | None) -> bool:
    return t is not None and START <= t < END


def test_quarterly_pack_figures_equal_independent_counts(seeded):
    pack = packs.build(Q1)
    s = {x.key: x for x in pack.sections}
    # incidents: aware in the quarter, by severity; closed in the quarter
    inc = figures(s["incidents"])
    assert inc["Incidents (aware in the period)"] == str(sum(inside(a) for a, _, _ in INCIDENTS))
    assert inc["Incidents (aware in the period)"] == "2"
    assert inc["of which SEV1 - critical"] == "1"
    assert inc["of which SEV2 - high"] == "1"
    assert inc["Incidents closed in the period"] == str(sum(inside(c) for _, _, c in INCIDENTS))
    assert inc["Incidents closed in the period"] == "2"
    assert [r[0][1] for r in s["incidents"].rows] == ["SEV2 - high", "SEV1 - critical"]
    assert all(re.fullmatch(r"/incidents/\d+/", url) for _, url in s["incidents"].rows)
    # alerts
    al = figures(s["alerts"])
    assert al["Alerts created in the period"] == str(sum(inside(c) for c, *_ in ALERTS)) == "2"
    assert al["closed as false positives"] == "1"
    assert al["still open now"] == "1"
    # data-subject requests: closed in the quarter, by due date, open and late at its end
    last = Q1.last_day
    closed = [(d, c) for _, d, c in DSRS if c and Q1.first_day <= c <= last]
    dsr = figures(s["dsrs"])
    assert dsr["Requests closed in the period"] == str(len(closed)) == "2"
    assert dsr["of which by their due date"] == str(sum(c <= d for d, c in closed)) == "1"
    assert dsr["Open and past due at the period's end"] == "1"
    # retention receipts: real sweeps started in the quarter
    ret = figures(s["retention"])
    assert ret["Retention sweeps run"] == "1"
    assert ret["records case:delete"] == "3"
    assert ret["records recording:anonymise"] == "2"
    assert ret["records kept under a legal hold"] == "1"
    assert re.fullmatch(r"/privacy/retention/sweeps/\d+/", s["retention"].rows[0][1])
    # vulnerability ageing at the quarter's end
    open_end = [(seen, fixed) for seen, fixed, _ in VULNS
                if seen < END and (fixed is None or fixed >= END)]
    ages = [(END - seen).days for seen, _ in open_end]
    vu = figures(s["vulnerabilities"])
    assert vu["Open at the period's end"] == str(len(open_end)) == "2"
    assert vu["open for 0–30 days"] == str(sum(a <= 30 for a in ages)) == "1"
    assert vu["open for 31–90 days"] == "0"
    assert vu["open for 91–180 days"] == str(sum(91 <= a <= 180 for a in ages)) == "1"
    assert vu["open for over 180 days"] == "0"
    fixed_in = [(f, d) for _, f, d in VULNS if inside(f)]
    assert vu["Fixed in the period"] == str(len(fixed_in)) == "2"
    assert vu["of which by their deadline"] == str(sum(d is None or f <= d
                                                       for f, d in fixed_in)) == "1"
    # control failures: one failing stretch in February
    co = figures(s["controls"])
    assert co["Control failures in the period"] == "1"
    assert co["Controls failing now"] == "0"
    assert s["controls"].rows[0][1] == f"/governance/controls/{seeded}/"
    assert s["controls"].rows[0][0][1:3] == ("2026-02-01 12:00", "2026-02-15 12:00")
    # access reviews: the accounts app's control, as it stands now (no campaign: not applicable
    # or fail, whatever the provider says — the pack shows exactly that)
    from safeguard.web import providers
    now = providers.get("control.access_reviews_done")()
    assert s["access_reviews"].status == "available"
    assert figures(s["access_reviews"])["Access-review control now"] == now["status"]
    # KPIs charted weekly
    assert pack.granularity == "weekly"
    # (cases' KPIs from the world; DSRs on time and MTTD from the seeded rows)
    assert {k.result.key for k in pack.kpis if k.chart_svg} == {
        "csat", "fcr", "asa", "dsr_on_time", "mttd"}


def test_every_figure_links_to_an_evidence_page(seeded):
    client = signed_in_client(make_user(roles=("compliance_manager",)))
    pack = packs.build(Q1)
    urls = {f.url for s in pack.sections for f in s.figures} | {
        u for s in pack.sections for _, u in s.rows}
    assert urls
    for url in sorted(urls):
        assert client.get(url).status_code in (200, 403), url  # a real page, not a 404


def test_access_reviews_from_their_provider(seeded, provider):
    provider("control.access_reviews_done",
             lambda: {"status": "fail", "evidence": "Q1 review of 4 roles not signed off"})
    s = {x.key: x for x in packs.build(Q1).sections}["access_reviews"]
    assert s.status == "available"
    assert figures(s) == {"Access-review control now": "fail"}
    assert s.note == "Q1 review of 4 roles not signed off"


def test_quarterly_page_shows_sections_and_is_audited(seeded):
    from safeguard.audit import selectors as audit

    client = signed_in_client(make_user(roles=("supervisor",)))
    resp = client.get("/metrics/reviews/quarterly/2026-Q1/")
    html = resp.content.decode()
    assert resp.status_code == 200
    assert "Quarterly security review" in html
    for key in ("incidents", "alerts", "dsrs", "retention", "access_reviews",
                "vulnerabilities", "controls"):
        assert f'data-section="{key}"' in html
    assert "Access reviews: unavailable" not in html  # the accounts app provides the control
    assert len(re.findall(r"<svg .*?</svg>", html, re.S)) == 5
    event = audit.event_list(action="metrics.review_viewed")[0]
    assert event.data == {"kind": "quarterly", "period": "2026-Q1", "format": "html"}


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils missing")
def test_quarterly_pdf_renders_with_charts(seeded, tmp_path):
    client = signed_in_client(make_user(roles=("supervisor",)))
    resp = client.get("/metrics/reviews/quarterly/2026-Q1/review.pdf")
    assert resp.status_code == 200
    assert resp["Content-Type"] == "application/pdf"
    pdf = tmp_path / "q.pdf"
    pdf.write_bytes(resp.content)
    text = subprocess.run([shutil.which("pdftotext") or "pdftotext", "-layout", str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "Quarterly security review" in text
    assert "Vulnerability ageing" in text
    assert text.count("UCL") >= 3
    subprocess.run([shutil.which("pdftoppm") or "pdftoppm", "-png", "-r", "50", str(pdf),
                    str(tmp_path / "page")], check=True, timeout=120)
    blue = 0
    for png in sorted(tmp_path.glob("page*.png")):
        img = Image.open(io.BytesIO(png.read_bytes())).convert("RGB")
        blue += sum(1 for r, g, b in img.get_flattened_data()
                    if abs(r - 0x1F) < 40 and abs(g - 0x4E) < 40 and abs(b - 0x8C) < 40)
    assert blue > 50  # the charts' series are drawn


def test_yearly_pack_is_charted_monthly(world):
    client = signed_in_client(make_user(roles=("supervisor",)))
    resp = client.get("/metrics/reviews/yearly/2026/")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "Yearly programme review" in html
    assert "granularity=monthly" in html
    pack = packs.build(packs.parse_period("yearly", "2026"))
    assert (pack.period.first_day, pack.period.last_day) == (date(2026, 1, 1),
                                                             date(2026, 12, 31))


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "message"), [
    ("/metrics/reviews/quarterly/2026-Q5/", "YYYY-Qn"),
    ("/metrics/reviews/quarterly/2026-3/", "YYYY-Qn"),
    ("/metrics/reviews/quarterly/2999-Q1/review.pdf", "has not begun yet"),
    ("/metrics/reviews/quarterly/1999-Q4/", "before 2000"),
    ("/metrics/reviews/yearly/26/", "YYYY"),
    ("/metrics/reviews/yearly/2026-01/", "YYYY"),
    ("/metrics/reviews/yearly/2999/review.pdf", "has not begun yet"),
])
def test_bad_periods_are_refused_with_a_message(url, message):
    client = signed_in_client(make_user(roles=("supervisor",)))
    resp = client.get(url)
    assert resp.status_code == 400
    assert message in resp.content.decode()


def test_periods_and_previous_periods():
    assert packs.parse_period("quarterly", "2026-Q3", today=date(2026, 12, 1)).last_day == \
        date(2026, 9, 30)
    with pytest.raises(MetricsError, match="has not ended yet"):
        packs.parse_period("quarterly", "2026-Q4", closed=True, today=date(2026, 12, 1))
    assert packs.previous_period("quarterly", date(2026, 1, 15)).label == "2025-Q4"
    assert packs.previous_period("quarterly", date(2026, 7, 1)).label == "2026-Q2"
    assert packs.previous_period("monthly", date(2026, 1, 1)).label == "2025-12"
    assert packs.previous_period("yearly", date(2026, 1, 1)).label == "2025"
    with pytest.raises(MetricsError, match="kind of review"):
        packs.parse_period("weekly", "2026-W01")


@pytest.mark.django_db
def test_a_failure_long_before_the_latest_evaluations_is_found():
    # a control that failed once in January 2026, then passed at 700 hourly evaluations
    control = governance.control_states()[0].id
    times = [(at(2026, 1, 10), "fail")] + [
        (at(2026, 1, 11) + timedelta(hours=h), "pass") for h in range(700)]
    for when, status in times:
        run = EvaluationRun.objects.create(started_at=when, finished_at=when, triggered_by="t")
        ControlEvaluation.objects.create(run=run, control_id=control, status=status,
                                         evidence="e", checked_at=when)
    s = packs.controls_section(packs.parse_period("monthly", "2026-01"))
    assert figures(s)["Control failures in the period"] == "1"
    assert s.rows[0][0][1:3] == ("2026-01-10 12:00", "2026-01-11 12:00")

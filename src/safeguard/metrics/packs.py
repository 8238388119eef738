"""Review packs over a month, a quarter or a year (R-MEAS-1, R-MEAS-4): the monthly operations
review, the quarterly security review and the yearly programme review. Each pack holds every
KPI against its target with its control chart and signals over the pack's granularity (days for
a month, ISO weeks for a quarter, months for a year), and sections on incidents, alerts,
data-subject requests, retention receipts, access reviews, vulnerability ageing and control
failures — each figure with the URL of the page that is its evidence.

Sources: the KPI selectors of this app; the selectors of incidents, detection, privacy and
governance (all below ``metrics``); governance's vulnerability register (``governance.vulns``,
its read functions live there); the provider ``control.access_reviews_done`` (absent =
*unavailable*). Built from live data at call time: an archived pack (``metrics.archive``) is
the stored copy of what this module produced then.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.urls import reverse
from django.utils import timezone

from safeguard.accounts import selectors as accounts
from safeguard.detection import selectors as detection
from safeguard.governance import selectors as governance
from safeguard.governance import vulns
from safeguard.incidents import selectors as incidents
from safeguard.metrics import kpis, selectors, svg
from safeguard.metrics.contracts import MetricsError
from safeguard.metrics.reviews import PackKpi
from safeguard.privacy import selectors as privacy
from safeguard.web import providers

MONTHLY, QUARTERLY, YEARLY = "monthly", "quarterly", "yearly"
KINDS = (MONTHLY, QUARTERLY, YEARLY)
TITLES = {MONTHLY: "Monthly operations review", QUARTERLY: "Quarterly security review",
          YEARLY: "Yearly programme review"}
GRANULARITY = {MONTHLY: selectors.DAILY, QUARTERLY: selectors.WEEKLY, YEARLY: selectors.MONTHLY}
FORMATS = {MONTHLY: "YYYY-MM (2026-07)", QUARTERLY: "YYYY-Qn (2026-Q3)", YEARLY: "YYYY (2026)"}
_PATTERNS = {MONTHLY: re.compile(r"(\d{4})-(0[1-9]|1[0-2])"),
             QUARTERLY: re.compile(r"(\d{4})-Q([1-4])"), YEARLY: re.compile(r"(\d{4})")}
# Vulnerability ageing buckets: open findings by days since first seen, at the period's end.
AGE_BUCKETS: tuple[tuple[int, int | None, str], ...] = (
    (0, 30, "0–30 days"), (31, 90, "31–90 days"), (91, 180, "91–180 days"),
    (181, None, "over 180 days"))
UNAVAILABLE = "unavailable"
BIG = 1_000_000  # no practical limit on the selectors' lists over one period


@dataclass(frozen=True)
class PackPeriod:
    """A pack's period: its kind, its label (``2026-07``, ``2026-Q3``, ``2026``) and its days."""

    kind: str
    label: str
    first_day: date
    last_day: date  # inclusive

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time.min, tzinfo=UTC)

    @property
    def end(self) -> datetime:  # exclusive
        return datetime.combine(self.last_day + timedelta(days=1), time.min, tzinfo=UTC)


def _add_months(d: date, months: int) -> date:
    m = d.month - 1 + months
    return date(d.year + m // 12, m % 12 + 1, 1)


def _period(kind: str, year: int, index: int) -> PackPeriod:
    if kind == MONTHLY:
        first, months, label = date(year, index, 1), 1, f"{year}-{index:02d}"
    elif kind == QUARTERLY:
        first, months, label = date(year, 3 * index - 2, 1), 3, f"{year}-Q{index}"
    else:
        first, months, label = date(year, 1, 1), 12, f"{year}"
    return PackPeriod(kind=kind, label=label, first_day=first,
                      last_day=_add_months(first, months) - timedelta(days=1))


def parse_period(kind: str, text: str, *, closed: bool = False,
                 today: date | None = None) -> PackPeriod:
    """``kind`` and its period label to a PackPeriod. A malformed label, a period before 2000,
    one not begun yet (or, with ``closed``, not ended yet) is refused with a message."""
    if kind not in KINDS:
        raise MetricsError(f"the kind of review must be one of {', '.join(KINDS)}")
    m = _PATTERNS[kind].fullmatch(text or "")
    if m is None:
        raise MetricsError(f"a {kind} period must be {FORMATS[kind]}, got {text[:20]!r}")
    year = int(m.group(1))
    if year < 2000:
        raise MetricsError("periods before 2000 are not reviewed")
    period = _period(kind, year, int(m.group(2)) if kind != YEARLY else 1)
    today = today or timezone.now().date()
    if period.first_day > today:
        raise MetricsError(f"{period.label} has not begun yet")
    if closed and period.last_day >= today:
        raise MetricsError(f"{period.label} has not ended yet: only closed periods are archived")
    return period


def previous_period(kind: str, today: date) -> PackPeriod:
    """The last period of ``kind`` that ended before ``today``."""
    if kind == MONTHLY:
        d = _add_months(today.replace(day=1), -1)
        return _period(kind, d.year, d.month)
    if kind == QUARTERLY:
        q = (today.month - 1) // 3  # 0-based current quarter
        return _period(kind, today.year - 1, 4) if q == 0 else _period(kind, today.year, q)
    return _period(kind, today.year - 1, 1)


@dataclass(frozen=True)
class Figure:
    """One number of a section, what it counts, and the page that is its evidence."""

    label: str
    value: str
    url: str


@dataclass(frozen=True)
class Section:
    """A section of a pack; ``status`` is ``available`` or ``unavailable`` (a missing source)."""

    key: str
    title: str
    status: str
    figures: tuple[Figure, ...] = ()
    head: tuple[str, ...] = ()
    rows: tuple[tuple[tuple[str, ...], str], ...] = ()  # (cells, evidence URL)
    note: str = ""


@dataclass(frozen=True)
class Pack:
    """One review: the organisation, the period, when it was built, each KPI and each section."""

    kind: str
    title: str
    organisation: str
    period: PackPeriod
    granularity: str
    generated_at: datetime
    kpis: tuple[PackKpi, ...]
    sections: tuple[Section, ...] = field(default=())


def _fmt(unit: str) -> svg.Formatter:
    if unit == kpis.RATIO:
        return lambda v: f"{v * 100:.1f}%"
    return lambda v: f"{v:.3g}"


def _kpis(p: PackPeriod, granularity: str) -> tuple[PackKpi, ...]:
    items: list[PackKpi] = []
    for result in selectors.kpi_results(period=selectors.period_of(p.first_day, p.last_day)):
        defn = kpis.BY_KEY[result.key]
        series = selectors.kpi_series(key=result.key, start=p.first_day, end=p.last_day,
                                      granularity=granularity)
        chart_svg, notes = "", tuple[svg.Explanation, ...]()
        plot = selectors.series_plot(series)
        if plot is not None:
            labels = [series.points[i].label for i in series.charted]
            chart_svg = svg.render(plot, labels=labels, title=f"{result.name}, {granularity}",
                                   fmt=_fmt(defn.unit))
            notes = tuple(svg.explanations(plot, labels))
        items.append(PackKpi(result=result, chart_svg=chart_svg, explanations=notes,
                             note=series.note))
    return tuple(items)


def _in(at: datetime | None, p: PackPeriod) -> bool:
    return at is not None and p.start <= at < p.end


def incidents_section(p: PackPeriod) -> Section:
    """Incidents whose organisation became aware of them in the period, by severity; and those
    closed in the period."""
    listed = incidents.incident_list(limit=BIG)
    rows = [i for i in listed if _in(i.aware_at, p)]
    closed = [i for i in listed if _in(i.stage_at.get("closed"), p)]
    url = reverse("incidents:list")
    by_sev: dict[str, int] = {}
    for i in rows:
        by_sev[i.severity_label] = by_sev.get(i.severity_label, 0) + 1
    figures = [Figure("Incidents (aware in the period)", str(len(rows)), url),
               *(Figure(f"of which {k}", str(v), url) for k, v in sorted(by_sev.items())),
               Figure("Incidents closed in the period", str(len(closed)), url)]
    return Section("incidents", "Incidents", "available", tuple(figures),
                   ("Incident", "Severity", "State now", "Aware"),
                   tuple(((f"#{i.id} {i.title}", i.severity_label, i.state_label,
                           f"{i.aware_at:%Y-%m-%d}"),
                          reverse("incidents:detail", args=[i.id])) for i in rows))


def alerts_section(p: PackPeriod) -> Section:
    """Alerts created in the period: by severity, closed as false positives, still open now."""
    rows = detection.alert_list(since=p.start, until=p.end, limit=BIG)
    url = reverse("detection:queue")
    by_sev: dict[str, int] = {}
    for a in rows:
        by_sev[a.severity] = by_sev.get(a.severity, 0) + 1
    figures = [Figure("Alerts created in the period", str(len(rows)), url),
               *(Figure(f"of which {k}", str(v), url) for k, v in sorted(by_sev.items())),
               Figure("closed as false positives",
                      str(sum(1 for a in rows if a.resolution == "false_positive")), url),
               Figure("still open now", str(sum(1 for a in rows if a.status != "closed")), url)]
    return Section("alerts", "Alerts", "available", tuple(figures))


def dsr_section(p: PackPeriod) -> Section:
    """Data-subject requests closed in the period, how many by their due date, and those open
    and past due at the period's end."""
    r = privacy.dsr_on_time(start=p.first_day, end=p.last_day)
    url = reverse("privacy:requests")
    return Section("dsrs", "Data-subject requests", "available", (
        Figure("Requests closed in the period", str(r.closed), url),
        Figure("of which by their due date", str(r.on_time), url),
        Figure("Open and past due at the period's end", str(r.overdue_open), url)))


def retention_section(p: PackPeriod) -> Section:
    """Retention sweeps (not dry runs) started in the period and what they disposed of: each
    sweep's page is its receipt."""
    runs = [s for s in privacy.sweep_list(limit=BIG) if not s.dry_run and _in(s.started_at, p)]
    totals: dict[str, int] = {}
    for s in runs:
        for k, v in s.counts.items():
            totals[k] = totals.get(k, 0) + int(v)
    url = reverse("privacy:retention")
    figures = [Figure("Retention sweeps run", str(len(runs)), url),
               Figure("finished", str(sum(1 for s in runs if s.finished_at)), url),
               *(Figure(f"records {k}", str(v), url) for k, v in sorted(totals.items())),
               Figure("records kept under a legal hold", str(sum(s.held for s in runs)), url)]
    return Section("retention", "Retention receipts", "available", tuple(figures),
                   ("Sweep", "As of", "Status", "Dispositions"),
                   tuple(((f"#{s.id}", s.as_of.isoformat(), s.status,
                           ", ".join(f"{k} {v}" for k, v in sorted(s.counts.items())) or "none"),
                          reverse("privacy:sweep", args=[s.id])) for s in runs))


def access_reviews_section(p: PackPeriod) -> Section:
    """The access-review control from provider ``control.access_reviews_done``; unavailable
    when no installed app provides it (never shown as done)."""
    fn = providers.get("control.access_reviews_done")
    if fn is None:
        return Section("access_reviews", "Access reviews", UNAVAILABLE,
                       note="no installed app provides 'control.access_reviews_done'")
    r: Any = fn()
    get = r.get if isinstance(r, dict) else (lambda k: getattr(r, k, None))
    url = reverse("governance:frameworks")
    return Section("access_reviews", "Access reviews", "available", (
        Figure("Access-review control now", str(get("status") or UNAVAILABLE), url),),
        note=str(get("evidence") or ""))


def vulnerability_section(p: PackPeriod) -> Section:
    """Vulnerability ageing at the period's end: findings first seen before it and not fixed by
    then, by days since first seen; and findings fixed in the period, by their deadline."""
    rows = vulns.register(limit=BIG)
    end = p.end
    open_at_end = [v for v in rows if v.first_seen < end and (v.fixed_at is None
                                                             or v.fixed_at >= end)]
    url = reverse("governance:vulnerabilities")
    figures = [Figure("Open at the period's end", str(len(open_at_end)), url)]
    for lo, hi, label in AGE_BUCKETS:
        n = sum(1 for v in open_at_end if lo <= (end - v.first_seen).days
                and (hi is None or (end - v.first_seen).days <= hi))
        figures.append(Figure(f"open for {label}", str(n), url))
    fixed = [v for v in rows if _in(v.fixed_at, p)]
    figures += [Figure("Fixed in the period", str(len(fixed)), url),
                Figure("of which by their deadline", str(sum(
                    1 for v in fixed if v.fixed_at and (v.due_at is None
                                                        or v.fixed_at <= v.due_at))), url)]
    return Section("vulnerabilities", "Vulnerability ageing", "available", tuple(figures),
                   note="Open = not fixed by the period's end, whether or not under an "
                        "exception.")


def controls_section(p: PackPeriod) -> Section:
    """Controls that failed at any evaluation in the period (from each control's history), and
    how many fail now."""
    states = governance.control_states()
    failing_now = sum(1 for s in states if s.status == "fail")
    now = timezone.now()
    rows: list[tuple[tuple[str, ...], str]] = []
    for s in states:
        # every evaluation back to now: controls are evaluated hourly, so the selector's
        # default (the latest 500) would not reach back to an older period
        for span in governance.spans(control_id=s.id, limit=BIG):
            span_end = span.until or now
            if span.status == "fail" and span.since < p.end and span_end >= p.start:
                rows.append(((f"{s.id} {s.title}", f"{span.since:%Y-%m-%d %H:%M}",
                              f"{span.until:%Y-%m-%d %H:%M}" if span.until else "still failing",
                              str(span.evaluations)),
                             reverse("governance:control", args=[s.id])))
    url = reverse("governance:frameworks")
    return Section("controls", "Control failures", "available", (
        Figure("Control failures in the period", str(len(rows)), url),
        Figure("Controls failing now", str(failing_now), url)),
        ("Control", "Failing since", "Until", "Evaluations"), tuple(rows))


SECTIONS = (incidents_section, alerts_section, dsr_section, retention_section,
            access_reviews_section, vulnerability_section, controls_section)


def build(period: PackPeriod) -> Pack:
    """The pack for ``period``: every KPI charted at the kind's granularity, and every section."""
    granularity = GRANULARITY[period.kind]
    return Pack(kind=period.kind, title=TITLES[period.kind],
                organisation=accounts.organisation().name, period=period,
                granularity=granularity, generated_at=timezone.now(),
                kpis=_kpis(period, granularity),
                sections=tuple(fn(period) for fn in SECTIONS))

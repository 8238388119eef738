"""Reads of the metrics app: every KPI over a period against its target, and a KPI's series
over a range with its control chart (R-KPI-1..9, R-MEAS-2). Aggregates only: no customer data."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings

from safeguard.cases.contracts import Period
from safeguard.metrics import kpis, spc, svg
from safeguard.metrics.contracts import (
    MEASURED,
    KpiResult,
    KpiSeries,
    Measurement,
    MetricsError,
    ProcessChangeView,
    SeriesPoint,
    Status,
)
from safeguard.metrics.models import ProcessChange

DAILY, WEEKLY, MONTHLY = "daily", "weekly", "monthly"
GRANULARITIES = (DAILY, WEEKLY, MONTHLY)


def period_of(start: date, end: date) -> Period:
    """The half-open UTC period covering the days ``start`` .. ``end`` (inclusive)."""
    return Period(start=datetime.combine(start, time.min, tzinfo=UTC),
                  end=datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC))


def _check_filters(defn: kpis.KpiDef, queue: str | None, channel: str | None) -> tuple[
        str | None, str | None]:
    # A filter the source cannot apply is not applied (and the page says so); it never
    # narrows one KPI while silently leaving another unfiltered.
    return (queue if kpis.QUEUE in defn.filters else None,
            channel if kpis.CHANNEL in defn.filters else None)


def kpi_result(*, key: str, period: Period, queue: str | None = None,
               channel: str | None = None) -> KpiResult:
    """One KPI over ``period``: its measurement and verdict. Only a measured value inside the
    target is ``met``; a missing source is ``unavailable``, never met."""
    defn = kpis.BY_KEY.get(key)
    if defn is None:
        raise MetricsError(f"unknown KPI {key!r}")
    q, c = _check_filters(defn, queue, channel)
    m = defn.compute(period, q, c)
    target = kpis.target_for(key)
    if m.status != MEASURED or m.value is None:
        status = m.status
    elif not target.is_set:
        status = Status.NO_TARGET
    else:
        status = Status.MET if target.met(m.value) else Status.NOT_MET
    value_text = kpis.format_value(defn.unit, m.value) if m.value is not None else {
        Status.UNAVAILABLE: "unavailable", Status.NOT_APPLICABLE: "not applicable",
    }.get(m.status, "no data")
    return KpiResult(key=key, name=defn.name, requirement=defn.requirement,
                     formula=defn.formula, unit=defn.unit, owner=defn.owner, source=defn.source,
                     target=target, target_text=kpis.format_target(defn.unit, target),
                     measurement=m, status=status, value_text=value_text)


def kpi_results(*, period: Period, queue: str | None = None,
                channel: str | None = None) -> list[KpiResult]:
    """Every KPI of the registry over ``period``, in registry order."""
    return [kpi_result(key=d.key, period=period, queue=queue, channel=channel)
            for d in kpis.REGISTRY]


def buckets(*, start: date, end: date, granularity: str) -> list[tuple[date, date, str]]:
    """Whole days, ISO weeks (Monday first) or calendar months covering ``start`` .. ``end``:
    ``(first day, day after the last, label)``. A reversed range or too many points is refused."""
    if granularity not in GRANULARITIES:
        raise MetricsError(f"granularity must be one of {', '.join(GRANULARITIES)}")
    if end < start:
        raise MetricsError(f"the range is reversed: {start.isoformat()} is after "
                           f"{end.isoformat()}")
    out: list[tuple[date, date, str]] = []
    if granularity == DAILY:
        d = start
        while d <= end:
            out.append((d, d + timedelta(days=1), d.isoformat()))
            d += timedelta(days=1)
            if len(out) > settings.SAFEGUARD_KPI_MAX_POINTS:
                break
    elif granularity == WEEKLY:
        d = start - timedelta(days=start.weekday())
        while d <= end:
            y, w, _ = d.isocalendar()
            out.append((d, d + timedelta(days=7), f"{y}-W{w:02d}"))
            d += timedelta(days=7)
            if len(out) > settings.SAFEGUARD_KPI_MAX_POINTS:
                break
    else:
        d = start.replace(day=1)
        while d <= end:
            nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
            out.append((d, nxt, f"{d.year}-{d.month:02d}"))
            d = nxt
            if len(out) > settings.SAFEGUARD_KPI_MAX_POINTS:
                break
    if len(out) > settings.SAFEGUARD_KPI_MAX_POINTS:
        raise MetricsError(f"more than {settings.SAFEGUARD_KPI_MAX_POINTS} {granularity} points:"
                           " choose a shorter range or a coarser granularity")
    return out


def kpi_series(*, key: str, start: date, end: date, granularity: str,
               queue: str | None = None, channel: str | None = None) -> KpiSeries:
    """A KPI per bucket and its control chart: a p-chart for shares (hits/total per bucket),
    an XmR chart of the bucket values otherwise. Buckets without data are left off the chart."""
    defn = kpis.BY_KEY.get(key)
    if defn is None:
        raise MetricsError(f"unknown KPI {key!r}")
    q, c = _check_filters(defn, queue, channel)
    spans = buckets(start=start, end=end, granularity=granularity)
    if not defn.chartable:
        return KpiSeries(key=key, granularity=granularity, points=(), charted=(), chart=None,
                         note="a current state with no history: not charted")
    points: list[SeriesPoint] = []
    compute = defn.series_compute or defn.compute
    for lo, hi, label in spans:
        period = Period(start=datetime.combine(lo, time.min, tzinfo=UTC),
                        end=datetime.combine(hi, time.min, tzinfo=UTC))
        points.append(SeriesPoint(start=lo, end=hi, label=label,
                                  measurement=compute(period, q, c)))
    if any(p.measurement.status == Status.UNAVAILABLE for p in points):
        return KpiSeries(key=key, granularity=granularity, points=tuple(points), charted=(),
                         chart=None, note="unavailable: its source is not installed")
    charted = tuple(i for i, p in enumerate(points) if _has_data(p.measurement))
    chart: spc.XmR | spc.AttributeChart | None = None
    note = ""
    if defn.unit == kpis.RATIO and charted:
        chart = spc.p_chart([points[i].measurement.hits or 0 for i in charted],
                            [points[i].measurement.total or 0 for i in charted])
    elif defn.unit != kpis.RATIO and len(charted) >= 2:
        chart = spc.xmr([float(points[i].measurement.value or 0.0) for i in charted])
    else:
        note = "not enough periods with data for a control chart"
    phase_charts: tuple[tuple[int, str, spc.XmR | spc.AttributeChart], ...] = ()
    changes = [c for c in process_changes(key=key) if start < c.effective_on <= end]
    if chart is not None and changes:
        phase_charts, why = _phases(defn, points, charted, changes)
        note = why or note
    return KpiSeries(key=key, granularity=granularity, points=tuple(points), charted=charted,
                     chart=chart, note=note, phase_charts=phase_charts)


def _phases(defn: kpis.KpiDef, points: list[SeriesPoint], charted: tuple[int, ...],
            changes: list[ProcessChangeView]) -> tuple[
                tuple[tuple[int, str, spc.XmR | spc.AttributeChart], ...], str]:
    # A phase starts at the first charted period that begins on or after the change's date.
    bounds: list[tuple[int, str]] = [(0, "baseline")]
    for c in changes:
        first = next((k for k, i in enumerate(charted) if points[i].start >= c.effective_on),
                     None)
        if first is not None and first > bounds[-1][0]:
            bounds.append((first, f"{c.effective_on.isoformat()}: {c.label}"))
    if len(bounds) == 1:
        return (), ""
    parts: list[tuple[int, str, spc.XmR | spc.AttributeChart]] = []
    for k, (s, label) in enumerate(bounds):
        e = bounds[k + 1][0] if k + 1 < len(bounds) else len(charted)
        ms = [points[i].measurement for i in charted[s:e]]
        if defn.unit == kpis.RATIO:
            parts.append((s, label, spc.p_chart([m.hits or 0 for m in ms],
                                                [m.total or 0 for m in ms])))
        elif len(ms) >= 2:
            parts.append((s, label, spc.xmr([float(m.value or 0.0) for m in ms])))
        else:
            return (), (f"the phase from {label} has fewer than 2 periods with data: limits "
                        "from the whole range")
    return tuple(parts), ""


def series_plot(series: KpiSeries) -> svg.Plot | None:
    """What the page draws for a series: its phases when there are any, else its one chart."""
    if series.phase_charts:
        return svg.phased(series.phase_charts)
    return svg.plot_of(series.chart) if series.chart is not None else None


def process_changes(*, key: str | None = None) -> list[ProcessChangeView]:
    """Annotated process changes, by KPI and date (all KPIs when ``key`` is None)."""
    qs = ProcessChange.objects.all()
    if key is not None:
        qs = qs.filter(kpi_key=key)
    return [ProcessChangeView(id=r.id, kpi_key=r.kpi_key, effective_on=r.effective_on,
                              label=r.label) for r in qs.order_by("kpi_key", "effective_on")]


def _has_data(m: Measurement) -> bool:
    if m.status != MEASURED or m.value is None:
        return False
    return m.total is None or m.total > 0

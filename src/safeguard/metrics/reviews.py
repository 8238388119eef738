"""The monthly operations review pack (R-MEAS-1, R-MEAS-4): every KPI for one calendar month
against its target, with a daily control chart and its signals, as an HTML page and a PDF.
Generated on request; the download is audited by the view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from safeguard.accounts import selectors as accounts
from safeguard.metrics import kpis, selectors, svg
from safeguard.metrics.contracts import KpiResult, MetricsError


@dataclass(frozen=True)
class PackKpi:
    result: KpiResult
    chart_svg: str
    explanations: tuple[svg.Explanation, ...]
    note: str


@dataclass(frozen=True)
class MonthlyPack:
    """One month's review: the organisation, the month, when it was generated and each KPI."""

    organisation: str
    month: str  # YYYY-MM
    first_day: date
    last_day: date
    generated_at: datetime
    kpis: tuple[PackKpi, ...]


def parse_month(text: str) -> date:
    """``YYYY-MM`` to the month's first day; anything else (or a future month) is refused."""
    try:
        first = datetime.strptime(text, "%Y-%m").date()  # noqa: DTZ007 - a calendar month
    except ValueError:
        raise MetricsError(f"month must be YYYY-MM, got {text[:20]!r}") from None
    if first > timezone.now().date():
        raise MetricsError(f"{text} has not begun yet")
    if first.year < 2000:
        raise MetricsError("months before 2000 are not reviewed")
    return first


def monthly_pack(*, first_day: date) -> MonthlyPack:
    """Every KPI of the month against its target, charted per day with its signals."""
    last_day = (first_day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    period = selectors.period_of(first_day, last_day)
    items: list[PackKpi] = []
    for result in selectors.kpi_results(period=period):
        defn = kpis.BY_KEY[result.key]
        series = selectors.kpi_series(key=result.key, start=first_day, end=last_day,
                                      granularity=selectors.DAILY)
        chart_svg, notes = "", tuple[svg.Explanation, ...]()
        plot = selectors.series_plot(series)
        if plot is not None:
            labels = [series.points[i].label for i in series.charted]
            chart_svg = svg.render(plot, labels=labels, title=f"{result.name}, daily",
                                   fmt=_fmt(defn.unit))
            notes = tuple(svg.explanations(plot, labels))
        items.append(PackKpi(result=result, chart_svg=chart_svg, explanations=notes,
                             note=series.note))
    return MonthlyPack(organisation=accounts.organisation().name,
                       month=first_day.strftime("%Y-%m"), first_day=first_day, last_day=last_day,
                       generated_at=timezone.now(), kpis=tuple(items))


def _fmt(unit: str) -> svg.Formatter:
    if unit == kpis.RATIO:
        return lambda v: f"{v * 100:.1f}%"
    return lambda v: f"{v:.3g}"

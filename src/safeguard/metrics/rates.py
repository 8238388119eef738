"""Rates on u-charts (R-KPI-9, R-MEAS-2): a count of events per unit of exposure, with limits
that follow each period's exposure — ``spc.u_chart``.

None of the source document's KPIs is a rate with an exposure (its counts, such as externally
found vulnerabilities, are plain counts), so no KPI of the registry is one. The rate charted
here is an operational series that exists in live data and answers "did alerting change, or
only the volume of activity?":

* ``alerts_per_1000_events``: detection alerts created in the period ÷ (audited events recorded
  in the period ÷ 1,000). Counts from ``detection.selectors.alerts_created_count`` and
  ``audit.selectors.event_count``; a period without audited events is left off the chart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from safeguard.audit import selectors as audit
from safeguard.detection import selectors as detection
from safeguard.metrics import selectors, spc


@dataclass(frozen=True)
class RateDef:
    key: str
    name: str
    formula: str
    per: int  # the rate is per this many units of exposure
    unit: str  # e.g. "alerts per 1,000 audited events"
    source: str
    count: Callable[[datetime, datetime], int]
    exposure: Callable[[datetime, datetime], int]


RATES: tuple[RateDef, ...] = (
    RateDef(key="alerts_per_1000_events", name="Security alerts per 1,000 audited events",
            formula="alerts created in the period ÷ (audited events recorded in the period ÷ "
                    "1,000)", per=1000, unit="alerts per 1,000 audited events",
            source="detection (alerts) and audit (events)",
            count=lambda s, e: detection.alerts_created_count(start=s, end=e),
            exposure=lambda s, e: audit.event_count(start=s, end=e)),
)
BY_KEY = {r.key: r for r in RATES}


@dataclass(frozen=True)
class RatePoint:
    label: str
    count: int
    exposure: int
    rate: float | None  # count per ``per`` units of exposure; None without exposure


@dataclass(frozen=True)
class RateSeries:
    key: str
    points: tuple[RatePoint, ...]
    charted: tuple[int, ...]  # indexes of the points with exposure > 0
    chart: spc.AttributeChart | None
    note: str


def rate_series(*, key: str, start: date, end: date, granularity: str) -> RateSeries:
    """The rate per bucket of the range and its u-chart (sizes = exposure ÷ ``per``)."""
    defn = BY_KEY[key]
    points = []
    for lo, hi, label in selectors.buckets(start=start, end=end, granularity=granularity):
        s = datetime.combine(lo, time.min, tzinfo=UTC)
        e = datetime.combine(hi, time.min, tzinfo=UTC)
        n, x = defn.count(s, e), defn.exposure(s, e)
        points.append(RatePoint(label=label, count=n, exposure=x,
                                rate=n * defn.per / x if x else None))
    charted = tuple(i for i, p in enumerate(points) if p.exposure > 0)
    if not charted:
        return RateSeries(key=key, points=tuple(points), charted=(), chart=None,
                          note="no period with exposure")
    chart = spc.u_chart([points[i].count for i in charted],
                        [points[i].exposure / defn.per for i in charted])
    return RateSeries(key=key, points=tuple(points), charted=charted, chart=chart, note="")

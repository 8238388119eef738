"""Public contracts of the metrics app: KPI targets, measurements, results and series."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from safeguard.metrics.spc import AttributeChart, XmR
from safeguard.web.errors import ApplicationError


class Status:
    """Why a KPI shows what it shows. Only MET is ever rendered as met."""

    MET = "met"
    NOT_MET = "not_met"
    NO_TARGET = "no_target"  # measured; no target set in the settings
    NO_DATA = "no_data"  # the source exists; nothing happened in the period
    UNAVAILABLE = "unavailable"  # the source app (provider) is not installed
    NOT_APPLICABLE = "not_applicable"  # e.g. MFA coverage with no privileged staff


@dataclass(frozen=True)
class Target:
    """A bound on a KPI's value: ``min`` <= v, v <= ``max``, v < ``below`` (any combination)."""

    min: float | None = None
    max: float | None = None
    below: float | None = None

    @property
    def is_set(self) -> bool:
        return any(b is not None for b in (self.min, self.max, self.below))

    def met(self, value: float) -> bool:
        """True when ``value`` satisfies every bound that is set."""
        if self.min is not None and value < self.min:
            return False
        if self.max is not None and value > self.max:
            return False
        return not (self.below is not None and value >= self.below)


@dataclass(frozen=True)
class Measurement:
    """One KPI over one period: ``value`` in the KPI's unit; ``hits``/``total`` for shares."""

    status: str  # Status.NO_DATA / UNAVAILABLE / NOT_APPLICABLE, or "measured"
    value: float | None = None
    hits: int | None = None
    total: int | None = None
    note: str = ""


MEASURED = "measured"


@dataclass(frozen=True)
class KpiResult:
    """A KPI's definition, its measurement over a period, its target and the verdict."""

    key: str
    name: str
    requirement: str
    formula: str
    unit: str
    owner: str
    source: str
    target: Target
    target_text: str
    measurement: Measurement
    status: str
    value_text: str


@dataclass(frozen=True)
class SeriesPoint:
    start: date
    end: date  # exclusive
    label: str
    measurement: Measurement


@dataclass(frozen=True)
class KpiSeries:
    """A KPI per bucket of a range, and its control chart over the buckets that have data."""

    key: str
    granularity: str
    points: tuple[SeriesPoint, ...]
    charted: tuple[int, ...]  # indexes into ``points`` of the charted buckets
    chart: XmR | AttributeChart | None
    note: str
    # Baseline phases after annotated process changes: (first charted index, label, chart of
    # the phase's points); empty when the range has no change (then ``chart`` applies).
    phase_charts: tuple[tuple[int, str, XmR | AttributeChart], ...] = ()


class MetricsError(ApplicationError):
    code = "metrics-error"
    title = "The metrics request cannot be carried out"
    status = 400


@dataclass(frozen=True)
class ProcessChangeView:
    """An annotated process change on a KPI (a new baseline phase from ``effective_on``)."""

    id: int
    kpi_key: str
    effective_on: date
    label: str

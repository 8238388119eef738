"""The KPI registry (R-KPI-1..8, R-MEAS-2): every KPI of the source document with its formula,
unit, direction, target (from settings.SAFEGUARD_KPI_TARGETS), owner, source and the function
that measures it over one period.

Sources: the cases KPI selectors (CSAT, FCR, ASA), the accounts selectors (MFA coverage), and
named providers of ``safeguard.web.providers`` for KPIs of apps that sit beside or above this
one, or are not built yet. A provider that is not registered makes the KPI *unavailable*,
never met (docs/metrics.md, decision 0262).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from safeguard.accounts import rbac
from safeguard.accounts import selectors as accounts
from safeguard.cases import selectors as cases
from safeguard.cases.contracts import Period
from safeguard.metrics.contracts import MEASURED, Measurement, Status, Target
from safeguard.web import providers

RATIO = "ratio"  # a share in [0, 1], shown as a percentage; charted on a p-chart
SECONDS = "seconds"  # a mean duration; charted on an XmR chart
HOURS = "hours"

VALUE = "value"  # provider shape: a float or None
ON_TIME = "on_time"  # provider shape: an object with on_time and closed

QUEUE = "queue"
CHANNEL = "channel"

Compute = Callable[[Period, str | None, str | None], Measurement]


@dataclass(frozen=True)
class KpiDef:
    """One KPI: what it measures and how; its target is read from the settings at call time."""

    key: str
    name: str
    requirement: str
    formula: str
    unit: str
    owner: str
    source: str
    filters: frozenset[str]
    compute: Compute
    chartable: bool = True  # False for a current state with no history
    # Per period of a chart, when it differs from ``compute`` (a current state measured from
    # its recorded history, such as MFA coverage from the daily snapshots).
    series_compute: Compute | None = None


def _ratio(hits: int, total: int) -> Measurement:
    if total == 0:
        return Measurement(status=Status.NO_DATA, hits=0, total=0)
    return Measurement(status=MEASURED, value=hits / total, hits=hits, total=total)


def _csat(period: Period, queue: str | None, channel: str | None) -> Measurement:
    r = cases.csat(period=period, queue=queue, channel=channel)
    return _ratio(r.hits, r.total)


def _fcr(period: Period, queue: str | None, channel: str | None) -> Measurement:
    r = cases.fcr(period=period, queue=queue, channel=channel)
    return _ratio(r.hits, r.total)


def _asa(period: Period, queue: str | None, channel: str | None) -> Measurement:
    r = cases.asa(period=period, queue=queue)
    if r.value_seconds is None:
        return Measurement(status=Status.NO_DATA, total=r.answered)
    return Measurement(status=MEASURED, value=float(r.value_seconds), total=r.answered)


def _mfa_privileged(period: Period, queue: str | None, channel: str | None) -> Measurement:
    agent = rbac.builtin_role_permissions("agent")
    privileged = [u for u in accounts.user_list(include_disabled=False)
                  if u.is_active and not u.is_service_account
                  and accounts.user_permissions(user_id=u.id) - agent]
    if not privileged:
        return Measurement(status=Status.NOT_APPLICABLE, hits=0, total=0,
                           note="no active staff member holds a permission beyond the agent role")
    covered = sum(1 for u in privileged if u.mfa_types)
    return Measurement(status=MEASURED, value=covered / len(privileged), hits=covered,
                       total=len(privileged), note="current state (not per period)")


def _mfa_privileged_history(period: Period, queue: str | None,
                            channel: str | None) -> Measurement:
    """MFA coverage as of the last daily snapshot inside ``period`` (metrics.mfa_history)."""
    from safeguard.metrics import mfa_history

    snap = mfa_history.snapshot_in(period)
    if snap is None or snap.privileged == 0:
        return Measurement(status=Status.NO_DATA)
    return _ratio(snap.privileged_with_mfa, snap.privileged)


def _training_hours(period: Period, queue: str | None, channel: str | None) -> Measurement:
    """Hours per person over the rolling window ending at the period's end (the target is per
    year: a week's or a month's hours alone would always fall short of it)."""
    window = timedelta(days=settings.SAFEGUARD_KPI_TRAINING_WINDOW_DAYS)
    rolling = Period(start=period.end - window, end=period.end)
    return _provider("kpi.training_hours_per_person", VALUE)(rolling, queue, channel)


def _provider(name: str, shape: str) -> Compute:
    """A KPI measured by the provider ``name``. Shapes: ``value`` (returns float | None),
    ``ratio`` (returns an object with ``hits`` and ``total``), ``on_time`` (returns an object with
    ``on_time`` and ``closed``; takes dates, end inclusive, as privacy's ``kpi.dsr_on_time``)."""

    def compute(period: Period, queue: str | None, channel: str | None) -> Measurement:
        fn = providers.get(name)
        if fn is None:
            return Measurement(status=Status.UNAVAILABLE,
                               note=f"no installed app provides {name!r}")
        if shape == VALUE:
            v = fn(start=period.start, end=period.end)
            if v is None:
                return Measurement(status=Status.NO_DATA)
            return Measurement(status=MEASURED, value=float(v))
        if shape == ON_TIME:
            last_day = (period.end - _ONE_MICRO).date()
            r: Any = fn(start=period.start.date(), end=last_day)
            return _ratio(int(r.on_time), int(r.closed))
        r = fn(start=period.start, end=period.end)
        return _ratio(int(r.hits), int(r.total))

    return compute


_ONE_MICRO = datetime.resolution

REGISTRY: tuple[KpiDef, ...] = (
    KpiDef("csat", "Customer satisfaction (CSAT)", "R-KPI-1",
           "survey answers of 4 or 5 out of 5 ÷ all survey answers submitted in the period",
           RATIO, "Customer service manager", "cases", frozenset({QUEUE, CHANNEL}), _csat),
    KpiDef("fcr", "First contact resolution (FCR)", "R-KPI-2",
           "cases first resolved in the period within their first interaction and not reopened "
           "within SAFEGUARD_FCR_REOPEN_WINDOW_DAYS ÷ cases first resolved in the period",
           RATIO, "Customer service manager", "cases", frozenset({QUEUE, CHANNEL}), _fcr),
    KpiDef("asa", "Average speed to answer (ASA)", "R-KPI-3",
           "mean of (answered − queued) over voice calls queued in the period and answered",
           SECONDS, "Customer service manager", "cases", frozenset({QUEUE}), _asa),
    KpiDef("mttd", "Mean time to detect (MTTD)", "R-KPI-4",
           "mean of (alert created − first evidence) over alerts created in the period, "
           "false positives left out", SECONDS, "Security operations lead",
           "provider kpi.mttd_seconds (detection)", frozenset(),
           _provider("kpi.mttd_seconds", VALUE)),
    KpiDef("time_to_acknowledge", "Alert time to acknowledge", "R-OPS-9",
           "mean of (acknowledged − created) over alerts created in the period and acknowledged",
           SECONDS, "Security operations lead",
           "provider kpi.time_to_acknowledge_seconds (detection)", frozenset(),
           _provider("kpi.time_to_acknowledge_seconds", VALUE)),
    KpiDef("mttr", "Mean time to remediate (MTTR)", "R-KPI-5",
           "mean of (remediated − detected) over incidents remediated in the period", SECONDS,
           "Incident manager", "provider kpi.mttr_seconds (incidents)", frozenset(),
           _provider("kpi.mttr_seconds", VALUE)),
    KpiDef("vulnerabilities_on_time", "Critical vulnerabilities fixed within SLA", "R-KPI-6",
           "vulnerabilities with CVSS ≥ 7.0 resolved in the period within 30 days ÷ those "
           "resolved in the period", RATIO, "Security engineering lead",
           "provider kpi.vulnerabilities_on_time (governance)", frozenset(),
           _provider("kpi.vulnerabilities_on_time", RATIO)),
    KpiDef("phishing_click_rate", "Phishing-simulation click rate", "R-KPI-7",
           "recipients who clicked ÷ recipients of simulations sent in the period", RATIO,
           "Security awareness lead", "provider kpi.phishing_click_rate (governance)",
           frozenset(), _provider("kpi.phishing_click_rate", RATIO)),
    KpiDef("mfa_privileged", "MFA coverage of privileged staff", "R-KPI-8",
           "active staff holding a permission beyond the agent role with a second factor "
           "enrolled ÷ active staff holding a permission beyond the agent role", RATIO,
           "Access administrator", "accounts (history: daily snapshots)", frozenset(),
           _mfa_privileged, series_compute=_mfa_privileged_history),
    KpiDef("dsr_on_time", "Data-subject requests answered on time", "R-DATA-7",
           "requests closed in the period by their due date ÷ requests closed in the period",
           RATIO, "Data protection officer", "provider kpi.dsr_on_time (privacy)", frozenset(),
           _provider("kpi.dsr_on_time", ON_TIME)),
    KpiDef("training_hours", "Security training hours per person", "R-OPS-10",
           "training hours completed in the SAFEGUARD_KPI_TRAINING_WINDOW_DAYS (365) days ending "
           "at the period's end ÷ active staff: a rolling year, as the target is per person per "
           "year", HOURS,
           "Security awareness lead", "provider kpi.training_hours_per_person (governance)",
           frozenset(), _training_hours),
)
BY_KEY = {k.key: k for k in REGISTRY}


def target_for(key: str) -> Target:
    """The KPI's target from settings.SAFEGUARD_KPI_TARGETS (no bound set = no target)."""
    raw: dict[str, Any] = dict(settings.SAFEGUARD_KPI_TARGETS.get(key, {}))
    return Target(min=raw.get("min"), max=raw.get("max"), below=raw.get("below"))


def target_problems() -> list[str]:
    """Malformed target settings (E560): unknown keys, non-numbers, a band with min > max."""
    problems: list[str] = []
    targets = settings.SAFEGUARD_KPI_TARGETS
    for key, bounds in targets.items():
        if key not in BY_KEY:
            problems.append(f"SAFEGUARD_KPI_TARGETS has unknown KPI {key!r}")
            continue
        for name, v in bounds.items():
            if name not in ("min", "max", "below"):
                problems.append(f"SAFEGUARD_KPI_TARGETS[{key!r}] has unknown bound {name!r}")
            elif v is not None and (isinstance(v, bool) or not isinstance(v, int | float)):
                problems.append(f"SAFEGUARD_KPI_TARGETS[{key!r}][{name!r}] must be a number")
        lo, hi = bounds.get("min"), bounds.get("max")
        if isinstance(lo, int | float) and isinstance(hi, int | float) and lo > hi:
            problems.append(f"SAFEGUARD_KPI_TARGETS[{key!r}]: min {lo} is above max {hi}")
    return problems


def format_value(unit: str, value: float) -> str:
    """A value in the KPI's unit, for people: 87.5 %, 42.0 s, 1.5 h, 8.0 h."""
    if unit == RATIO:
        return f"{value * 100:.1f} %"
    if unit == SECONDS:
        if value >= 3600:
            return f"{value / 3600:.1f} h"
        if value >= 120:
            return f"{value / 60:.1f} min"
        return f"{value:.1f} s"
    return f"{value:.1f} h"


def format_target(unit: str, target: Target) -> str:
    """The target in words: "≥ 85.0 %", "between 75.0 % and 85.0 %", "< 30.0 s"."""
    if not target.is_set:
        return "no target set"
    parts: list[str] = []
    if target.min is not None and target.max is not None:
        parts.append(f"between {format_value(unit, target.min)} and "
                     f"{format_value(unit, target.max)}")
    elif target.min is not None:
        parts.append(f"≥ {format_value(unit, target.min)}")
    elif target.max is not None:
        parts.append(f"≤ {format_value(unit, target.max)}")
    if target.below is not None:
        parts.append(f"< {format_value(unit, target.below)}")
    return ", ".join(parts)

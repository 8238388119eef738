"""The customer-facing security summary (R-MEAS-4): what an enterprise customer may be handed —
controls passing, uptime, certifications, subprocessors and the security contacts — built from
live state through the same providers as the trust page, with no internal detail: no staff
names or addresses, no control evidence, no incident internals, no KPI figures.

Providers (``safeguard.web.providers``; a missing one makes its section "unavailable"):
``governance.controls()`` (items with ``title``/``name`` and ``status`` or ``passing``),
``governance.certifications()`` (``name``, ``issued_on``, ``expires_on``),
``privacy.subprocessors()`` (``vendor``, ``service``, ``location``, ``data_categories``),
``ops.uptime_90d(days=90)`` -> ``{"overall": float | None, "days": [{"date", "up_ratio"}]}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.utils import timezone

from safeguard.accounts import selectors as accounts
from safeguard.web import providers

UPTIME_DAYS = 90


@dataclass(frozen=True)
class Section:
    available: bool
    items: tuple[dict[str, Any], ...] = ()
    note: str = ""


@dataclass(frozen=True)
class CustomerSummary:
    organisation: str
    as_of: datetime
    controls: Section
    controls_passing: int
    controls_failing: int
    controls_not_checked: int
    uptime_percent: str | None  # rounded down to 2 decimals; None = unavailable
    uptime_days: int
    certifications: Section
    subprocessors: Section
    security_email: str
    security_hotline: str
    dpo_email: str


def _get(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _iso(v: Any) -> str:
    return v.isoformat() if isinstance(v, datetime | date) else ""


def _result(item: Any) -> str:
    status = _get(item, "status")
    if status is not None:
        return {"pass": "passing", "fail": "failing"}.get(str(status), "not checked")
    passing = _get(item, "passing")
    return "passing" if passing is True else "failing" if passing is False else "not checked"


def _controls() -> Section:
    fn = providers.get("governance.controls")
    if fn is None:
        return Section(available=False, note="control checks are not installed")
    rows = sorted(({"name": str(_get(i, "title") or _get(i, "name") or ""),
                    "result": _result(i)} for i in fn()), key=lambda r: r["name"])
    return Section(available=True, items=tuple(rows))


def _certifications() -> Section:
    fn = providers.get("governance.certifications")
    if fn is None:
        return Section(available=False, note="no certification register is installed")
    return Section(available=True, items=tuple(
        {"name": str(_get(i, "name")), "issued_on": _iso(_get(i, "issued_on")),
         "expires_on": _iso(_get(i, "expires_on"))} for i in fn()))


def _subprocessors() -> Section:
    fn = providers.get("privacy.subprocessors")
    if fn is None:
        return Section(available=False, note="no subprocessor register is installed")
    rows = sorted(({"vendor": str(_get(i, "vendor")), "service": str(_get(i, "service")),
                    "location": str(_get(i, "location") or ""),
                    "data_categories": ", ".join(str(c) for c in
                                                 (_get(i, "data_categories") or ()))}
                   for i in fn()), key=lambda r: (r["vendor"], r["service"]))
    return Section(available=True, items=tuple(rows))


def _uptime() -> str | None:
    fn = providers.get("ops.uptime_90d")
    if fn is None:
        return None
    result = fn(days=UPTIME_DAYS)
    overall = _get(result, "overall") if result is not None else None
    if isinstance(overall, bool) or not isinstance(overall, int | float) \
            or not 0 <= overall <= 1:
        return None
    # Rounded down: never more uptime than was measured.
    return f"{math.floor(overall * 10000) / 100:.2f}"


def customer_summary(*, now: datetime | None = None) -> CustomerSummary:
    """The summary as of ``now`` from live state; sections without a source say unavailable."""
    org = accounts.organisation()
    controls = _controls()
    results = [r["result"] for r in controls.items]
    return CustomerSummary(
        organisation=org.name, as_of=now or timezone.now(), controls=controls,
        controls_passing=results.count("passing"), controls_failing=results.count("failing"),
        controls_not_checked=results.count("not checked"),
        uptime_percent=_uptime(), uptime_days=UPTIME_DAYS,
        certifications=_certifications(), subprocessors=_subprocessors(),
        security_email=org.security_email or "", security_hotline=org.security_hotline or "",
        dpo_email=org.dpo_email or "")

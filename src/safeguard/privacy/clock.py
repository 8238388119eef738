"""The operator's side of the request clock (R-DATA-7): the holiday calendar of the configured
countries (the ``holidays`` library) fed to the pure :mod:`safeguard.privacy.deadlines`, the
state of each open request against its clock, and the notification of the privacy officers
when a request becomes due soon, overdue, or (CCPA) unacknowledged past ten business days.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from functools import cache

from django.conf import settings

from safeguard.privacy.deadlines import acknowledge_due, response_due
from safeguard.privacy.enums import ClockState

logger = logging.getLogger(__name__)


def parse_countries(spec: str) -> list[tuple[str, str | None]]:
    """``"GB-ENG,DE"`` -> ``[("GB", "ENG"), ("DE", None)]``; raises ValueError on a country or
    subdivision the ``holidays`` library does not know."""
    import holidays as lib

    out: list[tuple[str, str | None]] = []
    supported = lib.list_supported_countries()
    for item in (p.strip() for p in spec.split(",")):
        if not item:
            continue
        country, _, subdiv = item.partition("-")
        country = country.upper()
        if country not in supported:
            raise ValueError(f"unknown holiday country {country!r}")
        if subdiv and subdiv.upper() not in {s.upper() for s in supported[country]}:
            raise ValueError(f"unknown subdivision {subdiv!r} of {country}")
        out.append((country, subdiv.upper() or None))
    return out


@cache
def _calendar(spec: str, year: int) -> frozenset[date]:
    import holidays as lib

    days: set[date] = set()
    for country, subdiv in parse_countries(spec):
        days |= set(lib.country_holidays(country, subdiv=subdiv, years=year).keys())
    return frozenset(days)


def operator_holidays(start: date, *, years: int = 2) -> frozenset[date]:
    """The public holidays of SAFEGUARD_DSR_HOLIDAY_COUNTRIES from ``start``'s year on (a
    request's clock spans at most three months, so two years cover it)."""
    spec = settings.SAFEGUARD_DSR_HOLIDAY_COUNTRIES
    if not spec.strip():
        return frozenset()
    out: frozenset[date] = frozenset()
    for year in range(start.year, start.year + years):
        out |= _calendar(spec, year)
    return out


def due_on(regime: str, received: date, *, extended: bool = False) -> date:
    """The response deadline with the operator's holidays (the contract of issue 16)."""
    return response_due(regime, received, extended=extended,
                        holidays=operator_holidays(received))


def acknowledge_by(regime: str, received: date) -> date | None:
    """CCPA: the tenth business day after receipt (operator holidays excluded); GDPR: None."""
    return acknowledge_due(regime, received, holidays=operator_holidays(received))


def clock_state(*, today: date, due: date, ack_by: date | None,
                acknowledged: date | None) -> str:
    """Where an open request stands: overdue after its due date; due soon within
    SAFEGUARD_DSR_DUE_SOON_DAYS of it; acknowledgement overdue (CCPA) past ten business days
    without one; else on track."""
    if today > due:
        return ClockState.OVERDUE
    if (due - today) <= timedelta(days=settings.SAFEGUARD_DSR_DUE_SOON_DAYS):
        return ClockState.DUE_SOON
    if ack_by is not None and acknowledged is None and today > ack_by:
        return ClockState.ACK_DUE
    return ClockState.ON_TRACK

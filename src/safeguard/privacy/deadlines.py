"""Data-subject-request clocks (R-DATA-7): a pure core, no Django.

:func:`response_due` is the contract other code and checks call (issue 16):

* ``gdpr`` — Art. 12(3) GDPR: one month from the day of receipt (the same day of the following
  month, or that month's last day when the day does not exist); extended: three months from
  receipt. An end on a Saturday, Sunday or a date in ``holidays`` moves to the next working day
  (ICO guidance; Regulation (EEC, Euratom) No 1182/71 Art. 3(4)).
* ``ccpa`` — Cal. Civ. Code § 1798.130(a)(2) and 11 CCR § 7021(b): receipt plus 45 calendar
  days; extended: plus 90; no weekend rule. :func:`acknowledge_due`: 10 business days
  (11 CCR § 7021(a)).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta

from safeguard.privacy.periods import add_months

REGIMES: tuple[str, ...] = ("gdpr", "ccpa")

_GDPR_MONTHS = 1
_GDPR_EXTENDED_MONTHS = 3  # one month plus the two-month extension of Art. 12(3)
_CCPA_DAYS = 45
_CCPA_EXTENDED_DAYS = 90  # 45 plus the 45-day extension of § 1798.130(a)(2)
_CCPA_ACK_BUSINESS_DAYS = 10


def is_working_day(day: date, holidays: Collection[date] = ()) -> bool:
    """Monday to Friday and not a holiday."""
    return day.weekday() < 5 and day not in holidays


def next_working_day(day: date, holidays: Collection[date] = ()) -> date:
    """``day`` itself when it is a working day, else the first working day after it."""
    while not is_working_day(day, holidays):
        day += timedelta(days=1)
    return day


def response_due(regime: str, received: date, *, extended: bool = False,
                 holidays: Collection[date] = ()) -> date:
    """The last day to answer a request received on ``received`` under ``regime``."""
    if regime == "gdpr":
        end = add_months(received, _GDPR_EXTENDED_MONTHS if extended else _GDPR_MONTHS)
        return next_working_day(end, holidays)
    if regime == "ccpa":
        return received + timedelta(days=_CCPA_EXTENDED_DAYS if extended else _CCPA_DAYS)
    raise ValueError(f"unknown regime {regime!r}; expected one of {', '.join(REGIMES)}")


def acknowledge_due(regime: str, received: date, *, holidays: Collection[date] = ()) -> date | None:
    """CCPA: the tenth business day after receipt; GDPR sets no separate acknowledgement (None)."""
    if regime == "gdpr":
        return None
    if regime != "ccpa":
        raise ValueError(f"unknown regime {regime!r}; expected one of {', '.join(REGIMES)}")
    day, counted = received, 0
    while counted < _CCPA_ACK_BUSINESS_DAYS:
        day += timedelta(days=1)
        if is_working_day(day, holidays):
            counted += 1
    return day

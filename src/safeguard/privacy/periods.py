"""Calendar-aware retention periods and the rule that governs a record (R-DATA-3, R-REG-4).

A pure core: no Django. A period is an ISO 8601 duration of whole years, months and days
(``P90D``, ``P7Y``, ``P6Y``, ``P1Y6M``); adding it to a date moves by calendar years and months
first (clamping to the month's last day: 29 Feb + 1 year is 28 Feb) and then by days.

Conflicts resolve as Microsoft Purview's principles of retention do: retention wins over
deletion, and the longest retention period wins — so of every rule that applies to a record,
the one whose end is latest governs; on a tie the least destructive action governs (review, then
archive, then anonymise, then delete). A legal hold beats every rule (see :func:`governing`).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

_PERIOD = re.compile(r"^P(?:(\d{1,3})Y)?(?:(\d{1,4})M)?(?:(\d{1,5})D)?$")

#: Least destructive first: on equal end dates the earlier one governs. ``archive`` is
#: archive-then-delete: the record leaves the live tables but an encrypted copy is kept.
ACTIONS: tuple[str, ...] = ("review", "archive", "anonymise", "delete")


@dataclass(frozen=True, order=True)
class Period:
    """Whole years, months and days; at least one is non-zero."""

    years: int = 0
    months: int = 0
    days: int = 0

    def __str__(self) -> str:
        parts = [f"{v}{u}" for v, u in ((self.years, "Y"), (self.months, "M"), (self.days, "D"))
                 if v]
        return "P" + "".join(parts)

    def human(self) -> str:
        """``7 years``, ``90 days``, ``1 year 6 months``."""
        out = []
        for value, unit in ((self.years, "year"), (self.months, "month"), (self.days, "day")):
            if value:
                out.append(f"{value} {unit}{'' if value == 1 else 's'}")
        return " ".join(out)


def parse_period(text: str) -> Period:
    """Parse ``PnYnMnD`` (any part optional, at least one non-zero); anything else is refused."""
    match = _PERIOD.match(text.strip()) if isinstance(text, str) else None
    if match is None or not any(match.groups()):
        raise ValueError(f"not a period of whole years, months and days (e.g. P90D, P7Y): {text!r}")
    years, months, days = (int(g) if g else 0 for g in match.groups())
    if years == months == days == 0:
        raise ValueError(f"a retention period cannot be zero: {text!r}")
    return Period(years, months, days)


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later, or that month's last day when the day does not exist."""
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(start.day, last))


def period_end(start: date, period: Period) -> date:
    """The first day on which a record whose trigger happened on ``start`` is past ``period``."""
    return add_months(start, period.years * 12 + period.months) + timedelta(days=period.days)


@dataclass(frozen=True)
class Applicable:
    """One rule of the matrix applied to one record: its class, action and end date."""

    record_class: str
    action: str
    ends: date


def governing(rules: Iterable[Applicable]) -> Applicable:
    """The rule that governs a record: the latest end wins (the longest retention); on a tie
    the least destructive action (review < archive < anonymise < delete). Raises on an empty set."""
    candidates = list(rules)
    if not candidates:
        raise ValueError("no retention rule applies")
    for rule in candidates:
        if rule.action not in ACTIONS:
            raise ValueError(f"unknown retention action {rule.action!r}")
    return max(candidates, key=lambda r: (r.ends, -ACTIONS.index(r.action), r.record_class))

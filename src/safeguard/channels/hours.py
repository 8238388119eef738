"""Chat business hours (issue 15): when the web chat takes new conversations. Pure: no Django.

The spec is ``"mon-fri 09:00-17:00; sat 10:00-14:00"``: day ranges or lists (``mon,wed``)
followed by one or more time ranges (``09:00-12:00 13:00-17:00``); days not named are closed.
An empty spec means always open. Public holidays are closed days.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")

Hours = Mapping[int, tuple[tuple[time, time], ...]]


class HoursError(ValueError):
    """The business-hours spec cannot be read; the message says where."""


def _days(part: str) -> list[int]:
    out: list[int] = []
    for item in part.split(","):
        if "-" in item:
            a, b = item.split("-", 1)
            if a not in DAYS or b not in DAYS:
                raise HoursError(f"unknown day in {item!r} (use {', '.join(DAYS)})")
            i, j = DAYS.index(a), DAYS.index(b)
            if j < i:
                raise HoursError(f"day range {item!r} runs backwards")
            out.extend(range(i, j + 1))
        elif item in DAYS:
            out.append(DAYS.index(item))
        else:
            raise HoursError(f"unknown day {item!r} (use {', '.join(DAYS)})")
    return out


def parse(spec: str) -> Hours:
    """The opening times per weekday (0 = Monday); raises HoursError on a bad spec."""
    hours: dict[int, list[tuple[time, time]]] = {}
    for clause in (c.strip().lower() for c in spec.split(";")):
        if not clause:
            continue
        words = clause.split()
        if len(words) < 2:
            raise HoursError(f"{clause!r} needs days and at least one time range")
        days = _days(words[0])
        for rng in words[1:]:
            m = _RANGE.match(rng)
            if not m:
                raise HoursError(f"time range {rng!r} is not HH:MM-HH:MM")
            start = time(int(m.group(1)), int(m.group(2)))
            end = (time.max if m.group(3) == "24" and m.group(4) == "00"
                   else time(int(m.group(3)) % 24, int(m.group(4))))
            if end <= start:
                raise HoursError(f"time range {rng!r} ends before it starts")
            for d in days:
                hours.setdefault(d, []).append((start, end))
    return {d: tuple(sorted(r)) for d, r in hours.items()}


def is_open(at: datetime, hours: Hours | None,
            is_holiday: Callable[[date], bool] = lambda _d: False) -> bool:
    """Whether the chat is open at the local time ``at`` (``hours`` None: always open)."""
    if hours is None:
        return True
    if is_holiday(at.date()):
        return False
    now = at.time()
    return any(start <= now < end or (end == time.max and now >= start)
               for start, end in hours.get(at.weekday(), ()))

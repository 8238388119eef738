"""Bounds of user input that Python accepts but the database or the arithmetic after it cannot.

``0001-01-01T00:00:00+14:00`` parses as a datetime, yet converting it to UTC (which every
database adapter does) overflows, and a year-9999 timestamp overflows as soon as a deadline is
added to it. ``"²".isdigit()`` is true, yet ``int("²")`` raises. Entry points validate with the
helpers here, so such input is a 4xx that changes nothing (R-OPS-8: bad input never a 500).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

# Every timestamp the platform stores or compares lies in this window: the log, cases and calls
# begin after 1970, and deadlines computed from any instant before 3000 stay representable.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)
RANGE_TEXT = "between 1970-01-01T00:00:00Z and 2999-12-31T23:59:59Z"


def datetime_check(value: datetime) -> datetime:
    """``value`` if it lies in [EARLIEST, LATEST] (naive values are read as UTC), else
    ValueError; never OverflowError, whatever the offset."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:
        utc = aware.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError(f"must be {RANGE_TEXT}") from None
    if not EARLIEST <= utc <= LATEST:
        raise ValueError(f"must be {RANGE_TEXT}")
    return aware


def date_check(value: date) -> date:
    """``value`` if its whole day lies in the window (any time zone), else ValueError."""
    if not EARLIEST.date() < value < LATEST.date():
        raise ValueError(f"must be between {EARLIEST.date().isoformat()} and "
                         f"{LATEST.date().isoformat()} (exclusive)")
    return value


def ascii_int(raw: str | None, *, minimum: int = 0, maximum: int = 2**63 - 1) -> int | None:
    """The integer spelled by ASCII digits in ``raw`` within [minimum, maximum]; None for
    anything else (superscripts and other Unicode digits, signs, spaces, overflow)."""
    if not raw or len(raw) > 19 or not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if minimum <= value <= maximum else None


# Pydantic field types for API and webhook schemas: timestamps inside the window.
BoundedDatetime = Annotated[datetime, AfterValidator(datetime_check)]
BoundedAwareDatetime = Annotated[AwareDatetime, AfterValidator(datetime_check)]

# The largest integer a database column holds (PostgreSQL bigint, SQLite INTEGER): ids, sequence
# numbers and counts beyond it are refused at the edge, not by the database driver.
MAX_SEQ = 2**63 - 1

"""Breach-notification clocks (R-REG-3, R-IR-6): a pure core, no Django.

:func:`regulator_due` is the contract other code and checks call (issue 12)::

    regulator_due(jurisdiction: str, aware_at: datetime) -> datetime | None

* ``aware_at`` must be timezone-aware (a naive datetime is a ``ValueError``); the result is in
  the same ``tzinfo``.
* ``None`` when the law sets no fixed period (e.g. California's "most expedient time possible").
* An unknown jurisdiction code is an :class:`UnknownJurisdiction`, a ``ValueError``.

The periods are data (``jurisdictions.yaml`` beside this file, one row per jurisdiction with
its citation and effective date). Two countings exist:

* ``elapsed`` hours: elapsed time, computed in UTC and converted back to the input's zone, so
  a daylight-saving change between awareness and deadline moves the local wall-clock deadline
  (GDPR's 72 hours are 72 real hours).
* ``calendar_days``: the day of awareness is not counted; the deadline is the last instant of
  the Nth calendar day after it, in the zone of ``aware_at`` (the usual statutory counting,
  e.g. HIPAA's "no later than 60 calendar days after discovery").

Delay exceptions (a law-enforcement request, R-IR-6): :class:`Delay` pauses a notice's clock
from ``starts_at`` to ``ends_at``; the deadline moves by the paused time that falls before it;
an open delay (no end yet) leaves the notice without a deadline until it ends.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any, Literal

import yaml

DEFAULT_TABLE_PATH = Path(__file__).with_name("jurisdictions.yaml")

Counting = Literal["elapsed", "calendar_days", "none"]


class UnknownJurisdiction(ValueError):
    """A jurisdiction code that is not in the table."""


class TableError(ValueError):
    """The jurisdiction table is malformed (missing keys, two regulator notices, ...)."""


@dataclass(frozen=True)
class NoticeRule:
    """One notification a jurisdiction requires: to whom, within what, under which provision."""

    recipient: str
    citation: str
    condition: str
    counting: Counting
    amount: int  # hours for "elapsed", days for "calendar_days", 0 for "none"
    regulator: bool = False
    setting: str = ""


@dataclass(frozen=True)
class Jurisdiction:
    """A row of the table: the law, where it is written, since when, and its notices."""

    code: str
    name: str
    citation: str
    effective: date
    verified: str
    notes: str
    notices: tuple[NoticeRule, ...]

    @property
    def regulator_notice(self) -> NoticeRule:
        return next(n for n in self.notices if n.regulator)


@dataclass(frozen=True)
class Delay:
    """A recorded delay exception: the clock of ``jurisdiction`` (all when empty) is paused."""

    starts_at: datetime
    ends_at: datetime | None
    jurisdiction: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Notice:
    """A notification owed: recipient, deadline (None = no fixed period or paused) and basis."""

    jurisdiction: str
    recipient: str
    due: datetime | None
    citation: str
    condition: str
    counting: Counting
    amount: int
    regulator: bool
    paused: bool = False


def _require_aware(value: datetime, name: str) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware; got a naive datetime")


def _period(row: Mapping[str, Any], where: str) -> tuple[Counting, int]:
    hours, days = row.get("hours"), row.get("days")
    counting = row.get("counting")
    if hours is not None and days is not None:
        raise TableError(f"{where}: give hours or days, not both")
    if hours is not None:
        if counting != "elapsed" or not isinstance(hours, int) or hours <= 0:
            raise TableError(f"{where}: hours need a positive integer and counting: elapsed")
        return "elapsed", hours
    if days is not None:
        if counting != "calendar_days" or not isinstance(days, int) or days <= 0:
            raise TableError(f"{where}: days need a positive integer and counting: calendar_days")
        return "calendar_days", days
    if counting not in (None, "none"):
        raise TableError(f"{where}: counting {counting!r} without a period")
    return "none", 0


def parse_table(data: Mapping[str, Any]) -> dict[str, Jurisdiction]:
    """Validate the YAML structure into frozen rows; a malformed table is a TableError."""
    rows = data.get("jurisdictions") if isinstance(data, Mapping) else None
    if not isinstance(rows, Mapping) or not rows:
        raise TableError("the table needs a non-empty 'jurisdictions' mapping")
    out: dict[str, Jurisdiction] = {}
    for code, row in rows.items():
        if not isinstance(row, Mapping):
            raise TableError(f"{code}: not a mapping")
        missing = [k for k in ("name", "citation", "effective", "notices") if not row.get(k)]
        if missing:
            raise TableError(f"{code}: missing {', '.join(missing)}")
        effective = row["effective"]
        if not isinstance(effective, date):
            raise TableError(f"{code}: effective must be a date (YYYY-MM-DD)")
        notices = []
        for i, n in enumerate(row["notices"]):
            where = f"{code} notice {i + 1}"
            if not isinstance(n, Mapping) or not n.get("recipient") or not n.get("citation"):
                raise TableError(f"{where}: needs recipient and citation")
            counting, amount = _period(n, where)
            notices.append(NoticeRule(
                recipient=str(n["recipient"]), citation=str(n["citation"]),
                condition=str(n.get("condition", "")), counting=counting, amount=amount,
                regulator=bool(n.get("regulator", False)), setting=str(n.get("setting", ""))))
        if sum(1 for n in notices if n.regulator) != 1:
            raise TableError(f"{code}: exactly one notice must be marked regulator: true")
        out[str(code)] = Jurisdiction(
            code=str(code), name=str(row["name"]), citation=str(row["citation"]),
            effective=effective, verified=str(row.get("verified", "")),
            notes=" ".join(str(row.get("notes", "")).split()), notices=tuple(notices))
    return out


def load_table(path: Path | str | None = None,
               overrides: Mapping[str, int] | None = None) -> dict[str, Jurisdiction]:
    """Read and validate a table; ``overrides`` maps a notice's ``setting`` name to its amount."""
    text = Path(path or DEFAULT_TABLE_PATH).read_text(encoding="utf-8")
    table = parse_table(yaml.safe_load(text))
    if overrides:
        for code, j in table.items():
            notices = tuple(
                replace(n, amount=int(overrides[n.setting]))
                if n.setting and n.setting in overrides else n for n in j.notices)
            table[code] = replace(j, notices=notices)
    return table


_table: dict[str, Jurisdiction] | None = None


def use_table(table: dict[str, Jurisdiction] | None) -> None:
    """Install the table the functions below read (the app does this at start from settings);
    None = the default file, loaded on first use."""
    global _table  # noqa: PLW0603 - one process-wide table, replaced whole
    _table = table


def table() -> dict[str, Jurisdiction]:
    """The table in use."""
    global _table  # noqa: PLW0603
    if _table is None:
        _table = load_table()
    return _table


def jurisdiction_row(code: str) -> Jurisdiction:
    """One row; an unknown code is an UnknownJurisdiction (a ValueError)."""
    row = table().get(code)
    if row is None:
        raise UnknownJurisdiction(
            f"unknown jurisdiction {code!r}; expected one of {', '.join(sorted(table()))}")
    return row


def _end_of_day(day: date, tz: tzinfo) -> datetime:
    # The last instant of ``day`` in ``tz``: one microsecond before the next local midnight,
    # taken in UTC so a zone whose midnight falls in a DST gap still gives a real instant.
    next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return (next_midnight.astimezone(UTC) - timedelta(microseconds=1)).astimezone(tz)


def rule_due(rule: NoticeRule, aware_at: datetime) -> datetime | None:
    """The deadline of one notice rule for awareness at ``aware_at`` (same tzinfo out)."""
    _require_aware(aware_at, "aware_at")
    tz = aware_at.tzinfo
    assert tz is not None  # noqa: S101 - checked by _require_aware, for the type checker
    if rule.counting == "elapsed":
        return (aware_at.astimezone(UTC) + timedelta(hours=rule.amount)).astimezone(tz)
    if rule.counting == "calendar_days":
        return _end_of_day(aware_at.date() + timedelta(days=rule.amount), tz)
    return None


def regulator_due(jurisdiction: str, aware_at: datetime) -> datetime | None:
    """When the jurisdiction's regulator notice is due for awareness at ``aware_at``.

    Timezone-aware in (naive: ValueError), same tzinfo out; None where the law sets no fixed
    period; an unknown code is UnknownJurisdiction (a ValueError).
    """
    _require_aware(aware_at, "aware_at")
    return rule_due(jurisdiction_row(jurisdiction).regulator_notice, aware_at)


def _apply_delays(due: datetime, delays: Sequence[Delay]) -> datetime | None:
    # Pause the clock for every delay that starts before the (moving) deadline.
    moved = due
    for d in sorted(delays, key=lambda d: d.starts_at):
        if d.starts_at >= moved:
            continue
        if d.ends_at is None:
            return None
        if d.ends_at > d.starts_at:
            moved = moved + (d.ends_at.astimezone(UTC) - d.starts_at.astimezone(UTC))
    return moved.astimezone(due.tzinfo)


def notifications_owed(jurisdictions: Iterable[str], aware_at: datetime,
                       delays: Iterable[Delay] = ()) -> list[Notice]:
    """Every notice the affected jurisdictions require, earliest deadline first (no fixed
    period last); a delay exception pauses the clocks it names (all when it names none)."""
    _require_aware(aware_at, "aware_at")
    delay_list = list(delays)
    for d in delay_list:
        _require_aware(d.starts_at, "delay starts_at")
        if d.ends_at is not None:
            _require_aware(d.ends_at, "delay ends_at")
            if d.ends_at < d.starts_at:
                raise ValueError("a delay cannot end before it starts")
    out: list[Notice] = []
    for code in dict.fromkeys(jurisdictions):
        row = jurisdiction_row(code)
        applicable = [d for d in delay_list if d.jurisdiction in ("", code)]
        for rule in row.notices:
            due = rule_due(rule, aware_at)
            paused = False
            if due is not None and applicable:
                moved = _apply_delays(due, applicable)
                paused = moved is None
                due = moved
            out.append(Notice(jurisdiction=code, recipient=rule.recipient, due=due,
                              citation=rule.citation, condition=rule.condition,
                              counting=rule.counting, amount=rule.amount,
                              regulator=rule.regulator, paused=paused))
    far = datetime.max.replace(tzinfo=UTC)
    out.sort(key=lambda n: (n.due is None, n.due.astimezone(UTC) if n.due else far))
    return out


# --- incident SLA clocks from awareness (R-IR-2) ---------------------------------------------

SLA_STAGES: tuple[str, ...] = ("triage", "containment", "eradication", "recovery")


@dataclass(frozen=True)
class SlaClock:
    """One SLA stage from awareness (R-IR-2): due, when met, and what is left at ``now``."""

    stage: str
    due: datetime
    met_at: datetime | None
    remaining: timedelta | None  # None once met; negative once breached
    breached: bool


def sla_clocks(aware_at: datetime, hours: Mapping[str, int],
               met: Mapping[str, datetime | None], now: datetime) -> list[SlaClock]:
    """Each stage's deadline (aware_at + its hours of elapsed time); breached = met late, or
    not met and past due at ``now``."""
    _require_aware(aware_at, "aware_at")
    _require_aware(now, "now")
    out = []
    for stage in SLA_STAGES:
        due = (aware_at.astimezone(UTC) + timedelta(hours=hours[stage])).astimezone(aware_at.tzinfo)
        done = met.get(stage)
        if done is not None:
            out.append(SlaClock(stage, due, done, None, done > due))
        else:
            out.append(SlaClock(stage, due, None, due - now, now > due))
    return out


def add_months(day: date, months: int) -> date:
    """``day`` plus whole calendar months, the day clamped to the target month's last day
    (31 Aug + 6 months = 28 Feb, or 29 Feb in a leap year). R-IR-3 exercise cadence."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))

"""Case lifecycle, SLA clocks and the KPI definitions (R-KPI-1..3) — pure, no Django.

States: new → open → pending → resolved → closed, with reopen from resolved or closed back to
open. Plain data in, plain data out, property-tested with hypothesis.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


# Allowed moves; anything else is refused by the service with the current state named.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.OPEN, Status.PENDING, Status.RESOLVED}),
    Status.OPEN: frozenset({Status.PENDING, Status.RESOLVED}),
    Status.PENDING: frozenset({Status.OPEN, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.OPEN}),  # → open is a reopen
    Status.CLOSED: frozenset({Status.OPEN}),  # reopen
}


def can_move(current: Status, target: Status) -> bool:
    """Whether ``current → target`` is a legal lifecycle move."""
    return target in TRANSITIONS[current]


def is_reopen(current: Status, target: Status) -> bool:
    """A move from resolved or closed back to open counts as a reopen (it breaks FCR)."""
    return current in (Status.RESOLVED, Status.CLOSED) and target == Status.OPEN


ACTIVE: frozenset[Status] = frozenset({Status.NEW, Status.OPEN, Status.PENDING})
"""States in which the case still waits for work (SLA clocks run, it shows in the queue)."""


def next_statuses(current: Status) -> tuple[Status, ...]:
    """The legal targets from ``current`` in lifecycle order (what the status control offers)."""
    return tuple(s for s in Status if s in TRANSITIONS[current])


def on_customer_message(current: Status) -> Status | None:
    """The state after a customer writes on a case: pending and resolved cases come back to
    open (resolved → open is a reopen); a closed case stays closed and the message starts a new
    case (None); new and open cases stay as they are."""
    if current == Status.CLOSED:
        return None
    if current in (Status.PENDING, Status.RESOLVED):
        return Status.OPEN
    return current


def on_agent_reply(current: Status) -> Status:
    """The state after an agent's first public reply: a new case becomes open; otherwise the
    agent chooses the state explicitly (replying never resolves or reopens by itself)."""
    return Status.OPEN if current == Status.NEW else current


@dataclass(frozen=True)
class SlaTargets:
    """Per-queue targets in minutes; None means no target."""

    first_response_minutes: int | None
    resolution_minutes: int | None


@dataclass(frozen=True)
class SlaState:
    """Where a case stands against its queue's targets at a moment."""

    first_response_due: datetime | None
    resolution_due: datetime | None
    first_response_breached: bool
    resolution_breached: bool


def sla_state(
    *,
    created_at: datetime,
    first_response_at: datetime | None,
    resolved_at: datetime | None,
    targets: SlaTargets,
    now: datetime,
) -> SlaState:
    """Breached when the event happened after its due time, or has not happened and it is late."""
    fr_due = (created_at + timedelta(minutes=targets.first_response_minutes)
              if targets.first_response_minutes is not None else None)
    res_due = (created_at + timedelta(minutes=targets.resolution_minutes)
               if targets.resolution_minutes is not None else None)

    def breached(due: datetime | None, done: datetime | None) -> bool:
        if due is None:
            return False
        return (done or now) > due

    return SlaState(fr_due, res_due, breached(fr_due, first_response_at),
                    breached(res_due, resolved_at))


def sla_due(*, created_at: datetime,
            targets: SlaTargets) -> tuple[datetime | None, datetime | None]:
    """(first response due, resolution due) for a case created at ``created_at``."""
    state = sla_state(created_at=created_at, first_response_at=created_at,
                      resolved_at=created_at, targets=targets, now=created_at)
    return state.first_response_due, state.resolution_due


def sla_badge(state: SlaState, *, now: datetime, warn_minutes: int, responded: bool,
              resolved: bool) -> str:
    """What a queue shows for one case: ``breached``, ``due-soon`` (a clock still running ends
    within ``warn_minutes``), ``ok``, or ``none`` when the queue sets no targets."""
    if state.first_response_breached or state.resolution_breached:
        return "breached"
    running = [due for due, done in ((state.first_response_due, responded),
                                     (state.resolution_due, resolved))
               if due is not None and not done]
    if state.first_response_due is None and state.resolution_due is None:
        return "none"
    if any(due <= now + timedelta(minutes=warn_minutes) for due in running):
        return "due-soon"
    return "ok"


# --- KPIs ------------------------------------------------------------------------------------

CSAT_SATISFIED_MIN = 4  # a 4 or 5 on the 1–5 scale counts as satisfied (the usual definition)


def csat(scores: Iterable[int]) -> float | None:
    """R-KPI-1: share of answers that are satisfied (4 or 5); None without answers."""
    values = list(scores)
    if not values:
        return None
    return sum(1 for s in values if s >= CSAT_SATISFIED_MIN) / len(values)


@dataclass(frozen=True)
class CaseForFcr:
    """What first-contact resolution needs to know about one resolved case."""

    resolved_at: datetime
    interactions_before_resolution: int
    reopened_at: datetime | None


def first_contact_resolved(case: CaseForFcr, *, reopen_window_days: int) -> bool:
    """R-KPI-2 definition: resolved within its first interaction and not reopened within N days."""
    if case.interactions_before_resolution > 1:
        return False
    if case.reopened_at is None:
        return True
    return case.reopened_at - case.resolved_at > timedelta(days=reopen_window_days)


def fcr(cases: Sequence[CaseForFcr], *, reopen_window_days: int = 7) -> float | None:
    """R-KPI-2: share of resolved cases that were first-contact resolutions."""
    if not cases:
        return None
    return sum(first_contact_resolved(c, reopen_window_days=reopen_window_days)
               for c in cases) / len(cases)


def speed_to_answer(queued_at: datetime, answered_at: datetime | None) -> float | None:
    """Seconds from entering the queue to an agent answering; None if never answered."""
    if answered_at is None:
        return None
    return max((answered_at - queued_at).total_seconds(), 0.0)


def average_speed_to_answer(waits: Iterable[float | None]) -> float | None:
    """R-KPI-3: mean seconds to answer over answered calls (abandoned calls are not averaged)."""
    answered = [w for w in waits if w is not None]
    if not answered:
        return None
    return sum(answered) / len(answered)

"""Public contracts of the incidents app: frozen views and this app's errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from safeguard.incidents.clocks import SlaClock
from safeguard.web.errors import ApplicationError

__all__ = ["SlaClock"]  # re-exported: the SLA arithmetic is the pure core's


class IncidentError(ApplicationError):
    """A request the incident rules refuse (bad input, wrong state); changes nothing."""


class IncidentNotFound(IncidentError):
    status = 404


@dataclass(frozen=True)
class RoleView:
    role: str
    role_label: str
    user_id: int
    user_email: str
    assigned_at: datetime
    assigned_by: str
    ended_at: datetime | None
    note: str


@dataclass(frozen=True)
class DelayView:
    id: int
    jurisdiction: str
    starts_at: datetime
    ends_at: datetime | None
    reason: str
    evidence: str
    recorded_by: str


@dataclass(frozen=True)
class ActionView:
    id: int
    kind: str
    kind_label: str
    target_id: int
    target_label: str
    reason: str
    taken_at: datetime
    taken_by: str
    reversed_at: datetime | None
    reversible: bool
    reversed_by: str = ""
    reversal_reason: str = ""


@dataclass(frozen=True)
class IncidentView:
    id: int
    title: str
    summary: str
    severity: str
    severity_label: str
    category: str
    category_label: str
    state: str
    state_label: str
    next_state: str | None
    aware_at: datetime
    jurisdictions: tuple[str, ...]
    source_alert_id: int | None
    opened_by: str
    created_at: datetime
    stage_at: dict[str, datetime | None] = field(default_factory=dict)


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    source: str  # "manual" or "audit"
    who: str
    text: str
    seq: int | None = None


@dataclass(frozen=True)
class AffectedCustomer:
    """A customer whose record the suspect read in the window (R-IR-6)."""

    customer: str  # the customer id (full UUID), or the 12-hex prefix a case event carries
    first_read: datetime
    last_read: datetime
    reads: int
    actions: tuple[str, ...]
    fields_revealed: tuple[str, ...]
    data_categories: tuple[str, ...]
    event_seqs: tuple[int, ...]
    # From the address on file (incidents.residence); "unknown" when it does not say.
    jurisdictions: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItemView:
    """A post-incident action item or an exercise finding (R-IR-7, R-IR-3)."""

    id: int
    text: str
    owner: str
    due_on: date
    status: str
    resolution: str
    resolved_at: datetime | None
    overdue: bool


@dataclass(frozen=True)
class ReviewView:
    incident_id: int
    root_cause: str
    lessons: str
    playbook_updated: bool
    playbook_reference: str
    retest_on: date | None
    retest_result: str
    items: tuple[ItemView, ...]
    missing: tuple[str, ...]  # what still stops closing; empty = complete


@dataclass(frozen=True)
class ExerciseView:
    id: int
    kind: str
    kind_label: str
    title: str
    scheduled_on: date
    run_on: date | None
    duration_minutes: int | None
    external_observers: str
    timeliness_score: int | None
    clarity_score: int | None
    findings: tuple[ItemView, ...]


@dataclass(frozen=True)
class CadenceView:
    """When each kind of exercise is next due, from the last one run (calendar months)."""

    kind: str
    kind_label: str
    months: int
    last_run_on: date | None
    due_on: date | None  # None: never run, so due now
    overdue: bool


@dataclass(frozen=True)
class RetainerView:
    id: int
    kind: str
    kind_label: str
    firm: str
    service: str
    contact: str
    contract_reference: str
    starts_on: date
    ends_on: date
    hours_included: int
    last_tested_on: date | None
    status: str  # "active", "expiring" (within the warning days) or "expired"

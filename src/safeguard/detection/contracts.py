"""Public contracts of the detection app: frozen views of alerts and runs, and its errors.

(The contract between the pure engine and this side is ``engine.contracts``.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from safeguard.web.errors import ApplicationError, Conflict, NotFound


@dataclass(frozen=True)
class AlertView:
    """An alert as pages, the API and other apps see it; clocks in seconds."""

    id: int
    rule_id: str
    rule_title: str
    severity: str
    entity: str
    evidence: tuple[int, ...]
    first_evidence_at: datetime
    last_evidence_at: datetime
    explanation: str
    score: float | None
    tags: tuple[str, ...]
    status: str
    resolution: str
    owner_id: int | None
    owner_email: str
    close_note: str
    created_at: datetime
    acknowledged_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime
    # R-OPS-9 clocks: created minus first evidence; acknowledged minus created.
    detection_delay_seconds: float
    time_to_acknowledge_seconds: float | None
    escalations: tuple[EscalationView, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class EscalationView:
    level: str
    target: str
    status: str
    attempts: int
    due_at: datetime
    sent_at: datetime | None
    last_error: str


@dataclass(frozen=True)
class SuppressionView:
    id: int
    rule_id: str
    entity: str
    reason: str
    created_by_email: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    hits: int

    def active_at(self, at: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > at


@dataclass(frozen=True)
class RunResult:
    """What one ``run_once`` did."""

    events: int
    batches: int
    alerts: int  # new alerts stored
    duplicates: int  # findings whose dedup_key already had an alert (a replay)
    suppressed: int
    cursor: int


@dataclass(frozen=True)
class RuleInfo:
    """A rule as the engine reports it (``safeguard detection rules``)."""

    rule_id: str
    title: str
    level: str
    kind: str
    path: str


@dataclass(frozen=True)
class EvidenceItem:
    """One evidence event on an alert's timeline (the audit event, or None when the seq is
    no longer in the log)."""

    seq: int
    at: datetime | None
    action: str
    actor: str
    subject: str
    outcome: str
    source_ip: str | None


class DetectionError(ApplicationError):
    code = "detection-error"
    title = "Detection refused the request"


class AlertNotFound(NotFound):
    code = "alert-not-found"
    title = "No such alert"


class AlertStateError(Conflict):
    code = "alert-state"
    title = "The alert's state forbids this"


class SuppressionNotFound(NotFound):
    code = "suppression-not-found"
    title = "No such suppression"


class EngineUnavailable(DetectionError):
    """The configured evaluator cannot be loaded (bad setting, broken rule pack)."""

    code = "engine-unavailable"
    title = "The detection engine is unavailable"

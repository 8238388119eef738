"""Public contracts of the audit log: who acted, and what the log hands out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from safeguard.web.errors import ApplicationError

ActorKind = Literal["user", "token", "system", "anonymous"]


@dataclass(frozen=True)
class Actor:
    """Who did something: a staff user, an API token (on behalf of its user), a job, or nobody."""

    kind: ActorKind
    id: str = ""
    label: str = ""

    @classmethod
    def system(cls, job: str) -> Actor:
        """A scheduled job or command acting on its own authority."""
        return cls(kind="system", id=job, label=job)

    @classmethod
    def anonymous(cls, label: str = "") -> Actor:
        """An unauthenticated caller (a failed login names the attempted account in data)."""
        return cls(kind="anonymous", id="", label=label)


@dataclass(frozen=True)
class EventView:
    """One recorded event, as the log hands it out (no ORM object leaves the app)."""

    seq: int
    at: datetime
    actor: Actor
    action: str
    subject_type: str
    subject_id: str
    outcome: str
    source_ip: str | None
    user_agent: str
    request_id: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TreeHeadView:
    """A signed tree head as served to auditors and witnesses."""

    size: int
    root_hash: str
    signed_at: datetime
    key_id: str
    signature: str


@dataclass(frozen=True)
class InclusionProofView:
    seq: int
    leaf_index: int
    leaf_hash: str
    tree_size: int
    root_hash: str
    path: list[str]


@dataclass(frozen=True)
class ConsistencyProofView:
    first_size: int
    second_size: int
    first_root: str
    second_root: str
    path: list[str]


@dataclass(frozen=True)
class Problem:
    """One finding of a verification run."""

    seq: int | None
    kind: str
    detail: str


@dataclass(frozen=True)
class VerificationReport:
    """What `audit verify` found: ok, or the first bad sequence number and every problem."""

    ok: bool
    events_checked: int
    heads_checked: int
    first_bad_seq: int | None
    problems: list[Problem]
    unsigned_tail: int = 0


class AuditError(ApplicationError):
    """Base of the audit app's errors."""

    code = "audit-error"
    title = "Audit log request refused"


class ProofUnavailable(AuditError):
    code = "proof-unavailable"
    title = "No such proof"


@dataclass(frozen=True)
class VerificationRunView:
    """A past verification run, as evidence for auditors."""

    started_at: datetime
    finished_at: datetime | None
    from_seq: int
    ok: bool
    events_checked: int
    heads_checked: int
    first_bad_seq: int | None
    problems: list[dict[str, Any]]
    triggered_by: str


@dataclass(frozen=True)
class IntegrationStatus:
    """The inclusion promise as it stands (issue 10, R-IR-5): what waits in the queue, and how
    long the last integrated events waited (``integrated_at - at``, milliseconds)."""

    queued: int
    oldest_wait_seconds: float | None  # the oldest waiting entry's age; None: queue empty
    bound_seconds: int  # SAFEGUARD_AUDIT_INTEGRATION_BOUND_SECONDS
    over_bound: bool  # an entry has waited past the bound: `audit verify` fails on it
    window: int  # how many of the newest events were asked for
    measured: int  # how many of them carry an integration time
    delay_p50_ms: float | None
    delay_p99_ms: float | None
    delay_max_ms: float | None


@dataclass(frozen=True)
class SnapshotCheck:
    """The audit log of a restored copy, checked on its own connection (issue 13, decision 0241):
    every event contiguous from 1 and hashing to its recorded leaf, every signed head of the copy
    verifying and matching the recomputed tree, and the root at ``root_size``."""

    ok: bool
    events: int
    last_seq: int
    heads_checked: int
    root_size: int
    root_hash: str
    problems: tuple[str, ...]


class ExportsFrozen(ApplicationError):
    """Data exports are frozen by incident containment (decision 0225): nothing is exported."""

    status = 423
    code = "exports-frozen"
    title = "Data exports are frozen"


@dataclass(frozen=True)
class FreezeView:
    """One export freeze, current or lifted."""

    id: int
    frozen_at: datetime
    frozen_by: str
    reason: str
    reference: str
    lifted_at: datetime | None
    lifted_by: str
    lift_reason: str

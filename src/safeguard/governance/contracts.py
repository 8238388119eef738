"""Public contracts of the governance app: check results, control states, history spans."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from safeguard.web.errors import ApplicationError, NotFound


@dataclass(frozen=True)
class CheckResult:
    """What an automated check returns: a status (ControlStatus value) and evidence text."""

    status: str
    evidence: str


@dataclass(frozen=True)
class ControlState:
    """A control's latest evaluation (status ``not_checked`` when it has none yet)."""

    id: str
    title: str
    description: str
    check: str
    status: str
    evidence: str
    checked_at: datetime | None
    maps: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class RequirementState:
    framework: str
    id: str
    title: str
    status: str  # the worst of its controls' statuses, or not_covered
    controls: tuple[ControlState, ...]


@dataclass(frozen=True)
class Span:
    """A stretch of consecutive evaluations with one status: from the first to the moment the
    status changed (``until`` None = still so at the last evaluation)."""

    status: str
    since: datetime
    until: datetime | None
    last_checked: datetime
    evaluations: int
    evidence: str


@dataclass(frozen=True)
class RunView:
    id: int
    started_at: datetime
    finished_at: datetime | None
    triggered_by: str
    counts: dict[str, int]


class GovernanceError(ApplicationError):
    code = "governance-error"
    title = "Governance request refused"


class UnknownControl(NotFound):
    code = "unknown-control"
    title = "No such control"

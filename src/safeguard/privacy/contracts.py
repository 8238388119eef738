"""Public contracts of the privacy app: frozen views of the inventory, the retention matrix,
legal holds and sweeps, and the app's exceptions (STYLE.md rule 4)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from safeguard.privacy.periods import Period
from safeguard.web.errors import ApplicationError


@dataclass(frozen=True)
class PersonalColumn:
    """One column that holds personal data: category, purpose, GDPR Art. 6 basis, protection."""

    model: str
    field: str
    category: str
    purpose: str
    basis: str
    protection: tuple[str, ...]
    retention: str
    declared_by: str


@dataclass(frozen=True)
class ModelDeclaration:
    """Every column of one model: which hold personal data and which do not (R-DATA-1)."""

    model: str
    declared_by: str
    retention: str
    personal: tuple[PersonalColumn, ...]
    other: tuple[str, ...]


@dataclass(frozen=True)
class RetentionClass:
    """One row of the Records Retention Matrix (R-DATA-3, R-REG-4)."""

    key: str
    description: str
    trigger: str
    period: Period
    action: str
    citation: str
    owner: str
    enforced_by: tuple[str, ...]
    statutory: bool = False  # a law requires keeping these: erasure yields to the period
    archive_for: Period | None = None  # action "archive": how long the encrypted copy is kept


@dataclass(frozen=True)
class HoldView:
    """A legal hold: while active, nothing in its scope is deleted or anonymised."""

    id: str
    scope: str
    target_id: str
    reason: str
    placed_by: str
    placed_at: datetime
    released_by: str
    released_at: datetime | None
    query: dict[str, str] = field(default_factory=dict)  # scope "query": what it covers

    @property
    def active(self) -> bool:
        return self.released_at is None

    @property
    def query_text(self) -> str:
        """``queue=billing, tag=dispute, created 2025-01-01..2025-03-31`` for pages."""
        parts = [f"{k}={self.query[k]}" for k in ("queue", "tag") if self.query.get(k)]
        if self.query.get("created_from") or self.query.get("created_to"):
            parts.append(f"created {self.query.get('created_from', '…')}.."
                         f"{self.query.get('created_to', '…')}")
        return ", ".join(parts)


@dataclass(frozen=True)
class SweepRunView:
    """A retention sweep: progress, counts and where it stopped (resumable)."""

    id: int
    dry_run: bool
    status: str
    as_of: date
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, int]
    held: int
    cursor: dict[str, str]
    matrix_version: int = 1  # the matrix version the sweep applied


class PrivacyError(ApplicationError):
    """Base of the privacy app's domain errors (a 4xx, never a 500)."""

    status = 400
    code = "privacy-error"
    title = "Privacy request refused"


class MatrixError(PrivacyError):
    """The retention matrix file is missing, malformed or inconsistent."""

    code = "retention-matrix-invalid"
    title = "Retention matrix invalid"


class HoldError(PrivacyError):
    """A legal hold cannot be placed or released as asked."""

    status = 409
    code = "legal-hold-refused"
    title = "Legal hold refused"


class RequestError(PrivacyError):
    """A data-subject request cannot be created or moved as asked."""

    status = 409
    code = "dsr-refused"
    title = "Data-subject request refused"


@dataclass(frozen=True)
class KeptRecord:
    """A record an erasure keeps, and the reason the reply gives."""

    case_id: str
    record_class: str
    until: date | None  # None: kept while a legal hold lasts
    reason: str


@dataclass(frozen=True)
class RequestView:
    """A data-subject request as pages and replies show it (R-DATA-7)."""

    id: str
    kind: str
    regime: str
    customer_id: str
    received_on: date
    due_on: date
    extended: bool
    status: str
    verified_at: datetime | None
    closed_on: date | None
    reply: str
    kind_citation: str
    deadline_citation: str

    @property
    def open(self) -> bool:
        return self.closed_on is None


@dataclass(frozen=True)
class OnTimeKpi:
    """Requests closed in a period and how many by their due date; plus those open and late."""

    closed: int
    on_time: int
    overdue_open: int

    @property
    def ratio(self) -> float | None:
        return self.on_time / self.closed if self.closed else None

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
    channel: str = "staff"
    action: str = ""
    acknowledge_by: date | None = None
    acknowledged_on: date | None = None
    clock_state: str = "on_track"
    details: str = ""

    @property
    def open(self) -> bool:
        return self.closed_on is None

    @property
    def has_customer(self) -> bool:
        return bool(self.customer_id)


@dataclass(frozen=True)
class OnTimeKpi:
    """Requests closed in a period and how many by their due date; plus those open and late."""

    closed: int
    on_time: int
    overdue_open: int

    @property
    def ratio(self) -> float | None:
        return self.on_time / self.closed if self.closed else None


class RequestThrottled(PrivacyError):
    """Too many requests or status look-ups from one client address in the window."""

    status = 429
    code = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int = 60) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True)
class PublicReceipt:
    """What the public page tells the requester after a submission: the reference to check the
    status with (shown once; only its keyed hash is stored) and the due date. The same for an
    address we know and one we do not (no existence oracle, decision 0117)."""

    reference: str
    due_on: date


@dataclass(frozen=True)
class PublicStatus:
    """What a requester sees with their reference and code: no customer data, only the
    request's own state, the reply once there is one, and a fresh bundle link."""

    request_id: str
    kind: str
    kind_label: str
    regime_label: str
    received_on: date
    due_on: date
    status: str
    status_label: str
    reply: str
    bundle_url: str


@dataclass(frozen=True)
class BundleFile:
    """An access bundle: a zip of JSON and one CSV per table."""

    filename: str
    content: bytes
    tables: dict[str, int]  # "app/table" -> rows

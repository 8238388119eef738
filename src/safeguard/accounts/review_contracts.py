"""Public contracts of access reviews: frozen views and domain errors (decision 0128)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from safeguard.web.errors import ApplicationError, Conflict, NotFound, PermissionDenied


@dataclass(frozen=True)
class CampaignView:
    """A campaign with its progress, as of when it was read."""

    id: int
    period_start: date
    period_end: date
    label: str
    status: str
    started_at: datetime
    started_by: str
    due_at: datetime
    escalate_at: datetime
    closed_at: datetime | None
    closed_by: str
    close_reason: str
    total: int
    decided: int
    kept: int
    revoked: int
    pending: int
    overdue: int
    escalated: int
    unassigned: int
    has_report: bool
    report_sha256: str
    report_key_id: str

    @property
    def percent(self) -> int:
        """Decided share of all items, whole percent (100 for an empty campaign)."""
        return 100 if not self.total else (100 * self.decided) // self.total


@dataclass(frozen=True)
class ReviewItemView:
    """One grant under review: the snapshot, who reviews it, and the decision."""

    id: int
    campaign_id: int
    user_id: int | None
    user_email: str
    kind: str
    grant_key: str
    grant_label: str
    grant_permissions: tuple[str, ...]
    effective_permissions: tuple[str, ...]
    token_id: int | None
    token_last_used_at: datetime | None
    last_login_at: datetime | None
    last_activity_at: datetime | None
    snapshot_at: datetime
    reviewer_id: int | None
    reviewer_email: str
    escalation_reviewer_id: int | None
    escalation_reviewer_email: str
    escalated_at: datetime | None
    decision: str
    comment: str
    decided_by_email: str
    decided_at: datetime | None
    assigned_as: str = ""


@dataclass(frozen=True)
class ReportFile:
    """A closed campaign's signed report: the PDF and its detached Ed25519 signature."""

    campaign_id: int
    filename: str
    pdf: bytes
    sha256: str
    signature: str  # base64 over MESSAGE_PREFIX + the PDF bytes
    key_id: str
    public_key_pem: str


class ReviewError(ApplicationError):
    code = "access-review-error"
    title = "The access review cannot do this"


class CampaignNotFound(NotFound):
    code = "access-review-not-found"


class ReviewItemNotFound(NotFound):
    code = "access-review-item-not-found"


class CampaignExists(Conflict):
    code = "access-review-exists"
    title = "This period already has a campaign"


class CampaignNotOpen(Conflict):
    code = "access-review-not-open"
    title = "The campaign is not open"


class ItemAlreadyDecided(Conflict):
    code = "access-review-item-decided"
    title = "This item is already decided"


class SelfReview(PermissionDenied):
    code = "access-review-self"
    title = "Nobody reviews their own access"


class NotEligibleReviewer(ApplicationError):
    code = "access-review-not-eligible"
    title = "This person cannot review this item"


class NotYourItem(PermissionDenied):
    code = "access-review-not-assigned"
    title = "This item is assigned to another reviewer"

"""Public contracts of the customers app: the scope seam, frozen (masked) views, domain errors.

Views carry masked values only (R-DATA-2); the one exception is :class:`RevealedValue`, the
answer of an audited, time-limited reveal, which must never be logged or stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from safeguard.protection.contracts import StepUpRequired
from safeguard.web.errors import ApplicationError, Conflict, NotFound, PermissionDenied

__all__ = [
    "Addressee",
    "ApprovalNotFound",
    "ApprovalNotPending",
    "ApprovalView",
    "CodeInvalid",
    "ContactCodeIssued",
    "ContactLink",
    "ContactNotUnverified",
    "CustomerClosed",
    "CustomerError",
    "CustomerExists",
    "CustomerInvalid",
    "CustomerNotFound",
    "CustomerScope",
    "CustomerSummary",
    "CustomerView",
    "MatchResult",
    "PanelView",
    "ReasonRequired",
    "RevealDenied",
    "RevealedValue",
    "SelfApproval",
    "StepUpRequired",
    "VerificationView",
]


@dataclass(frozen=True)
class CustomerScope:
    """Which customers a principal may see (decision 0006): everything, or these ids.

    Built by the provider named in ``SAFEGUARD_CUSTOMER_SCOPE`` (the cases app's
    ``customer_scope``); an empty scope is the deny-by-default answer.
    """

    all: bool = False
    customer_ids: frozenset[UUID] = frozenset()

    @classmethod
    def everything(cls) -> CustomerScope:
        """The scope of ``customers.view_all`` holders and of jobs acting on their own authority."""
        return cls(all=True)

    @classmethod
    def nothing(cls) -> CustomerScope:
        return cls(all=False, customer_ids=frozenset())

    def allows(self, customer_id: UUID) -> bool:
        return self.all or customer_id in self.customer_ids


@dataclass(frozen=True)
class CustomerSummary:
    """A customer in a list: masked name and contacts only."""

    id: UUID
    name: str
    email: str
    phone: str
    status: str
    unverified: bool = False  # an unverified contact, not a verified profile


@dataclass(frozen=True)
class CustomerView:
    """One customer as any screen shows it: every personal value masked (R-DATA-2)."""

    id: UUID
    name: str
    email: str
    phone: str
    address: str
    date_of_birth: str
    payout: str
    status: str
    language: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    last_verified_at: datetime | None
    present: frozenset[str] = frozenset()  # fields that hold a value (what can be revealed)
    unverified: bool = False  # an unverified contact (docs/customers.md "Linking policy")

    def masked(self, name: str) -> str:
        """The masked value of a revealable field by name."""
        return str(getattr(self, name))


@dataclass(frozen=True)
class RevealedValue:
    """The clear value of one field, for the viewer who asked, until ``expires_at``.

    Never log, store or cache it; ``repr`` hides it so a stray log line or traceback cannot.
    """

    customer_id: UUID
    field: str
    value: str
    expires_at: datetime
    grant_id: UUID

    def __repr__(self) -> str:
        return (f"RevealedValue(customer_id={self.customer_id!s}, field={self.field!r}, "
                f"value='•••', expires_at={self.expires_at.isoformat()})")

    def seconds_left(self, now: datetime) -> int:
        return max(0, int((self.expires_at - now).total_seconds()))


@dataclass(frozen=True)
class VerificationView:
    """How and when a customer was verified on a contact, and by whom."""

    id: UUID
    customer_id: UUID
    method: str
    method_label: str
    verified_by_id: int | None
    verified_by: str
    verified_at: datetime
    interaction_ref: str


@dataclass(frozen=True)
class PanelView:
    """The customer panel: the masked profile, the viewer's live reveals, recent verifications."""

    customer: CustomerView
    revealed: tuple[RevealedValue, ...] = ()
    verifications: tuple[VerificationView, ...] = ()
    pending_approvals: int = 0

    def revealed_value(self, name: str) -> RevealedValue | None:
        return next((r for r in self.revealed if r.field == name), None)


@dataclass(frozen=True)
class ApprovalView:
    """A sensitive request and its decision; ``change`` is described masked, never in clear."""

    id: UUID
    customer_id: UUID
    kind: str
    kind_label: str
    status: str
    change: dict[str, str] = field(default_factory=dict)  # masked description of the change
    reason: str = ""
    requested_by_id: int | None = None
    requested_by: str = ""
    requested_at: datetime | None = None
    decided_by_id: int | None = None
    decided_by: str = ""
    decided_at: datetime | None = None
    decision_note: str = ""
    amount: Decimal | None = None
    currency: str = ""
    case_id: str = ""
    auto_granted: bool = False
    customer_label: str = ""  # the customer's name, masked (issue 15: the inbox names them)
    case_number: int | None = None  # the case the request concerns, when the cases app knows it
    case_ref: str = ""  # that case's id, for a link


@dataclass(frozen=True)
class MatchResult:
    """The outcome of matching an inbound sender (decision 0101): ``customer_id`` is a verified
    profile only when the sender was verified; otherwise it is the unverified contact for the
    address, ``claims`` the profile holding exactly that address (never linked) and
    ``lookalike_of`` the profiles whose address merely looks the same (flagged)."""

    customer_id: UUID
    created: bool
    unverified: bool = False
    claims: UUID | None = None
    lookalike_of: tuple[UUID, ...] = ()


@dataclass(frozen=True)
class ContactCodeIssued:
    """A one-time code to send to ``to`` (clear: hand it to the mail sender, never store or
    log it; ``repr`` hides both)."""

    code_id: UUID
    to: str = field(repr=False)
    code: str = field(repr=False)
    expires_at: datetime | None = None


@dataclass(frozen=True)
class ContactLink:
    """The verified profile an unverified contact's conversation now belongs to."""

    contact_id: UUID
    customer_id: UUID
    created: bool  # a new profile was made from the contact (no profile held the address)
    method: str


# --- errors ----------------------------------------------------------------------------------


class CustomerError(ApplicationError):
    code = "customer-error"
    title = "Customer request refused"


class CustomerNotFound(NotFound):
    """No such customer, or one outside the caller's scope: the same answer for both."""

    code = "customer-not-found"
    title = "Customer not found"


class CustomerInvalid(CustomerError):
    status = 422
    code = "customer-invalid"
    title = "The customer data is invalid"

    def __init__(self, detail: str, *, errors: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail, errors=errors or {}, **extra)
        self.errors = errors or {}


class CustomerExists(Conflict):
    code = "customer-exists"
    title = "A customer with this e-mail already exists"


class CustomerClosed(Conflict):
    code = "customer-closed"
    title = "The customer's account is closed"


class ReasonRequired(CustomerError):
    status = 422
    code = "reason-required"
    title = "A reason is required"


class RevealDenied(PermissionDenied):
    code = "reveal-denied"
    title = "Reveal refused"


class SelfApproval(PermissionDenied):
    code = "self-approval"
    title = "You cannot decide your own request"


class ContactNotUnverified(Conflict):
    code = "contact-not-unverified"
    title = "The conversation already belongs to a verified customer"


class CodeInvalid(CustomerError):
    """A wrong, expired, used or exhausted one-time code: one answer for all of them."""

    status = 422
    code = "code-invalid"
    title = "The code is not valid"


class ApprovalNotFound(NotFound):
    code = "approval-not-found"
    title = "Approval not found"


class ApprovalNotPending(Conflict):
    code = "approval-not-pending"
    title = "The approval was already decided"


@dataclass(frozen=True)
class Addressee:
    """Whom a breach-notification letter goes to (R-IR-6): the name in clear and where the
    customer lives (ISO country, free-text region). Never log or store it."""

    id: UUID
    name: str
    country: str
    region: str

    def __repr__(self) -> str:  # a stray log line must not carry the name
        return f"Addressee({self.id})"

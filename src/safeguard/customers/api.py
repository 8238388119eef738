"""API of the customers app (``/api/v1/customers``): masked reads, create, reveal, approvals.

Every operation declares its permission (``auth=access(...)``); scope is enforced by the
selectors and services, so a customer outside the caller's scope is a 404 like an absent one.

Reveal through the API: a person needs a signed-in session with a second factor passed within
the step-up window (else 403 ``step-up-required``, with the re-authentication URL). An API token
reveals only when it carries ``customers.reveal`` *and* belongs to a service account (an
integration that must send to the real address); a person's own token never reveals, since it
would bypass the step-up. Deciding approvals is for people only: tokens are refused.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field

from safeguard.accounts.api_guards import access
from safeguard.accounts.contracts import Principal
from safeguard.accounts.guards import has_recent_mfa
from safeguard.customers import permissions as perms
from safeguard.customers import selectors, services
from safeguard.customers.contracts import (
    ApprovalView,
    CustomerInvalid,
    CustomerSummary,
    CustomerView,
    StepUpRequired,
)
from safeguard.customers.enums import ApprovalStatus, CustomerField
from safeguard.web.pagination import MAX_LIMIT

router = Router(tags=["customers"])
REAUTHENTICATE = "/account/mfa/reauthenticate/"


class AddressIn(Schema):
    line1: str = Field("", max_length=200)
    line2: str = Field("", max_length=200)
    postcode: str = Field("", max_length=200)
    city: str = Field("", max_length=200)
    region: str = Field("", max_length=200)
    country: str = Field("", max_length=2, description="ISO 3166-1 alpha-2")


class PayoutIn(Schema):
    iban: str = Field("", max_length=64)
    bic: str = Field("", max_length=16)
    account_number: str = Field("", max_length=32)
    routing_number: str = Field("", max_length=16)
    holder: str = Field("", max_length=200)


class CustomerIn(Schema):
    name: str = Field("", max_length=200)
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=40)
    address: AddressIn | None = None
    date_of_birth: date | None = None
    payout: PayoutIn | None = None
    language: str = Field("", max_length=16)


class CustomerPatchIn(Schema):
    name: str | None = Field(None, max_length=200)
    language: str | None = Field(None, max_length=16)


class CustomerOut(Schema):
    """Every personal value is masked; reveal a field with POST …/reveal."""

    id: UUID
    name: str
    email: str
    phone: str
    address: str
    date_of_birth: str
    payout: str
    status: str
    unverified: bool = Field(False, description="An unverified contact (a channel sender not "
                             "yet verified), not a customer profile (decision 0101)")
    language: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    last_verified_at: datetime | None
    fields_present: list[str]


class CustomerSummaryOut(Schema):
    id: UUID
    name: str
    email: str
    phone: str
    status: str
    unverified: bool = False


class RevealIn(Schema):
    field: str = Field(description=f"One of {', '.join(CustomerField.values)}", max_length=32)
    reason: str = Field("", max_length=2000, description="Why; kept (screened), its length "
                        "is audited. Required.")


class RevealOut(Schema):
    customer_id: UUID
    field: str
    value: str
    expires_at: datetime


class VerificationIn(Schema):
    method: str = Field(max_length=32)
    interaction_ref: str = Field("", max_length=64, description="case, call or chat id")


class VerificationOut(Schema):
    id: UUID
    customer_id: UUID
    method: str
    verified_by: str
    verified_at: datetime
    interaction_ref: str


class ApprovalIn(Schema):
    kind: str = Field(max_length=32, description="email_change, phone_change, address_change, "
                      "payout_change, date_of_birth_change, account_closure or refund")
    change: dict[str, Any] = Field(
        default_factory=dict,
        description='{"email": …} | {"phone": …} | {"address": {…}} | {"payout": {…}} | '
                    '{"date_of_birth": "YYYY-MM-DD"} | {} | '
                    '{"amount": "250.00", "currency": "EUR", "case_id": "…"}')
    reason: str = Field(max_length=2000)


class DecisionIn(Schema):
    decision: str = Field(pattern="^(grant|refuse)$")
    note: str = Field("", max_length=500)


class ApprovalOut(Schema):
    id: UUID
    customer_id: UUID
    kind: str
    status: str
    change: dict[str, str] = Field(description="The requested change, masked")
    reason: str
    requested_by: str
    requested_at: datetime | None
    decided_by: str
    decided_at: datetime | None
    decision_note: str
    amount: str | None
    currency: str
    case_id: str
    auto_granted: bool


class ApprovalPage(Schema):
    items: list[ApprovalOut]
    next_cursor: str | None


def _principal(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


def _customer_out(c: CustomerView) -> CustomerOut:
    return CustomerOut(id=c.id, name=c.name, email=c.email, phone=c.phone, address=c.address,
                       date_of_birth=c.date_of_birth, payout=c.payout, status=c.status,
                       language=c.language, created_at=c.created_at, updated_at=c.updated_at,
                       closed_at=c.closed_at, last_verified_at=c.last_verified_at,
                       fields_present=sorted(c.present), unverified=c.unverified)


def _summary_out(c: CustomerSummary) -> CustomerSummaryOut:
    return CustomerSummaryOut(id=c.id, name=c.name, email=c.email, phone=c.phone,
                              status=c.status, unverified=c.unverified)


def _approval_out(a: ApprovalView) -> ApprovalOut:
    return ApprovalOut(id=a.id, customer_id=a.customer_id, kind=a.kind, status=a.status,
                       change=a.change, reason=a.reason, requested_by=a.requested_by,
                       requested_at=a.requested_at, decided_by=a.decided_by,
                       decided_at=a.decided_at, decision_note=a.decision_note,
                       amount=str(a.amount) if a.amount is not None else None,
                       currency=a.currency, case_id=a.case_id, auto_granted=a.auto_granted)


def _step_up_fresh(request: HttpRequest, principal: Principal) -> bool:
    return principal.via == "session" and has_recent_mfa(request)


# --- approvals (declared before /{id} routes for readability; the uuid converter keeps them
# apart anyway) -------------------------------------------------------------------------------


@router.get("/approvals", response=ApprovalPage, auth=access(perms.APPROVE),
            summary="Approvals inbox (oldest first unless sort=newest)")
def approval_list(request: HttpRequest, status: str = ApprovalStatus.PENDING,
                  cursor: str | None = None,
                  limit: int = Query(50, ge=1, le=MAX_LIMIT),
                  sort: str = "oldest") -> ApprovalPage:
    """``status``: pending (default), granted, refused or all; ``sort``: oldest (default, the
    order this endpoint always had) or newest (the inbox page's order)."""
    if status not in (*ApprovalStatus.values, "all"):
        raise CustomerInvalid("Unknown status.", errors={"status": "pending, granted, refused "
                                                         "or all"})
    if sort not in ("oldest", "newest"):
        raise CustomerInvalid("Unknown sort.", errors={"sort": "oldest or newest"})
    page = selectors.approval_page(viewer=_principal(request),
                                   status=None if status == "all" else status,
                                   cursor=cursor, limit=limit, newest_first=sort == "newest")
    return ApprovalPage(items=[_approval_out(a) for a in page.items],
                        next_cursor=page.next_cursor)


@router.get("/approvals/{uuid:approval_id}", response=ApprovalOut, auth=access(perms.APPROVE),
            summary="One approval")
def approval_get(request: HttpRequest, approval_id: UUID) -> ApprovalOut:
    return _approval_out(selectors.approval_get(viewer=_principal(request),
                                                approval_id=approval_id))


@router.post("/approvals/{uuid:approval_id}/decide", response=ApprovalOut,
             auth=access(perms.APPROVE, step_up_in_service=True),
             summary="Grant or refuse (fresh second factor)")
def approval_decide(request: HttpRequest, approval_id: UUID, body: DecisionIn) -> ApprovalOut:
    """A person in a session with a second factor passed within the step-up window; never the
    requester; never an API token. Granting applies the change."""
    principal = _principal(request)
    try:
        view = services.approval_decide(approver=principal, approval_id=approval_id,
                                        grant=body.decision == "grant", note=body.note,
                                        step_up_fresh=_step_up_fresh(request, principal))
    except StepUpRequired as exc:
        exc.extra.setdefault("reauthenticate", REAUTHENTICATE)
        raise
    return _approval_out(view)


# --- customers -------------------------------------------------------------------------------


@router.get("", response=list[CustomerSummaryOut], auth=access(perms.VIEW),
            summary="Find customers in scope by exact e-mail or phone (masked)")
def customer_search(request: HttpRequest, email: str = "", phone: str = ""
                    ) -> list[CustomerSummaryOut]:
    return [_summary_out(c) for c in selectors.customer_search(
        viewer=_principal(request), email=email[:254], phone=phone[:40])]


@router.post("", response={201: CustomerOut}, auth=access(perms.EDIT),
             summary="Create a customer (one per e-mail; see docs/customers.md on duplicates)")
def customer_create(request: HttpRequest, body: CustomerIn) -> Status:
    view = services.customer_create_for(
        viewer=_principal(request), name=body.name, email=body.email, phone=body.phone,
        address=body.address.model_dump() if body.address else None,
        date_of_birth=body.date_of_birth,
        payout=body.payout.model_dump() if body.payout else None, language=body.language,
        source="api")
    return Status(201, _customer_out(view))


@router.get("/{uuid:customer_id}", response=CustomerOut, auth=access(perms.VIEW),
            summary="One customer, masked")
def customer_get(request: HttpRequest, customer_id: UUID) -> CustomerOut:
    return _customer_out(selectors.customer_get(viewer=_principal(request),
                                                customer_id=customer_id))


@router.patch("/{uuid:customer_id}", response=CustomerOut, auth=access(perms.EDIT),
              summary="Change non-sensitive fields (name, language)")
def customer_update(request: HttpRequest, customer_id: UUID, body: CustomerPatchIn
                    ) -> CustomerOut:
    return _customer_out(services.customer_update(
        viewer=_principal(request), customer_id=customer_id, name=body.name,
        language=body.language))


@router.post("/{uuid:customer_id}/reveal", response=RevealOut,
             auth=access(perms.REVEAL, step_up_in_service=True),
             summary="Reveal one field in clear (step-up, reason; audited)")
def customer_reveal(request: HttpRequest, customer_id: UUID, body: RevealIn,
                    response: HttpResponse) -> RevealOut:
    principal = _principal(request)
    try:
        revealed = services.customer_reveal(
            viewer=principal, customer_id=customer_id, field=body.field, reason=body.reason,
            step_up_fresh=_step_up_fresh(request, principal))
    except StepUpRequired as exc:
        exc.extra.setdefault("reauthenticate", REAUTHENTICATE)
        raise
    response["Cache-Control"] = "no-store"
    return RevealOut(customer_id=revealed.customer_id, field=revealed.field,
                     value=revealed.value, expires_at=revealed.expires_at)


@router.get("/{uuid:customer_id}/verifications", response=list[VerificationOut],
            auth=access(perms.VIEW), summary="Identity verifications, newest first")
def verification_list(request: HttpRequest, customer_id: UUID) -> list[VerificationOut]:
    return [VerificationOut(id=v.id, customer_id=v.customer_id, method=v.method,
                            verified_by=v.verified_by, verified_at=v.verified_at,
                            interaction_ref=v.interaction_ref)
            for v in selectors.verification_list(viewer=_principal(request),
                                                 customer_id=customer_id)]


@router.post("/{uuid:customer_id}/verifications", response={201: VerificationOut},
             auth=access(perms.EDIT), summary="Record an identity verification")
def identity_verify(request: HttpRequest, customer_id: UUID, body: VerificationIn) -> Status:
    v = services.identity_verify(viewer=_principal(request), customer_id=customer_id,
                                 method=body.method, interaction_ref=body.interaction_ref)
    return Status(201, VerificationOut(id=v.id, customer_id=v.customer_id, method=v.method,
                                       verified_by=v.verified_by, verified_at=v.verified_at,
                                       interaction_ref=v.interaction_ref))


@router.post("/{uuid:customer_id}/approvals", response={201: ApprovalOut},
             auth=access(perms.EDIT), summary="Request a sensitive change or a refund")
def approval_request(request: HttpRequest, customer_id: UUID, body: ApprovalIn) -> Status:
    view = services.approval_request(viewer=_principal(request), customer_id=customer_id,
                                     kind=body.kind, change=body.change, reason=body.reason)
    return Status(201, _approval_out(view))

"""API of the cases app: list and read cases (scoped), post messages, change status.

Mounted at /api/v1/cases/. Out-of-scope cases are 404 like missing ones (split access);
bad input is a 4xx problem and stores nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from safeguard.accounts.api_guards import access
from safeguard.accounts.contracts import Principal
from safeguard.cases import permissions as perm
from safeguard.cases import selectors, services
from safeguard.cases.contracts import CaseSummary, MessageView
from safeguard.cases.enums import CaseStatus

router = Router(tags=["cases"])


class CaseOut(Schema):
    id: UUID
    number: int
    subject: str = Field(description="Screened: card numbers are tokens, contacts hashed")
    status: str
    priority: str
    queue: str
    assignee_email: str
    customer_id: UUID
    channel: str
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    sla: str = Field(description="breached | due-soon | ok | none")
    merged_into: int | None


class MessageOut(Schema):
    id: UUID
    channel: str
    author_kind: str
    author_email: str
    body: str = Field(description="Screened text as stored")
    internal: bool
    created_at: datetime
    delivery_status: str
    findings: list[str]
    sender_auth: str = Field(description="E-mail only: verified | failed | none (the trusted "
                             "receiving MTA's SPF/DKIM/DMARC verdict); '' for other channels")


class ContactFlagOut(Schema):
    flag: str = Field(description="claims_profile | lookalike | auth_failed")
    label: str
    customer_ref: str = Field(description="Short id of the profile concerned (no values)")


class CaseDetailOut(CaseOut):
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    next_statuses: list[str]
    messages: list[MessageOut]
    contact_unverified: bool = Field(description="The conversation belongs to an unverified "
                                     "contact, not a customer profile (verify to link)")
    contact_flags: list[ContactFlagOut]


class ContactCodeIn(Schema):
    code: str = Field(min_length=1, max_length=12)


class ContactVerifyIn(Schema):
    method: Literal["knowledge", "callback", "otp_sms", "document", "authenticated_session"]


class ContactLinkOut(Schema):
    case_number: int
    customer_id: UUID
    created_profile: bool
    method: str


class CasePage(Schema):
    items: list[CaseOut]
    next_cursor: str | None


class CaseFilters(Schema):
    queue: str | None = None
    status: CaseStatus | None = None
    assignee: Literal["me", "unassigned"] | None = None
    tag: str | None = Field(default=None, max_length=40)
    breached: bool = False
    cursor: str | None = None
    limit: int = Field(default=50, ge=1, le=200)


class MessageIn(Schema):
    text: str = Field(min_length=1, max_length=100_000)
    internal: bool = Field(default=False, description="An internal note: never sent")


class MessageCreatedOut(Schema):
    id: UUID
    internal: bool


class StatusIn(Schema):
    status: CaseStatus


def _case_out(c: CaseSummary) -> CaseOut:
    return CaseOut(id=c.id, number=c.number, subject=c.subject, status=c.status,
                   priority=c.priority, queue=c.queue, assignee_email=c.assignee_email,
                   customer_id=c.customer_id, channel=c.channel, tags=list(c.tags),
                   created_at=c.created_at, updated_at=c.updated_at,
                   first_response_due_at=c.first_response_due_at,
                   resolution_due_at=c.resolution_due_at, sla=c.sla,
                   merged_into=c.merged_into_number)


def _message_out(m: MessageView) -> MessageOut:
    return MessageOut(id=m.id, channel=m.channel, author_kind=m.author_kind,
                      author_email=m.author_email, body=m.body, internal=m.is_internal,
                      created_at=m.created_at, delivery_status=m.delivery_status,
                      findings=list(m.findings), sender_auth=m.sender_auth)


@router.get("/", response=CasePage, auth=access(perm.CASES_VIEW), summary="List cases in scope")
def case_list(request: HttpRequest, filters: Query[CaseFilters]) -> CasePage:
    """Cases of the caller's queues or assigned to them (all with cases.view_all), by number."""
    principal: Principal = request.auth  # type: ignore[attr-defined]
    page = selectors.case_list_for_agent(
        principal=principal, queue=filters.queue,
        status=[filters.status.value] if filters.status else None, assignee=filters.assignee,
        tag=filters.tag, breached=filters.breached, cursor=filters.cursor, limit=filters.limit)
    return CasePage(items=[_case_out(c) for c in page.items], next_cursor=page.next_cursor)


@router.get("/{number}", response=CaseDetailOut, auth=access(perm.CASES_VIEW),
            summary="One case with its messages")
def case_detail(request: HttpRequest, number: int) -> CaseDetailOut:
    """Recorded as ``case.viewed``; 404 for a case outside the caller's scope."""
    principal: Principal = request.auth  # type: ignore[attr-defined]
    case = selectors.case_get(principal=principal, number=number)
    base = _case_out(case.summary).dict()
    return CaseDetailOut(**base, first_response_at=case.first_response_at,
                         resolved_at=case.resolved_at, closed_at=case.closed_at,
                         next_statuses=list(case.next_statuses),
                         messages=[_message_out(m) for m in case.messages],
                         contact_unverified=case.contact_unverified,
                         contact_flags=[ContactFlagOut(flag=f.flag, label=f.label,
                                                       customer_ref=f.customer_ref)
                                        for f in case.contact_flags])


@router.post("/{number}/contact/code", response={202: None}, auth=access(perm.CASES_REPLY),
             summary="E-mail a one-time code to the unverified contact's address on file")
def contact_code_send(request: HttpRequest, number: int) -> Status:
    """The code goes to the address on file (the claimed profile's, or the contact's own);
    answer 202 once handed to the mail sender (decision 0101)."""
    principal: Principal = request.auth  # type: ignore[attr-defined]
    services.case_contact_code_send(case_number=number, principal=principal)
    return Status(202, None)


@router.post("/{number}/contact/code/check", response=ContactLinkOut,
             auth=access(perm.CASES_REPLY), summary="Check the code and link the conversation")
def contact_code_check(request: HttpRequest, number: int, body: ContactCodeIn) -> ContactLinkOut:
    """422 code-invalid for a wrong, expired, used or exhausted code (attempts are counted)."""
    principal: Principal = request.auth  # type: ignore[attr-defined]
    r = services.case_contact_code_check(case_number=number, principal=principal,
                                         code=body.code)
    return ContactLinkOut(case_number=r.case_number, customer_id=r.customer_id,
                          created_profile=r.created_profile, method=r.method)


@router.post("/{number}/contact/verify", response=ContactLinkOut,
             auth=access(perm.CASES_REPLY), summary="Record an agent's verification and link")
def contact_verify(request: HttpRequest, number: int, body: ContactVerifyIn) -> ContactLinkOut:
    """The agent verified the person another way; recorded with the method and audited."""
    principal: Principal = request.auth  # type: ignore[attr-defined]
    r = services.case_contact_verify(case_number=number, principal=principal,
                                     method=body.method)
    return ContactLinkOut(case_number=r.case_number, customer_id=r.customer_id,
                          created_profile=r.created_profile, method=r.method)


@router.post("/{number}/messages", response={201: MessageCreatedOut},
             auth=access(perm.CASES_REPLY), summary="Reply to the customer or add a note")
def message_create(request: HttpRequest, number: int, body: MessageIn) -> Status:
    """A reply is screened, stored and delivered after commit through the channel's sender;
    ``internal`` stores a note that is never sent."""
    principal: Principal = request.auth  # type: ignore[attr-defined]
    if body.internal:
        message_id = services.note_add(case_number=number, principal=principal, text=body.text)
    else:
        message_id = services.message_send(case_number=number, principal=principal,
                                           text=body.text)
    return Status(201, MessageCreatedOut(id=message_id, internal=body.internal))


@router.post("/{number}/status", response=CaseOut, auth=access(perm.CASES_MANAGE),
             summary="Move a case along its lifecycle")
def case_status(request: HttpRequest, number: int, body: StatusIn) -> CaseOut:
    """An illegal move is a 409 problem naming the current state."""
    principal: Principal = request.auth  # type: ignore[attr-defined]
    services.case_move(case_number=number, principal=principal, status=body.status.value)
    return _case_out(selectors.case_summary(principal=principal, number=number))

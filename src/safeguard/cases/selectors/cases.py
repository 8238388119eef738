"""Reads of cases, scoped by split access (R-WORK-4): an agent sees the cases of their queues
and those assigned to them; ``cases.view_all`` sees all. Out of scope is NotFound, the same
answer as a case that does not exist."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from datetime import datetime
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Prefetch, Q, QuerySet
from django.utils import timezone

from safeguard.accounts import selectors as accounts
from safeguard.accounts.contracts import Principal
from safeguard.audit import services as audit
from safeguard.cases import customer_link, lifecycle, scope
from safeguard.cases.contracts import (
    AttachmentUnavailable,
    AttachmentView,
    CaseNotFound,
    CasePage,
    CaseSummary,
    CaseView,
    ContactFlagView,
    HistoryView,
    InteractionView,
    InvalidInput,
    MessageView,
    QuarantineDenied,
    QueueStepUpNeeded,
)
from safeguard.cases.enums import AttachmentState, AuthorKind, CaseStatus, ContactFlag
from safeguard.cases.models import Attachment, Case, CaseHistory, CsatResponse, Interaction, Message
from safeguard.cases.permissions import ATTACHMENT_QUARANTINE
from safeguard.cases.selectors.queues import macro_list_for_case
from safeguard.customers.contracts import CustomerScope
from safeguard.protection import services as protection
from safeguard.web.pagination import Page, paginate

ACTIVE = tuple(s.value for s in lifecycle.ACTIVE)


class CustomerScopeProvider:
    """Decision 0006's scope provider: the customers of the cases a principal may see (their
    queues' cases and those assigned to them); all for ``customers.view_all``."""

    def __call__(self, principal: Principal) -> CustomerScope:
        """Every customer in scope, for list views."""
        if principal.has("customers.view_all"):
            return CustomerScope.everything()
        ids = scope.visible_cases(principal).values_list("customer_id", flat=True).distinct()
        return CustomerScope(all=False, customer_ids=frozenset(ids))

    def allows(self, principal: Principal, customer_id: UUID) -> bool:
        """Whether one customer is in scope: one index-backed EXISTS over the cases in scope
        instead of listing every customer of them (issue 10), so the check no longer grows
        with the agent's queues; its statement built once per process (decision 0279)."""
        if principal.has("customers.view_all"):
            return True
        return scope.case_visible_for_customer(principal, customer_id)


customer_scope = CustomerScopeProvider()


def _sla(case: Case, now: datetime) -> str:
    fr_due, res_due = case.first_response_due_at, case.resolution_due_at
    state = lifecycle.SlaState(
        first_response_due=fr_due, resolution_due=res_due,
        first_response_breached=case.first_response_breached_at is not None or (
            fr_due is not None and (case.first_response_at or now) > fr_due),
        resolution_breached=case.resolution_breached_at is not None or (
            res_due is not None and case.status in ACTIVE and now > res_due))
    return lifecycle.sla_badge(state, now=now, warn_minutes=settings.SAFEGUARD_SLA_WARN_MINUTES,
                               responded=case.first_response_at is not None,
                               resolved=case.status not in ACTIVE)


def summary(case: Case, now: datetime | None = None) -> CaseSummary:
    """A case's list row. Its subject (from what the customer wrote) is in the plain words
    customers see: "card ending 1111", no vault token (R-OPS-2: deterministic tokens on a
    person's screen make screening a card-number oracle) and no internal placeholder (issue 15:
    "(phone number)", a typed expiry gone)."""
    now = now or timezone.now()
    return CaseSummary(
        id=case.id, number=case.number, subject=protection.text_for_customers(case.subject),
        status=case.status,
        priority=case.priority, queue=case.queue.slug, queue_name=case.queue.name,
        assignee_id=case.assignee_id,
        assignee_email=case.assignee.email if case.assignee else "",
        customer_id=case.customer_id, channel=case.channel,
        tags=tuple(sorted(t.name for t in case.tags.all())), created_at=case.created_at,
        updated_at=case.updated_at, first_response_due_at=case.first_response_due_at,
        resolution_due_at=case.resolution_due_at, sla=_sla(case, now),
        merged_into_number=case.merged_into.number if case.merged_into else None)


def _filtered(principal: Principal, *, queue: str | None = None,
              status: Iterable[str] | None = None, assignee: str | None = None,
              tag: str | None = None, breached: bool = False) -> QuerySet[Case]:
    qs = scope.visible_cases(principal)
    if queue:
        qs = qs.filter(queue__slug=queue)
    statuses = [s for s in (status or ()) if s]
    if statuses:
        unknown = set(statuses) - set(CaseStatus.values)
        if unknown:
            raise InvalidInput(f"Unknown status {sorted(unknown)[0]!r}.")
        qs = qs.filter(status__in=statuses)
    if assignee == "me":
        qs = qs.filter(assignee_id=principal.user_id)
    elif assignee == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    elif assignee:
        raise InvalidInput("assignee is 'me' or 'unassigned'.")
    if tag:
        qs = qs.filter(tags__name=tag.lower())
    if breached:
        qs = qs.filter(Q(first_response_breached_at__isnull=False)
                       | Q(resolution_breached_at__isnull=False))
    return qs.select_related("queue", "assignee", "merged_into").prefetch_related("tags")


def case_list_for_agent(*, principal: Principal, queue: str | None = None,
                        status: Iterable[str] | None = ACTIVE, assignee: str | None = None,
                        tag: str | None = None, breached: bool = False,
                        cursor: str | None = None, limit: int = 50) -> Page[CaseSummary]:
    """The queue view: cases in scope, oldest first (by number), filtered; cursor-paginated."""
    qs = _filtered(principal, queue=queue, status=status, assignee=assignee, tag=tag,
                   breached=breached)
    page = paginate(qs, cursor=cursor, limit=limit, scope=f"cases:{principal.user_id}",
                    key="number")
    now = timezone.now()
    return Page(items=[summary(c, now) for c in page.items], next_cursor=page.next_cursor)


def _case(principal: Principal, number: int) -> Case:
    """The case in scope, else CaseNotFound — absent and out of scope alike, both recorded as
    ``case.access_denied`` (issue 9 §9, R-IR-5)."""
    try:
        return (_filtered(principal).get(number=int(number)))
    except (Case.DoesNotExist, ValueError, TypeError) as exc:
        raise scope.refused(principal, number=number) from exc  # @scope.denials_recorded


@scope.denials_recorded
def case_summary(*, principal: Principal, number: int) -> CaseSummary:
    """The list row of one case in scope (after a change made through the API)."""
    return summary(_case(principal, number))


def _message_view(m: Message, mask: Callable[[str], str], *, people: bool = True) -> MessageView:
    """A message as staff see it: what the customer wrote is masked for display like the
    profile (issue 15, R-DATA-2); agents' replies and notes stay as written. A person never
    sees vault tokens (R-OPS-2: deterministic tokens would make notes a card-number oracle);
    a service account (the payment gateway) does."""
    body = mask(m.body) if m.author_kind == AuthorKind.CUSTOMER else m.body
    if people:
        body = protection.card_refs_for_people(body)
    return MessageView(
        id=m.id, interaction_id=m.interaction_id, channel=m.channel, author_kind=m.author_kind,
        author_email=m.author.email if m.author else "", body=body, is_internal=m.is_internal,
        created_at=m.created_at, delivery_status=m.delivery_status,
        delivery_error=m.delivery_error, findings=tuple(m.findings or ()),
        attachments=tuple(_attachment_view(a) for a in m.attachments.all()),
        sender_auth=m.sender_auth)


def _message_views(principal: Principal, case: Case) -> tuple[tuple[MessageView, ...], bool]:
    """The conversation as ``principal`` sees it, and whether the customer is an unverified
    contact (from the masker's read of the customer row: no second query, issue 10)."""
    mask = customer_link.text_masker(viewer=principal, customer_id=case.customer_id)
    people = principal.via != "token" or not accounts.user_get(
        user_id=principal.user_id).is_service_account
    return tuple(_message_view(m, mask, people=people) for m in _messages(case)), mask.unverified


def _attachment_view(a: Attachment) -> AttachmentView:
    return AttachmentView(id=a.id, filename=a.filename, content_type=a.content_type,
                          size=a.size, screened=a.screened, state=a.state, reason=a.reason)


def _flag_views(case: Case) -> tuple[ContactFlagView, ...]:
    """The case's contact flags for display: the flag's label and a short id of the profile it
    concerns, never a value of that profile (it may be outside the viewer's scope)."""
    out = []
    for f in case.contact_flags or []:
        flag = str(f.get("flag", ""))
        if flag not in ContactFlag.values:
            continue
        ref = str(f.get("customer") or "").replace("-", "")[:12]
        out.append(ContactFlagView(flag=flag, label=str(ContactFlag(flag).label),
                                   customer_ref=ref))
    return tuple(out)


def _interaction_view(i: Interaction) -> InteractionView:
    pauses = tuple((datetime.fromisoformat(p["start"]),
                    datetime.fromisoformat(p["end"]) if p.get("end") else None)
                   for p in i.payment_pauses or [])
    return InteractionView(
        id=i.id, channel=i.channel, thread_ref=i.thread_ref, started_at=i.started_at,
        ended_at=i.ended_at, call_id=i.call_id or "", queued_at=i.queued_at,
        answered_at=i.answered_at,
        speed_to_answer_seconds=lifecycle.speed_to_answer(i.queued_at, i.answered_at)
        if i.queued_at else None,
        transcript=protection.card_refs_for_people(i.transcript or ""),
        recording_uri=(i.recording or {}).get("uri", ""),
        recording_retention=i.recording_retention, payment_pauses=pauses)


def _messages(case: Case, after: datetime | None = None) -> QuerySet[Message]:
    qs = (Message.objects.filter(case=case).select_related("author")
          .prefetch_related(Prefetch("attachments",
                                     queryset=Attachment.objects.defer("content")
                                     .order_by("position", "created_at")))
          .order_by("created_at", "seq"))
    if after is not None:
        qs = qs.filter(created_at__gt=after)
    return qs


@scope.denials_recorded
def case_get(*, principal: Principal, number: int) -> CaseView:
    """One case in scope with its conversation, calls and history; records ``case.viewed``.

    A read: no transaction of its own (like ``case_page``, issue 10); ``audit.record`` outside
    one is a single INSERT committed before this returns, and a failed one raises."""
    return _case_view(principal, _case(principal, number))


@scope.denials_recorded
def case_page(*, principal: Principal, number: int,
              step_up_fresh: bool | None = None) -> CasePage:
    """Everything the case page shows, from one scoped lookup; records ``case.viewed`` once.

    ``step_up_fresh``: whether the session passed a second factor within the step-up window.
    Given, the forced step-up of the case's queue (decision 0226) is checked here, on the queue
    the scoped lookup already loaded, before anything else is read or recorded:
    :class:`QueueStepUpNeeded` when forced and not fresh (the page then asks for the factor;
    ``QueueStepUpMiddleware`` leaves this page to it, one statement fewer, issue 10). None: the
    caller checked it. The macros come with the page: whether the viewer is a member of the
    case's queue is read off its members, which the page reads anyway (one statement fewer).

    No transaction around it: it only reads, and its ``case.viewed`` entry (one INSERT)
    commits on its own before the page is rendered — the BEGIN/COMMIT pair bought nothing
    (issue 10). A failed entry raises, and the page shows nothing."""
    case = _case(principal, number)
    if step_up_fresh is False and case.queue.step_up_forced_at is not None:
        raise QueueStepUpNeeded(number)
    view = _case_view(principal, case)
    assignable = _assignable(case)
    # _assignable lists the queue's active members: the signed-in viewer is active, so this is
    # the membership test _macros_for_case would otherwise run as its own EXISTS.
    member = any(user_id == principal.user_id for user_id, _ in assignable)
    return CasePage(case=view, assignable=assignable, marker=_marker(case),
                    macros=macro_list_for_case(principal=principal, case_queue=case.queue.slug,
                                               member=member))


def _case_view(principal: Principal, case: Case) -> CaseView:
    messages, unverified = _message_views(principal, case)
    view = CaseView(
        summary=summary(case), first_response_at=case.first_response_at,
        resolved_at=case.resolved_at, closed_at=case.closed_at, reopened_at=case.reopened_at,
        first_response_breached_at=case.first_response_breached_at,
        resolution_breached_at=case.resolution_breached_at,
        interactions=tuple(_interaction_view(i) for i in
                           case.interactions.order_by("started_at")),
        messages=messages,
        history=tuple(HistoryView(at=h.at, kind=h.kind, actor=h.actor_label, data=h.data)
                      for h in CaseHistory.objects.filter(case=case).order_by("-at", "-id")[:200]),
        next_statuses=() if case.merged_into_id else tuple(
            s.value for s in lifecycle.next_statuses(lifecycle.Status(case.status))),
        csat_score=CsatResponse.objects.filter(case=case).values_list("score", flat=True).first(),
        merged_from=tuple(case.merged_cases.order_by("number").values_list("number", flat=True)),
        contact_unverified=unverified,
        contact_flags=_flag_views(case))
    audit.record(action="case.viewed", actor=principal.actor, subject=("case", case.number),
                 data={"number": case.number, "customer": case.customer_id.hex[:12],
                       "via": principal.via})
    return view


@scope.denials_recorded
def case_marker(*, principal: Principal, number: int) -> str:
    """A cheap fingerprint of the conversation's state, for polling (no customer data read)."""
    return _marker(_case(principal, number))


def _marker(case: Case) -> str:
    agg = Message.objects.filter(case=case).aggregate(last=Max("created_at"))
    status = Message.objects.filter(case=case).exclude(delivery_status="none").values_list(
        "delivery_status", flat=True)
    return f"{case.status}|{case.updated_at.isoformat()}|{agg['last']}|{','.join(status)}"


@scope.denials_recorded
def case_conversation(*, principal: Principal, number: int) -> tuple[CaseSummary,
                                                                     tuple[MessageView, ...]]:
    """The conversation part of the case view (live updates); recorded as ``case.viewed``.

    A read polled every few seconds by each open case page: no transaction of its own (issue
    10: its BEGIN/COMMIT were two of its statements on every poll); ``audit.record`` outside one
    is a single INSERT committed before this returns, and a failed one raises."""
    case = _case(principal, number)
    messages, _ = _message_views(principal, case)
    audit.record(action="case.viewed", actor=principal.actor, subject=("case", case.number),
                 data={"number": case.number, "customer": case.customer_id.hex[:12],
                       "via": principal.via, "part": "conversation"})
    return summary(case), messages


@scope.denials_recorded
def attachment_get(*, principal: Principal, number: int,
                   attachment_id: UUID) -> tuple[AttachmentView, bytes]:
    """One screened attachment of a case in scope, decrypted; recorded as
    ``attachment.downloaded``. A withheld file has nothing to give; a quarantined one opens only
    through :func:`attachment_quarantine_open`; the refusal is recorded (outside the read's
    transaction, so the record survives it)."""
    with transaction.atomic():
        case = _case(principal, number)
        row = Attachment.objects.filter(id=attachment_id, message__case=case).first()
        if row is None:
            raise CaseNotFound("No such attachment on this case.")
        if row.state == AttachmentState.SCREENED:
            audit.record(action="attachment.downloaded", actor=principal.actor,
                         subject=("case", case.number),
                         data={"number": case.number, "attachment": row.id.hex[:12]})
            return _attachment_view(row), base64.b64decode(row.content)
    audit.record(action="attachment.download_refused", actor=principal.actor,
                 subject=("case", case.number), outcome="denied",
                 data={"number": case.number, "attachment": row.id.hex[:12], "state": row.state})
    if row.state == AttachmentState.WITHHELD:
        raise AttachmentUnavailable("Attachment withheld: it contained a card number, so "
                                    "nothing of it was stored.")
    raise AttachmentUnavailable("This attachment is quarantined (it could not be screened); "
                                "open it from the quarantine link, which needs the permission "
                                f"{ATTACHMENT_QUARANTINE} and a fresh second factor.")


def attachment_quarantine_open(*, principal: Principal, number: int, attachment_id: UUID,
                               step_up_fresh: bool) -> tuple[AttachmentView, bytes]:
    """A quarantined attachment's bytes, as sent (issue 8, R-OPS-2): needs
    ``cases.attachment_quarantine``, a person's session with a second factor passed within the
    step-up window, and the case in scope. Every open and every refusal is recorded."""
    subject = ("case", str(number)[:20])

    def deny(why: str) -> None:
        # Outside the refused read's transaction, so the record survives the refusal.
        audit.record(action="attachment.quarantine_denied", actor=principal.actor,
                     subject=subject, outcome="denied",
                     data={"number": number, "attachment": attachment_id.hex[:12],
                           "why": why, "via": principal.via})

    if not principal.has(ATTACHMENT_QUARANTINE):
        deny("permission")
        raise QuarantineDenied(f"Opening a quarantined attachment needs the permission "
                               f"{ATTACHMENT_QUARANTINE}.")
    if principal.via != "session":
        deny("not a session")
        raise QuarantineDenied("A quarantined attachment opens only in a signed-in session "
                               "with a fresh second factor, not with an API token.")
    if not step_up_fresh:
        deny("step-up required")
        raise QuarantineDenied("Opening a quarantined attachment needs a second factor passed "
                               f"within the last {settings.SAFEGUARD_STEP_UP_MINUTES} minutes: "
                               "re-authenticate.")
    with transaction.atomic():
        try:
            case = _case(principal, number)
        except CaseNotFound:
            row = None
        else:
            row = Attachment.objects.filter(id=attachment_id, message__case=case,
                                            state=AttachmentState.QUARANTINED).first()
        if row is not None:
            audit.record(action="attachment.quarantine_opened", actor=principal.actor,
                         subject=("case", case.number),
                         data={"number": case.number, "attachment": row.id.hex[:12],
                               "reason": row.reason, "via": principal.via})
            return _attachment_view(row), base64.b64decode(row.content)
    deny("not found")  # out of scope and missing alike: the same answer, recorded
    raise CaseNotFound("No such quarantined attachment on this case.")


@scope.denials_recorded
def case_customer_id(*, principal: Principal, number: int) -> UUID:
    """The customer of a case in scope (for the customer panel)."""
    return _case(principal, number).customer_id


@scope.denials_recorded
def assignable_users(*, principal: Principal, number: int) -> list[tuple[int, str]]:
    """(user id, e-mail) of the active members of the case's queue."""
    return _assignable(_case(principal, number))


def _assignable(case: Case) -> list[tuple[int, str]]:
    from safeguard.cases.models import QueueMembership

    return [(m.user_id, m.user.email) for m in QueueMembership.objects.filter(
        queue_id=case.queue_id, user__is_active=True).select_related("user")
        .order_by("user__email")]




def audit_case_refs(numbers: Iterable[int]) -> list[str]:
    """Case numbers for an audit event's data as ``"#12"`` strings: a JSON list of bare
    integers (``[4, 1, 1, 1, ...]``) can read as a card number to the no-PAN guard and refuse
    the event (and with it the read)."""
    return [f"#{n}" for n in numbers]


def case_list_for_customer(*, principal: Principal, customer_id: object,
                           limit: int = 50) -> tuple[list[CaseSummary], int]:
    """Every case of one customer that ``principal`` may open (split access, R-WORK-4), newest
    first, across channels; with the full count in scope. Audited as a listing (R-IR-5)."""
    try:
        cid = UUID(str(customer_id))
    except ValueError as exc:
        raise InvalidInput("Not a customer id.") from exc
    qs = _filtered(principal).filter(customer_id=cid)
    total = qs.count()
    rows = [summary(c) for c in qs.order_by("-created_at", "-number")[:limit]]
    audit.record(action="case.listed_for_customer", actor=principal.actor,
                 subject=("customer", str(cid)),
                 data={"count": total, "cases": audit_case_refs(c.number for c in rows)})
    return rows, total


def case_refs(refs: Iterable[str]) -> dict[str, tuple[str, int]]:
    """Case references as other apps hold them (a case id, a number, ``#123``) to (case id,
    case number); unknown references are left out. No customer data is read: the provider
    ``cases.case_refs`` the customers app's approvals inbox names cases with (issue 15)."""
    by_id: dict[UUID, str] = {}
    by_number: dict[int, str] = {}
    for ref in refs:
        text = str(ref).strip().lstrip("#")
        if text.isascii() and text.isdigit() and len(text) <= 18:
            by_number[int(text)] = ref
            continue
        try:
            by_id[UUID(text)] = ref
        except ValueError:
            continue
    out: dict[str, tuple[str, int]] = {}
    if by_id or by_number:
        for cid, number in Case.objects.filter(
                Q(id__in=list(by_id)) | Q(number__in=list(by_number))).values_list("id", "number"):
            if cid in by_id:
                out[by_id[cid]] = (str(cid), number)
            if number in by_number:
                out[by_number[number]] = (str(cid), number)
    return out

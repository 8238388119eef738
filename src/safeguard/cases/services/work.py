"""What agents and supervisors do to cases: reply, note, assign, move, reopen, merge, tag.

Every function takes the acting ``principal``; object scope (split access) is checked here, so
pages, API and CLI obey it alike. Outbound replies are delivered after commit through the
registry of :mod:`safeguard.cases.outbound`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence
from uuid import UUID

from django.db import transaction

from safeguard.accounts.contracts import Principal
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.cases import lifecycle, outbound, scope
from safeguard.cases import permissions as perm
from safeguard.cases.contracts import (
    AssignmentRefused,
    AttachmentIn,
    CaseStateError,
    InvalidInput,
    ManageRefused,
    MergeRefused,
    MessageNotFound,
    OutboundAttachment,
    OutboundMessage,
    SentReply,
)
from safeguard.cases.enums import (
    AttachmentState,
    AuthorKind,
    Channel,
    DeliveryStatus,
    HistoryKind,
    Priority,
)
from safeguard.cases.models import Case, Interaction, Message, Queue, QueueMembership, Tag
from safeguard.cases.services import _base as base
from safeguard.cases.services import automation, mentions
from safeguard.cases.services.ingest import _first_response
from safeguard.web.errors import PermissionDenied

_TAG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def _require(principal: Principal, permission: str) -> None:
    if not principal.has(permission):
        raise PermissionDenied(f"This needs the permission {permission}.")


def _reply_interaction(case: Case, interaction_id: UUID | None) -> Interaction:
    """Where a reply goes: the interaction named, else the newest one that can carry text."""
    qs = case.interactions.all()
    if interaction_id is not None:
        found = qs.filter(id=interaction_id).first()
        if found is None:
            raise InvalidInput("That interaction does not belong to this case.")
        return found
    found = qs.exclude(channel=Channel.VOICE).order_by("-started_at").first()
    if found is None:
        # A phone-only case: the reply opens an e-mail thread to the customer.
        found = Interaction.objects.create(case=case, channel=Channel.EMAIL,
                                           started_at=base.now())
    return found


def message_send(*, case_number: int, principal: Principal, text: str,
                 interaction_id: UUID | None = None,
                 attachments: Sequence[AttachmentIn] = ()) -> UUID:
    """Store an agent's reply (see ``reply_send``) and return its id."""
    return reply_send(case_number=case_number, principal=principal, text=text,
                      interaction_id=interaction_id, attachments=attachments).message_id


@scope.denials_recorded
@transaction.atomic
def reply_send(*, case_number: int, principal: Principal, text: str,
               interaction_id: UUID | None = None,
               attachments: Sequence[AttachmentIn] = ()) -> SentReply:
    """Store an agent's reply and hand it to the channel's sender after commit; a channel
    without a sender keeps the message visible as "not delivered". Its files are screened
    exactly like a customer's (``attachments_store``): one holding a card number is withheld
    (nothing of it kept), one that cannot be screened is quarantined; only screened files go
    out with the reply, and the result says which were held back (issue 15)."""
    _require(principal, perm.CASES_REPLY)
    base.check_text(text, what="reply")
    base.validate_attachments(attachments)
    prepared = base.attachments_prepare(attachments)
    case = base.case_for_principal(principal, number=case_number, lock=True)
    if case.merged_into_id is not None:
        raise CaseStateError(f"Case {case.number} was merged; reply on the case it was merged "
                             "into.", current=case.status)
    interaction = _reply_interaction(case, interaction_id)
    at = base.now()
    screened = base.screen(text, field=base.FIELD_BODY, customer_id=case.customer_id)
    message = Message.objects.create(
        case=case, interaction=interaction, seq=base.next_seq(interaction),
        channel=interaction.channel, author_kind=AuthorKind.AGENT, author_id=principal.user_id,
        body=screened.text, findings=base.finding_types(screened),
        delivery_status=DeliveryStatus.PENDING, created_at=at)
    stored = base.attachments_store(message, prepared, case.customer_id)
    if stored.findings:
        message.findings = sorted(set(message.findings) | set(stored.findings))
        message.save(update_fields=["findings"])
    actor = principal.actor
    _first_response(case, at=at, actor=actor)
    case.save(update_fields=base.CASE_STATE_FIELDS)
    base.history(case, HistoryKind.REPLY, actor, at=at, channel=interaction.channel,
                 message=base.short_id(message.id))
    audit.record(action="message.sent", actor=actor, subject=("case", case.number),
                 data={"number": case.number, "channel": interaction.channel,
                       "message": base.short_id(message.id), "findings": message.findings,
                       "attachments": len(stored.states),
                       "withheld": len(stored.withheld), "quarantined": stored.quarantined})
    base.enqueue_delivery(message.id)
    return SentReply(message_id=message.id, attachments=stored.states,
                     withheld=stored.withheld)


def _outbound(message: Message) -> OutboundMessage:
    case = message.case
    interaction = message.interaction
    assert interaction is not None  # noqa: S101 - replies always have one
    earlier = Message.objects.filter(interaction=interaction).exclude(id=message.id)
    replies = tuple(earlier.filter(author_kind__in=(AuthorKind.AGENT, AuthorKind.SYSTEM),
                                   is_internal=False,
                                   delivery_status=DeliveryStatus.SENT)
                    .order_by("seq").values_list("id", flat=True))
    author = message.author
    files = tuple(OutboundAttachment(filename=a.filename, content_type=a.content_type,
                                     content=base64.b64decode(a.content))
                  for a in message.attachments.filter(state=AttachmentState.SCREENED)
                  .order_by("position"))
    return OutboundMessage(
        message_id=message.id, case_id=case.id, case_number=case.number,
        customer_id=case.customer_id, channel=message.channel, interaction_id=interaction.id,
        thread_ref=interaction.thread_ref, earlier_replies=replies,
        continues_thread=bool(interaction.thread_ref) or earlier.exists(),
        subject=f"[#{case.number}] {case.subject}", text=base.customer_text(message.body,
                                                                           case.customer_id),
        author_name=(author.full_name or "Support") if author else "Support",
        attachments=files, automatic=message.author_kind == AuthorKind.SYSTEM)


@transaction.atomic
def message_deliver(*, message_id: UUID) -> str:
    """Deliver one pending outbound message through its channel's sender, once.

    Returns the resulting delivery status. A missing sender leaves the message "not
    delivered"; a sender that raises leaves it "failed" (the agent can retry).
    """
    message = (Message.objects.select_for_update(of=("self",))
               .select_related("case", "interaction", "author").filter(id=message_id).first())
    if message is None:
        raise MessageNotFound(f"No message {message_id}.")
    if message.delivery_status != DeliveryStatus.PENDING:
        return message.delivery_status  # already handled: never send twice
    actor = Actor.system("cases.outbound")
    sender = outbound.sender_for(message.channel)
    message.delivery_attempts += 1
    if sender is None:
        message.delivery_status = DeliveryStatus.NOT_DELIVERED
        message.delivery_error = f"No sender is registered for the {message.channel} channel."
    else:
        try:
            external_id = sender(_outbound(message))
        except Exception as exc:  # noqa: BLE001 - any sender failure is recorded, not raised
            message.delivery_status = DeliveryStatus.FAILED
            message.delivery_error = f"{type(exc).__name__}: {getattr(exc, 'detail', '')}"[:200]
        else:
            message.delivery_status = DeliveryStatus.SENT
            message.delivery_error = ""
            # The sender's id for the message (our Message-ID): kept as its hash, so the
            # customer's answer that names it threads back, and nothing readable is stored.
            message.external_id = base.ref_hash(external_id or "")
    message.save(update_fields=["delivery_status", "delivery_error", "delivery_attempts",
                                "external_id"])
    base.history(message.case, HistoryKind.DELIVERY, actor, message=base.short_id(message.id),
                 status=message.delivery_status)
    audit.record(action="message.delivery", actor=actor, subject=("case", message.case.number),
                 outcome="success" if message.delivery_status == DeliveryStatus.SENT
                 else "failure",
                 data={"number": message.case.number, "message": base.short_id(message.id),
                       "status": message.delivery_status, "channel": message.channel})
    return message.delivery_status


@scope.denials_recorded
@transaction.atomic
def message_retry(*, case_number: int, principal: Principal, message_id: UUID) -> None:
    """Queue a failed or undelivered reply for another delivery attempt."""
    _require(principal, perm.CASES_REPLY)
    case = base.case_for_principal(principal, number=case_number)
    message = Message.objects.select_for_update().filter(
        id=message_id, case=case, author_kind=AuthorKind.AGENT, is_internal=False).first()
    if message is None:
        raise MessageNotFound("No such reply on this case.")
    if message.delivery_status not in (DeliveryStatus.FAILED, DeliveryStatus.NOT_DELIVERED):
        raise CaseStateError("Only failed or undelivered replies can be retried.",
                             current=message.delivery_status)
    message.delivery_status = DeliveryStatus.PENDING
    message.save(update_fields=["delivery_status"])
    audit.record(action="message.retry", actor=principal.actor, subject=("case", case.number),
                 data={"number": case.number, "message": base.short_id(message.id)})
    base.enqueue_delivery(message.id)


@scope.denials_recorded
@transaction.atomic
def note_add(*, case_number: int, principal: Principal, text: str) -> UUID:
    """Add an internal note: screened, never shown to the customer, never sent."""
    _require(principal, perm.CASES_REPLY)
    base.check_text(text, what="note")
    case = base.case_for_principal(principal, number=case_number, lock=True)
    mentioned = mentions.mentioned_users(text, case, author_id=principal.user_id)
    screened = base.screen(text, field=base.FIELD_NOTE, customer_id=case.customer_id)
    at = base.now()
    message = Message.objects.create(
        case=case, interaction=None, channel=case.channel, author_kind=AuthorKind.AGENT,
        author_id=principal.user_id, body=screened.text, findings=base.finding_types(screened),
        is_internal=True, created_at=at)
    case.save(update_fields=["updated_at"])
    mentions.mentions_store(message, mentioned, at=at, actor=principal.actor)
    base.history(case, HistoryKind.NOTE, principal.actor, at=at, message=base.short_id(message.id))
    audit.record(action="case.note_added", actor=principal.actor, subject=("case", case.number),
                 data={"number": case.number, "message": base.short_id(message.id),
                       "mentioned": mentioned})
    return message.id


@scope.denials_recorded
@transaction.atomic
def case_assign(*, case_number: int, principal: Principal, assignee_id: int | None) -> None:
    """Assign a case. Agents take unassigned cases of their queues or hand back their own;
    queue supervisors assign any case of their queues to a member of its queue."""
    _require(principal, perm.CASES_MANAGE)
    case = base.case_for_principal(principal, number=case_number, lock=True)
    supervisor = scope.is_queue_supervisor(principal, case.queue_id)
    if not supervisor:
        taking = assignee_id == principal.user_id and case.assignee_id is None
        returning = assignee_id is None and case.assignee_id == principal.user_id
        if not (taking or returning):
            raise AssignmentRefused(
                "Agents may take an unassigned case or hand back their own; ask a supervisor "
                "of the queue to reassign it.", case=case.number)
    if assignee_id is not None and not QueueMembership.objects.filter(
            queue_id=case.queue_id, user_id=assignee_id, user__is_active=True).exists():
        raise AssignmentRefused("The assignee must be an active member of the case's queue.",
                                case=case.number)
    if case.assignee_id == assignee_id:
        return
    previous = case.assignee_id
    case.assignee_id = assignee_id
    case.save(update_fields=["assignee", "updated_at"])
    base.history(case, HistoryKind.ASSIGNED, principal.actor, to=assignee_id, previous=previous)
    audit.record(action="case.assigned", actor=principal.actor, subject=("case", case.number),
                 data={"number": case.number, "assignee": assignee_id, "previous": previous})
    if assignee_id is not None and assignee_id != principal.user_id:
        automation.assignment_notify(case=case, user_id=assignee_id, actor=principal.actor)


def _move(principal: Principal, case_number: int, target: lifecycle.Status) -> None:
    _require(principal, perm.CASES_MANAGE)
    case = base.case_for_principal(principal, number=case_number, lock=True)
    base.require_manage(principal, case)
    current = lifecycle.Status(case.status)
    if case.merged_into_id is not None or not lifecycle.can_move(current, target):
        allowed = ", ".join(lifecycle.next_statuses(current)) or "none"
        raise CaseStateError(f"Case {case.number} is {current.value}; it cannot move to "
                             f"{target.value} (allowed: {allowed}).", current=current.value,
                             target=target.value)
    base.apply_status(case, target, principal.actor, at=base.now())
    case.save(update_fields=base.CASE_STATE_FIELDS)
    if target == lifecycle.Status.RESOLVED:  # issue 15: the survey goes out on resolution
        automation.csat_send_on_resolution(case=case, actor=principal.actor)


@scope.denials_recorded
@transaction.atomic
def case_move(*, case_number: int, principal: Principal, status: str) -> None:
    """Move a case along its lifecycle; an illegal move names the state the case is in."""
    try:
        target = lifecycle.Status(status)
    except ValueError as exc:
        raise InvalidInput(f"Unknown status {status!r}.") from exc
    _move(principal, case_number, target)


@scope.denials_recorded
@transaction.atomic
def case_reopen(*, case_number: int, principal: Principal) -> None:
    """Reopen a resolved or closed case (it no longer counts as first-contact resolved)."""
    _move(principal, case_number, lifecycle.Status.OPEN)


@scope.denials_recorded
@transaction.atomic
def case_merge(*, case_number: int, into_number: int, principal: Principal) -> None:
    """Merge a duplicate into another case of the same customer: its interactions and
    messages move, it is closed with a pointer, and both histories keep the merge."""
    _require(principal, perm.CASES_MANAGE)
    if case_number == into_number:
        raise MergeRefused("A case cannot be merged into itself.")
    first, second = sorted([case_number, into_number])  # lock in a fixed order: no deadlock
    locked = {c.number: c for c in (
        base.case_for_principal(principal, number=first, lock=True),
        base.case_for_principal(principal, number=second, lock=True))}
    source, target = locked[case_number], locked[into_number]
    for c in (source, target):
        base.require_manage(principal, c)
    if source.customer_id != target.customer_id:
        raise MergeRefused("Only cases of the same customer can be merged.")
    if source.merged_into_id is not None or target.merged_into_id is not None:
        raise MergeRefused("One of the cases was already merged.")
    if target.status == lifecycle.Status.CLOSED:
        raise MergeRefused(f"Case {target.number} is closed; merge into an open case.")
    at = base.now()
    actor = principal.actor
    moved = Message.objects.filter(case=source).update(case=target)
    Interaction.objects.filter(case=source).update(case=target)
    previous = source.status
    source.merged_into = target
    source.status = lifecycle.Status.CLOSED.value
    source.closed_at = at
    source.save(update_fields=base.CASE_STATE_FIELDS)
    target.save(update_fields=["updated_at"])
    base.history(source, HistoryKind.MERGED, actor, at=at, into=target.number, previous=previous)
    base.history(target, HistoryKind.MERGED, actor, at=at, source=source.number, messages=moved)
    audit.record(action="case.merged", actor=actor, subject=("case", source.number),
                 data={"number": source.number, "into": target.number, "messages": moved})


@scope.denials_recorded
@transaction.atomic
def case_tag(*, case_number: int, principal: Principal, tags: Iterable[str]) -> tuple[str, ...]:
    """Set a case's tags (lower-case slugs); returns the tags now on the case."""
    _require(principal, perm.CASES_MANAGE)
    case = base.case_for_principal(principal, number=case_number, lock=True)
    base.require_manage(principal, case)
    wanted = sorted({t.strip().lower() for t in tags if t.strip()})
    bad = [t for t in wanted if not _TAG.match(t)]
    if bad or len(wanted) > 20:
        raise InvalidInput("Tags are up to 20 slugs of letters, digits, - and _ (40 characters "
                           "each).", tags=bad)
    before = sorted(case.tags.values_list("name", flat=True))
    if before == wanted:
        return tuple(wanted)
    case.tags.set([Tag.objects.get_or_create(name=t)[0] for t in wanted])
    case.save(update_fields=["updated_at"])
    base.history(case, HistoryKind.TAGS, principal.actor, tags=wanted, previous=before)
    audit.record(action="case.tagged", actor=principal.actor, subject=("case", case.number),
                 data={"number": case.number, "tags": wanted})
    return tuple(wanted)


@scope.denials_recorded
@transaction.atomic
def case_set_priority(*, case_number: int, principal: Principal, priority: str) -> None:
    """Change a case's priority."""
    _require(principal, perm.CASES_MANAGE)
    if priority not in Priority.values:
        raise InvalidInput(f"Unknown priority {priority!r}.")
    case = base.case_for_principal(principal, number=case_number, lock=True)
    base.require_manage(principal, case)
    if case.priority == priority:
        return
    previous, case.priority = case.priority, priority
    case.save(update_fields=["priority", "updated_at"])
    base.history(case, HistoryKind.PRIORITY, principal.actor, to=priority, previous=previous)
    audit.record(action="case.priority_changed", actor=principal.actor,
                 subject=("case", case.number), data={"number": case.number, "priority": priority})


@scope.denials_recorded
@transaction.atomic
def case_change_queue(*, case_number: int, principal: Principal, queue: str) -> None:
    """Move a case to another queue (a supervisor of the current queue); the assignee is kept
    only if they work the new queue. SLA due times stay those fixed at creation."""
    _require(principal, perm.CASES_MANAGE)
    case = base.case_for_principal(principal, number=case_number, lock=True)
    if not scope.is_queue_supervisor(principal, case.queue_id):
        raise ManageRefused("Only a supervisor of the case's queue can move it to another "
                            "queue.", case=case.number)
    target = Queue.objects.filter(slug=queue, is_active=True).first()
    if target is None:
        raise InvalidInput(f"No active queue {queue!r}.")
    if target.id == case.queue_id:
        return
    previous = case.queue.slug
    case.queue = target
    if case.assignee_id and not QueueMembership.objects.filter(
            queue=target, user_id=case.assignee_id).exists():
        case.assignee_id = None
    case.save(update_fields=["queue", "assignee", "updated_at"])
    base.history(case, HistoryKind.QUEUE, principal.actor, to=target.slug, previous=previous)
    audit.record(action="case.queue_changed", actor=principal.actor, subject=("case", case.number),
                 data={"number": case.number, "queue": target.slug, "previous": previous})

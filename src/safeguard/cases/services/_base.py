"""Helpers shared by the cases services (private to the package)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.utils import timezone

from safeguard.accounts.contracts import Principal
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.cases import customer_link, lifecycle, scope
from safeguard.cases.contracts import (
    AttachmentIn,
    AttachmentRejected,
    CaseNotFound,
    ChannelError,
    InvalidInput,
    ManageRefused,
    QueueNotFound,
)
from safeguard.cases.enums import Channel, HistoryKind
from safeguard.cases.models import (
    Attachment,
    Case,
    CaseHistory,
    CaseNumber,
    Interaction,
    Message,
    Queue,
)
from safeguard.protection import services as protection
from safeguard.protection.contracts import Screened

FIELD_BODY = "message.body"
FIELD_SUBJECT = "case.subject"
FIELD_NOTE = "case.note"
FIELD_TRANSCRIPT = "interaction.transcript"
FIELD_ATTACHMENT = "attachment.text"
FIELD_FILENAME = "attachment.filename"
FIELD_CSAT = "csat.comment"
MAX_TEXT = 100_000
# What lifecycle changes touch: saved by name so the encrypted subject is not re-encrypted.
CASE_STATE_FIELDS = ["status", "resolved_at", "first_resolved_at", "closed_at", "reopened_at",
                     "reopen_count", "first_response_at", "first_response_breached_at",
                     "resolution_breached_at", "assignee", "merged_into", "updated_at"]


def now() -> datetime:
    return timezone.now()


def short_id(value: UUID) -> str:
    """The first 12 hex digits of a UUID, for history and audit data: enough to find the row,
    and too short to ever look like a card number to the no-PAN guard (13+ digits)."""
    return value.hex[:12]


def check_channel(channel: str) -> str:
    if channel not in Channel.values:
        raise ChannelError(f"Unknown channel {channel!r}; use one of "
                           f"{', '.join(Channel.values)}.", channel=channel)
    return channel


def check_text(text: str, *, what: str, required: bool = True) -> str:
    if not isinstance(text, str):
        raise InvalidInput(f"The {what} must be text.")
    if required and not text.strip():
        raise InvalidInput(f"The {what} is empty.")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"The {what} is longer than {MAX_TEXT} characters.")
    return text


def screen(text: str, *, field: str, customer_id: UUID | None) -> Screened:
    """Screen with the customer's own values when known (names, addresses, account numbers)."""
    known = customer_link.known_values(customer_id) if customer_id else None
    return protection.screen(text, field=field, customer=known or None)


def finding_types(screened: Screened) -> list[str]:
    return sorted({f.type for f in screened.findings})


def queue_by_slug(slug: str | None) -> Queue:
    slug = slug or settings.SAFEGUARD_DEFAULT_QUEUE
    queue = Queue.objects.filter(slug=slug, is_active=True).first()
    if queue is None:
        if slug == settings.SAFEGUARD_DEFAULT_QUEUE:
            # The default queue exists from the first contact on, so nothing inbound is lost.
            queue, _ = Queue.objects.get_or_create(slug=slug, defaults={"name": slug.title()})
            return queue
        raise QueueNotFound(f"No active queue {slug!r}.", queue=slug)
    return queue


def targets(queue: Queue) -> lifecycle.SlaTargets:
    return lifecycle.SlaTargets(queue.first_response_minutes, queue.resolution_minutes)


def case_create(*, customer_id: UUID, queue: Queue, channel: str, subject: str,
                at: datetime, actor: Actor) -> Case:
    """A new case: numbered, SLA due times fixed from the queue's targets at creation."""
    fr_due, res_due = lifecycle.sla_due(created_at=at, targets=targets(queue))
    case = Case(number=CaseNumber.objects.create().id, customer_id=customer_id, queue=queue,
                channel=channel, subject=subject, created_at=at, first_response_due_at=fr_due,
                resolution_due_at=res_due)
    case.save()
    history(case, HistoryKind.CREATED, actor, at=at, channel=channel, queue=queue.slug)
    audit.record(action="case.created", actor=actor, subject=("case", case.number),
                 data={"number": case.number, "queue": queue.slug, "channel": channel})
    return case


def history(case: Case, kind: str, actor: Actor, *, at: datetime | None = None,
            **data: Any) -> None:
    CaseHistory.objects.create(case=case, kind=kind, at=at or now(),
                               actor_label=actor.label[:254], data=data)


def next_seq(interaction: Interaction) -> int:
    """The next message position in an interaction (row-locked, so positions never repeat)."""
    locked = Interaction.objects.select_for_update().only("id", "message_seq").get(
        id=interaction.id)
    locked.message_seq += 1
    Interaction.objects.filter(id=locked.id).update(message_seq=locked.message_seq)
    interaction.message_seq = locked.message_seq
    return locked.message_seq


def validate_attachments(attachments: Sequence[AttachmentIn]) -> None:
    """Refuse the whole message before anything is stored when one file breaks the limits."""
    allowed = set(settings.SAFEGUARD_ATTACHMENT_TYPES)
    if len(attachments) > settings.SAFEGUARD_ATTACHMENT_MAX_COUNT:
        raise AttachmentRejected(
            f"At most {settings.SAFEGUARD_ATTACHMENT_MAX_COUNT} attachments per message.")
    for a in attachments:
        kind = (a.content_type or "").split(";")[0].strip().lower()
        if kind not in allowed:
            raise AttachmentRejected(f"Attachments of type {kind or 'unknown'!r} are not "
                                     "accepted.", content_type=kind)
        if not isinstance(a.content, bytes | bytearray):
            raise AttachmentRejected("Attachment content must be bytes.")
        if len(a.content) > settings.SAFEGUARD_ATTACHMENT_MAX_BYTES:
            raise AttachmentRejected(
                f"An attachment is larger than {settings.SAFEGUARD_ATTACHMENT_MAX_BYTES} bytes.",
                size=len(a.content))
        if kind.startswith("text/"):
            try:
                bytes(a.content).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise AttachmentRejected("Text attachments must be UTF-8.") from exc


def attachments_store(message: Message, attachments: Sequence[AttachmentIn],
                      customer_id: UUID | None) -> list[str]:
    """Store validated attachments encrypted; text is screened first (its findings returned)."""
    found: set[str] = set()
    for a in attachments:
        kind = a.content_type.split(";")[0].strip().lower()
        content = bytes(a.content)
        screened = False
        if kind.startswith("text/"):
            result = screen(content.decode("utf-8"), field=FIELD_ATTACHMENT,
                            customer_id=customer_id)
            found.update(finding_types(result))
            content = result.text.encode("utf-8")
            screened = True
        name = screen(a.filename[:255] or "attachment", field=FIELD_FILENAME,
                      customer_id=customer_id).text
        Attachment.objects.create(message=message, filename=name, content_type=kind,
                                  size=len(content), screened=screened,
                                  content=base64.b64encode(content).decode("ascii"))
    return sorted(found)


def case_for_principal(principal: Principal, *, number: int | None = None,
                       case_id: UUID | None = None, lock: bool = False) -> Case:
    """The case if ``principal`` may see it; CaseNotFound otherwise (the same answer)."""
    qs = scope.visible_cases(principal)
    if lock:
        qs = qs.select_for_update()
    try:
        if number is not None:
            return qs.get(number=number)
        if case_id is None:
            raise CaseNotFound("No case given.")
        return qs.get(id=case_id)
    except (Case.DoesNotExist, ValueError) as exc:
        raise scope.refused(principal, number=number, case_id=case_id) from exc


def require_manage(principal: Principal, case: Case) -> None:
    if not scope.may_manage(principal, case):
        raise ManageRefused(f"Case {case.number} is not assigned to you; ask a supervisor of "
                            f"its queue.", case=case.number)


def resolve_merged(case: Case) -> Case:
    """Follow merge pointers to the case that lives on."""
    seen = {case.id}
    while case.merged_into_id is not None:
        case = Case.objects.select_for_update().get(id=case.merged_into_id)
        if case.id in seen:  # pragma: no cover - merges refuse cycles
            break
        seen.add(case.id)
    return case


def apply_status(case: Case, target: lifecycle.Status, actor: Actor, *, at: datetime,
                 reason: str = "") -> bool:
    """Move ``case`` to ``target`` (already checked legal) and stamp the lifecycle clocks.

    Returns True when the move was a reopen. The caller saves the case.
    """
    current = lifecycle.Status(case.status)
    reopen = lifecycle.is_reopen(current, target)
    case.status = target.value
    if target == lifecycle.Status.RESOLVED:
        case.resolved_at = at
        if case.first_resolved_at is None:
            case.first_resolved_at = at
    # The resolution clock stops at the first resolution: closing a case resolved in time, after
    # the due time, is not a breach; closing one never resolved is judged at the close.
    resolved_when = case.resolved_at if current == lifecycle.Status.RESOLVED else at
    if target in (lifecycle.Status.RESOLVED, lifecycle.Status.CLOSED):
        due = case.resolution_due_at
        if (due is not None and resolved_when is not None and resolved_when > due
                and case.resolution_breached_at is None):
            case.resolution_breached_at = due
            history(case, HistoryKind.SLA_BREACH, actor, at=at, clock="resolution")
            audit.record(action="case.sla_breached", actor=actor, subject=("case", case.number),
                         data={"number": case.number, "clock": "resolution"})
    if target == lifecycle.Status.CLOSED:
        case.closed_at = at
        if case.resolved_at is None:
            case.resolved_at = at
        if case.first_resolved_at is None:
            case.first_resolved_at = at
    if reopen:
        case.reopen_count += 1
        if case.reopened_at is None:
            case.reopened_at = at
        case.resolved_at = None
        case.closed_at = None
    data: dict[str, Any] = {"from": current.value, "to": target.value}
    if reason:
        data["reason"] = reason
    history(case, HistoryKind.REOPENED if reopen else HistoryKind.STATUS, actor, at=at, **data)
    audit.record(action="case.reopened" if reopen else "case.status_changed", actor=actor,
                 subject=("case", case.number), data={"number": case.number, **data})
    return reopen

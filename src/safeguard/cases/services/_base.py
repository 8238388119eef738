"""Helpers shared by the cases services (private to the package)."""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from safeguard.accounts.contracts import Principal
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.cases import attachments as files
from safeguard.cases import customer_link, lifecycle, placeholders, scope
from safeguard.cases.contracts import (
    AttachmentIn,
    AttachmentRejected,
    CaseNotFound,
    ChannelError,
    InvalidInput,
    ManageRefused,
    QueueNotFound,
)
from safeguard.cases.enums import AttachmentState, Channel, HistoryKind
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

logger = logging.getLogger("safeguard.cases")

FIELD_BODY = "message.body"
FIELD_WEBFORM_BODY = "webform.body"  # the public contact form's free text (policies.yaml)
FIELD_SUBJECT = "case.subject"
FIELD_NOTE = "case.note"
FIELD_TRANSCRIPT = "interaction.transcript"
FIELD_ATTACHMENT = "attachment.text"
FIELD_FILENAME = "attachment.filename"
FIELD_CSAT = "csat.comment"
WITHHELD_REASON = "it contained a card number"
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


# Control characters other than tab and line breaks (C0, DEL, C1; NUL included, which
# PostgreSQL refuses in text), and ANSI escape sequences whole: removed from what a customer
# sends before it is screened or stored, as the e-mail parser does (R-OPS-2).
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,50}")


def clean_text(text: str) -> str:
    """``text`` without NUL, other control characters or ANSI escapes (tab and line breaks
    stay): what every inbound text passes before ``check_text`` and screening."""
    return _CONTROL.sub("", text) if isinstance(text, str) else text


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


# Message.external_id and Interaction.thread_ref hold keyed hashes only (issue 8 item 3): one
# purpose for both, because a reference may name either (a thread root or any message of it).
REF_PURPOSE = "cases.message_ref"


def ref_hash(value: str) -> str:
    """The stored form of a thread reference or external id ("" stays ""): a keyed hash, so
    equality works and nothing readable is kept (R-OPS-2, R-DATA-1)."""
    return protection.identifier_hash(value, purpose=REF_PURPOSE) if value.strip() else ""


def ref_candidates(values: Sequence[str]) -> list[str]:
    """Every stored form of ``values`` (one per index key, so rows from before an index-key
    rotation still match): use with ``__in``."""
    return [h for v in values if v.strip()
            for h in protection.identifier_candidates(v, purpose=REF_PURPOSE)]


def finding_types(screened: Screened) -> list[str]:
    return sorted({f.type for f in screened.findings})


def queue_by_slug(slug: str | None) -> Queue:
    slug = slug or settings.SAFEGUARD_DEFAULT_QUEUE
    if not isinstance(slug, str) or not _SLUG.fullmatch(slug):
        # Not a slug (a NUL, a space, ...): no queue has it, and it is never sent to the database.
        raise QueueNotFound(f"No active queue {str(slug)[:50]!r}.", queue=str(slug)[:50])
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
    """Refuse the whole message before anything is stored when one file breaks the limits
    (count, declared type, size). What a file really is, is read from its content later
    (``attachments_prepare``): a disagreeing file is quarantined, never refused here."""
    allowed = set(settings.SAFEGUARD_ATTACHMENT_TYPES)
    if len(attachments) > settings.SAFEGUARD_ATTACHMENT_MAX_COUNT:
        raise AttachmentRejected(
            f"At most {settings.SAFEGUARD_ATTACHMENT_MAX_COUNT} attachments per message.")
    for a in attachments:
        kind = files.declared_type(a.content_type)
        if kind not in allowed:
            raise AttachmentRejected(f"Attachments of type {kind or 'unknown'!r} are not "
                                     "accepted.", content_type=kind)
        if not isinstance(a.content, bytes | bytearray):
            raise AttachmentRejected("Attachment content must be bytes.")
        if len(a.content) > settings.SAFEGUARD_ATTACHMENT_MAX_BYTES:
            raise AttachmentRejected(
                f"An attachment is larger than {settings.SAFEGUARD_ATTACHMENT_MAX_BYTES} bytes.",
                size=len(a.content))


@dataclass(frozen=True)
class PreparedAttachment:
    """A file after content sniffing and text extraction, before anything is stored.

    ``quarantine`` is the reason it is held ("" when ``text`` holds all its text); a file held
    only because its declared type disagrees with its content still has its ``text`` read.
    """

    filename: str
    kind: str
    declared: str
    content: bytes = field(repr=False)
    text: str = field(default="", repr=False)
    quarantine: str = ""

    @property
    def content_type(self) -> str:
        """The type stored: the content's (a text file keeps its declared text/* subtype)."""
        if self.kind == files.TEXT and self.declared.startswith("text/"):
            return self.declared[:100]
        return files.MIME.get(self.kind, "application/octet-stream")


def attachments_prepare(attachments: Sequence[AttachmentIn]) -> list[PreparedAttachment]:
    """Read each file's type from its content and its text out of it (the slow part: PDF
    parsing, OCR), before any row is locked. The declared type is a hint: a file whose content
    disagrees with it, or whose type cannot be screened, or which cannot be read within the
    limits, is marked for quarantine (issue 8, issue 17 item 8; R-OPS-2)."""
    limits = files.Limits.from_settings()
    out = []
    for a in attachments:
        content = bytes(a.content)
        declared = files.declared_type(a.content_type)
        kind = files.sniff(content)
        reason = ""
        text = ""
        if kind not in files.SCREENABLE:
            reason = ("its content is a zip archive, which cannot be screened" if kind == files.ZIP
                      else "its content is of a type that cannot be screened")
        else:
            # The content decides: a file whose declared type lies is read as what it is, so
            # a card number in it is found (and the file withheld) all the same.
            if not files.declared_agrees(kind, declared):
                reason = f"declared as {declared[:60]} but its content is {files.MIME[kind]}"
            try:
                text = files.extract(content, kind, limits).text
            except files.Unscreenable as exc:
                reason = reason or exc.reason
            except Exception:
                logger.exception("cases.attachment_unreadable", extra={"kind": kind})
                reason = reason or "the file could not be read"
        out.append(PreparedAttachment(filename=a.filename, kind=kind, declared=declared,
                                      content=content, text=text, quarantine=reason[:200]))
    return out


@dataclass(frozen=True)
class StoredAttachments:
    """What ``attachments_store`` did: finding types, and each file's state in order."""

    findings: tuple[str, ...]
    states: tuple[str, ...]
    withheld: tuple[str, ...]  # the (screened) names of the files withheld

    @property
    def quarantined(self) -> int:
        return self.states.count(AttachmentState.QUARANTINED)


def attachments_store(message: Message, prepared: Sequence[PreparedAttachment],
                      customer_id: UUID | None) -> StoredAttachments:
    """Store prepared files encrypted: text files screened (cards tokenized, as message bodies);
    other files kept as sent when the scanner finds no card number in their text, withheld
    (no content kept at all) when it finds one, quarantined (kept, flagged) when they could not
    be screened. Returns the finding types and the state of each file."""
    found: set[str] = set()
    states: list[str] = []
    withheld: list[str] = []
    for position, p in enumerate(prepared):
        name = screen(p.filename[:255] or "attachment", field=FIELD_FILENAME,
                      customer_id=customer_id).text
        content = p.content
        state, reason, screened = AttachmentState.SCREENED, "", True
        if p.quarantine and p.text and protection.card_numbers_in(p.text):
            # Held for its declared type, but its content shows a card number: withheld.
            state, reason, content = AttachmentState.WITHHELD, WITHHELD_REASON, b""
            found.add("PAN")
            withheld.append(name)
        elif p.quarantine:
            state, reason, screened = AttachmentState.QUARANTINED, p.quarantine, False
        elif p.kind == files.TEXT:
            result = screen(p.text, field=FIELD_ATTACHMENT, customer_id=customer_id)
            found.update(finding_types(result))
            content = result.text.encode("utf-8")
        elif protection.card_numbers_in(p.text):
            # Withheld: not a byte of the file is kept, so no card number reaches storage.
            state, reason, content = AttachmentState.WITHHELD, WITHHELD_REASON, b""
            found.add("PAN")
            withheld.append(name)
        else:
            found.update(finding_types(screen(p.text, field=FIELD_ATTACHMENT,
                                              customer_id=customer_id)))
        Attachment.objects.create(
            message=message, position=position, filename=name,
            content_type=p.content_type, size=len(p.content), screened=screened, state=state,
            reason=reason, content=base64.b64encode(content).decode("ascii"))
        states.append(state)
    return StoredAttachments(findings=tuple(sorted(found)), states=tuple(states),
                             withheld=tuple(withheld))


def customer_text(text: str, customer_id: UUID) -> str:
    """An agent's text as the customer receives it: the masked-safe placeholders filled in
    (``{customer_first_name}``, or ``SAFEGUARD_MACRO_NAME_FALLBACK`` when the profile has no
    name). Only what leaves to the customer passes here; the console shows the text as
    written."""
    if "{" not in text:
        return text
    name = customer_link.first_name(customer_id) or settings.SAFEGUARD_MACRO_NAME_FALLBACK
    return placeholders.fill(text, {placeholders.CUSTOMER_FIRST_NAME: name})


def enqueue_delivery(message_id: UUID) -> None:
    """Hand an outbound message to its channel's sender once the transaction commits."""
    from safeguard.cases import tasks

    transaction.on_commit(lambda: tasks.message_deliver(str(message_id)))


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

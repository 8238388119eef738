"""The ingest contract of decision 0006 §2: what every channel adapter calls.

Everything a customer sends passes ``protection.screen`` with the customer's own values before
anything is stored; ``external_id`` makes a delivery idempotent (same id → same message,
``duplicate=True``, nothing new stored). External ids and thread references are stored as keyed
hashes only (``base.ref_hash``): threading and idempotency compare hashes, nothing readable is
kept, and no identifier can make the no-PAN guard refuse a message.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from safeguard.accounts import selectors as accounts
from safeguard.accounts.contracts import UserNotFound
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.cases import customer_link, lifecycle, presence
from safeguard.cases.contracts import (
    AttachmentIn,
    CallNotFound,
    CallView,
    ChatMessageView,
    ChatNotFound,
    ChatStarted,
    ChatStatus,
    InboundResult,
    InvalidInput,
    RecordingIn,
    SenderIn,
)
from safeguard.cases.enums import (
    AuthorKind,
    CallEvent,
    Channel,
    ContactFlag,
    DeliveryStatus,
    HistoryKind,
    RetentionCategory,
    SenderAuth,
)
from safeguard.cases.models import Case, Interaction, Message
from safeguard.cases.services import _base as base
from safeguard.cases.services import automation
from safeguard.customers.contracts import MatchResult
from safeguard.protection import services as protection

# Longest identifier hashed (RFC 5322's line limit): ids are stored as fixed-length hashes, so a
# long Message-ID is accepted rather than refusing the mail for its header.
MAX_REF = 998
# The screening policy of a message body by channel (policies.yaml): the public web form's text
# gets its own, stricter field; every other channel the message-body policy.
_BODY_FIELD = {Channel.WEB.value: base.FIELD_WEBFORM_BODY}


def _aware(at: datetime | None) -> datetime:
    if at is None:
        return base.now()
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise InvalidInput("Timestamps must be timezone-aware datetimes.")
    return at


def _refs(thread_ref: str) -> list[str]:
    """E-mail threads name several ids (References); any of them continues the thread."""
    refs = [r.strip() for r in thread_ref.replace(",", " ").split() if r.strip()]
    return [r[:MAX_REF] for r in refs][:50]


def _find_thread(channel: str, refs: list[str],
                 customer_id: uuid.UUID | None) -> Interaction | None:
    """The newest interaction of ``channel`` that one of ``refs`` points at: its own thread
    reference or the external id of one of its messages (our outbound Message-IDs too).
    With a known customer, only their threads count, so a guessed reference cannot push a
    message into another customer's case."""
    if not refs:
        return None
    hashes = base.ref_candidates(refs)
    via_messages = Message.objects.filter(channel=channel, external_id__in=hashes,
                                          interaction__isnull=False).values("interaction_id")
    qs = Interaction.objects.filter(Q(thread_ref__in=hashes) | Q(id__in=via_messages),
                                    channel=channel)
    if customer_id is not None:
        qs = qs.filter(case__customer_id=customer_id)
    return qs.order_by("-started_at").first()


def _find_answered_thread(channel: str, refs: list[str],
                          customer_id: uuid.UUID) -> Interaction | None:
    """The profile's thread that one of ``refs`` names by the Message-ID of one of OUR replies
    (random, sent only to the address on file): an unverified sender who quotes it received
    our mail there, so their answer continues that conversation (decision 0101). Their own
    message ids, which anyone could copy from a forwarded mail, do not count."""
    if not refs:
        return None
    hit = (Message.objects.filter(channel=channel,
                                  external_id__in=base.ref_candidates(refs),
                                  author_kind=AuthorKind.AGENT, case__customer_id=customer_id,
                                  interaction__isnull=False)
           .select_related("interaction").order_by("-created_at").first())
    return hit.interaction if hit is not None else None


def _inbound_result(message: Message, *, created_case: bool, duplicate: bool) -> InboundResult:
    case = message.case
    states = tuple(message.attachments.order_by("position").values_list("state", flat=True))
    return InboundResult(case_id=case.id, case_number=case.number,
                         interaction_id=message.interaction_id,  # type: ignore[arg-type]
                         message_id=message.id, created_case=created_case, duplicate=duplicate,
                         attachments=states)


def _duplicate(channel: str, external_id: str) -> InboundResult | None:
    if not external_id:
        return None
    existing = (Message.objects.select_related("case")
                .filter(channel=channel, external_id__in=base.ref_candidates([external_id]))
                .first())
    if existing is None:
        return None
    return _inbound_result(existing, created_case=False, duplicate=True)


@transaction.atomic
def message_receive(  # noqa: PLR0913 - the ingest contract of decision 0006, verbatim
    *,
    channel: str,
    sender: SenderIn,
    text: str,
    subject: str = "",
    thread_ref: str = "",
    external_id: str = "",
    queue: str | None = None,
    occurred_at: datetime | None = None,
    attachments: Sequence[AttachmentIn] = (),
) -> InboundResult:
    """Store one inbound customer message on its case: continue the thread it belongs to (a
    resolved case reopens, a closed one is followed by a new case) or open a new case.

    Idempotent by ``external_id`` per channel; bad input raises before anything is stored.
    """
    base.check_channel(channel)
    text, subject = base.clean_text(text), base.clean_text(subject)
    if isinstance(sender.name, str):
        sender = dataclasses.replace(sender, name=base.clean_text(sender.name))
    attachments = [dataclasses.replace(a, filename=base.clean_text(a.filename))
                   if isinstance(a.filename, str) else a for a in attachments]
    base.check_text(text, what="message", required=not attachments)
    base.check_text(subject, what="subject", required=False)
    if len(external_id) > MAX_REF:
        raise InvalidInput(f"external_id is longer than {MAX_REF} characters.")
    at = _aware(occurred_at)
    base.validate_attachments(attachments)
    duplicate = _duplicate(channel, external_id)
    if duplicate is not None:
        return duplicate
    # Sniffing, PDF parsing and OCR take time: done before any row is locked.
    prepared = base.attachments_prepare(attachments)
    try:
        with transaction.atomic():
            return _receive(channel=channel, sender=sender, text=text, subject=subject,
                            refs=_refs(thread_ref), external_id=external_id, queue=queue,
                            at=at, attachments=prepared)
    except IntegrityError:
        # A concurrent delivery of the same external id won the race: answer as a duplicate.
        duplicate = _duplicate(channel, external_id)
        if duplicate is None:
            raise
        return duplicate


def _receive(  # noqa: PLR0913 - message_receive's own arguments, already checked
        *, channel: str, sender: SenderIn, text: str, subject: str, refs: list[str],
        external_id: str, queue: str | None, at: datetime,
        attachments: Sequence[base.PreparedAttachment]) -> InboundResult:
    actor = Actor.system(f"channel.{channel}")
    customer_id: uuid.UUID | None = None
    match: MatchResult | None = None
    if sender.identifies or not refs:
        match = customer_link.match_or_create(sender=sender, actor=actor, channel=channel)
        customer_id = match.customer_id
    interaction, continued_claimed = _thread_for(channel, refs, customer_id, match, sender)
    case: Case | None = None
    created_case = False
    if interaction is not None:
        case = Case.objects.select_for_update().get(id=interaction.case_id)
        customer_id = case.customer_id
        target = lifecycle.on_customer_message(lifecycle.Status(case.status))
        if target is None:  # closed: the customer starts a new case on the same thread
            case, interaction = None, None
        else:
            if target.value != case.status:
                base.apply_status(case, target, actor, at=at, reason="customer_message")
            case.save(update_fields=base.CASE_STATE_FIELDS)  # updated_at moves either way
    if customer_id is None:  # a thread reference that matched nothing, and no identity
        match = customer_link.match_or_create(sender=sender, actor=actor, channel=channel)
        customer_id = match.customer_id
    flags = customer_link.flags_for(match, sender) if match is not None else []
    if continued_claimed:  # the sender answered our mail to the address on file
        flags = [f for f in flags if f["flag"] != ContactFlag.CLAIMS_PROFILE]
    if case is not None and flags:
        _add_flags(case, flags)
    if case is None:
        heading = (subject or text).strip()
        first_line = heading.splitlines()[0][:120] if heading else "(attachment)"
        subject_text = base.screen(first_line, field=base.FIELD_SUBJECT,
                                   customer_id=customer_id).text
        case = base.case_create(customer_id=customer_id, queue=base.queue_by_slug(queue),
                                channel=channel, subject=subject_text, at=at, actor=actor)
        created_case = True
        _new_case_identity(case, flags, match=match, sender=sender, actor=actor,
                           channel=channel)
    if interaction is None:
        interaction = Interaction.objects.create(
            case=case, channel=channel, started_at=at,
            thread_ref=base.ref_hash(refs[0] if refs else external_id))
    screened = base.screen(text, field=_BODY_FIELD.get(channel, base.FIELD_BODY),
                           customer_id=customer_id)
    message = Message.objects.create(
        case=case, interaction=interaction, seq=base.next_seq(interaction), channel=channel,
        author_kind=AuthorKind.CUSTOMER, body=screened.text,
        findings=base.finding_types(screened), external_id=base.ref_hash(external_id),
        created_at=at, sender_auth=sender.auth if sender.auth in SenderAuth.values else "")
    stored = base.attachments_store(message, attachments, customer_id)
    if stored.findings:
        message.findings = sorted({*message.findings, *stored.findings})
        message.save(update_fields=["findings"])
    base.history(case, HistoryKind.MESSAGE, actor, at=at, channel=channel,
                 message=base.short_id(message.id))
    audit.record(action="message.received", actor=actor, subject=("case", case.number),
                 data={"number": case.number, "channel": channel,
                       "message": base.short_id(message.id), "findings": message.findings,
                       "attachments": len(attachments), "withheld": len(stored.withheld),
                       "quarantined": stored.quarantined, "created_case": created_case,
                       "unverified": bool(match and match.unverified),
                       "flags": sorted({f["flag"] for f in flags}),
                       "sender_auth": message.sender_auth})
    if stored.withheld:
        _withheld_notice(case, interaction, stored.withheld, actor=actor, at=at)
    # issue 15: triggers and the queue's assignment rule (docs/desk.md)
    automation.automations_run(case=case, event="created" if created_case else "updated")
    return _inbound_result(message, created_case=created_case, duplicate=False)


WITHHELD_NOTICE = (
    "We did not keep {what} you sent ({names}): it contained a card number. For your "
    "security, please never send card numbers, or pictures or documents showing them, in a "
    "message; we will never ask you for one this way. Your message itself has reached us.")


def _withheld_notice(case: Case, interaction: Interaction, names: Sequence[str], *,
                     actor: Actor, at: datetime) -> None:
    """Tell the customer on their channel that a file was withheld (R-OPS-2): a system message
    on the same thread, delivered by the channel's sender after commit (e-mail: an automatic
    reply; chat: shown in the conversation; a channel without a sender: visible on the case)."""
    what = "the attachment" if len(names) == 1 else f"{len(names)} attachments"
    text = WITHHELD_NOTICE.format(what=what, names=", ".join(f'"{n}"' for n in names))
    notice = Message.objects.create(
        case=case, interaction=interaction, seq=base.next_seq(interaction),
        channel=interaction.channel, author_kind=AuthorKind.SYSTEM,
        body=base.screen(text, field=base.FIELD_BODY, customer_id=case.customer_id).text,
        delivery_status=DeliveryStatus.PENDING, created_at=at)
    base.history(case, HistoryKind.REPLY, actor, at=at, channel=interaction.channel,
                 message=base.short_id(notice.id), notice="attachment_withheld")
    audit.record(action="message.notice_sent", actor=actor, subject=("case", case.number),
                 data={"number": case.number, "channel": interaction.channel,
                       "message": base.short_id(notice.id), "notice": "attachment_withheld"})
    base.enqueue_delivery(notice.id)


def _thread_for(channel: str, refs: list[str], customer_id: uuid.UUID | None,
                match: MatchResult | None, sender: SenderIn) -> tuple[Interaction | None, bool]:
    """The thread a message continues, and whether it is the claimed profile's thread that
    an unverified sender reached by quoting one of our replies (never after failed auth)."""
    interaction = _find_thread(channel, refs, customer_id)
    if interaction is None and match is not None and match.claims is not None \
            and sender.auth != SenderAuth.FAILED:
        interaction = _find_answered_thread(channel, refs, match.claims)
        return interaction, interaction is not None
    return interaction, False


def _new_case_identity(case: Case, flags: list[dict[str, str]], *, match: MatchResult | None,
                       sender: SenderIn, actor: Actor, channel: str) -> None:
    """A new case's contact flags, and the evidence of a system verification that linked it."""
    if flags:
        _add_flags(case, flags)
    if match is not None and sender.verified and not match.unverified \
            and sender.customer_id is None:
        customer_link.record_system_verification(actor=actor, customer_id=case.customer_id,
                                                 channel=channel, case_number=case.number)


def _add_flags(case: Case, flags: list[dict[str, str]]) -> None:
    """Add contact flags to the case (each once); they stay until the contact is linked."""
    current = list(case.contact_flags or [])
    for flag in flags:
        if flag not in current:
            current.append(flag)
    if current != list(case.contact_flags or []):
        case.contact_flags = current
        case.save(update_fields=["contact_flags"])


# --- chat ---------------------------------------------------------------------------------------


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def chat_start(*, name: str, email: str, queue: str | None) -> ChatStarted:
    """Open a chat: a case for the customer and a conversation whose secret is returned once."""
    name = base.clean_text(name)
    base.check_text(name, what="name", required=False)
    actor = Actor.system("channel.chat")
    sender = SenderIn(email=email, name=name)  # what a chat visitor types proves nothing
    match = customer_link.match_or_create(sender=sender, actor=actor, channel=Channel.CHAT)
    at = base.now()
    case = base.case_create(customer_id=match.customer_id, queue=base.queue_by_slug(queue),
                            channel=Channel.CHAT, subject="Chat", at=at, actor=actor)
    flags = customer_link.flags_for(match, sender)
    if flags:
        _add_flags(case, flags)
    secret = secrets.token_urlsafe(32)
    # A random id, not the row's UUID: UUIDs can hold digit runs the no-PAN guard refuses.
    conversation_id = f"chat_{secrets.token_urlsafe(16)}"
    Interaction.objects.create(case=case, channel=Channel.CHAT, started_at=at,
                               thread_ref=base.ref_hash(conversation_id),
                               chat_secret_hash=_secret_hash(secret))
    audit.record(action="chat.started", actor=actor, subject=("case", case.number),
                 data={"number": case.number})
    automation.automations_run(case=case, event="created")
    return ChatStarted(conversation_id=conversation_id, secret=secret)


def _chat(conversation_id: str, secret: str) -> Interaction:
    if not isinstance(conversation_id, str) or not conversation_id.startswith("chat_"):
        raise ChatNotFound("No such conversation.")
    interaction = Interaction.objects.filter(
        thread_ref__in=base.ref_candidates([conversation_id[:MAX_REF]]),
        channel=Channel.CHAT).first()
    if interaction is None or not interaction.chat_secret_hash or not hmac.compare_digest(
            interaction.chat_secret_hash, _secret_hash(secret or "")):
        raise ChatNotFound("No such conversation.")
    return interaction


def chat_verify(*, conversation_id: str, secret: str) -> bool:
    """Whether the secret opens the conversation (for the chat page before posting)."""
    try:
        _chat(conversation_id, secret)
    except ChatNotFound:
        return False
    return True


def chat_messages(*, conversation_id: str, secret: str, after_id: int = 0) -> list[ChatMessageView]:
    """The customer's side of a chat after ``after_id``: screened text, never internal notes;
    a wrong secret and an unknown conversation get the same ChatNotFound."""
    interaction = _chat(conversation_id, secret)
    rows = (Message.objects.filter(interaction=interaction, is_internal=False,
                                   seq__gt=max(int(after_id), 0))
            .select_related("author").order_by("seq"))
    out = []
    for m in rows:
        if m.author_kind == AuthorKind.AGENT:
            full = (m.author.full_name if m.author else "").split()
            who = full[0] if full else "Agent"
        elif m.author_kind == AuthorKind.CUSTOMER:
            who = "You"
        else:
            who = "System"
        text = protection.text_for_customers(m.body)
        if m.author_kind == AuthorKind.AGENT:
            text = base.customer_text(text, interaction.case.customer_id)
        out.append(ChatMessageView(id=m.seq or 0, author_kind=m.author_kind, author_name=who,
                                   text=text,
                                   at=m.created_at))
    return out


_ACTIVE_VALUES = tuple(s.value for s in lifecycle.ACTIVE)


def chat_status(*, conversation_id: str, secret: str) -> ChatStatus:
    """The customer's place in the queue until an agent first answers (1 = next: unanswered
    chats of the same queue started earlier, plus one), and whether an agent replying on the
    case typed within ``SAFEGUARD_CHAT_TYPING_SECONDS`` (issue 15)."""
    interaction = _chat(conversation_id, secret)
    case = interaction.case
    position = None
    if case.first_response_at is None and case.status in _ACTIVE_VALUES:
        position = 1 + Case.objects.filter(
            queue_id=case.queue_id, channel=Channel.CHAT, first_response_at__isnull=True,
            status__in=_ACTIVE_VALUES, merged_into__isnull=True,
            created_at__lt=case.created_at).count()
    now = time.time()
    typing = any(state == presence.REPLYING
                 and now - float(typed_at) <= settings.SAFEGUARD_CHAT_TYPING_SECONDS
                 for _email, state, _at, typed_at in presence.read(case.id).values())
    return ChatStatus(queue_position=position, agent_typing=typing)


# --- voice --------------------------------------------------------------------------------------


def _pauses(interaction: Interaction) -> tuple[tuple[datetime, datetime | None], ...]:
    out = []
    for span in interaction.payment_pauses or []:
        start = datetime.fromisoformat(span["start"])
        end = datetime.fromisoformat(span["end"]) if span.get("end") else None
        out.append((start, end))
    return tuple(out)


def call_ref(stored: str) -> str:
    """The short reference of a call in history and audit data: twelve letters of its keyed
    hash (never the platform's id, which the caller chose and may look like anything)."""
    return stored[10:22]


def call_view(interaction: Interaction, *, call_id: str = "") -> CallView:
    """The call's clock; ``call_id`` is the platform's id as the caller gave it (only its keyed
    hash is stored), echoed back to the platform."""
    case = interaction.case
    pauses = _pauses(interaction)
    return CallView(
        call_id=call_id, case_id=case.id, case_number=case.number,
        interaction_id=interaction.id, queue=case.queue.slug, queued_at=interaction.queued_at,
        answered_at=interaction.answered_at, ended_at=interaction.ended_at,
        speed_to_answer_seconds=(lifecycle.speed_to_answer(interaction.queued_at,
                                                           interaction.answered_at)
                                 if interaction.queued_at else None),
        payment_paused=bool(pauses and pauses[-1][1] is None), payment_pauses=pauses)


def _check_call_id(call_id: str) -> str:
    if not isinstance(call_id, str) or not call_id.strip() or len(call_id) > 128:
        raise InvalidInput("call_id must be 1–128 characters.")
    return call_id.strip()


def _call_hashes(call_id: str) -> list[str]:
    """The stored forms of a platform's call id: a keyed hash, as for thread references
    (issue 8 item 3): equality only, nothing readable kept, no id can fail the no-PAN guard."""
    return base.ref_candidates([call_id])


def _call(call_id: str) -> Interaction:
    interaction = (Interaction.objects.select_for_update().select_related("case__queue")
                   .filter(call_id__in=_call_hashes(_check_call_id(call_id)),
                           channel=Channel.VOICE).first())
    if interaction is None:
        raise CallNotFound(f"No call {call_id!r}.")
    return interaction


@transaction.atomic
def call_event(*, call_id: str, event: str, at: datetime, queue: str | None,
               caller_phone: str = "", agent_email: str = "") -> CallView:
    """Record a call event (queued, answered, ended); the first timestamp of each wins, so
    a repeated webhook changes nothing. Answering counts as the case's first response."""
    call_id = _check_call_id(call_id)
    if event not in CallEvent.values:
        raise InvalidInput(f"Unknown call event {event!r}; use one of "
                           f"{', '.join(CallEvent.values)}.")
    at = _aware(at)
    actor = Actor.system("channel.voice")
    agent_id = None
    if agent_email and base.clean_text(agent_email) == agent_email:  # a NUL names no agent
        try:
            agent_id = accounts.user_get_by_email(email=agent_email).id
        except UserNotFound:
            agent_id = None  # an agent unknown to us: the call is still recorded
    try:
        with transaction.atomic():
            interaction = _call_get_or_create(call_id=call_id, at=at, queue=queue,
                                              caller_phone=caller_phone, actor=actor)
    except IntegrityError:  # the same new call arrived twice at once: use the winner's row
        interaction = _call(call_id)
    case = Case.objects.select_for_update().select_related("queue").get(id=interaction.case_id)
    interaction.case = case
    changed: dict[str, object] = {}
    if event == CallEvent.QUEUED and interaction.queued_at is None:
        interaction.queued_at = changed["queued_at"] = at
    elif event == CallEvent.ANSWERED and interaction.answered_at is None:
        interaction.answered_at = changed["answered_at"] = at
        if agent_id is not None:
            interaction.agent_id = agent_id
            if case.assignee_id is None:
                case.assignee_id = agent_id
        _first_response(case, at=at, actor=actor)
    elif event == CallEvent.ENDED and interaction.ended_at is None:
        interaction.ended_at = changed["ended_at"] = at
        spans = list(interaction.payment_pauses or [])
        if spans and not spans[-1].get("end"):
            spans[-1] = {**spans[-1], "end": at.isoformat()}
            interaction.payment_pauses = spans
    if changed:
        interaction.save(update_fields=["queued_at", "answered_at", "ended_at", "agent",
                                        "payment_pauses"])
        case.save(update_fields=base.CASE_STATE_FIELDS)
        ref = call_ref(interaction.call_id or "")
        base.history(case, HistoryKind.CALL, actor, at=at, event=event, call=ref)
        view = call_view(interaction, call_id=call_id)
        audit.record(action=f"call.{event}", actor=actor, subject=("case", case.number),
                     data={"number": case.number, "call": ref,
                           "speed_to_answer": view.speed_to_answer_seconds})
        return view
    return call_view(interaction, call_id=call_id)


def _call_get_or_create(*, call_id: str, at: datetime, queue: str | None, caller_phone: str,
                        actor: Actor) -> Interaction:
    interaction = (Interaction.objects.select_for_update().select_related("case__queue")
                   .filter(call_id__in=_call_hashes(call_id)).first())
    if interaction is not None:
        return interaction
    sender = SenderIn(phone=caller_phone) if caller_phone else SenderIn()
    match = customer_link.match_or_create(sender=sender, actor=actor, channel=Channel.VOICE)
    case = base.case_create(customer_id=match.customer_id, queue=base.queue_by_slug(queue),
                            channel=Channel.VOICE, subject="Phone call", at=at, actor=actor)
    flags = customer_link.flags_for(match, sender)  # caller id is not verification
    if flags:
        _add_flags(case, flags)
    hashed = base.ref_hash(call_id)
    interaction = Interaction.objects.create(case=case, channel=Channel.VOICE, call_id=hashed,
                                             thread_ref=hashed, started_at=at)
    automation.automations_run(case=case, event="created")
    return interaction


def _first_response(case: Case, *, at: datetime, actor: Actor) -> None:
    """Stamp the first response (and a late one as a breach); a new case becomes open."""
    if case.first_response_at is None:
        case.first_response_at = at
        if case.first_response_due_at and at > case.first_response_due_at \
                and case.first_response_breached_at is None:
            case.first_response_breached_at = case.first_response_due_at
            base.history(case, HistoryKind.SLA_BREACH, actor, at=at, clock="first_response")
            audit.record(action="case.sla_breached", actor=actor, subject=("case", case.number),
                         data={"number": case.number, "clock": "first_response"})
    target = lifecycle.on_agent_reply(lifecycle.Status(case.status))
    if target.value != case.status:
        base.apply_status(case, target, actor, at=at)


@transaction.atomic
def call_transcript(*, call_id: str, text: str, recording: RecordingIn | None = None) -> CallView:
    """Store a call's transcript, screened (cards tokenized, the customer's own values masked),
    and the recording's location with the retention category it is kept under."""
    interaction = _call(call_id)
    text = base.clean_text(text)
    base.check_text(text, what="transcript", required=recording is None)
    case = interaction.case
    actor = Actor.system("channel.voice")
    ref = call_ref(interaction.call_id or "")
    data: dict[str, object] = {"number": case.number, "call": ref}
    if text:
        screened = base.screen(text, field=base.FIELD_TRANSCRIPT, customer_id=case.customer_id)
        interaction.transcript = screened.text
        data["findings"] = base.finding_types(screened)
    if recording is not None:
        category = recording.retention_category or settings.SAFEGUARD_RECORDING_RETENTION_DEFAULT
        if category not in RetentionCategory.values:
            raise InvalidInput(f"Unknown retention category {category!r}; use one of "
                               f"{', '.join(RetentionCategory.values)}.")
        if not recording.uri or len(recording.uri) > 1000:
            raise InvalidInput("The recording needs a location (uri) of at most 1000 characters.")
        uri = base.screen(base.clean_text(recording.uri), field="interaction.recording",
                          customer_id=case.customer_id).text
        interaction.recording = {"uri": uri, "duration_seconds": recording.duration_seconds,
                                 "media_type": recording.media_type[:100]}
        interaction.recording_retention = category
        data["retention"] = category
    interaction.save(update_fields=["transcript", "recording", "recording_retention"])
    base.history(case, HistoryKind.TRANSCRIPT, actor, call=ref)
    audit.record(action="call.transcript_stored", actor=actor, subject=("case", case.number),
                 data=data)
    return call_view(interaction, call_id=call_id)


@transaction.atomic
def call_payment_pause(*, call_id: str, active: bool, at: datetime) -> CallView:
    """Open or close a "payment in progress" span, in which recording must be paused
    (PCI DSS); repeating the same state changes nothing."""
    interaction = _call(call_id)
    at = _aware(at)
    spans = list(interaction.payment_pauses or [])
    is_open = bool(spans) and not spans[-1].get("end")
    actor = Actor.system("channel.voice")
    if active and not is_open:
        spans.append({"start": at.isoformat(), "end": None})
        action = "call.payment_pause_started"
    elif not active and is_open:
        spans[-1] = {**spans[-1], "end": at.isoformat()}
        action = "call.payment_pause_ended"
    else:
        return call_view(interaction, call_id=call_id)
    interaction.payment_pauses = spans
    interaction.save(update_fields=["payment_pauses"])
    audit.record(action=action, actor=actor, subject=("case", interaction.case.number),
                 data={"number": interaction.case.number,
                       "call": call_ref(interaction.call_id or "")})
    return call_view(interaction, call_id=call_id)

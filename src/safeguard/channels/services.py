"""The channel adapters' use cases: each turns one inbound event into one call of
``cases.services`` (decision 0006 §2). Screening, customer matching, threading and idempotency
happen there; here we only parse, route to a queue, apply loop safety and rate limits.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.db import transaction

from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.cases import services as cases
from safeguard.cases.contracts import (
    AttachmentIn,
    CallView,
    ChatMessageView,
    ChatNotFound,
    ChatStarted,
    InboundResult,
    OutboundMessage,
    RecordingIn,
    SenderIn,
)
from safeguard.channels import config, mailauth, mailparse, ratelimit
from safeguard.channels.contracts import EmailOutcome, EmailUnparseable, RateLimited

logger = logging.getLogger("safeguard.channels")


# --- e-mail --------------------------------------------------------------------------------------

def _acceptable(
    attachments: Sequence[mailparse.MailAttachment],
) -> tuple[list[AttachmentIn], list[str]]:
    """Split a mail's files into those the case store accepts (SAFEGUARD_ATTACHMENT_*) and a
    note for each one it would refuse, so one odd file does not bounce the whole mail."""
    kept: list[AttachmentIn] = []
    refused: list[str] = []
    allowed = set(settings.SAFEGUARD_ATTACHMENT_TYPES)
    for a in attachments:
        if a.content_type not in allowed:
            why = f"type {a.content_type} is not accepted"
        elif len(a.data) > settings.SAFEGUARD_ATTACHMENT_MAX_BYTES:
            why = f"larger than {settings.SAFEGUARD_ATTACHMENT_MAX_BYTES} bytes"
        elif len(kept) >= settings.SAFEGUARD_ATTACHMENT_MAX_COUNT:
            why = "too many attachments"
        else:
            kept.append(AttachmentIn(filename=a.filename, content_type=a.content_type,
                                     content=a.data))
            continue
        refused.append(f"[Attachment {a.filename!r} was not stored: {why}.]")
    return kept, refused


FULL_TEXT_NAME = "message-full-text.txt"


def _limits() -> mailparse.MailLimits:
    return mailparse.MailLimits(
        max_header_bytes=settings.SAFEGUARD_EMAIL_MAX_HEADER_BYTES,
        max_mime_depth=settings.SAFEGUARD_EMAIL_MAX_MIME_DEPTH,
        max_mime_parts=settings.SAFEGUARD_EMAIL_MAX_MIME_PARTS,
        max_addresses=settings.SAFEGUARD_EMAIL_MAX_ADDRESSES)


def _bounded_text(text: str) -> tuple[str, list[mailparse.MailAttachment]]:
    """A body over SAFEGUARD_EMAIL_MAX_TEXT_CHARS is cut at a line break before the limit, with a
    note; the full text travels as a text attachment (screened and stored like any other), so
    a long mail is never bounced and nothing the customer wrote is silently lost (R-OPS-2)."""
    limit = settings.SAFEGUARD_EMAIL_MAX_TEXT_CHARS
    if len(text) <= limit:
        return text, []
    note = (f"\n\n[This e-mail was longer than {limit:,} characters: the text above is cut "
            f"there; the full text is attached as {FULL_TEXT_NAME}.]")
    cut = limit - len(note)
    head = text[:cut]
    line_end = head.rfind("\n")
    if line_end > cut // 2:
        head = head[:line_end]
    full = mailparse.MailAttachment(filename=FULL_TEXT_NAME, content_type="text/plain",
                                    data=text.encode("utf-8"))
    return head.rstrip() + note, [full]


def email_receive(
    *,
    raw: bytes,
    recipients: Sequence[str],
    envelope_from: str | None = None,
    fallback_queue: str = "",
    received_at: datetime | None = None,
) -> EmailOutcome:
    """Ingest one RFC 5322 message: bounces, auto-replies and our own mail are dropped (never
    stored, never answered); the rest lands on its thread's case by References/In-Reply-To,
    idempotent by Message-ID. RecipientUnknown when no recipient maps to a queue;
    EmailUnparseable (permanent) when the message exceeds the SAFEGUARD_EMAIL_MAX_* bounds."""
    try:
        mail = mailparse.parse_message(raw, limits=_limits())
    except mailparse.MailUnparseable as exc:
        logger.info("channels.email_unparseable", extra={"reason": exc.reason})
        raise EmailUnparseable(f"The message cannot be accepted: {exc.reason}.",
                               reason=exc.reason) from None
    reason = mailparse.automatic_reason(mail, envelope_from=envelope_from,
                                        own_addresses=config.own_addresses(),
                                        loop_token=config.loop_token())
    if reason:
        logger.info("channels.email_ignored", extra={"reason": reason,
                                                     "message_id": mail.message_id[:200]})
        return EmailOutcome(status="ignored", reason=reason, message_id=mail.message_id)
    queue = config.queue_for_recipients(recipients, fallback=fallback_queue)
    text, full_text = _bounded_text(mail.text)
    kept, refused = _acceptable([*full_text, *mail.attachments])
    if refused:
        # The mail is kept; files the case store would refuse are named, not silently lost.
        text = "\n\n".join([t for t in (text, *refused) if t])
    if not text.strip() and not kept:
        text = mail.subject or "(no text)"  # a subject-only mail is still a customer's message
    auth = mailauth.evaluate(auth_results=mail.auth_results, received_spf=mail.received_spf,
                             from_address=mail.from_exact or mail.from_address,
                             trusted=settings.SAFEGUARD_MAIL_AUTHSERV_IDS)
    result = cases.message_receive(
        channel="email",
        # The address as written (compared exactly, decision 0101); only a DMARC pass from the
        # trusted MTA may link it to a profile without an agent's verification.
        sender=SenderIn(email=mail.from_exact or mail.from_address, name=mail.from_name[:200],
                        verified=auth.verified and settings.SAFEGUARD_MAIL_LINK_ON_DMARC_PASS,
                        auth=auth.verdict),
        text=text,
        subject=mail.subject,
        thread_ref=mail.thread_ref,
        external_id=mail.message_id,
        queue=queue,
        occurred_at=received_at,
        attachments=kept,
    )
    return EmailOutcome(status="duplicate" if result.duplicate else "stored",
                        case_number=str(result.case_number), case_id=str(result.case_id),
                        message_id=mail.message_id)


# --- refused authentication of channel endpoints (issue 9 §9, R-IR-5) --------------------------

# Refusals recorded per client address per minute: a forger's flood past it is refused without
# an event each, so it cannot grow the log without bound (the first ones name the address).
REFUSALS_RECORDED_PER_MINUTE = "20/m"


def channel_auth_refused(*, endpoint: str, code: str, client: str,
                         evidence: Sequence[bytes] = ()) -> bool:
    """Record a refused signature or secret on a channel endpoint (the voice webhook, the chat
    link) as ``channel.auth_refused``. Attacker-chosen input is never stored in clear: only the
    SHA-256 (first 16 hex digits) and length of each piece of ``evidence`` (the signature header,
    the body, the conversation id). Returns whether an event was written."""
    try:
        ratelimit.hit(scope="channel-auth-refused", key=client,
                      limit=REFUSALS_RECORDED_PER_MINUTE)
    except RateLimited:
        return False
    data: dict[str, object] = {"endpoint": endpoint[:40], "code": code[:60]}
    data["evidence"] = [{"sha256": hashlib.sha256(e).hexdigest()[:16], "bytes": len(e)}
                        for e in evidence][:4]
    with transaction.atomic():
        audit.record(action="channel.auth_refused", actor=Actor.anonymous(endpoint[:40]),
                     outcome="denied", subject=("channel", endpoint[:40]), data=data)
    return True


# --- web chat -----------------------------------------------------------------------------------

def chat_open(*, name: str, email: str, text: str, client: str) -> ChatStarted:
    """Start a chat for a customer (rate-limited per client address) with their first message."""
    ratelimit.hit(scope="chat-start", key=client, limit=settings.SAFEGUARD_CHAT_START_LIMIT)
    with transaction.atomic():
        started = cases.chat_start(name=name, email=email,
                                   queue=config.optional_queue(settings.SAFEGUARD_CHAT_QUEUE))
        cases.message_receive(channel="chat", sender=SenderIn(), text=text,
                              thread_ref=started.conversation_id)
    return started


def chat_deliver(message: OutboundMessage) -> str:
    """The chat sender: a reply needs no transport, the customer's page polls it through
    ``chat_messages``; so it is delivered once stored. No external id."""
    return ""


def chat_post(*, conversation_id: str, secret: str, text: str) -> list[ChatMessageView]:
    """Add the customer's message to their conversation (the secret opens it; rate-limited per
    conversation) and return the conversation so far."""
    if not cases.chat_verify(conversation_id=conversation_id, secret=secret):
        # The answer chat_messages gives for a wrong secret or an unknown conversation alike.
        raise ChatNotFound("No such conversation.")
    ratelimit.hit(scope="chat-post", key=conversation_id,
                  limit=settings.SAFEGUARD_CHAT_POST_LIMIT)
    cases.message_receive(channel="chat", sender=SenderIn(), text=text,
                          thread_ref=conversation_id)
    return cases.chat_messages(conversation_id=conversation_id, secret=secret)


# --- web form and REST ingest -------------------------------------------------------------------

def contact_submit(*, name: str, email: str, subject: str, text: str,
                   client: str) -> InboundResult:
    """The public contact form: one message on a new case (rate-limited per client address)."""
    ratelimit.hit(scope="contact", key=client, limit=settings.SAFEGUARD_CONTACT_LIMIT)
    return cases.message_receive(
        channel="web", sender=SenderIn(email=email, name=name), text=text, subject=subject,
        queue=config.optional_queue(settings.SAFEGUARD_CONTACT_QUEUE))


def api_message_receive(
    *, sender: SenderIn, text: str, subject: str, thread_ref: str, external_id: str,
    queue: str | None, occurred_at: datetime | None, attachments: Sequence[AttachmentIn],
) -> InboundResult:
    """An integration's message (channel "api"), idempotent by its ``external_id``."""
    return cases.message_receive(channel="api", sender=sender, text=text, subject=subject,
                                 thread_ref=thread_ref, external_id=external_id, queue=queue,
                                 occurred_at=occurred_at, attachments=attachments)


# --- voice --------------------------------------------------------------------------------------

CALL_EVENTS = frozenset({"queued", "answered", "ended"})


@transaction.atomic
def voice_event(
    *,
    kind: str,
    call_id: str,
    at: datetime | None = None,
    queue: str = "",
    caller_phone: str = "",
    agent_email: str = "",
    transcript: str = "",
    recording: RecordingIn | None = None,
) -> CallView:
    """Apply one signed voice event: a call state (queued/answered/ended), a transcript with
    its recording's metadata, or the start/stop of a payment span (recording paused)."""
    if kind.startswith("call."):
        event = kind.removeprefix("call.")
        if event not in CALL_EVENTS or at is None:
            raise ValueError(f"bad call event {kind!r}")
        return cases.call_event(call_id=call_id, event=event, at=at,
                                queue=queue or config.optional_queue(
                                    settings.SAFEGUARD_VOICE_QUEUE),
                                caller_phone=caller_phone, agent_email=agent_email)
    if kind == "transcript":
        return cases.call_transcript(call_id=call_id, text=transcript, recording=recording)
    if kind in ("payment.started", "payment.stopped") and at is not None:
        return cases.call_payment_pause(call_id=call_id, active=kind == "payment.started", at=at)
    raise ValueError(f"unknown voice event {kind!r}")


def notice_send(*, to: str, subject: str, body: str,
                attachments: Sequence[tuple[str, bytes, str]] = ()) -> None:
    """An automatic notice by e-mail outside any case (data-subject requests, clock warnings,
    incident letters with their PDF attached as (filename, bytes, content type)): the outbound
    mail path's loop and per-recipient limits apply; raises DeliverySuppressed."""
    from safeguard.channels import mail_out

    mail_out.notice_send(to=to, subject=subject, body=body, attachments=attachments)

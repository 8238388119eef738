"""Outbound e-mail: the sender ``cases.outbound`` calls for channel "email" (decision 0006 §3).

A reply carries a Message-ID in our domain minted from the reply's own id under the index key
(returned, so the customer's answer threads back; only its keyed hash is stored) and an
``X-Safeguard-Loop`` marker our inbound side recognises. The customer's own Message-IDs are
stored as keyed hashes only (issue 8 item 3, R-OPS-2), so References/In-Reply-To name our
earlier replies on the thread, minted again from their ids; the customer's client threads the
first reply by its "Re:" subject. ``Auto-Submitted: auto-replied`` is set only on automatic
messages. Loop brakes: no mail to bounce addresses or to ourselves, and a per-recipient limit
(lower for automatic messages).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from email.utils import formataddr, parseaddr
from uuid import UUID, uuid4

from django.conf import settings
from django.core.mail import EmailMessage

from safeguard.cases.contracts import ContactCodeMail, OutboundMessage
from safeguard.channels import config, ratelimit
from safeguard.channels.contracts import DeliverySuppressed, RateLimited
from safeguard.channels.mailparse import BOUNCE_LOCALPARTS, LOOP_HEADER, MAX_REFERENCES
from safeguard.customers import selectors as customers
from safeguard.protection import services as protection

logger = logging.getLogger("safeguard.channels")

NO_REPLY_LOCALPARTS = frozenset({"noreply", "no-reply", "donotreply", "do-not-reply"})


MESSAGE_ID_PURPOSE = "channels.email.message_id"


def message_id_for(message_id: UUID) -> str:
    """Our Message-ID for one reply: 26 letters keyed from the reply's row id (~122 bits; no
    digit, so never a Luhn-valid run), the same every time it is minted under the same index
    key, so later replies can name it in References without any readable id being stored."""
    local = protection.identifier_token(str(message_id), purpose=MESSAGE_ID_PURPOSE, length=26)
    return f"<{local}.sg@{config.email_domain()}>"


def _recipient(customer_id: object) -> str:
    """The customer's e-mail address, read for delivery only (never stored or logged)."""
    return customers.customer_email_for_delivery(customer_id=customer_id).strip()


def _refuse_reason(address: str) -> str:
    if "@" not in address:
        return "no-address"
    local = address.rpartition("@")[0].lower()
    if local in BOUNCE_LOCALPARTS or local in NO_REPLY_LOCALPARTS:
        return "bounce-address"
    if address.lower() in config.own_addresses():
        return "loop"
    return ""


def build(message: OutboundMessage, *, to: str, automatic: bool = False) -> EmailMessage:
    """The reply as a Django EmailMessage with its threading and loop headers set."""
    refs = list(dict.fromkeys(message_id_for(m) for m in message.earlier_replies))
    refs = refs if len(refs) <= MAX_REFERENCES else [refs[0], *refs[-(MAX_REFERENCES - 1):]]
    display, _ = parseaddr(str(settings.SAFEGUARD_EMAIL_FROM))
    sender = config.from_address()
    headers = {
        "Message-ID": message_id_for(message.message_id),
        LOOP_HEADER: config.loop_token(),
    }
    if refs:
        headers["In-Reply-To"] = refs[-1]
        headers["References"] = " ".join(refs)
    if automatic:
        headers["Auto-Submitted"] = "auto-replied"
        headers["X-Auto-Response-Suppress"] = "All"
    # Customers read plain words, never screening placeholders (issue 15): "card ending 1111".
    subject = protection.text_for_customers(message.subject).strip() or \
        f"Case {message.case_number}"
    if message.continues_thread and not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    email = EmailMessage(
        subject=subject,
        body=protection.text_for_customers(message.text),
        from_email=formataddr((display, sender)) if display else sender,
        to=[to],
        headers=headers,
    )
    for attachment in message.attachments:
        email.attach(attachment.filename, attachment.content, attachment.content_type)
    return email


def email_send(message: OutboundMessage) -> str:
    """Deliver one reply through Django's mail backend and return its Message-ID; raises
    (DeliverySuppressed, or the backend's error) so the agent sees the message as failed."""
    to = _recipient(message.customer_id)
    reason = _refuse_reason(to)
    if reason:
        logger.warning("channels.email_suppressed", extra={"reason": reason,
                                                           "case": message.case_number})
        raise DeliverySuppressed(f"Not sent: the recipient address is refused ({reason}).")
    # The contract marks automatic messages (system notices such as "attachment withheld");
    # agents' replies are not automatic.
    automatic = message.automatic
    try:
        ratelimit.hit(scope="email-reply", key=to.lower(),
                      limit=settings.SAFEGUARD_EMAIL_REPLY_LIMIT)
        if automatic:
            ratelimit.hit(scope="email-auto-reply", key=to.lower(),
                          limit=settings.SAFEGUARD_EMAIL_AUTO_REPLY_LIMIT)
    except RateLimited as exc:
        logger.warning("channels.email_rate_limited", extra={"case": message.case_number})
        raise DeliverySuppressed("Not sent: too many replies to this address "
                                 "(loop brake); try again later.") from exc
    email = build(message, to=to, automatic=automatic)
    if email.send(fail_silently=False) != 1:
        raise DeliverySuppressed("The mail backend accepted nothing.")
    return str(email.extra_headers["Message-ID"])


def code_send(mail: ContactCodeMail) -> None:
    """E-mail a verification code to the address on file (decision 0101): an automatic message
    with the loop marker, limited per recipient like automatic replies; raises on refusal."""
    to = mail.to.strip()
    reason = _refuse_reason(to)
    if reason:
        logger.warning("channels.code_suppressed", extra={"reason": reason,
                                                          "case": mail.case_number})
        raise DeliverySuppressed(f"Not sent: the recipient address is refused ({reason}).")
    try:
        ratelimit.hit(scope="contact-code", key=to.lower(),
                      limit=settings.SAFEGUARD_CONTACT_CODE_LIMIT)
    except RateLimited as exc:
        raise DeliverySuppressed("Not sent: too many codes to this address; try later.") from exc
    minutes = settings.SAFEGUARD_CONTACT_CODE_MINUTES
    display, _ = parseaddr(str(settings.SAFEGUARD_EMAIL_FROM))
    sender = config.from_address()
    email = EmailMessage(
        subject=f"Your verification code (case {mail.case_number})",
        body=(f"Your verification code is {mail.code}.\n\n"
              f"Give it to the agent helping you with case {mail.case_number}. It works once "
              f"and expires in {minutes} minutes.\n\n"
              "If you did not ask to be verified, do not share this code with anyone: someone "
              "may be trying to use your address. You can ignore this message.\n"),
        from_email=formataddr((display, sender)) if display else sender,
        to=[to],
        headers={"Message-ID": message_id_for(uuid4()), LOOP_HEADER: config.loop_token(),
                 "Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
    )
    if email.send(fail_silently=False) != 1:
        raise DeliverySuppressed("The mail backend accepted nothing.")


def notice_send(*, to: str, subject: str, body: str,
                attachments: Sequence[tuple[str, bytes, str]] = ()) -> None:
    """E-mail an automatic notice that belongs to no case (a data-subject request's code,
    acknowledgement or reply; a clock warning to staff; an incident letter with its PDF in
    ``attachments`` as (filename, bytes, content type)): the loop marker, the refused-address
    rules and the per-recipient limit of automatic messages apply; raises on refusal."""
    to = to.strip()
    reason = _refuse_reason(to)
    if reason:
        logger.warning("channels.notice_suppressed", extra={"reason": reason})
        raise DeliverySuppressed(f"Not sent: the recipient address is refused ({reason}).")
    try:
        ratelimit.hit(scope="email-auto-reply", key=to.lower(),
                      limit=settings.SAFEGUARD_EMAIL_AUTO_REPLY_LIMIT)
    except RateLimited as exc:
        raise DeliverySuppressed("Not sent: too many messages to this address; try later.") \
            from exc
    display, _ = parseaddr(str(settings.SAFEGUARD_EMAIL_FROM))
    sender = config.from_address()
    email = EmailMessage(
        subject=subject, body=body,
        from_email=formataddr((display, sender)) if display else sender, to=[to],
        headers={"Message-ID": message_id_for(uuid4()), LOOP_HEADER: config.loop_token(),
                 "Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
    )
    for filename, content, content_type in attachments:
        email.attach(filename, content, content_type)
    if email.send(fail_silently=False) != 1:
        raise DeliverySuppressed("The mail backend accepted nothing.")

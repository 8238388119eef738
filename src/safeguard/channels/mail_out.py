"""Outbound e-mail: the sender ``cases.outbound`` calls for channel "email" (decision 0006 §3).

A reply threads under the customer's mail (In-Reply-To = the newest id of the thread,
References = the whole chain), carries a fresh Message-ID in our domain (returned, so the
customer's answer threads back) and an ``X-Safeguard-Loop`` marker our inbound side recognises.
``Auto-Submitted: auto-replied`` is set only on automatic messages. Loop brakes: no mail to
bounce addresses or to ourselves, and a per-recipient limit (lower for automatic messages).
"""

from __future__ import annotations

import logging
import secrets
import string
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMessage

from safeguard.cases.contracts import ContactCodeMail, OutboundMessage
from safeguard.channels import config, ratelimit
from safeguard.channels.contracts import DeliverySuppressed, RateLimited
from safeguard.channels.mailparse import BOUNCE_LOCALPARTS, LOOP_HEADER, message_ids
from safeguard.customers import selectors as customers

logger = logging.getLogger("safeguard.channels")

NO_REPLY_LOCALPARTS = frozenset({"noreply", "no-reply", "donotreply", "do-not-reply"})


def new_message_id() -> str:
    """A fresh Message-ID in our domain, like ``email.utils.make_msgid`` but without digits:
    make_msgid's long decimal runs (time, pid, 64 random bits) can form a Luhn-valid number,
    which the no-PAN guard rightly refuses to store as the reply's external id."""
    local = "".join(secrets.choice(string.ascii_lowercase) for _ in range(26))  # ~122 bits
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
    refs = [r for ref in (message.thread_ref, *message.in_reply_to) for r in message_ids(ref)]
    refs = list(dict.fromkeys(refs))  # order kept, duplicates dropped; the root comes first
    display, _ = parseaddr(str(settings.SAFEGUARD_EMAIL_FROM))
    sender = config.from_address()
    headers = {
        "Message-ID": new_message_id(),
        LOOP_HEADER: config.loop_token(),
    }
    if message.in_reply_to and message_ids(message.in_reply_to[-1]):
        headers["In-Reply-To"] = message_ids(message.in_reply_to[-1])[0]
    if refs:
        headers["References"] = " ".join(refs)
    if automatic:
        headers["Auto-Submitted"] = "auto-replied"
        headers["X-Auto-Response-Suppress"] = "All"
    subject = message.subject.strip() or f"Case {message.case_number}"
    if message.in_reply_to and not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    email = EmailMessage(
        subject=subject,
        body=message.text,
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
    # The contract marks automatic messages (acknowledgements, CSAT) when it can; agents'
    # replies are not automatic.
    automatic = bool(getattr(message, "automatic", False))
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
        headers={"Message-ID": new_message_id(), LOOP_HEADER: config.loop_token(),
                 "Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"},
    )
    if email.send(fail_silently=False) != 1:
        raise DeliverySuppressed("The mail backend accepted nothing.")

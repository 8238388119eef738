"""``safeguard smtpd``: an aiosmtpd server that hands each delivered message to
:func:`safeguard.channels.services.email_receive`.

Meant to sit on loopback behind the MTA that owns port 25 (Postfix, Exim: docs/channels.md),
which does TLS, spam and sender checks; this server only accepts mail for the addresses in
SAFEGUARD_EMAIL_QUEUES (550 at RCPT time for any other, so nothing is bounced later), enforces
the size limit (552), and answers 250 only after the message is stored (or deliberately
ignored: bounces and auto-replies are accepted and dropped, never bounced back). A domain
refusal is a 550; a message beyond the parsing bounds (SAFEGUARD_EMAIL_MAX_*) a 554, at once;
anything unexpected is a 451, so the relay keeps the message and retries.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import connections

from safeguard.channels import config, services
from safeguard.channels.contracts import EmailOutcome, EmailUnparseable
from safeguard.web.errors import ApplicationError

logger = logging.getLogger("safeguard.channels")

MAX_RECIPIENTS = 50


def _ingest(raw: bytes, mail_from: str, recipients: list[str]) -> EmailOutcome:
    try:
        return services.email_receive(
            raw=raw, recipients=recipients,
            envelope_from="" if mail_from in ("", "<>") else mail_from)
    finally:
        # This worker thread's connection is closed after each message: mail is rare enough
        # that reconnecting costs nothing, and no connection outlives its thread unclosed.
        connections.close_all()


class IngestHandler:
    """aiosmtpd hooks: RCPT checks the address, DATA stores the message (in a worker thread,
    because the ORM is synchronous)."""

    def __init__(self, *, workers: int = 4) -> None:
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="smtpd")

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str,
        rcpt_options: list[str],
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        if config.queue_for_address(address) is None:
            return "550 5.1.1 Recipient address rejected: no queue receives mail here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope,
    ) -> str:
        raw = envelope.original_content or b""  # the bytes as received (decode_data=False)
        loop = asyncio.get_running_loop()
        try:
            outcome = await loop.run_in_executor(
                self.executor, _ingest, raw, envelope.mail_from or "", list(envelope.rcpt_tos))
        except EmailUnparseable as exc:
            logger.info("channels.smtp_refused", extra={"code": exc.code})
            return exc.smtp_reply
        except ApplicationError as exc:
            logger.info("channels.smtp_refused", extra={"code": exc.code})
            return f"550 5.6.0 Message refused: {exc.title}"
        except Exception:  # a bug or an outage must not lose mail: the relay retries on 4xx
            logger.exception("channels.smtp_failed")
            return "451 4.3.0 Temporary failure, please try again later"
        logger.info("channels.smtp_accepted", extra={"status": outcome.status,
                                                     "reason": outcome.reason})
        return "250 2.0.0 OK: message accepted"

    def close(self) -> None:
        self.executor.shutdown(wait=True)


def controller(*, host: str | None = None, port: int | None = None,
               max_bytes: int | None = None, **smtp: Any) -> Controller:
    """A not-yet-started aiosmtpd Controller serving :class:`IngestHandler` (settings-driven)."""
    # aiosmtpd logs every SMTP command, senders' and recipients' addresses included, at INFO.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    return Controller(
        IngestHandler(),
        hostname=host or settings.SAFEGUARD_SMTPD_HOST,
        port=port or settings.SAFEGUARD_SMTPD_PORT,
        data_size_limit=max_bytes or settings.SAFEGUARD_SMTPD_MAX_BYTES,
        decode_data=False,
        enable_SMTPUTF8=True,
        ident="Safeguard smtpd",
        **smtp,
    )

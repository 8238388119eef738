"""Fixtures of the channel tests: mail routing settings, our smtpd on a free loopback port, a
real SMTP sink for outbound mail, signed webhook requests, and read helpers over cases."""

from __future__ import annotations

import json
import smtplib
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.test import Client

from safeguard.channels import signing, smtp

SECRET = "whsec-test-0123456789abcdef0123456789abcdef"
SUPPORT = "support@example.com"
BILLING = "billing@example.com"




def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def mail_routes(settings):
    """Two receiving addresses; replies from the support address in our own domain."""
    settings.SAFEGUARD_EMAIL_QUEUES = {SUPPORT: "general", BILLING: "billing"}
    settings.SAFEGUARD_EMAIL_DEFAULT_QUEUE = ""
    settings.SAFEGUARD_EMAIL_FROM = f"Example Support <{SUPPORT}>"
    settings.SAFEGUARD_EMAIL_DOMAIN = "mail.example.com"
    return settings


@dataclass
class Smtpd:
    host: str
    port: int

    def send(self, msg: EmailMessage | bytes, *, mail_from: str | None = None,
             rcpt: list[str] | None = None) -> dict[str, Any]:
        """Deliver over real SMTP; returns smtplib's refused-recipients dict."""
        with smtplib.SMTP(self.host, self.port, timeout=10) as client:
            if isinstance(msg, bytes):
                return client.sendmail(mail_from or "", rcpt or [SUPPORT], msg)
            return client.send_message(msg, from_addr=mail_from, to_addrs=rcpt)


@pytest.fixture
def smtpd(mail_routes) -> Iterator[Smtpd]:
    """Our inbound server (the code behind `safeguard smtpd`) on a free loopback port."""
    port = free_port()
    server = smtp.controller(host="127.0.0.1", port=port, max_bytes=200_000)
    server.start()
    try:
        yield Smtpd(host="127.0.0.1", port=port)
    finally:
        server.stop()
        server.handler.close()


@dataclass
class Sink:
    """An aiosmtpd handler that keeps every message it is given."""

    messages: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook
        msg = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 OK"

    def wait(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return [m for _, _, m in self.messages]


@pytest.fixture
def smtp_sink(settings) -> Iterator[Sink]:
    """A real SMTP server on loopback that Django's SMTP backend delivers to."""
    sink = Sink()
    port = free_port()
    server = Controller(sink, hostname="127.0.0.1", port=port)
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    try:
        yield sink
    finally:
        server.stop()


def mail(*, frm: str = "Alice Example <alice@customer.example>", to: str = SUPPORT,
         subject: str = "My order", body: str = "Hello, my order has not arrived.",
         message_id: str | None = "<m1@customer.example>", **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = frm
    msg["To"] = to
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = message_id
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


# --- webhooks -----------------------------------------------------------------------------------

@pytest.fixture
def webhook_secret(settings) -> str:
    settings.SAFEGUARD_WEBHOOK_SECRETS = [SECRET]
    settings.SAFEGUARD_WEBHOOK_TOLERANCE_SECONDS = 300
    return SECRET


def signed_post(client: Client, path: str, payload: Any, *, secret: str = SECRET,
                timestamp: int | None = None, header: str | None = None,
                raw: bytes | None = None):
    body = raw if raw is not None else json.dumps(payload, default=str).encode()
    ts = int(time.time()) if timestamp is None else timestamp
    value = header if header is not None else signing.header_value(
        secrets=[secret], timestamp=ts, body=body)
    extra = {"HTTP_X_SAFEGUARD_SIGNATURE": value} if value else {}
    return client.post(path, data=body, content_type="application/json", **extra)


# --- reads over the cases app (one place to adapt if its models change) --------------------------

def case_messages(number: int) -> list[Any]:
    from safeguard.cases.models import Message

    return list(Message.objects.filter(case__number=number).order_by("created_at", "seq"))


def all_messages(channel: str | None = None) -> list[Any]:
    from safeguard.cases.models import Message

    qs = Message.objects.all()
    if channel:
        qs = qs.filter(channel=channel)
    return list(qs.order_by("created_at", "seq"))


def all_cases() -> list[Any]:
    from safeguard.cases.models import Case

    return list(Case.objects.select_related("queue").order_by("number"))


def interactions(channel: str | None = None) -> list[Any]:
    from safeguard.cases.models import Interaction

    qs = Interaction.objects.all()
    if channel:
        qs = qs.filter(channel=channel)
    return list(qs.order_by("started_at"))


def stored_counts() -> tuple[int, int, int]:
    """(cases, interactions, messages): what "stores nothing" is checked against."""
    from safeguard.cases.models import Case, Interaction, Message

    return Case.objects.count(), Interaction.objects.count(), Message.objects.count()

"""Reads of the channels app: the configuration overview (never a secret) and IMAP cursors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils import timezone

from safeguard.channels import config, hours
from safeguard.channels.models import ImapCursor


@dataclass(frozen=True)
class CursorView:
    account: str
    uidvalidity: int
    last_uid: int
    updated_at: datetime


@dataclass(frozen=True)
class Overview:
    """What an administrator needs to check the channel setup; secrets appear as counts."""

    email_routes: tuple[tuple[str, str], ...]
    email_default_queue: str
    email_from: str
    email_domain: str
    reply_limit: str
    auto_reply_limit: str
    smtpd: str
    smtpd_max_bytes: int
    imap_account: str
    imap_after: str
    imap_cursors: tuple[CursorView, ...]
    webhook_secrets: int
    webhook_tolerance_seconds: int
    chat_queue: str
    chat_limits: tuple[str, str]
    contact_queue: str
    contact_limit: str


def imap_cursors() -> tuple[CursorView, ...]:
    """Every IMAP mailbox polled so far and how far it got."""
    return tuple(CursorView(account=c.account, uidvalidity=c.uidvalidity, last_uid=c.last_uid,
                            updated_at=c.updated_at)
                 for c in ImapCursor.objects.order_by("account"))


def overview() -> Overview:
    """The current channel configuration, as the settings module resolved it."""
    imap = ""
    if settings.SAFEGUARD_IMAP_HOST:
        imap = (f"{settings.SAFEGUARD_IMAP_USER}@{settings.SAFEGUARD_IMAP_HOST}:"
                f"{settings.SAFEGUARD_IMAP_PORT}/{settings.SAFEGUARD_IMAP_MAILBOX} "
                f"({settings.SAFEGUARD_IMAP_SECURITY})")
    return Overview(
        email_routes=tuple(sorted(config.email_queues().items())),
        email_default_queue=settings.SAFEGUARD_EMAIL_DEFAULT_QUEUE,
        email_from=str(settings.SAFEGUARD_EMAIL_FROM),
        email_domain=config.email_domain(),
        reply_limit=settings.SAFEGUARD_EMAIL_REPLY_LIMIT,
        auto_reply_limit=settings.SAFEGUARD_EMAIL_AUTO_REPLY_LIMIT,
        smtpd=f"{settings.SAFEGUARD_SMTPD_HOST}:{settings.SAFEGUARD_SMTPD_PORT}",
        smtpd_max_bytes=settings.SAFEGUARD_SMTPD_MAX_BYTES,
        imap_account=imap,
        imap_after=settings.SAFEGUARD_IMAP_AFTER,
        imap_cursors=imap_cursors(),
        webhook_secrets=len(settings.SAFEGUARD_WEBHOOK_SECRETS),
        webhook_tolerance_seconds=settings.SAFEGUARD_WEBHOOK_TOLERANCE_SECONDS,
        chat_queue=settings.SAFEGUARD_CHAT_QUEUE,
        chat_limits=(settings.SAFEGUARD_CHAT_START_LIMIT, settings.SAFEGUARD_CHAT_POST_LIMIT),
        contact_queue=settings.SAFEGUARD_CONTACT_QUEUE,
        contact_limit=settings.SAFEGUARD_CONTACT_LIMIT,
    )


# --- web chat: business hours (issue 15) --------------------------------------------------------


def chat_is_open(*, at: datetime | None = None) -> bool:
    """Whether the web chat takes new conversations now: inside ``SAFEGUARD_CHAT_HOURS`` in
    ``SAFEGUARD_CHAT_TIMEZONE`` and not a public holiday of ``SAFEGUARD_CHAT_HOLIDAYS``. A spec
    that cannot be read counts as closed (safeguard.E415 names it), never as open."""
    spec = settings.SAFEGUARD_CHAT_HOURS
    if not spec.strip():
        return True
    try:
        opening = hours.parse(spec)
        zone = ZoneInfo(settings.SAFEGUARD_CHAT_TIMEZONE)
    except (hours.HoursError, ZoneInfoNotFoundError, ValueError):
        return False
    local = (at or timezone.now()).astimezone(zone)
    return hours.is_open(local, opening, _holiday_test())


def _holiday_test() -> Callable[[date], bool]:
    code = settings.SAFEGUARD_CHAT_HOLIDAYS
    if not code:
        return lambda _d: False
    try:
        import holidays

        calendar = holidays.country_holidays(code)
    except (ImportError, NotImplementedError, KeyError):
        return lambda _d: True  # a holiday calendar that cannot be read: closed (E416)
    return lambda d: d in calendar

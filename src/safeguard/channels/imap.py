"""``safeguard imap-poll``: fetch new mail from one IMAP mailbox and ingest it, resumable by UID.

The cursor (UIDVALIDITY, last UID) is committed after every message, so a crash or a kill
resumes at the first message not yet handled; a message handled twice (crash between ingest
and cursor) is a duplicate by Message-ID and stores nothing new. A message the domain refuses
(no queue, invalid) is logged and passed over; any other error stops the poll before the
cursor moves, to be retried on the next one.
"""

from __future__ import annotations

import imaplib
import ipaddress
import logging
import re
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction

from safeguard.channels import mailparse, services
from safeguard.channels.contracts import ImapNotConfigured
from safeguard.channels.models import ImapCursor
from safeguard.web.errors import ApplicationError

logger = logging.getLogger("safeguard.channels")

_INTERNALDATE = re.compile(rb'INTERNALDATE "[^"]+"')
IMAP_TIMEOUT = 60


@dataclass(frozen=True)
class ImapAccount:
    """Where to poll; the password is read from a file and never printed."""

    host: str
    port: int
    security: str  # ssl | starttls | none
    user: str
    password: str
    mailbox: str = "INBOX"
    ca_file: str = ""

    @property
    def key(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.mailbox}"[:300]

    def __repr__(self) -> str:
        return f"ImapAccount({self.key!r}, security={self.security!r})"


@dataclass
class PollResult:
    """What one poll did, for the command's output and the tests."""

    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    ignored: int = 0
    refused: int = 0
    last_uid: int = 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def account_from_settings() -> ImapAccount:
    """The account of the SAFEGUARD_IMAP_* settings; plain-text IMAP only on loopback."""
    if not settings.SAFEGUARD_IMAP_HOST:
        raise ImapNotConfigured("Set SAFEGUARD_IMAP_HOST (docs/channels.md).")
    path = settings.SAFEGUARD_IMAP_PASSWORD_FILE
    if not settings.SAFEGUARD_IMAP_USER or not path:
        raise ImapNotConfigured("Set SAFEGUARD_IMAP_USER and SAFEGUARD_IMAP_PASSWORD_FILE.")
    try:
        password = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ImapNotConfigured(f"Cannot read SAFEGUARD_IMAP_PASSWORD_FILE: {exc.strerror}.") \
            from exc
    account = ImapAccount(
        host=settings.SAFEGUARD_IMAP_HOST, port=settings.SAFEGUARD_IMAP_PORT,
        security=settings.SAFEGUARD_IMAP_SECURITY, user=settings.SAFEGUARD_IMAP_USER,
        password=password, mailbox=settings.SAFEGUARD_IMAP_MAILBOX,
        ca_file=settings.SAFEGUARD_IMAP_CA_FILE)
    if account.security == "none" and not _is_loopback(account.host):
        raise ImapNotConfigured("Plain-text IMAP sends the password in clear: use ssl or "
                                "starttls, or a loopback host.")
    return account


def _tls(account: ImapAccount) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=account.ca_file or None)


def connect(account: ImapAccount) -> imaplib.IMAP4:
    """A logged-in connection (TLS verified against the system store or SAFEGUARD_IMAP_CA_FILE)."""
    conn: imaplib.IMAP4
    if account.security == "ssl":
        conn = imaplib.IMAP4_SSL(account.host, account.port, ssl_context=_tls(account),
                                 timeout=IMAP_TIMEOUT)
    else:
        conn = imaplib.IMAP4(account.host, account.port, timeout=IMAP_TIMEOUT)
        if account.security == "starttls":
            conn.starttls(ssl_context=_tls(account))
    try:
        conn.login(account.user, account.password)
    except (OSError, imaplib.IMAP4.error):
        conn.shutdown()  # a refused login must not leak the socket
        raise
    return conn


def _mailbox(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(typ: str, data: Sequence[object], what: str) -> None:
    if typ != "OK":
        raise imaplib.IMAP4.error(f"{what} failed: {data!r}"[:300])


def _uidvalidity(conn: imaplib.IMAP4) -> int:
    _, data = conn.response("UIDVALIDITY")
    try:
        return int(data[0]) if data and data[0] is not None else 0
    except (TypeError, ValueError):
        return 0


@transaction.atomic
def _cursor(key: str, uidvalidity: int) -> ImapCursor:
    cursor, _ = ImapCursor.objects.select_for_update().get_or_create(account=key)
    if cursor.uidvalidity != uidvalidity:
        if cursor.uidvalidity:
            logger.warning("channels.imap_uidvalidity_changed", extra={"account": key})
        cursor.uidvalidity, cursor.last_uid = uidvalidity, 0
        cursor.save(update_fields=["uidvalidity", "last_uid", "updated_at"])
    return cursor


def _advance(cursor: ImapCursor, uid: int) -> None:
    ImapCursor.objects.filter(id=cursor.id, last_uid__lt=uid).update(last_uid=uid)
    cursor.last_uid = max(cursor.last_uid, uid)


def _fetch(conn: imaplib.IMAP4, uid: int) -> tuple[bytes, datetime | None]:
    typ, data = conn.uid("FETCH", str(uid), "(BODY.PEEK[] INTERNALDATE)")
    _check(typ, data, f"FETCH {uid}")
    raw = b""
    meta = b""
    for item in data:
        if isinstance(item, tuple):
            meta += item[0]
            raw = item[1]
        elif isinstance(item, bytes):
            meta += item
    when = None
    match = _INTERNALDATE.search(meta)
    if match:
        parsed = imaplib.Internaldate2tuple(match.group(0))
        if parsed is not None:
            when = min(datetime.fromtimestamp(time.mktime(parsed), tz=UTC),
                       datetime.now(tz=UTC))
    return raw, when


def poll_once(*, account: ImapAccount, batch: int | None = None, after: str | None = None,
              fallback_queue: str | None = None) -> PollResult:
    """Ingest up to ``batch`` messages newer than the cursor, oldest first."""
    batch = batch or settings.SAFEGUARD_IMAP_BATCH
    after = after or settings.SAFEGUARD_IMAP_AFTER
    fallback = settings.SAFEGUARD_IMAP_QUEUE if fallback_queue is None else fallback_queue
    result = PollResult()
    conn = connect(account)
    try:
        typ, data = conn.select(_mailbox(account.mailbox), readonly=after == "keep")
        _check(typ, data, "SELECT")
        cursor = _cursor(account.key, _uidvalidity(conn))
        result.last_uid = cursor.last_uid
        typ, data = conn.uid("SEARCH", "UID", f"{cursor.last_uid + 1}:*")
        _check(typ, data, "SEARCH")
        found = (data[0] or b"").split() if data and isinstance(data[0], bytes) else []
        uids = sorted(u for u in (int(x) for x in found) if u > cursor.last_uid)[:batch]
        for uid in uids:
            raw, received_at = _fetch(conn, uid)
            result.fetched += 1
            try:
                outcome = services.email_receive(
                    raw=raw, recipients=mailparse.header_recipients(raw), envelope_from=None,
                    fallback_queue=fallback, received_at=received_at)
            except ApplicationError as exc:
                result.refused += 1
                logger.warning("channels.imap_refused", extra={"uid": uid, "code": exc.code})
            else:
                if outcome.status == "stored":
                    result.stored += 1
                elif outcome.status == "duplicate":
                    result.duplicates += 1
                else:
                    result.ignored += 1
            _advance(cursor, uid)
            result.last_uid = cursor.last_uid
            if after == "seen":
                conn.uid("STORE", str(uid), "+FLAGS", "(\\Seen)")
            elif after == "delete":
                conn.uid("STORE", str(uid), "+FLAGS", "(\\Deleted)")
        if after == "delete" and uids:
            conn.expunge()
    finally:
        try:
            conn.logout()
        except (OSError, imaplib.IMAP4.error):
            logger.info("channels.imap_logout_failed")
    return result

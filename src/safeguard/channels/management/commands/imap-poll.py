"""``safeguard imap-poll [--once]``: ingest new mail from the SAFEGUARD_IMAP_* mailbox."""
# ruff: noqa: N999 - the file name is the command's name, and commands are spelled with hyphens

from __future__ import annotations

import imaplib
import logging
import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from safeguard.channels import imap
from safeguard.channels.config import startup_check
from safeguard.web.errors import ApplicationError

logger = logging.getLogger("safeguard.channels")


class Command(BaseCommand):
    help = ("Poll the IMAP mailbox of SAFEGUARD_IMAP_* and store new mail as case messages, "
            "resuming after the last UID handled. Runs until stopped unless --once.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one poll, then exit")
        parser.add_argument("--interval", type=int, default=None,
                            help="seconds between polls (default SAFEGUARD_IMAP_POLL_SECONDS)")

    def handle(self, *args: Any, **options: Any) -> None:
        startup_check()  # a production poller never runs on a demo database (issue 17)
        try:
            account = imap.account_from_settings()
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        interval = options["interval"] or settings.SAFEGUARD_IMAP_POLL_SECONDS
        stop = threading.Event()
        if not options["once"]:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
        self._loop(account, interval=interval, once=options["once"], stop=stop)

    def _loop(self, account: imap.ImapAccount, *, interval: int, once: bool,
              stop: threading.Event) -> None:
        while True:
            try:
                result = imap.poll_once(account=account)
            except (OSError, imaplib.IMAP4.error) as exc:
                if once:
                    raise CommandError(f"IMAP poll of {account.key} failed: {exc}") from exc
                logger.warning("channels.imap_poll_failed", extra={"error": str(exc)[:200]})
            else:
                self.stdout.write(
                    f"{account.key}: fetched {result.fetched}, stored {result.stored}, "
                    f"duplicates {result.duplicates}, ignored {result.ignored}, "
                    f"refused {result.refused}, last UID {result.last_uid}")
            if once or stop.wait(interval):
                return

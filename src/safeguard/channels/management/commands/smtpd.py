"""``safeguard smtpd [--host 127.0.0.1] [--port 2525]``: receive e-mail into cases over SMTP."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from safeguard.channels import config, smtp
from safeguard.channels.config import startup_check


class Command(BaseCommand):
    help = ("Run the inbound SMTP server (aiosmtpd) that stores mail for the addresses in "
            "SAFEGUARD_EMAIL_QUEUES as case messages. Put it behind your MTA on loopback.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=None,
                            help="address to listen on (default SAFEGUARD_SMTPD_HOST, 127.0.0.1)")
        parser.add_argument("--port", type=int, default=None,
                            help="port to listen on (default SAFEGUARD_SMTPD_PORT, 2525)")
        parser.add_argument("--max-bytes", type=int, default=None,
                            help="largest message accepted (default SAFEGUARD_SMTPD_MAX_BYTES)")

    def handle(self, *args: Any, **options: Any) -> None:
        startup_check()  # a production receiver never runs on a demo database (issue 17)
        host = options["host"] or settings.SAFEGUARD_SMTPD_HOST
        port = options["port"] or settings.SAFEGUARD_SMTPD_PORT
        queues = config.email_queues()
        if not queues and not settings.SAFEGUARD_EMAIL_DEFAULT_QUEUE:
            self.stderr.write(self.style.WARNING(
                "SAFEGUARD_EMAIL_QUEUES is empty: every recipient will be refused."))
        server = smtp.controller(host=host, port=port, max_bytes=options["max_bytes"])
        try:
            server.start()
        except OSError as exc:  # e.g. the port is taken (a running `make demo` listens on 2525)
            server.handler.close()  # its worker threads would otherwise keep the process alive
            server.loop.close()  # the listener's thread has ended; its loop is never run again
            raise CommandError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}. Choose another port "
                "with --port or SAFEGUARD_SMTPD_PORT (a running demo already serves e-mail "
                "on its own port).") from exc
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set())
                    for sig in (signal.SIGTERM, signal.SIGINT)}
        self.stdout.write(f"safeguard smtpd listening on {host}:{port} for "
                          f"{', '.join(sorted(queues)) or 'the default queue'}")
        try:
            while not stop.wait(1.0):
                pass
        finally:
            server.stop()
            server.handler.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.stdout.write("safeguard smtpd stopped")

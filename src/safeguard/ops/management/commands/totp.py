"""``safeguard totp EMAIL``: print a demo user's current TOTP code (demo mode and a demo-marked
database only: issue 17 — on any other database it would print a real user's code)."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from safeguard.accounts import demo
from safeguard.ops import services
from safeguard.web.errors import ApplicationError


class Command(BaseCommand):
    help = ("Print the current TOTP code of a demo user (refused outside demo mode and on a "
            "database not marked as a demo).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--secret", action="store_true", help="print the base32 secret")

    def handle(self, *args: Any, **opts: Any) -> None:
        if not settings.DEMO:
            raise CommandError("safeguard totp works only in demo mode (SAFEGUARD_ENV=demo): "
                               "real second factors never leave the user's device.")
        try:
            services.installation_require_demo()
            if opts["secret"]:
                self.stdout.write(demo.demo_totp_secret(opts["email"].lower()))
            else:
                self.stdout.write(demo.current_totp(opts["email"]))
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc

"""``safeguard user create|grant|disable``: staff administration from the command line."""

from __future__ import annotations

import getpass
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safeguard.accounts import selectors, services
from safeguard.audit.contracts import Actor
from safeguard.web.errors import ApplicationError


def _prompt_password() -> str:
    """The prompt; without a terminal or input (a script, CI) a clear refusal, not a traceback."""
    try:
        return getpass.getpass("Initial password: ")
    except EOFError as exc:
        raise CommandError("No password given (no input to prompt on): set "
                           "SAFEGUARD_NEW_PASSWORD or run the command in a terminal. "
                           "Nothing was created.") from exc


class Command(BaseCommand):
    help = "Create staff users, grant roles, disable leavers (each recorded in the audit log)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a user (password from the "
                                "SAFEGUARD_NEW_PASSWORD variable or a prompt)")
        create.add_argument("email")
        create.add_argument("--name", default="")
        create.add_argument("--role", action="append", default=[])
        create.add_argument("--service-account", action="store_true")
        grant = sub.add_parser("grant", help="grant a role")
        grant.add_argument("email")
        grant.add_argument("role")
        disable = sub.add_parser("disable", help="disable a leaver: sessions and tokens end")
        disable.add_argument("email")
        disable.add_argument("--reason", required=True)

    def handle(self, *args: Any, **opts: Any) -> None:
        actor = Actor.system(f"cli:{getpass.getuser()}")
        try:
            services.roles_ensure_builtin()
            if opts["action"] == "create":
                password = None
                if not opts["service_account"]:
                    password = os.environ.get("SAFEGUARD_NEW_PASSWORD") or _prompt_password()
                user = services.user_create(actor=actor, email=opts["email"],
                                            full_name=opts["name"], password=password,
                                            roles=opts["role"],
                                            is_service_account=opts["service_account"])
                self.stdout.write(f"created {user.email} roles={','.join(user.roles) or '-'}")
            elif opts["action"] == "grant":
                u = selectors.user_get_by_email(email=opts["email"])
                u = services.role_grant(actor=actor, user_id=u.id, role_slug=opts["role"])
                self.stdout.write(f"{u.email} roles={','.join(u.roles)}")
            elif opts["action"] == "disable":
                u = selectors.user_get_by_email(email=opts["email"])
                services.user_disable(actor=actor, user_id=u.id, reason=opts["reason"])
                self.stdout.write(f"disabled {u.email}: sessions ended, tokens revoked")
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc

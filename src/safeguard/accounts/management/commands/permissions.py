"""``safeguard permissions [--markdown]``: list the permission registry (docs/permissions.md)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from safeguard.accounts import rbac


class Command(BaseCommand):
    help = "List every declared permission and the built-in roles holding it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--markdown", action="store_true",
                            help="print docs/permissions.md")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["markdown"]:
            self.stdout.write(rbac.permissions_markdown(), ending="")
            return
        for p in rbac.all_permissions():
            self.stdout.write(f"{p.codename:<28} {','.join(sorted(p.roles)):<40} {p.label}")

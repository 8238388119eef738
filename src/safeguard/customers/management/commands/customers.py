"""``safeguard customers reindex-email``: rewrite the e-mail blind indexes of every customer.

Run it once after upgrading to the exact e-mail identity of decision 0101 (the former index
folded addresses with NFKC), and after changing SAFEGUARD_EMAIL_CASEFOLD_DOMAINS. Lookups keep
working meanwhile (they also try the former index and confirm each match exactly); look-alike
flags cover a row only once it is re-indexed. Resumable: just run it again.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safeguard.audit.contracts import Actor
from safeguard.customers import services
from safeguard.web.errors import ApplicationError


class Command(BaseCommand):
    help = "Customer data maintenance: `reindex-email` rewrites the e-mail blind indexes."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        reindex = sub.add_parser("reindex-email", help="rewrite the exact and look-alike "
                                 "e-mail indexes of every customer")
        reindex.add_argument("--batch", type=int, default=500, help="rows per transaction")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["batch"] < 1:
            raise CommandError("--batch must be at least 1")
        try:
            done = services.customers_reindex_email(actor=Actor.system("cli.customers"),
                                                    batch=opts["batch"])
        except ApplicationError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(f"re-indexed {done} customer row(s)")

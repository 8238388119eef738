"""``safeguard retention plan|run``: the retention sweep under the names of issue 16 (R-DATA-3).

* ``plan [--as-of YYYY-MM-DD] [--json]`` — what the next sweep would do (a dry run: it decides
  every record and changes nothing); the same as ``safeguard privacy sweep --dry-run``.
* ``run [--batch N] [--json]`` — run (or resume) the sweep with its progress display; the same
  as ``safeguard privacy sweep``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from safeguard.privacy.management.commands.privacy import Command as PrivacyCommand
from safeguard.web.errors import ApplicationError


class Command(PrivacyCommand):
    help = "Plan or run the retention sweep (docs/privacy.md, 'The sweep')."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        plan = sub.add_parser("plan", help="what the next sweep would do; changes nothing")
        plan.add_argument("--as-of", default="", help="evaluate periods against this day "
                          "(default: today)")
        plan.add_argument("--json", action="store_true", help="print the report as JSON")
        run = sub.add_parser("run", help="apply the retention matrix (resumes a crashed sweep)")
        run.add_argument("--batch", type=int, default=None,
                         help="rows per transaction (default: SAFEGUARD_RETENTION_BATCH)")
        run.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args: Any, **opts: Any) -> None:
        plan = opts["action"] == "plan"
        sweep_opts = {"dry_run": plan, "as_of": opts.get("as_of", "") if plan else "",
                      "batch": None if plan else opts.get("batch"), "json": opts["json"]}
        try:
            self._sweep(sweep_opts)
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc

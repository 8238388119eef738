"""``safeguard governance``: evaluate the controls (R-REG-1).

* ``check [--json]`` — evaluate every control now, store the results, print each status with
  its evidence; exit 1 when any control fails.
* ``frameworks`` — list the framework libraries with their size, source and coverage.
"""

from __future__ import annotations

import getpass
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safeguard.audit.contracts import Actor
from safeguard.governance import selectors, services
from safeguard.governance.library import LibraryError


class Command(BaseCommand):
    help = "Evaluate the governance controls (docs/governance.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        c = sub.add_parser("check", help="evaluate every control now and store the results")
        c.add_argument("--json", action="store_true", help="print the results as JSON")
        sub.add_parser("frameworks", help="list the framework libraries")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            getattr(self, f"_{opts['action']}")(opts)
        except LibraryError as exc:
            raise CommandError(f"governance library: {exc}") from exc

    def _check(self, opts: dict[str, Any]) -> None:
        run = services.evaluate_all(actor=Actor.system(f"cli:{getpass.getuser()}"))
        states = selectors.control_states()
        if opts["json"]:
            self.stdout.write(json.dumps({"run": run.id, "counts": run.counts, "controls": [
                {"id": s.id, "title": s.title, "status": s.status, "evidence": s.evidence,
                 "checked_at": s.checked_at.isoformat() if s.checked_at else None}
                for s in states]}, indent=2))
        else:
            for s in states:
                self.stdout.write(f"{s.status:<15} {s.id:<10} {s.title}\n"
                                  f"{'':<15} {s.evidence}")
            summary = ", ".join(f"{n} {k}" for k, n in sorted(run.counts.items()))
            self.stdout.write(f"run {run.id}: {summary}")
        if run.counts.get("fail"):
            raise SystemExit(1)

    def _frameworks(self, opts: dict[str, Any]) -> None:
        for f in selectors.library().frameworks:
            self.stdout.write(f"{f.id:<10} {f.name} — {len(f.requirements)} requirements\n"
                              f"{'':<10} source: {f.source}\n{'':<10} coverage: {f.coverage}")

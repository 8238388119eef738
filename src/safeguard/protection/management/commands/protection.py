"""``safeguard protection rescan [--fix]``: find (and tokenize) card numbers in stored text.

Resumable: an interrupted run continues from its cursor; ``--restart`` starts over. Output names
model, row, field and offsets, never a value.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safeguard.audit.contracts import Actor
from safeguard.protection import services
from safeguard.web.errors import ApplicationError


class Command(BaseCommand):
    help = "Data-protection maintenance: `rescan` stored text for card numbers."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        rescan = sub.add_parser("rescan", help="scan stored text for card numbers")
        rescan.add_argument("--fix", action="store_true",
                            help="tokenize what is found and rewrite the text in place")
        rescan.add_argument("--restart", action="store_true",
                            help="start a new run instead of resuming the unfinished one")
        rescan.add_argument("--model", action="append", default=None,
                            help="only this model label (app.model); may repeat")
        rescan.add_argument("--batch", type=int, default=None, help="rows per transaction")
        rescan.add_argument("--jsonl", action="store_true", help="findings as JSON lines")
        rescan.add_argument("--fail-on-findings", action="store_true",
                            help="exit 1 when card numbers remain unfixed (for pipelines)")

    def handle(self, *args: Any, **opts: Any) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        from safeguard.protection import rescan

        try:
            total = rescan.rows_total(opts["model"])
            with Progress(TextColumn("scanning {task.description}"), BarColumn(),
                          MofNCompleteColumn(), console=Console(stderr=True),
                          transient=True) as bar:
                task = bar.add_task("rows", total=total or None)
                view = services.rescan_run(
                    fix=opts["fix"], restart=opts["restart"], only=opts["model"],
                    batch_size=opts["batch"], actor=Actor.system("cli.rescan"),
                    progress=lambda label, n: bar.update(task, advance=n, description=label))
        except (ApplicationError, LookupError) as exc:
            raise CommandError(getattr(exc, "detail", str(exc))) from None
        for f in view.findings:
            if opts["jsonl"]:
                self.stdout.write(json.dumps({"model": f.model, "pk": f.pk, "field": f.field,
                                              "type": f.type, "start": f.start, "end": f.end,
                                              "fixed": f.fixed}))
            else:
                self.stdout.write(f"{f.model} {f.pk} {f.field} [{f.start}:{f.end}] {f.type} "
                                  + ("tokenized" if f.fixed else "FOUND"))
        open_count = sum(1 for f in view.findings if not f.fixed)
        summary = (f"Rescan #{view.id}: {view.scanned} rows scanned, {len(view.findings)} card "
                   f"number(s) found, {len(view.findings) - open_count} tokenized.")
        self.stderr.write(summary if not open_count else self.style.WARNING(summary))
        if open_count and opts["fail_on_findings"]:
            raise SystemExit(1)

"""``safeguard privacy``: the retention sweep and the data inventory (R-DATA-1, R-DATA-3).

* ``sweep [--dry-run] [--as-of YYYY-MM-DD] [--batch N] [--json]`` — run (or resume) a sweep
  with a progress bar; a dry run prints what the next sweep would do and changes nothing.
* ``inventory [--markdown | --csv]`` — print the inventory (docs/inventory.md is this output).
* ``check`` — list every column missing from the inventory (exit 1 when any).
* ``archives-verify`` — decrypt and authenticate every live archive (archive-then-delete);
  exit 1 when any is altered, lost or cannot be opened. Content is never printed.
"""

from __future__ import annotations

import getpass
import json
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.progress import Progress, SpinnerColumn, TextColumn

from safeguard.audit.contracts import Actor
from safeguard.privacy import inventory, selectors, services
from safeguard.web.errors import ApplicationError


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--as-of must be a date like 2026-12-31, got {text!r}") from None


class Command(BaseCommand):
    help = "Run the retention sweep and print the data inventory (docs/privacy.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        s = sub.add_parser("sweep", help="apply the retention matrix (resumes a crashed sweep)")
        s.add_argument("--dry-run", action="store_true",
                       help="report what would be done; change nothing")
        s.add_argument("--as-of", default="", help="evaluate periods against this day "
                       "(default: today; only for a dry run)")
        s.add_argument("--batch", type=int, default=None,
                       help="rows per transaction (default: SAFEGUARD_RETENTION_BATCH)")
        s.add_argument("--json", action="store_true", help="print the report as JSON")
        i = sub.add_parser("inventory", help="print the data inventory")
        fmt = i.add_mutually_exclusive_group()
        fmt.add_argument("--markdown", action="store_true", help="docs/inventory.md")
        fmt.add_argument("--csv", action="store_true", help="one row per personal-data column")
        sub.add_parser("check", help="list columns missing from the inventory")
        sub.add_parser("clock", help="the data-subject-request clock's pass: close expired "
                       "unconfirmed public requests, notify due soon / overdue (also hourly "
                       "in the worker)")
        sub.add_parser("archives-verify", help="check every live archive decrypts and "
                                               "authenticates (exit 1 when any does not)")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            getattr(self, f"_{opts['action'].replace('-', '_')}")(opts)
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc

    def _sweep(self, opts: dict[str, Any]) -> None:
        as_of = _day(opts["as_of"]) if opts["as_of"] else None
        if as_of is not None and not opts["dry_run"]:
            raise CommandError("--as-of is allowed only with --dry-run: a real sweep acts on "
                               "today's date")
        if opts["batch"] is not None and opts["batch"] < 1:
            raise CommandError("--batch must be at least 1")
        actor = Actor.system(f"cli:{getpass.getuser()}")
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), transient=True,
                      disable=opts["json"]) as bar:
            task = bar.add_task("sweeping", total=None)

            def progress(target: str, done: int) -> None:
                bar.update(task, description=f"sweeping {target}: {done} record(s) decided")

            view = services.sweep_run(actor=actor, dry_run=opts["dry_run"], as_of=as_of,
                                      batch=opts["batch"], progress=progress)
        rows = selectors.sweep_dispositions(run_id=view.id)
        if opts["json"]:
            self.stdout.write(json.dumps({
                "sweep": view.id, "dry_run": view.dry_run, "as_of": view.as_of.isoformat(),
                "counts": view.counts, "held": view.held,
                "records": [{"target": r.target, "id": r.record_id, "class": r.record_class,
                             "action": r.action} for r in rows]}, indent=2))
            return
        kind = "Dry run" if view.dry_run else "Sweep"
        self.stdout.write(f"{kind} {view.id} as of {view.as_of.isoformat()} (matrix version "
                          f"{view.matrix_version}): {view.status}")
        for key, count in sorted(view.counts.items()):
            verb = "would" if view.dry_run else "did"
            self.stdout.write(f"  {key}: {count} ({verb})")
        if not view.counts:
            self.stdout.write("  nothing due")
        self.stdout.write(f"  held (skipped, legal hold): {view.held}")
        if view.dry_run:
            for r in rows:
                self.stdout.write(f"  {r.target} {r.record_id}: {r.action} ({r.record_class})")

    def _inventory(self, opts: dict[str, Any]) -> None:
        if opts["markdown"]:
            self.stdout.write(inventory.inventory_markdown(), ending="")
        elif opts["csv"]:
            self.stdout.write(inventory.inventory_csv(), ending="")
        else:
            for c in inventory.personal_columns():
                self.stdout.write(f"{c.model}.{c.field}\t{c.category}\t{c.basis}\t{c.retention}")

    def _check(self, opts: dict[str, Any]) -> None:
        problems = inventory.undeclared()
        for p in problems:
            self.stderr.write(p)
        if problems:
            raise CommandError(f"{len(problems)} inventory problem(s)")
        self.stdout.write("data inventory complete")

    def _clock(self, opts: dict[str, Any]) -> None:
        from safeguard.privacy.fulfil import dsr_clock_run

        counts = dsr_clock_run()
        self.stdout.write(f"closed as unverifiable: {counts['unverifiable']}; "
                          f"officers notified of {counts['notified']} request(s)")
    def _archives_verify(self, opts: dict[str, Any]) -> None:
        from safeguard.audit import services as audit
        from safeguard.privacy import archive

        actor = Actor.system(f"cli:{getpass.getuser()}")
        ids = archive.archive_live_ids()
        bad = [i for i in ids if not archive.archive_verify(archive_id=i)]
        audit.record(action="archive.verified", actor=actor,
                     outcome="failure" if bad else "success",
                     data={"archives": len(ids), "failed": bad[:100]})
        for archive_id in bad:
            self.stdout.write(f"  does not verify: {archive_id}")
        self.stdout.write(f"{len(ids) - len(bad)} of {len(ids)} archive(s) verify.")
        if bad:
            raise CommandError(f"{len(bad)} archive(s) do not verify (altered, lost, or their "
                               "key is gone)")

"""``safeguard governance``: evaluate the controls (R-REG-1).

* ``check [--json]`` — evaluate every control now, store the results, print each status with
  its evidence; exit 1 when any control fails.
* ``frameworks`` — list the framework libraries with their size, source and coverage.
* ``import-vulns FORMAT FILE [--source NAME]`` — import a scanner report (pip-audit, trivy, grype,
  sarif) into the vulnerability register; findings of the same source missing from it are closed.
  A bad report is refused with where and why, and nothing is imported.
* ``scan-self`` — run pip-audit over this installation's Python environment and import the result
  as source ``self``; without pip-audit, or when it cannot reach its advisory database, it says so
  and imports nothing.
* ``import-phishing FILE [--name NAME]`` — import a GoPhish campaign's results (the "Export CSV"
  file, or the JSON of ``/api/campaigns/:id/results``); a bad file is refused with the line and
  reason, and nothing is imported. Re-importing a campaign name replaces its results.
* ``training-refreshers`` — assign every training refresher falling due that is not assigned yet.
"""

from __future__ import annotations

import getpass
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safeguard.audit.contracts import Actor
from safeguard.governance import selectors, services, vulns
from safeguard.governance.library import LibraryError
from safeguard.governance.vulnformats import FORMATS, ReportRefused


class Command(BaseCommand):
    help = "Evaluate the governance controls (docs/governance.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        c = sub.add_parser("check", help="evaluate every control now and store the results")
        c.add_argument("--json", action="store_true", help="print the results as JSON")
        sub.add_parser("frameworks", help="list the framework libraries")
        i = sub.add_parser("import-vulns", help="import a scanner report into the register")
        i.add_argument("format", choices=FORMATS)
        i.add_argument("file", type=Path)
        i.add_argument("--source", default="",
                       help="name of what was scanned (default: the file name); re-importing "
                            "the same source closes the findings it no longer reports")
        s = sub.add_parser("scan-self", help="pip-audit this installation and import the result")
        s.add_argument("--timeout", type=int, default=600, help="seconds pip-audit may take")
        p = sub.add_parser("import-phishing", help="import GoPhish campaign results (CSV/JSON)")
        p.add_argument("file", type=Path)
        p.add_argument("--name", default="",
                       help="campaign name (default: GoPhish's name in a JSON file, else the "
                            "file name); re-importing a name replaces its results")
        sub.add_parser("training-refreshers",
                       help="assign the training refreshers falling due")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            getattr(self, f"_{opts['action'].replace('-', '_')}")(opts)
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

    def _report(self, result: vulns.ImportResult) -> None:
        self.stdout.write(f"{result.fmt} report of {result.source}: {result.findings} findings, "
                          f"{result.opened} new, {result.reopened} reopened, "
                          f"{result.closed} closed as fixed")

    def _import_vulns(self, opts: dict[str, Any]) -> None:
        path: Path = opts["file"]
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        try:
            result = vulns.import_report(fmt=opts["format"], raw=raw,
                                         source=opts["source"] or path.name,
                                         actor=Actor.system(f"cli:{getpass.getuser()}"))
        except ReportRefused as exc:
            raise CommandError(f"{path} refused, nothing imported: {exc}") from exc
        self._report(result)

    def _scan_self(self, opts: dict[str, Any]) -> None:
        exe = shutil.which("pip-audit", path=str(Path(sys.executable).parent))
        if exe is None:
            raise CommandError("pip-audit is not installed in this environment "
                               f"({Path(sys.executable).parent}); install it (pip install "
                               "pip-audit) or import a report with import-vulns. "
                               "Nothing imported.")
        try:
            proc = subprocess.run(  # noqa: S603 - fixed argv, no shell
                [exe, "--format", "json", "--progress-spinner", "off"],
                capture_output=True, timeout=opts["timeout"], check=False)
        except subprocess.TimeoutExpired as exc:
            raise CommandError(f"pip-audit took longer than {opts['timeout']} s. "
                               "Nothing imported.") from exc
        # pip-audit exits 1 when it found vulnerabilities; any other failure has no report.
        if proc.returncode not in (0, 1) or not proc.stdout.strip():
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise CommandError(f"pip-audit failed (exit {proc.returncode}): "
                               f"{err[-1] if err else 'no output'}. Nothing imported.")
        try:
            result = vulns.import_report(fmt="pip-audit", raw=proc.stdout, source="self",
                                         actor=Actor.system(f"cli:{getpass.getuser()}"))
        except ReportRefused as exc:
            raise CommandError(f"pip-audit output refused, nothing imported: {exc}") from exc
        self._report(result)

    def _import_phishing(self, opts: dict[str, Any]) -> None:
        from safeguard.governance import phishing
        from safeguard.governance.gophish import ResultsRefused

        path: Path = opts["file"]
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        try:
            r = phishing.import_results(raw=raw, name=opts["name"], fallback_name=path.stem,
                                        actor=Actor.system(f"cli:{getpass.getuser()}"))
        except ResultsRefused as exc:
            raise CommandError(f"{path} refused, nothing imported: {exc}") from exc
        self.stdout.write(f"{r.fmt} results of {r.name!r}{' (replaced)' if r.replaced else ''}: "
                          f"{r.recipients} recipients, {r.sent} sent, {r.clicked} clicked, "
                          f"{r.reported} reported; {r.matched} matched to staff, "
                          f"{len(r.unmatched)} unmatched")
        for email in r.unmatched:
            self.stdout.write(f"  unmatched: {email}")

    def _training_refreshers(self, opts: dict[str, Any]) -> None:
        from safeguard.governance import workforce

        n = workforce.refreshers_assign(actor=Actor.system(f"cli:{getpass.getuser()}"))
        self.stdout.write(f"{n} refresher assignment(s) created")

"""``safeguard detection``: run the engine, list and validate rules, back-test a rule (R-OPS-6).

* ``run --once [--batch N] [--json]`` — evaluate every audit event not yet seen, then exit (the
  periodic job does the same every minute); without ``--once`` keep polling until interrupted.
* ``rules [PATH ...] [--json]`` — list the rule pack (shipped rules plus
  SAFEGUARD_DETECTION_RULE_PATHS, or the PATHs given) and validate it; exit 1 naming each refused
  file with its line and reason.
* ``test RULE.yml [--since T] [--until T] [--json]`` — back-test rule files on stored events
  (fresh state, UEBA off, nothing stored): what they would have raised.
* ``escalate`` — run the escalation clocks once (create due notices, deliver pending ones).
* ``reset --to-seq N`` — move the run's cursor and drop the engine's state (alerts stay).
"""

from __future__ import annotations

import getpass
import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from rich.progress import Progress, SpinnerColumn, TextColumn

from safeguard.audit import selectors as audit_selectors
from safeguard.audit.contracts import Actor
from safeguard.detection import services
from safeguard.detection.enrich import Enricher
from safeguard.web.bounds import datetime_check
from safeguard.web.errors import ApplicationError


def _moment(text: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if timezone.is_naive(value):
            value = timezone.make_aware(value, timezone.get_current_timezone())
        return datetime_check(value)
    except ValueError as exc:
        raise CommandError(f"{name} must be a date or time like 2026-12-01 or "
                           f"2026-12-01T08:00Z ({exc}), got {text!r}") from None


class Command(BaseCommand):
    help = "Run detection, list and validate rules, back-test a rule (docs/detection.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        r = sub.add_parser("run", help="evaluate the audit events not yet seen")
        r.add_argument("--once", action="store_true", help="catch up, then exit")
        r.add_argument("--batch", type=int, default=None,
                       help="events per batch (default SAFEGUARD_DETECTION_BATCH)")
        r.add_argument("--interval", type=float, default=5.0,
                       help="seconds between polls without --once")
        r.add_argument("--json", action="store_true")
        ru = sub.add_parser("rules", help="list and validate the rule pack")
        ru.add_argument("paths", nargs="*", help="rule files or directories (default: the pack)")
        ru.add_argument("--json", action="store_true")
        t = sub.add_parser("test", help="back-test rule files on stored events")
        t.add_argument("rules", nargs="+", help="Sigma rule files or directories")
        t.add_argument("--since", default="", help="from this time (default: the whole log)")
        t.add_argument("--until", default="", help="up to this time (exclusive)")
        t.add_argument("--json", action="store_true")
        sub.add_parser("escalate", help="run the escalation clocks once")
        rs = sub.add_parser("reset", help="move the cursor, drop the engine's state")
        rs.add_argument("--to-seq", type=int, required=True)

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            getattr(self, f"_{opts['action']}")(opts)
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc

    def _run(self, opts: dict[str, Any]) -> None:
        if opts["batch"] is not None and opts["batch"] < 1:
            raise CommandError("--batch must be at least 1")
        while True:
            with Progress(SpinnerColumn(), TextColumn("{task.description}"), transient=True,
                          disable=opts["json"]) as bar:
                task = bar.add_task("evaluating", total=None)

                def progress(cursor: int, bar: Progress = bar, task: Any = task) -> None:
                    bar.update(task, description=f"evaluated up to event {cursor}")

                result = services.run_once(batch_size=opts["batch"], after_batch=progress)
            if opts["json"]:
                self.stdout.write(json.dumps(result.__dict__))
            elif result.events or opts["once"]:
                self.stdout.write(
                    f"{result.events} event(s) in {result.batches} batch(es): {result.alerts} "
                    f"new alert(s), {result.duplicates} already raised, {result.suppressed} "
                    f"suppressed; cursor at {result.cursor}.")
            if opts["once"]:
                return
            time.sleep(max(opts["interval"], 0.5))

    def _rules(self, opts: dict[str, Any]) -> None:
        from safeguard.detection.engine.cli import rules_report

        paths = [Path(p) for p in opts["paths"]] or services.rule_paths()
        report = rules_report(paths)
        if opts["json"]:
            self.stdout.write(json.dumps({
                "ok": report.ok, "files": list(report.files),
                "rules": [r.__dict__ for r in report.rules],
                "errors": [{"path": e.path, "line": e.line, "reason": e.reason}
                           for e in report.errors]}, indent=2))
        else:
            for row in report.rules:
                self.stdout.write(f"{row.level:<13} {row.kind:<16} {row.id}  {row.title}"
                                  f"{'' if row.alerts else '  (feeds a correlation)'}"
                                  f"  [{row.path}:{row.line}]")
            for err in report.errors:
                self.stderr.write(f"{err.path}:{err.line}: {err.reason}")
        if not report.ok:
            raise CommandError(f"{len(report.errors)} problem(s) in the rule files; "
                               "nothing was loaded.")
        if not opts["json"]:
            self.stdout.write(f"{len(report.rules)} rule(s) in {len(report.files)} file(s): "
                              "valid.")

    def _events(self, since: datetime | None, until: datetime | None) -> Iterator[dict[str, Any]]:
        enricher = Enricher()
        for n, event in enumerate(audit_selectors.event_export(since=since, until=until)):
            if n % 500 == 0:
                enricher = Enricher()  # bounded caches over a long range
            yield enricher.enrich(event)

    def _test(self, opts: dict[str, Any]) -> None:
        from safeguard.detection.engine.cli import backtest
        from safeguard.detection.engine.rules import RulePackError

        since = _moment(opts["since"], "--since") if opts["since"] else None
        until = _moment(opts["until"], "--until") if opts["until"] else None
        missing = [p for p in opts["rules"] if not Path(p).exists()]
        if missing:
            raise CommandError(f"No such rule file: {', '.join(missing)}")
        try:
            result = backtest([Path(p) for p in opts["rules"]], self._events(since, until))
        except RulePackError as exc:
            for err in exc.errors:
                self.stderr.write(f"{err.path}:{err.line}: {err.reason}")
            raise CommandError("The rule file was refused; nothing ran.") from exc
        if opts["json"]:
            self.stdout.write(json.dumps({
                "events": result.events, "first_seq": result.first_seq,
                "last_seq": result.last_seq, "per_rule": dict(result.per_rule),
                "findings": [{"rule": f.rule_title, "severity": f.severity, "entity": f.entity,
                              "evidence": list(f.evidence), "explanation": f.explanation,
                              "first_evidence_at": f.first_evidence_at.isoformat()}
                             for f in result.findings]}, indent=2))
            return
        for f in result.findings:
            self.stdout.write(f"{f.first_evidence_at:%Y-%m-%d %H:%M:%S} [{f.severity}] "
                              f"{f.rule_title} on {f.entity}: {f.explanation} "
                              f"(events {', '.join(str(s) for s in f.evidence[:10])}"
                              f"{'…' if len(f.evidence) > 10 else ''})")
        self.stdout.write(f"{len(result.findings)} finding(s) over {result.events} event(s)"
                          + (f" (seq {result.first_seq}-{result.last_seq})"
                             if result.first_seq is not None else "") + ".")

    def _escalate(self, opts: dict[str, Any]) -> None:
        counts = services.escalation_check()
        self.stdout.write(", ".join(f"{k}: {v}" for k, v in counts.items()))

    def _reset(self, opts: dict[str, Any]) -> None:
        services.run_reset(actor=Actor.system(f"cli:{getpass.getuser()}"),
                           to_seq=opts["to_seq"])
        self.stdout.write(f"Cursor set to {opts['to_seq']}; the engine starts afresh.")

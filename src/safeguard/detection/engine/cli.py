"""The cores of ``safeguard detection rules`` and ``safeguard detection test`` (plain functions).

The management commands (Django side) parse arguments, read events from the audit log and print;
everything that decides lives here so it is tested without a database.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safeguard.detection.engine.contracts import Finding
from safeguard.detection.engine.evaluator import DetectionEngine
from safeguard.detection.engine.rules import (
    SHIPPED_RULES,
    RuleError,
    RulePack,
    RulePackError,
    load_pack,
    rule_files,
)


@dataclass(frozen=True)
class RuleRow:
    """One line of ``safeguard detection rules``."""

    id: str
    title: str
    kind: str  # "event" or the correlation type
    level: str
    alerts: bool  # False for rules only a correlation counts
    path: str
    line: int


@dataclass(frozen=True)
class RulesReport:
    """The pack's rules when valid, else every error; ``ok`` says which."""

    ok: bool
    rules: tuple[RuleRow, ...]
    errors: tuple[RuleError, ...]
    files: tuple[str, ...]


def rules_report(paths: Iterable[Path | str] = (SHIPPED_RULES,)) -> RulesReport:
    """List and validate the rule files at ``paths`` (nothing is loaded anywhere)."""
    paths = list(paths)
    files = tuple(str(p) for p in rule_files(paths))
    try:
        pack = load_pack(paths)
    except RulePackError as exc:
        return RulesReport(ok=False, rules=(), errors=tuple(exc.errors), files=files)
    rows = [RuleRow(r.id, r.title, "event", r.level, r.output, r.path, r.line)
            for r in pack.event_rules]
    rows += [RuleRow(c.id, c.title, c.type, c.level, True, c.path, c.line)
             for c in pack.correlations]
    return RulesReport(ok=True, rules=tuple(sorted(rows, key=lambda r: (r.path, r.line))),
                       errors=(), files=files)


@dataclass(frozen=True)
class BacktestResult:
    """What a rule file would have raised over stored events."""

    events: int
    findings: tuple[Finding, ...]
    per_rule: Mapping[str, int]  # rule title -> findings
    first_seq: int | None
    last_seq: int | None


def backtest(rule_paths: Iterable[Path | str], events: Iterable[Mapping[str, Any]], *,
             pack: RulePack | None = None) -> BacktestResult:
    """Run the rules of ``rule_paths`` (alone, UEBA off) over ``events`` from a fresh state.

    Raises RulePackError (file, line, reason) when a rule file is refused."""
    pack = pack if pack is not None else load_pack(rule_paths)
    engine = DetectionEngine(pack, ueba_enabled=False)
    first: int | None = None

    def counted(stream: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
        nonlocal first
        for event in stream:
            if first is None:
                first = int(event["seq"])
            yield event
    findings = engine.process(counted(events))
    per_rule = Counter(f.rule_title for f in findings)
    return BacktestResult(events=engine.events_seen, findings=tuple(findings),
                          per_rule=dict(per_rule), first_seq=first,
                          last_seq=engine.last_seq if engine.last_seq >= 0 else None)


def rules_report_lines(report: RulesReport) -> list[str]:
    """What ``safeguard detection rules`` prints: one line per rule, or per error."""
    if not report.ok:
        return [f"refused: {e}" for e in report.errors] + [
            f"{len(report.errors)} error(s) in {len(report.files)} file(s); nothing was loaded"]
    lines = [f"{r.id}  {r.level:<13} {r.kind:<16} {'' if r.alerts else '(counted only) '}"
             f"{r.title}  [{Path(r.path).name}:{r.line}]" for r in report.rules]
    alerting = sum(1 for r in report.rules if r.alerts)
    return [*lines, (f"{len(report.rules)} rules ({alerting} raise alerts) in "
                    f"{len(report.files)} file(s): valid")]


def backtest_lines(result: BacktestResult) -> list[str]:
    """What ``safeguard detection test`` prints: the findings, then a count per rule."""
    lines = [f"{f.first_evidence_at:%Y-%m-%d %H:%M:%S} {f.severity:<13} {f.rule_title}: "
             f"{f.entity}: {f.explanation} (evidence seq {f.evidence[0]}"
             f"{f'..{f.evidence[-1]}, {len(f.evidence)} events' if len(f.evidence) > 1 else ''})"
             for f in result.findings]
    span = f"seq {result.first_seq}..{result.last_seq}" if result.first_seq is not None \
        else "no events"
    lines += [f"{n:>6}  {title}" for title, n in sorted(result.per_rule.items())]
    lines.append(f"{len(result.findings)} finding(s) over {result.events} events ({span})")
    return lines

"""Reads of the privacy app: holds, sweeps and their dispositions, the matrix with the rule
that governs each class. Frozen views only (STYLE.md rule 4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from safeguard.privacy.contracts import HoldView, OnTimeKpi, RetentionClass, SweepRunView
from safeguard.privacy.matrix import matrix
from safeguard.privacy.models import Disposition, LegalHold, SweepRun


def hold_view(hold: LegalHold) -> HoldView:
    return HoldView(id=str(hold.id), scope=hold.scope, target_id=hold.target_id, reason=hold.reason,
                    placed_by=str(hold.placed_by_id), placed_at=hold.placed_at,
                    released_by=str(hold.released_by_id or ""), released_at=hold.released_at,
                    query=dict(hold.query or {}))


def hold_list(*, active_only: bool = False) -> list[HoldView]:
    """Legal holds, newest first."""
    qs = LegalHold.objects.order_by("-placed_at", "-id")
    if active_only:
        qs = qs.filter(released_at__isnull=True)
    return [hold_view(h) for h in qs[:500]]


def sweep_list(*, limit: int = 20) -> list[SweepRunView]:
    """The latest sweeps, newest first."""
    from safeguard.privacy.sweep import sweep_view

    return [sweep_view(r) for r in SweepRun.objects.order_by("-id")[:limit]]


def sweep_get(*, run_id: int) -> SweepRunView | None:
    from safeguard.privacy.sweep import sweep_view

    run = SweepRun.objects.filter(id=run_id).first()
    return sweep_view(run) if run else None


@dataclass(frozen=True)
class DispositionView:
    target: str
    record_id: str
    record_class: str
    action: str


def sweep_dispositions(*, run_id: int, limit: int = 1000) -> list[DispositionView]:
    """What a sweep did (or, in a dry run, would do), record by record."""
    return [DispositionView(*row) for row in Disposition.objects.filter(run_id=run_id)
            .order_by("id").values_list("target", "record_id", "record_class", "action")[:limit]]


@dataclass(frozen=True)
class MatrixRow:
    """A matrix row as the page shows it, with the models of the inventory in that class."""

    row: RetentionClass
    models: tuple[str, ...]
    enforced: bool


def matrix_rows() -> list[MatrixRow]:
    """Every record class, longest period first, with the models the inventory puts in it."""
    from safeguard.privacy.inventory import declarations
    from safeguard.privacy.periods import period_end

    by_class: dict[str, list[str]] = {}
    for decl in declarations().values():
        by_class.setdefault(decl.retention, []).append(decl.model)
    ref = date(2000, 1, 1)
    rows = sorted(matrix().values(), key=lambda r: (period_end(ref, r.period), r.key),
                  reverse=True)
    return [MatrixRow(row=r, models=tuple(sorted(by_class.get(r.key, ()))),
                      enforced=bool(r.enforced_by)) for r in rows]


def dsr_on_time(*, start: date, end: date) -> OnTimeKpi:
    """KPI "DSRs on time" for the metrics app (R-DATA-7): see
    :func:`safeguard.privacy.requests.dsr_on_time`."""
    from safeguard.privacy.requests import dsr_on_time as compute

    return compute(start=start, end=end)


#: Trigger events in words, for pages and the public notice.
TRIGGER_WORDS: dict[str, str] = {
    "call_ended": "after the call ends", "case_closed": "after the case is closed",
    "customer_closed": "after the customer account is closed", "created": "after it is made",
    "last_used": "after it was last used", "staff_left": "after the staff member leaves",
    "session_expired": "after the session expires", "expired": "after it expires",
    "superseded": "after it is replaced",
}
ACTION_WORDS: dict[str, str] = {
    "delete": "deleted", "anonymise": "anonymised (content erased, statistics kept)",
    "archive": "moved to an encrypted archive, then deleted from it",
    "review": "reviewed by a person",
}


@dataclass(frozen=True)
class PublicRetention:
    """How long one class of records is kept, in words, for the public notice."""

    description: str
    period: str
    trigger: str
    action: str
    archive_for: str


def public_retention() -> list[PublicRetention]:
    """The matrix in force as the public notice states it, longest period first."""
    return [PublicRetention(description=r.row.description, period=r.row.period.human(),
                            trigger=TRIGGER_WORDS.get(r.row.trigger, r.row.trigger),
                            action=ACTION_WORDS.get(r.row.action, r.row.action),
                            archive_for=r.row.archive_for.human() if r.row.archive_for else "")
            for r in matrix_rows() if r.row.key != "technical"]


@dataclass(frozen=True)
class GoverningRule:
    """For one kind of record the sweep meets: the classes that apply, the one that governs,
    and why (Purview's principles: retention wins over deletion, the longest period wins)."""

    record: str
    applies: tuple[str, ...]
    governs: str
    action: str
    why: str


def governing_rules() -> list[GoverningRule]:
    """Which rule of the matrix in force governs each kind of record and why: a closed case
    with a recording of each category, and each recording category on its own."""
    from safeguard.privacy.matrix import TARGET_TRIGGERS
    from safeguard.privacy.periods import Applicable, governing, period_end
    from safeguard.privacy.sweep import CASE_CLASS, CATEGORY_CLASS

    classes = matrix()
    ref = date(2000, 1, 1)
    out: list[GoverningRule] = []

    def rows_for(target: str, keys: list[str]) -> list[RetentionClass]:
        return [classes[k] for k in keys if k in classes and target in classes[k].enforced_by
                and classes[k].trigger == TARGET_TRIGGERS[target]]

    def explain(record: str, rows: list[RetentionClass]) -> None:
        if not rows:
            return
        rules = [Applicable(r.key, r.action, period_end(ref, r.period)) for r in rows]
        win = governing(rules)
        klass = classes[win.record_class]
        if len(rows) == 1:
            why = (f"only {klass.key} applies: {klass.action} {klass.period.human()} "
                   f"{TRIGGER_WORDS[klass.trigger]}")
        else:
            others = ", ".join(f"{r.key} ({r.period.human()}, {r.action})" for r in rows
                               if r.key != klass.key)
            ties = [r for r in rules if r.ends == win.ends and r.record_class != klass.key]
            why = (f"{klass.key} keeps it longest ({klass.period.human()}) — retention wins "
                   f"over deletion and the longest period wins over {others}")
            if ties:
                why += "; on an equal end the least destructive action governs"
        out.append(GoverningRule(record=record, applies=tuple(r.key for r in rows),
                                 governs=klass.key, action=klass.action, why=why))

    explain("A closed case", rows_for("case", [CASE_CLASS]))
    for category, key in CATEGORY_CLASS.items():
        explain(f"A closed case with a {category.replace('_', ' ')} recording",
                rows_for("case", [CASE_CLASS, key]))
    for category, key in CATEGORY_CLASS.items():
        explain(f"A call recording kept as {category.replace('_', ' ')}",
                rows_for("call_recording", [key]))
    return out

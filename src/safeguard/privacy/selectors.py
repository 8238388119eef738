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
                    released_by=str(hold.released_by_id or ""), released_at=hold.released_at)


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

"""Reads of the governance app: the library, control states, requirement states, history."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from threading import Lock
from typing import Any

from django.conf import settings
from django.db.models import Count, Max

from safeguard.governance.contracts import (
    ControlState,
    RequirementState,
    RunView,
    Span,
    UnknownControl,
)
from safeguard.governance.enums import NOT_CHECKED, NOT_COVERED, ControlStatus
from safeguard.governance.library import Library, load
from safeguard.governance.models import ControlEvaluation, EvaluationRun

_cache: dict[str, Library] = {}
_lock = Lock()

# Worst first: a requirement takes the worst status among its controls.
SEVERITY = (ControlStatus.FAIL.value, ControlStatus.UNAVAILABLE.value, NOT_CHECKED,
            ControlStatus.PASS.value, ControlStatus.NOT_APPLICABLE.value)


def library() -> Library:
    """The framework libraries and controls (SAFEGUARD_GOVERNANCE_LIBRARY_DIR, default the
    files beside the code), loaded once per directory."""
    where = settings.SAFEGUARD_GOVERNANCE_LIBRARY_DIR
    with _lock:
        if where not in _cache:
            _cache[where] = load(Path(where) if where else None)
        return _cache[where]


def reset() -> None:
    with _lock:
        _cache.clear()


def worst(statuses: Iterable[str]) -> str:
    present = set(statuses)
    if not present:
        return NOT_COVERED
    return next(s for s in SEVERITY if s in present)


def _latest_rows(control_ids: Iterable[str]) -> dict[str, ControlEvaluation]:
    ids = (ControlEvaluation.objects.filter(control_id__in=list(control_ids))
           .values("control_id").annotate(last=Max("id")).values_list("last", flat=True))
    return {r.control_id: r for r in ControlEvaluation.objects.filter(id__in=list(ids))}


def control_states() -> list[ControlState]:
    """Every control with its latest evaluation (``not_checked`` before the first)."""
    lib = library()
    rows = _latest_rows(c.id for c in lib.controls)
    out = []
    for c in lib.controls:
        row = rows.get(c.id)
        out.append(ControlState(id=c.id, title=c.title, description=c.description,
                                check=c.check, maps=c.maps,
                                status=row.status if row else NOT_CHECKED,
                                evidence=row.evidence if row else "",
                                checked_at=row.checked_at if row else None))
    return out


def control_state(*, control_id: str) -> ControlState:
    for state in control_states():
        if state.id == control_id:
            return state
    raise UnknownControl(f"No control {control_id!r} in the library.")


def requirement_states(*, framework_id: str) -> list[RequirementState]:
    """Each requirement of a framework with its controls and their worst status."""
    lib = library()
    framework = lib.framework(framework_id)
    if framework is None:
        raise UnknownControl(f"No framework {framework_id!r} in the library.")
    states = {s.id: s for s in control_states()}
    out = []
    for req in framework.requirements:
        controls = tuple(states[c.id] for c in lib.controls_for(framework.id, req.id))
        out.append(RequirementState(framework=framework.id, id=req.id, title=req.title,
                                    status=worst(c.status for c in controls),
                                    controls=controls))
    return out


def framework_summaries() -> list[dict[str, Any]]:
    """Per framework: how many requirements are in each status right now."""
    out = []
    for f in library().frameworks:
        counts: dict[str, int] = {}
        for r in requirement_states(framework_id=f.id):
            counts[r.status] = counts.get(r.status, 0) + 1
        out.append({"framework": f, "counts": counts, "total": len(f.requirements)})
    return out


EXPORT_HEADER = ("framework", "requirement_id", "requirement_title", "requirement_status",
                 "control_id", "control_title", "control_status", "checked_at", "evidence")


def framework_csv(*, framework_id: str) -> str:
    """One row per (requirement, control); a requirement without a control has one row with
    an empty control and the status not_covered."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(EXPORT_HEADER)
    for r in requirement_states(framework_id=framework_id):
        if not r.controls:
            writer.writerow([framework_id, r.id, r.title, r.status, "", "", "", "", ""])
        for c in r.controls:
            writer.writerow([framework_id, r.id, r.title, r.status, c.id, c.title, c.status,
                             c.checked_at.isoformat() if c.checked_at else "", c.evidence])
    return buf.getvalue()


def history(*, control_id: str, limit: int = 500) -> list[ControlEvaluation]:
    """A control's evaluations, newest first (at most ``limit``)."""
    control_state(control_id=control_id)
    return list(ControlEvaluation.objects.filter(control_id=control_id)
                .order_by("-checked_at", "-id")[:limit])


def spans(*, control_id: str, limit: int = 500) -> list[Span]:
    """The control's history collapsed into stretches of one status, newest first: when it
    started failing, until when, after how many evaluations (R-REG-1)."""
    rows = list(reversed(history(control_id=control_id, limit=limit)))
    out: list[Span] = []
    for row in rows:
        if out and out[-1].status == row.status:
            last = out[-1]
            out[-1] = Span(status=last.status, since=last.since, until=None,
                           last_checked=row.checked_at, evaluations=last.evaluations + 1,
                           evidence=row.evidence)
            continue
        if out:
            prev = out[-1]
            out[-1] = Span(status=prev.status, since=prev.since, until=row.checked_at,
                           last_checked=prev.last_checked, evaluations=prev.evaluations,
                           evidence=prev.evidence)
        out.append(Span(status=row.status, since=row.checked_at, until=None,
                        last_checked=row.checked_at, evaluations=1, evidence=row.evidence))
    return list(reversed(out))


def _run_view(run: EvaluationRun) -> RunView:
    counts = dict(run.results.values("status").annotate(n=Count("id")).values_list("status", "n"))
    return RunView(id=run.id, started_at=run.started_at, finished_at=run.finished_at,
                   triggered_by=run.triggered_by, counts=counts)


def run_get(*, run_id: int) -> RunView:
    return _run_view(EvaluationRun.objects.get(id=run_id))


def run_latest() -> RunView | None:
    run = EvaluationRun.objects.filter(finished_at__isnull=False).order_by("-id").first()
    return _run_view(run) if run else None


def last_finished_at() -> datetime | None:
    run = EvaluationRun.objects.filter(finished_at__isnull=False).order_by("-id").first()
    return run.finished_at if run else None


def controls_for_trust_page() -> list[dict[str, Any]]:
    """Provider ``governance.controls`` (for the metrics trust page): every control's latest
    state as {id, title, status, checked_at, evidence}."""
    return [{"id": s.id, "title": s.title, "status": s.status, "checked_at": s.checked_at,
             "evidence": s.evidence} for s in control_states()]

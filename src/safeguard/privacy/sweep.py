"""The retention sweep (R-DATA-3, R-REG-4): applies the Records Retention Matrix in batches.

Two targets, each a keyset walk over the cases app's selectors:

* ``call_recording`` — a stored recording whose category maps to a class measured from the
  call's end (``call_ended``; shipped: QA recordings, 90 days) is deleted once past its period.
* ``case`` — a closed case collects every class that applies to it (``case_record`` plus the
  classes of its recordings' categories, all measured from ``case_closed``); the one that
  governs is the longest (periods.governing: retention wins over deletion, the longest period
  wins); past it, the case is anonymised (KPI fields kept) or flagged for review.

A legal hold on the case or its customer wins over every rule: the record is skipped and
counted. Each batch runs in one transaction that locks the run row, acts, writes one
Disposition per record and moves the cursor: a sweep killed half-way loses the batch in flight
and nothing else; resuming continues after the last committed key, and the Disposition's
unique constraint means no record is acted on twice. A dry run writes the same report without
acting. The finished sweep records its deletion receipt (counts by target and action, the day
evaluated, records held) in the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.cases import selectors as case_selectors
from safeguard.cases import services as case_services
from safeguard.privacy.contracts import RetentionClass, SweepRunView
from safeguard.privacy.enums import HoldScope, SweepStatus
from safeguard.privacy.matrix import TARGET_TRIGGERS, matrix
from safeguard.privacy.models import Disposition, LegalHold, SweepRun
from safeguard.privacy.periods import Applicable, governing, period_end

TARGETS: tuple[str, ...] = ("call_recording", "case")

#: cases.enums.RetentionCategory value -> record class of the matrix (same names but one).
CATEGORY_CLASS: dict[str, str] = {
    "qa_recording": "call_recording_qa",
    "financial_record": "financial_record",
    "insurance_record": "insurance_record",
    "complaint": "complaint",
}
#: The class every closed case belongs to, whatever else applies.
CASE_CLASS = "case_record"

Progress = Callable[[str, int], None]


def _classes_for(target: str, keys: list[str], classes: dict[str, RetentionClass]
                 ) -> list[RetentionClass]:
    return [classes[k] for k in keys if k in classes and target in classes[k].enforced_by
            and classes[k].trigger == TARGET_TRIGGERS[target]]


def recording_decision(*, category: str, ended: date, classes: dict[str, RetentionClass]
                       ) -> Applicable | None:
    """The rule governing a recording, or None when the case-level rules govern it."""
    rows = _classes_for("call_recording", [CATEGORY_CLASS.get(category, "")], classes)
    if not rows:
        return None
    return governing(Applicable(r.key, r.action, period_end(ended, r.period)) for r in rows)


def case_decision(*, recording_categories: tuple[str, ...], closed: date,
                  classes: dict[str, RetentionClass]) -> Applicable | None:
    """The rule governing a closed case: the longest of every class that applies to it."""
    keys = [CASE_CLASS] + [CATEGORY_CLASS.get(c, "") for c in recording_categories]
    rows = _classes_for("case", keys, classes)
    if not rows:
        return None
    return governing(Applicable(r.key, r.action, period_end(closed, r.period)) for r in rows)


def active_holds() -> set[tuple[str, str]]:
    """(scope, target id) of every legal hold not yet released."""
    return {(s, t) for s, t in LegalHold.objects.filter(released_at__isnull=True)
            .values_list("scope", "target_id")}


def _held(holds: set[tuple[str, str]], *, case_id: str, customer_id: str) -> bool:
    return (HoldScope.CASE, case_id) in holds or (HoldScope.CUSTOMER, customer_id) in holds


def sweep_view(run: SweepRun) -> SweepRunView:
    return SweepRunView(id=run.id, dry_run=run.dry_run, status=run.status, as_of=run.as_of,
                        started_at=run.started_at, finished_at=run.finished_at,
                        counts=dict(run.counts), held=run.held, cursor=dict(run.cursor))


def sweep_start(*, actor: Actor, dry_run: bool, as_of: date | None = None) -> SweepRunView:
    """Resume the unfinished sweep of the same kind (a crashed one), or start a new one."""
    with transaction.atomic():
        run = (SweepRun.objects.select_for_update()
               .filter(status=SweepStatus.RUNNING, dry_run=dry_run).order_by("id").first())
        if run is None:
            now = timezone.now()
            run = SweepRun.objects.create(
                dry_run=dry_run, as_of=as_of or timezone.localdate(), started_at=now,
                heartbeat_at=now, triggered_by=actor.id[:64] or actor.kind)
            audit.record(action="retention.sweep_started", actor=actor,
                         subject=("sweep", run.id),
                         data={"dry_run": dry_run, "as_of": run.as_of.isoformat()})
        return sweep_view(run)


def _page(target: str, after: str, limit: int) -> list[Any]:
    if target == "case":
        return case_selectors.retention_closed_cases(after=after, limit=limit)
    return case_selectors.retention_recordings(after=after, limit=limit)


def sweep_batch(*, run_id: int, actor: Actor, batch: int | None = None) -> bool:
    """Process the next batch of the run; False when every target is done (run finished)."""
    size = batch or settings.SAFEGUARD_RETENTION_BATCH
    classes = matrix()
    with transaction.atomic():
        run = SweepRun.objects.select_for_update().get(id=run_id)
        if run.status != SweepStatus.RUNNING:
            return False
        target = next((t for t in TARGETS if run.cursor.get(t) != "done"), None)
        if target is None:
            _finish(run, actor)
            return False
        rows = _page(target, run.cursor.get(target, ""), size)
        if not rows:
            run.cursor = {**run.cursor, target: "done"}
            run.heartbeat_at = timezone.now()
            run.save(update_fields=["cursor", "heartbeat_at"])
            return True
        holds = active_holds()
        done = set(Disposition.objects.filter(target=target, dry_run=False,
                                              record_id__in=[r.id for r in rows])
                   .values_list("record_id", "action"))
        counts = dict(run.counts)
        for row in rows:
            decision = _decide(target, row, classes)
            if decision is None or decision.ends > run.as_of:
                continue
            if (row.id, decision.action) in done:
                continue
            case_id = row.id if target == "case" else row.case_id
            if _held(holds, case_id=case_id, customer_id=row.customer_id):
                run.held += 1
                continue
            if not run.dry_run:
                _act(target, row.id, decision, actor)
            Disposition.objects.create(run=run, target=target, record_id=row.id,
                                       record_class=decision.record_class,
                                       action=decision.action, dry_run=run.dry_run,
                                       at=timezone.now())
            key = f"{target}:{decision.action}"
            counts[key] = counts.get(key, 0) + 1
        run.counts = counts
        run.cursor = {**run.cursor, target: rows[-1].id}
        run.heartbeat_at = timezone.now()
        run.save(update_fields=["counts", "cursor", "held", "heartbeat_at"])
        return True


def _decide(target: str, row: Any, classes: dict[str, RetentionClass]) -> Applicable | None:
    if target == "case":
        return case_decision(recording_categories=row.recording_categories,
                             closed=timezone.localdate(row.closed_at), classes=classes)
    return recording_decision(category=row.category, ended=timezone.localdate(row.ended_at),
                              classes=classes)


def _act(target: str, record_id: str, decision: Applicable, actor: Actor) -> None:
    if decision.action == "review":
        return  # flagged by its Disposition; a person decides
    if target == "case":
        case_services.case_anonymise(case_id=record_id, actor=actor,
                                     record_class=decision.record_class)
    else:
        case_services.recording_delete(interaction_id=record_id, actor=actor,
                                       record_class=decision.record_class)


def _finish(run: SweepRun, actor: Actor) -> None:
    run.status = SweepStatus.FINISHED
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at"])
    # The deletion receipt (issue 16): what was done, to how many, against which day.
    audit.record(action="retention.sweep_finished", actor=actor, subject=("sweep", run.id),
                 data={"dry_run": run.dry_run, "as_of": run.as_of.isoformat(),
                       "counts": dict(run.counts), "held": run.held,
                       "started_at": run.started_at.isoformat(),
                       "finished_at": run.finished_at.isoformat()})


def sweep_run(*, actor: Actor, dry_run: bool = False, as_of: date | None = None,
              batch: int | None = None, progress: Progress | None = None) -> SweepRunView:
    """Start (or resume) a sweep and run it to the end, batch by batch."""
    view = sweep_start(actor=actor, dry_run=dry_run, as_of=as_of)
    while sweep_batch(run_id=view.id, actor=actor, batch=batch):
        if progress is not None:
            current = SweepRun.objects.get(id=view.id)
            progress(next((t for t in TARGETS if current.cursor.get(t) != "done"), "done"),
                     sum(current.counts.values()) + current.held)
    return sweep_view(SweepRun.objects.get(id=view.id))

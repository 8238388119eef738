"""The retention sweep (R-DATA-3, R-REG-4): applies the Records Retention Matrix in batches.

Three targets, each a keyset walk (two over the cases app's selectors, one over archives):

* ``call_recording`` — a stored recording whose category maps to a class measured from the
  call's end (``call_ended``; shipped: QA recordings, 90 days) is deleted once past its period.
* ``case`` — a closed case collects every class that applies to it (``case_record`` plus the
  classes of its recordings' categories, all measured from ``case_closed``); the one that
  governs is the longest (periods.governing: retention wins over deletion, the longest period
  wins); past it, the case is anonymised (KPI fields kept) or flagged for review.
* ``archive`` — an encrypted archive (privacy/archive.py) past its own retention is deleted.

A row with ``action: archive`` (archive-then-delete) first writes the record's content to an
encrypted archive kept for the row's ``archive_for``, then deletes (recording) or anonymises
(case) the live record, in the same transaction.

A legal hold on the case or its customer, or a query hold the case matches, wins over every
rule: the record is skipped and counted. The sweep reads the matrix version in force when it
starts a batch and records it on the run. Each batch runs in one transaction that locks the
run row, acts, writes one Disposition per record and moves the cursor: a sweep killed half-way
loses the batch in flight and nothing else; resuming continues after the last committed key,
and the Disposition's unique constraint means no record is acted on twice. A dry run writes the
same report without acting. The finished sweep records its deletion receipt (counts by target
and action, the day evaluated, the matrix version, records held) in the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.cases import selectors as case_selectors
from safeguard.cases import services as case_services
from safeguard.privacy import archive as archives
from safeguard.privacy.contracts import RetentionClass, SweepRunView
from safeguard.privacy.enums import HoldScope, SweepStatus
from safeguard.privacy.matrix import TARGET_TRIGGERS, matrix, matrix_version_number
from safeguard.privacy.models import Archive, Disposition, LegalHold, SweepRun
from safeguard.privacy.periods import Applicable, governing, period_end

TARGETS: tuple[str, ...] = ("call_recording", "case", "archive")

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
    """(scope, target id) of every customer or case legal hold not yet released."""
    return {(s, t) for s, t in LegalHold.objects.filter(released_at__isnull=True)
            .exclude(scope=HoldScope.QUERY).values_list("scope", "target_id")}


def active_query_holds() -> list[dict[str, Any]]:
    """The queries of every query-scoped legal hold not yet released."""
    return [dict(q) for q in LegalHold.objects.filter(released_at__isnull=True,
                                                      scope=HoldScope.QUERY)
            .values_list("query", flat=True)]


def query_kwargs(query: dict[str, Any]) -> dict[str, Any]:
    """A stored hold query as keyword arguments of ``cases.selectors.retention_cases_matching``."""
    return {"queue": query.get("queue", ""), "tag": query.get("tag", ""),
            "created_from": date.fromisoformat(query["created_from"])
            if query.get("created_from") else None,
            "created_to": date.fromisoformat(query["created_to"])
            if query.get("created_to") else None}


def cases_held_by_query(case_ids: list[str], queries: list[dict[str, Any]] | None = None
                        ) -> set[str]:
    """Which of ``case_ids`` an active query hold covers (evaluated now: a case that came to
    match after the hold was placed is held too)."""
    queries = active_query_holds() if queries is None else queries
    held: set[str] = set()
    if not case_ids:
        return held
    for query in queries:
        held.update(case_selectors.retention_cases_matching(**query_kwargs(query),
                                                            among=case_ids))
    return held


def _held(holds: set[tuple[str, str]], *, case_id: str, customer_id: str,
          by_query: frozenset[str] | set[str] = frozenset()) -> bool:
    return ((HoldScope.CASE, case_id) in holds or (HoldScope.CUSTOMER, customer_id) in holds
            or case_id in by_query)


def sweep_view(run: SweepRun) -> SweepRunView:
    return SweepRunView(id=run.id, dry_run=run.dry_run, status=run.status, as_of=run.as_of,
                        started_at=run.started_at, finished_at=run.finished_at,
                        counts=dict(run.counts), held=run.held, cursor=dict(run.cursor),
                        matrix_version=run.matrix_version)


def sweep_start(*, actor: Actor, dry_run: bool, as_of: date | None = None) -> SweepRunView:
    """Resume the unfinished sweep of the same kind (a crashed one), or start a new one."""
    with transaction.atomic():
        run = (SweepRun.objects.select_for_update()
               .filter(status=SweepStatus.RUNNING, dry_run=dry_run).order_by("id").first())
        if run is None:
            now = timezone.now()
            run = SweepRun.objects.create(
                dry_run=dry_run, as_of=as_of or timezone.localdate(), started_at=now,
                heartbeat_at=now, triggered_by=actor.id[:64] or actor.kind,
                matrix_version=matrix_version_number())
            audit.record(action="retention.sweep_started", actor=actor,
                         subject=("sweep", run.id),
                         data={"dry_run": dry_run, "as_of": run.as_of.isoformat()})
        return sweep_view(run)


@dataclass(frozen=True)
class _ArchiveRow:
    id: str
    case_id: str
    customer_id: str
    expires_on: date


def _page(target: str, after: str, limit: int, as_of: date) -> list[Any]:
    if target == "case":
        return case_selectors.retention_closed_cases(after=after, limit=limit)
    if target == "archive":
        qs = Archive.objects.filter(deleted_at__isnull=True, expires_on__lte=as_of)
        if after:
            qs = qs.filter(id__gt=after)
        return [_ArchiveRow(str(i), c, cu, e) for i, c, cu, e in qs.order_by("id").values_list(
            "id", "case_id", "customer_id", "expires_on")[:limit]]
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
        rows = _page(target, run.cursor.get(target, ""), size, run.as_of)
        if not rows:
            run.cursor = {**run.cursor, target: "done"}
            run.heartbeat_at = timezone.now()
            run.save(update_fields=["cursor", "heartbeat_at"])
            return True
        run.matrix_version = matrix_version_number()
        holds = active_holds()
        by_query = cases_held_by_query(sorted({_case_of(target, r) for r in rows}))
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
            if _held(holds, case_id=_case_of(target, row), customer_id=row.customer_id,
                     by_query=by_query):
                run.held += 1
                continue
            if not run.dry_run:
                _act(target, row, decision, actor, classes, run.as_of)
            Disposition.objects.create(run=run, target=target, record_id=row.id,
                                       record_class=decision.record_class,
                                       action=decision.action, dry_run=run.dry_run,
                                       at=timezone.now())
            key = f"{target}:{decision.action}"
            counts[key] = counts.get(key, 0) + 1
        run.counts = counts
        run.cursor = {**run.cursor, target: rows[-1].id}
        run.heartbeat_at = timezone.now()
        run.save(update_fields=["counts", "cursor", "held", "heartbeat_at", "matrix_version"])
        return True


def _case_of(target: str, row: Any) -> str:
    return str(row.id if target == "case" else row.case_id)


def _decide(target: str, row: Any, classes: dict[str, RetentionClass]) -> Applicable | None:
    if target == "archive":
        return Applicable("archive", "delete", row.expires_on)
    if target == "case":
        return case_decision(recording_categories=row.recording_categories,
                             closed=timezone.localdate(row.closed_at), classes=classes)
    return recording_decision(category=row.category, ended=timezone.localdate(row.ended_at),
                              classes=classes)


def _act(target: str, row: Any, decision: Applicable, actor: Actor,
         classes: dict[str, RetentionClass], as_of: date) -> None:
    if decision.action == "review":
        return  # flagged by its Disposition; a person decides
    if target == "archive":
        archives.archive_delete(row=Archive.objects.select_for_update().get(id=row.id),
                                actor=actor)
        return
    if decision.action == "archive":
        klass = classes[decision.record_class]
        assert klass.archive_for is not None  # noqa: S101 - the parser requires it
        content = (case_selectors.case_content_export(case_id=row.id) if target == "case"
                   else case_selectors.recording_content_export(interaction_id=row.id))
        archives.archive_write(target=target, record_id=row.id, case_id=_case_of(target, row),
                               customer_id=row.customer_id, record_class=klass.key,
                               content=content, keep_until=period_end(as_of, klass.archive_for),
                               actor=actor)
    if target == "case":
        case_services.case_anonymise(case_id=row.id, actor=actor,
                                     record_class=decision.record_class)
    else:
        case_services.recording_delete(interaction_id=row.id, actor=actor,
                                       record_class=decision.record_class)


def _finish(run: SweepRun, actor: Actor) -> None:
    run.status = SweepStatus.FINISHED
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at"])
    # The deletion receipt (issue 16): what was done, to how many, against which day.
    audit.record(action="retention.sweep_finished", actor=actor, subject=("sweep", run.id),
                 data={"dry_run": run.dry_run, "as_of": run.as_of.isoformat(),
                       "matrix_version": run.matrix_version,
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

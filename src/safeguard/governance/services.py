"""Writes of the governance app: evaluate every control and keep the result (R-REG-1)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.governance import attestations, evaluators, selectors
from safeguard.governance.contracts import RunView
from safeguard.governance.models import ControlEvaluation, EvaluationRun

logger = logging.getLogger(__name__)


def _resumable() -> EvaluationRun | None:
    """An unfinished run young enough to finish (a crash half-way): its stored results stand,
    the rest is evaluated now. An older one is abandoned (its results stay in the history)."""
    limit = timezone.now() - timedelta(minutes=settings.SAFEGUARD_GOVERNANCE_RESUME_MINUTES)
    return (EvaluationRun.objects.filter(finished_at__isnull=True, started_at__gte=limit)
            .order_by("-id").first())


def evaluate_all(*, actor: Actor) -> RunView:
    """Run every control's automated check (a manual control: its attestations, decision 0246),
    store each result with its evidence and time, and record one audit event per status change
    plus one for the run. Resumable and idempotent: a control already stored for the run is
    skipped (one row per run and control)."""
    library = selectors.library()
    previous = {s.id: s.status for s in selectors.control_states()}
    run = _resumable() or EvaluationRun.objects.create(started_at=timezone.now(),
                                                       triggered_by=actor.label[:254])
    done = set(run.results.values_list("control_id", flat=True))
    for control in library.controls:
        if control.id in done:
            continue
        result = (attestations.evaluate(control) if control.manual
                  else evaluators.run(control.check))
        try:
            with transaction.atomic():
                ControlEvaluation.objects.create(run=run, control_id=control.id,
                                                 status=result.status,
                                                 evidence=result.evidence[:4000],
                                                 checked_at=timezone.now())
                if previous.get(control.id) != result.status:
                    audit.record(action="governance.control_status_changed", actor=actor,
                                 subject=("control", control.id),
                                 data={"from": previous.get(control.id, "not_checked"),
                                       "to": result.status, "run": run.id})
        except IntegrityError:  # another worker stored it for this run meanwhile
            continue
    with transaction.atomic():
        EvaluationRun.objects.filter(id=run.id, finished_at__isnull=True).update(
            finished_at=timezone.now())
        view = selectors.run_get(run_id=run.id)
        audit.record(action="governance.controls_evaluated", actor=actor,
                     subject=("governance_run", run.id), data=view.counts)
    logger.info("governance.controls_evaluated", extra={"run": run.id, **view.counts})
    return view

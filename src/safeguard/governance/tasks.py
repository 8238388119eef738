"""Huey jobs of the governance app: evaluate every control (R-REG-1)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from safeguard.audit.contracts import Actor
from safeguard.governance import selectors, services


def due() -> bool:
    """Is an evaluation due? The job is scheduled hourly and acts when the last finished run is
    older than SAFEGUARD_GOVERNANCE_EVALUATE_HOURS (less five minutes of scheduling slack), so
    the setting is read when the job runs, not at import."""
    last = selectors.last_finished_at()
    period = timedelta(hours=settings.SAFEGUARD_GOVERNANCE_EVALUATE_HOURS) - timedelta(minutes=5)
    return last is None or timezone.now() - last >= period


@db_periodic_task(crontab(minute="23"), name="governance.evaluate_controls")
@lock_task("governance.evaluate_controls")
def evaluate_controls() -> int | None:
    """Evaluate every control when due; returns the run's id (None when not due)."""
    if not due():
        return None
    return services.evaluate_all(actor=Actor.system("governance.evaluate_controls")).id

"""Huey jobs of the incidents app: the SLA notifier (R-IR-2). Thin: call the service."""

from __future__ import annotations

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from safeguard.incidents import services


@db_periodic_task(crontab(minute=f"*/{settings.SAFEGUARD_INCIDENTS_SLA_CHECK_MINUTES}"),
                  name="incidents.sla_notify")
@lock_task("incidents.sla_notify")
def sla_notify() -> int:
    """Warn before and at every SLA breach; idempotent (each notice once per stage)."""
    return services.sla_notify()


@db_task(name="incidents.letters_run")
def letters_run(run_id: int) -> None:
    """Generate a letter run's customer letters (R-IR-6); resumable, see
    ``communications.letters_batch_run``. Thin: call the service."""
    from safeguard.incidents import communications

    communications.letters_batch_run(run_id=run_id)


@db_periodic_task(crontab(minute="*/5"), name="incidents.letters_resume_stalled")
@lock_task("incidents.letters_resume_stalled")
def letters_resume_stalled() -> int:
    """Queue again the letter batches whose worker died (R-IR-6; no progress for
    SAFEGUARD_INCIDENTS_LETTERS_STALE_SECONDS). Thin: call the service."""
    from safeguard.incidents import communications

    return len(communications.letters_resume_stalled())

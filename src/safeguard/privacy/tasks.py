"""Huey jobs of the privacy app: the daily retention sweep (R-DATA-3)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from safeguard.audit.contracts import Actor
from safeguard.privacy import services

logger = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="17"), name="privacy.retention_sweep")
@lock_task("privacy.retention_sweep")
def retention_sweep() -> int | None:
    """Daily at SAFEGUARD_RETENTION_SWEEP_HOUR: apply the retention matrix (resuming a sweep a
    crash left unfinished); returns the sweep's id. Scheduled hourly and acting in the
    configured hour, so the setting is read when the job runs, not at import. The lock keeps
    two workers from sweeping at once."""
    if timezone.localtime().hour != settings.SAFEGUARD_RETENTION_SWEEP_HOUR:
        return None
    view = services.sweep_run(actor=Actor.system("privacy.retention_sweep"))
    logger.info("privacy.sweep_finished", extra={"sweep": view.id, "held": view.held})
    return view.id


@db_periodic_task(crontab(minute="41"), name="privacy.dsr_clock")
@lock_task("privacy.dsr_clock")
def dsr_clock() -> dict[str, int]:
    """Hourly: close public requests whose code expired unconfirmed and notify the privacy
    officers of requests that became due soon, overdue or unacknowledged (notified once per
    state change, so running it hourly sends nothing twice)."""
    from safeguard.privacy.fulfil import dsr_clock_run

    counts = dsr_clock_run()
    logger.info("privacy.dsr_clock", extra=counts)
    return counts

"""Huey jobs of the detection app: the run over the audit log and the escalation clocks, every
minute (R-OPS-6, R-OPS-9). Each takes its own lock, so two workers never run one job twice at
once; a run that crashed is simply the next minute's run (cursor and checkpoint commit per
batch)."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from safeguard.detection import services

log = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="*"), name="detection.run")
@lock_task("detection.run")
def detection_run() -> int:
    """Evaluate every new audit event; returns the number of new alerts."""
    result = services.run_once()
    if result.events:
        log.info("detection.run", extra={"events": result.events, "alerts": result.alerts,
                                         "cursor": result.cursor})
    return result.alerts


@db_periodic_task(crontab(minute="*"), name="detection.escalation_check")
@lock_task("detection.escalation_check")
def escalation_check() -> dict[str, int]:
    """Create the notices of overdue critical alerts and deliver pending ones."""
    return services.escalation_check()

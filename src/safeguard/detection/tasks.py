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

# A run ends within its minute (between batches), so the next one finds the lock free; the
# lock's TTL frees it even if a worker dies mid-run.
RUN_SECONDS = 45.0
LOCK_TTL_SECONDS = 120


@db_periodic_task(crontab(minute="*"), name="detection.run")
@lock_task("detection.run", ttl=LOCK_TTL_SECONDS)
def detection_run() -> int:
    """Evaluate every new audit event; returns the number of new alerts."""
    result = services.run_once(max_seconds=RUN_SECONDS)
    if result.events:
        log.info("detection.run", extra={"events": result.events, "alerts": result.alerts,
                                         "cursor": result.cursor})
    return result.alerts


@db_periodic_task(crontab(minute="*"), name="detection.escalation_check")
@lock_task("detection.escalation_check", ttl=LOCK_TTL_SECONDS)
def escalation_check() -> dict[str, int]:
    """Create the notices of overdue critical alerts and deliver pending ones."""
    return services.escalation_check()

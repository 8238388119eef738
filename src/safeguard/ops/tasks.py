"""Periodic jobs of the operations shell."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from safeguard.ops import health_history, services


@db_periodic_task(crontab(minute="*"), name="ops.heartbeat")
def heartbeat() -> None:
    """Every minute: prove the job system runs (shown on /ops/health/)."""
    services.heartbeat_beat(name="jobs")


def heartbeat_now() -> None:
    """Queue one heartbeat at once (a worker starting): the periodic one first runs at the next
    full minute, and the health page said "never ran" while the demo's embedded worker was
    running (issue 15, item 9)."""
    heartbeat()


@db_periodic_task(crontab(minute="*"), name="ops.health_sample")
def health_sample() -> None:
    """Every minute: record this interval's health sample if it has none yet, prune old ones
    (R-MEAS-5; docs/ops.md, Health history)."""
    health_history.sample_record()

"""Periodic jobs of the operations shell."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from safeguard.ops import services


@db_periodic_task(crontab(minute="*"), name="ops.heartbeat")
def heartbeat() -> None:
    """Every minute: prove the job system runs (shown on /ops/health/)."""
    services.heartbeat_beat(name="jobs")

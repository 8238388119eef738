"""Huey jobs of the metrics app."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from safeguard.audit.contracts import Actor
from safeguard.metrics import mfa_history


@db_periodic_task(crontab(minute="7"), name="metrics.mfa_snapshot")
@lock_task("metrics.mfa_snapshot")
def mfa_snapshot() -> bool:
    """Take today's MFA coverage snapshot (R-KPI-8). Scheduled hourly so a missed hour does not
    lose the day; only the first run of a day records one. Returns whether it recorded."""
    return mfa_history.mfa_snapshot_take(actor=Actor.system("metrics.mfa_snapshot")).created

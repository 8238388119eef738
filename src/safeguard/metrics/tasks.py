"""Huey jobs of the metrics app: the daily MFA coverage snapshot and the archive of review packs
of closed periods."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from safeguard.audit.contracts import Actor
from safeguard.metrics import archive, mfa_history


@db_periodic_task(crontab(minute="7"), name="metrics.mfa_snapshot")
@lock_task("metrics.mfa_snapshot")
def mfa_snapshot() -> bool:
    """Take today's MFA coverage snapshot (R-KPI-8). Scheduled hourly so a missed hour does not
    lose the day; only the first run of a day records one. Returns whether it recorded."""
    return mfa_history.mfa_snapshot_take(actor=Actor.system("metrics.mfa_snapshot")).created


@db_periodic_task(crontab(minute="17"), name="metrics.review_packs")
def review_packs() -> None:
    """Hourly: generate and archive each scheduled pack whose period closed (and whose day
    offset passed) and is not archived yet; idempotent (docs/metrics.md, Archive)."""
    archive.packs_generate_due()

"""Reads of the operations shell: readiness of the database and the job system."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from safeguard.ops.models import Heartbeat

HEARTBEAT_STALE_AFTER = timedelta(minutes=3)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class HeartbeatView:
    last_run_at: datetime | None
    runs: int
    worker: str
    stale: bool


def database_check() -> Check:
    """Can we reach the database and run a query?"""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return Check("database", False, type(exc).__name__)
    return Check("database", True, connection.vendor)


def jobs_check() -> Check:
    """Can we reach the job queue's storage?"""
    from huey.contrib.djhuey import HUEY

    try:
        pending = HUEY.pending_count()
    except Exception as exc:  # noqa: BLE001 - any storage failure means not ready
        return Check("jobs", False, type(exc).__name__)
    return Check("jobs", True, f"{type(HUEY).__name__}, {pending} pending")


def heartbeat(*, name: str = "jobs") -> HeartbeatView:
    """The last run of the periodic heartbeat; stale when jobs have not run for 3 minutes."""
    hb = Heartbeat.objects.filter(name=name).first()
    if hb is None:
        return HeartbeatView(None, 0, "", stale=not settings.HUEY_IMMEDIATE)
    return HeartbeatView(hb.last_run_at, hb.runs, hb.worker,
                         stale=timezone.now() - hb.last_run_at > HEARTBEAT_STALE_AFTER)

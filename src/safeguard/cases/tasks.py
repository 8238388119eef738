"""Huey tasks of the cases app: take ids, re-read state, call services, idempotent."""

from __future__ import annotations

from uuid import UUID

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from safeguard.cases import services


@db_task(retries=3, retry_delay=30)
def message_deliver(message_id: str) -> str:
    """Deliver one pending reply; a message already handled is left alone (never sent twice)."""
    return services.message_deliver(message_id=UUID(message_id))


@db_periodic_task(crontab(minute="*"), name="cases.sla_check")
def sla_check() -> int:
    """Every minute: flag SLA breaches (idempotent: a breach is flagged once)."""
    return services.sla_check()


@db_periodic_task(crontab(minute="*"), name="cases.sla_warn")
def sla_warn() -> int:
    """Every minute: notify assignees of cases close to an SLA due time (once per due time)."""
    return services.sla_warn()


@db_periodic_task(crontab(minute="17"), name="cases.autoclose")
def autoclose() -> int:
    """Hourly: close cases resolved more than SAFEGUARD_AUTOCLOSE_DAYS ago (batched, resumable)."""
    return services.cases_autoclose()

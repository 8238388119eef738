"""Reads of the operations shell: readiness of the database and the job system, and what kind
of database this is (demo or production, issue 17)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection
from django.utils import timezone

from safeguard.accounts.demo import DEMO_USERS
from safeguard.ops.models import Heartbeat, InstallationMark

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


# --- What this database is (issue 17, item 1) ----------------------------------------------------

# Rows that a freshly migrated database already holds (built-in roles, the mark itself, job
# heartbeats): their presence says nothing about real use.
_SEED_MODELS = frozenset({"accounts.role", "ops.heartbeat", "ops.installationmark"})
DEMO_DOMAIN = DEMO_USERS[0][0].partition("@")[2]


def installation_kind() -> str | None:
    """``"demo"``, ``"production"``, or None for a database nobody has marked yet."""
    return InstallationMark.objects.filter(id=1).values_list("kind", flat=True).first()


def installation_kind_before_migrate() -> str | None:
    """Like :func:`installation_kind`, on a database that may not be migrated yet (no table)."""
    if InstallationMark._meta.db_table not in connection.introspection.table_names():
        return None
    return installation_kind()


def database_holds_data() -> list[str]:
    """Our tables that hold rows beyond what migrations seed (users, customers, events, keys…).

    A database with any of them is in real use: it must never be turned into a demo.
    """
    found = []
    for model in apps.get_models():
        label = model._meta.label_lower
        if not model.__module__.startswith("safeguard.") or label in _SEED_MODELS:
            continue
        if model._meta.managed and model._default_manager.exists():
            found.append(label)
    return found


def demo_users_present() -> list[str]:
    """E-mail addresses of demo users (published password, derivable TOTP) in this database."""
    users = get_user_model()._default_manager
    return sorted(users.filter(email__iendswith="@" + DEMO_DOMAIN).values_list("email", flat=True))

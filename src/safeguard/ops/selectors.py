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


_migrated = False  # once this process saw every migration applied, it stays so (same code)


def pending_migrations() -> list[str]:
    """Migrations of this code not yet applied to the default database (DatabaseError if the
    database cannot be reached)."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{m.app_label}.{m.name}" for m, _ in plan]


def migrations_check() -> Check:
    """Is the database migrated to this code? (issue 17: not ready while migrations pend)"""
    global _migrated  # noqa: PLW0603 - a per-process memo of a state that cannot go back
    if _migrated:
        return Check("migrations", True, "applied")
    try:
        pending = pending_migrations()
    except DatabaseError as exc:
        return Check("migrations", False, type(exc).__name__)
    if pending:
        return Check("migrations", False, f"{len(pending)} pending")
    _migrated = True
    return Check("migrations", True, "applied")


def keys_check() -> Check:
    """Are the keys initialised and unsealed for this process? (issue 17)"""
    from safeguard.protection import selectors as protection

    try:
        ok, detail = protection.keys_ready()
    except DatabaseError as exc:
        return Check("keys", False, type(exc).__name__)
    return Check("keys", ok, detail)


def audit_signer_check() -> Check:
    """Can tree heads be signed? (issue 17, R-IR-5)"""
    from safeguard.audit import selectors as audit

    ok, detail = audit.signer_ready()
    return Check("audit_signer", ok, detail)


def readiness_checks() -> list[Check]:
    """Everything /readyz and the health page report: database, jobs, migrations, keys, signer."""
    database = database_check()
    if not database.ok:
        return [database, jobs_check()]
    return [database, jobs_check(), migrations_check(), keys_check(), audit_signer_check()]


def heartbeat(*, name: str = "jobs") -> HeartbeatView:
    """The last run of the periodic heartbeat; stale when jobs have not run for 3 minutes."""
    hb = Heartbeat.objects.filter(name=name).first()
    if hb is None:
        return HeartbeatView(None, 0, "", stale=not settings.HUEY_IMMEDIATE)
    return HeartbeatView(hb.last_run_at, hb.runs, hb.worker,
                         stale=timezone.now() - hb.last_run_at > HEARTBEAT_STALE_AFTER)


# --- What this database is (issue 17, item 1) ----------------------------------------------------

# Rows that a freshly migrated database already holds (built-in roles, the mark itself, job
# heartbeats and health samples): their presence says nothing about real use.
_SEED_MODELS = frozenset({"accounts.role", "ops.heartbeat", "ops.installationmark",
                          "ops.healthsample"})
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

"""Writes of the operations shell."""

from __future__ import annotations

import getpass
import os
import socket

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from safeguard.ops import selectors
from safeguard.ops.contracts import InstallationRefused
from safeguard.ops.models import Heartbeat, InstallationMark


@transaction.atomic
def heartbeat_beat(*, name: str = "jobs") -> None:
    """Record that the job system ran now, on which worker."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    updated = Heartbeat.objects.filter(name=name).update(
        last_run_at=timezone.now(), runs=F("runs") + 1, worker=worker)
    if not updated:
        Heartbeat.objects.create(name=name, last_run_at=timezone.now(), runs=1, worker=worker)


# --- What this database is (issue 17, item 1) ----------------------------------------------------


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


@transaction.atomic
def installation_mark_demo() -> None:
    """Mark a fresh database as a demo; re-marking a demo is a no-op.

    Refused for a production-marked database and for an unmarked one that already holds data:
    the demo's published passwords must never reach a real installation.
    """
    mark = InstallationMark.objects.select_for_update().filter(id=1).first()
    if mark is not None:
        if mark.kind == InstallationMark.KIND_DEMO:
            _demo_mark_file_write()
            return
        raise InstallationRefused(
            "This database is marked as a production database: demo data is never loaded into "
            "it. The demo uses its own database; point SAFEGUARD_DATA_DIR at an empty directory "
            "and leave DATABASE_URL unset.")
    used = selectors.database_holds_data()
    if used:
        raise InstallationRefused(
            "This database already holds data (" + ", ".join(used[:5]) + ") and is not marked "
            "as a demo: demo data is never loaded into it. The demo uses its own fresh "
            "database; point SAFEGUARD_DATA_DIR at an empty directory (or remove ./var with "
            "`make clean`) and leave DATABASE_URL unset.")
    InstallationMark.objects.create(id=1, kind=InstallationMark.KIND_DEMO,
                                    marked_at=timezone.now(), marked_by=_os_user())
    _demo_mark_file_write()


def _demo_mark_file_write() -> None:
    """The data directory says it holds the demo, so ``safeguard totp`` runs in demo mode
    without SAFEGUARD_ENV (issue 15); the database's own mark stays the authority."""
    from safeguard.cli import DEMO_MARK_FILE

    if not settings.DEMO:  # tests mark their database without a data directory of their own
        return
    path = settings.DATA_DIR / DEMO_MARK_FILE
    if not path.exists():
        path.write_text("This data directory holds the Safeguard demo (published passwords). "
                        "Never use it for real data; remove it with `make clean`.\n")


@transaction.atomic
def installation_mark_production() -> None:
    """Mark an unmarked database as production (run after every production ``migrate``).

    A demo-marked database keeps its mark: production then refuses to start on it.
    """
    if not InstallationMark.objects.filter(id=1).exists():
        InstallationMark.objects.create(id=1, kind=InstallationMark.KIND_PRODUCTION,
                                        marked_at=timezone.now(), marked_by=_os_user())


def installation_require_demo() -> None:
    """Demo-only commands (demo loading, ``safeguard totp``) run only on a demo-marked database."""
    if selectors.installation_kind() != InstallationMark.KIND_DEMO:
        raise InstallationRefused(
            "This database is not marked as a demo database: demo-only commands refuse it. "
            "Run `safeguard demo` (SAFEGUARD_ENV=demo) to create the demo's own database.")


def installation_require_production() -> None:
    """Production processes refuse a demo-marked database or one holding demo users."""
    if selectors.installation_kind() == InstallationMark.KIND_DEMO:
        raise InstallationRefused(
            "This database is marked as a demo database (published passwords): production "
            "refuses to start on it. Set DATABASE_URL to the production database.")
    demo_users = selectors.demo_users_present()
    if demo_users:
        raise InstallationRefused(
            f"This database holds {len(demo_users)} demo user(s) ({demo_users[0]}, …) whose "
            "passwords are published: production refuses to start. Remove them with "
            "`safeguard user disable` and delete them, or use the production database.")

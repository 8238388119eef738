"""System checks of the governance app, ids safeguard.E540-E549.

* E540: the framework libraries or the controls file cannot be loaded (file, line and reason).
* E541: a control names an automated check that does not exist.
* E542: SAFEGUARD_BACKUP_DRILL_MAX_DAYS is not a positive number of days.
* E543: the database is PostgreSQL and pg_dump or pg_restore is not on PATH (backups and
  restore drills cannot run).
"""

from __future__ import annotations

from typing import Any

from django.core import checks


def library_loads(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from safeguard.governance import evaluators, selectors
    from safeguard.governance.library import LibraryError

    selectors.reset()
    try:
        lib = selectors.library()
    except LibraryError as exc:
        return [checks.Error(f"Governance library: {exc}",
                             hint="Fix the file (SAFEGUARD_GOVERNANCE_LIBRARY_DIR; "
                                  "docs/governance.md).", id="safeguard.E540")]
    unknown = sorted({c.check for c in lib.controls} - set(evaluators.REGISTRY))
    if unknown:
        return [checks.Error(f"Governance controls name unknown checks: {', '.join(unknown)}",
                             hint=f"Known checks: {', '.join(sorted(evaluators.REGISTRY))}.",
                             id="safeguard.E541")]
    return []


def backups_configured(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    import shutil

    from django.conf import settings
    from django.db import connection

    found: list[checks.CheckMessage] = []
    days = getattr(settings, "SAFEGUARD_BACKUP_DRILL_MAX_DAYS", 90)
    if not isinstance(days, int) or days < 1:
        found.append(checks.Error(
            f"SAFEGUARD_BACKUP_DRILL_MAX_DAYS must be a positive number of days, not {days!r}.",
            hint="docs/configuration.md, Governance.", id="safeguard.E542"))
    if connection.vendor == "postgresql":
        missing = [p for p in ("pg_dump", "pg_restore") if shutil.which(p) is None]
        if missing:
            found.append(checks.Error(
                f"{' and '.join(missing)} not found on PATH: `safeguard backup` cannot run.",
                hint="Install the PostgreSQL client matching the server.", id="safeguard.E543"))
    return found


def register() -> None:
    checks.register(library_loads)
    checks.register(backups_configured)

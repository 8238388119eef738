"""System checks of the governance app, ids safeguard.E540-E549.

* E540: the framework libraries or the controls file cannot be loaded (file, line and reason).
* E541: a control names an automated check that does not exist.
* E542: SAFEGUARD_BACKUP_DRILL_MAX_DAYS is not a positive number of days.
* E543: the database is PostgreSQL and pg_dump or pg_restore is not on PATH (backups and
  restore drills cannot run).
* E544: a SAFEGUARD_VULN_SLA_*_DAYS setting is negative, or critical/high has no deadline.
* E545: SAFEGUARD_VULN_SLA_SCORE_THRESHOLD is outside 0-10, or a scan/exception period is < 1.
* E546: a SAFEGUARD_WORKFORCE_* window is negative, or a required background-check type is
  unknown.
* E547: SAFEGUARD_WORKFORCE_IMPORT_MAX_BYTES is less than 1.

Registers, attestations and the calendar use ids safeguard.E550-E554:

* E550: SAFEGUARD_ATTESTATION_DEFAULT_CADENCE_DAYS is not a positive number of days.
* E551: SAFEGUARD_GOVERNANCE_EVIDENCE_MAX_BYTES is not within 1 byte..50 MiB.
* E552: SAFEGUARD_PENTEST_MAX_DAYS or SAFEGUARD_ASV_SCAN_MAX_DAYS is below 1.
* E553: SAFEGUARD_CALENDAR_HORIZON_DAYS is not within 1..3660.
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
    unknown = sorted({c.check for c in lib.controls if not c.manual} - set(evaluators.REGISTRY))
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


def vuln_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from django.conf import settings

    errors: list[checks.CheckMessage] = []
    days = {k: getattr(settings, f"SAFEGUARD_VULN_SLA_{k}_DAYS")
            for k in ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")}
    if min(days.values()) < 0 or days["CRITICAL"] < 1 or days["HIGH"] < 1:
        errors.append(checks.Error(
            f"Vulnerability SLA days invalid: {days}",
            hint="Days are 0 (no deadline) or more; critical and high need a deadline of at "
                 "least 1 day (docs/configuration.md).", id="safeguard.E544"))
    threshold = settings.SAFEGUARD_VULN_SLA_SCORE_THRESHOLD
    if not 0 <= threshold <= 10 or min(settings.SAFEGUARD_VULN_SCAN_MAX_DAYS,
                                       settings.SAFEGUARD_VULN_EXCEPTION_MAX_DAYS) < 1:
        errors.append(checks.Error(
            "SAFEGUARD_VULN_SLA_SCORE_THRESHOLD must be within 0-10 and "
            "SAFEGUARD_VULN_SCAN_MAX_DAYS, SAFEGUARD_VULN_EXCEPTION_MAX_DAYS at least 1",
            hint="docs/configuration.md", id="safeguard.E545"))
    return errors


def workforce_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from django.conf import settings

    from safeguard.governance.workforce import CHECK_TYPES

    errors: list[checks.CheckMessage] = []
    windows = {k: getattr(settings, f"SAFEGUARD_WORKFORCE_{k}")
               for k in ("CHECK_WARN_DAYS", "REFRESHER_LEAD_DAYS")}
    unknown = sorted(set(settings.SAFEGUARD_WORKFORCE_REQUIRED_CHECKS) - set(CHECK_TYPES))
    if any(not isinstance(v, int) or v < 0 for v in windows.values()) or unknown:
        errors.append(checks.Error(
            f"Workforce settings invalid: {windows}, unknown required check types {unknown}",
            hint=f"Days are 0 or more; check types are {', '.join(CHECK_TYPES)} "
                 "(docs/governance.md, Workforce).", id="safeguard.E546"))
    if settings.SAFEGUARD_WORKFORCE_IMPORT_MAX_BYTES < 1:
        errors.append(checks.Error(
            "SAFEGUARD_WORKFORCE_IMPORT_MAX_BYTES must be at least 1 byte.",
            hint="docs/governance.md, Workforce.", id="safeguard.E547"))
    return errors


EVIDENCE_CEILING = 50 * 1024 * 1024


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def register_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from django.conf import settings

    errors: list[checks.CheckMessage] = []
    cadence = settings.SAFEGUARD_ATTESTATION_DEFAULT_CADENCE_DAYS
    if not _positive_int(cadence):
        errors.append(checks.Error(
            f"SAFEGUARD_ATTESTATION_DEFAULT_CADENCE_DAYS must be at least 1 day, not {cadence!r}.",
            hint="docs/configuration.md, Governance.", id="safeguard.E550"))
    size = settings.SAFEGUARD_GOVERNANCE_EVIDENCE_MAX_BYTES
    if not _positive_int(size) or size > EVIDENCE_CEILING:
        errors.append(checks.Error(
            f"SAFEGUARD_GOVERNANCE_EVIDENCE_MAX_BYTES={size!r} is not within "
            f"1..{EVIDENCE_CEILING}.",
            hint="Evidence files are sealed and opened in memory.", id="safeguard.E551"))
    periods = {n: getattr(settings, n) for n in ("SAFEGUARD_PENTEST_MAX_DAYS",
                                                 "SAFEGUARD_ASV_SCAN_MAX_DAYS")}
    if not all(_positive_int(v) for v in periods.values()):
        errors.append(checks.Error(
            f"External validation periods must be at least 1 day: {periods}.",
            hint="docs/configuration.md, Governance.", id="safeguard.E552"))
    horizon = settings.SAFEGUARD_CALENDAR_HORIZON_DAYS
    if not _positive_int(horizon) or horizon > 3660:
        errors.append(checks.Error(
            f"SAFEGUARD_CALENDAR_HORIZON_DAYS={horizon!r} is not within 1..3660.",
            hint="docs/configuration.md, Governance.", id="safeguard.E553"))
    return errors


def register() -> None:
    checks.register(library_loads)
    checks.register(backups_configured)
    checks.register(vuln_settings)
    checks.register(workforce_settings)
    checks.register(register_settings)

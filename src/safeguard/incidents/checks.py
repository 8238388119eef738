"""System checks of the incidents app, ids safeguard.E520-E529.

* E520: the jurisdiction table (SAFEGUARD_INCIDENTS_JURISDICTIONS or the default file) cannot
  be loaded: a missing file, bad YAML, a row without citation or effective date, a notice with a
  bad period, or not exactly one regulator notice.
* E521: the SLA periods are out of order (triage <= containment <= eradication <= recovery).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


def jurisdiction_table_loads(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The regulator clocks refuse a broken table; say so at start."""
    from safeguard.incidents import clocks

    try:
        clocks.load_table(settings.SAFEGUARD_INCIDENTS_JURISDICTIONS or None)
    except (OSError, clocks.TableError) as exc:
        return [checks.Error(f"Jurisdiction table: {exc}",
                             hint="Fix the file named by SAFEGUARD_INCIDENTS_JURISDICTIONS "
                                  "(docs/incidents.md).", id="safeguard.E520")]
    except Exception as exc:  # noqa: BLE001 - bad YAML raises yaml's own error types
        return [checks.Error(f"Jurisdiction table unreadable: {exc}",
                             hint="Fix the file named by SAFEGUARD_INCIDENTS_JURISDICTIONS "
                                  "(docs/incidents.md).", id="safeguard.E520")]
    return []


def sla_periods_ordered(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Each later stage has at least as long as the one before (all count from awareness)."""
    hours = [settings.SAFEGUARD_INCIDENTS_SLA_TRIAGE_HOURS,
             settings.SAFEGUARD_INCIDENTS_SLA_CONTAINMENT_HOURS,
             settings.SAFEGUARD_INCIDENTS_SLA_ERADICATION_HOURS,
             settings.SAFEGUARD_INCIDENTS_SLA_RECOVERY_HOURS]
    if hours != sorted(hours):
        return [checks.Error(f"Incident SLA hours out of order: {hours}",
                             hint="triage <= containment <= eradication <= recovery, all from "
                                  "awareness (docs/incidents.md).", id="safeguard.E521")]
    return []


def register() -> None:
    checks.register(jurisdiction_table_loads)
    checks.register(sla_periods_ordered)

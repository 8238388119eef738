"""Periodic SIEM export: ships the forwarders of SAFEGUARD_SIEM_SINKS; does nothing when unset.

Registered by ``safeguard.audit.tasks`` importing this module (Huey discovers ``<app>.tasks``).
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task
from huey.exceptions import TaskLockedException

from safeguard.audit.siem import config
from safeguard.audit.siem.contracts import SiemConfigError
from safeguard.audit.siem.forwarder import Backoff, RunResult, build_forwarder

log = logging.getLogger(__name__)

# A run ends well inside its minute, so the next one finds the lock free; the lock's TTL frees
# it even if a worker dies mid-run.
RUN_SECONDS = 45.0
LOCK_TTL_SECONDS = 120


def siem_forward_all(*, max_seconds: float = RUN_SECONDS) -> dict[str, RunResult]:
    """Ship every configured forwarder's backlog, each under its own lock; returns what ran."""
    try:
        specs = config.configured_forwarders()
    except SiemConfigError as exc:
        log.error("SAFEGUARD_SIEM_SINKS is invalid, nothing shipped: %s", exc.detail)
        return {}
    results: dict[str, RunResult] = {}
    # An equal share each: a sink that is down must not starve the others of their turn.
    share = max_seconds / max(len(specs), 1)
    for spec in specs:
        try:
            with lock_task(f"siem-forward:{spec.name}", ttl=LOCK_TTL_SECONDS):
                forwarder = build_forwarder(spec, backoff=Backoff(base=0.5, cap=15.0))
                try:
                    results[spec.name] = forwarder.run(until_caught_up=True,
                                                       max_seconds=share)
                finally:
                    forwarder.close()
        except TaskLockedException:
            log.info("siem forwarder %s is still running elsewhere; skipped", spec.name)
        except SiemConfigError as exc:
            log.error("siem forwarder %s cannot start: %s", spec.name, exc.detail)
    return results


@db_periodic_task(crontab(minute="*"), name="audit.siem_forward")
def siem_forward() -> None:
    """Every minute: ship the backlog of each forwarder in SAFEGUARD_SIEM_SINKS (if any)."""
    siem_forward_all()

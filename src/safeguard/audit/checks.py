"""Deploy checks of the audit queue and integrator (``safeguard check --deploy``; issue 10,
decision 0180, R-IR-5). Ids safeguard.E250-E259 belong to this module."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

SAFETY_NET_SECONDS = 60  # the period of the audit.integrate_periodic job


def integration(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """E250: events are integrated inside every caller's transaction (serialised writers);
    E251: the inclusion bound is shorter than the safety-net job's period; E252: a batch or an
    after-commit run budget that cannot make progress; E253: the audit page's delay window
    out of range."""
    errors: list[checks.CheckMessage] = []
    if settings.SAFEGUARD_AUDIT_INTEGRATION == "in_transaction":
        errors.append(checks.Error(
            "SAFEGUARD_AUDIT_INTEGRATION=in_transaction integrates every audit event inside the "
            "caller's transaction: every request that records an event waits for one lock.",
            hint="Unset it (background is the default); in_transaction is for the test suite.",
            id="safeguard.E250"))
    if settings.SAFEGUARD_AUDIT_INTEGRATION_BOUND_SECONDS <= SAFETY_NET_SECONDS:
        errors.append(checks.Error(
            f"SAFEGUARD_AUDIT_INTEGRATION_BOUND_SECONDS="
            f"{settings.SAFEGUARD_AUDIT_INTEGRATION_BOUND_SECONDS} is not longer than the "
            f"{SAFETY_NET_SECONDS} s period of the integrator's safety-net job: `audit verify` "
            "would report a working integrator as stalled.",
            hint="Keep it at 120 (the default) or more.", id="safeguard.E251"))
    if (settings.SAFEGUARD_AUDIT_INTEGRATION_BATCH < 1
            or settings.SAFEGUARD_AUDIT_INTEGRATION_RUN_MS < 1):
        errors.append(checks.Error(
            "SAFEGUARD_AUDIT_INTEGRATION_BATCH and SAFEGUARD_AUDIT_INTEGRATION_RUN_MS must be at "
            "least 1: the integrator could not make progress.",
            hint="Unset them (1000 and 500 are the defaults).", id="safeguard.E252"))
    window = settings.SAFEGUARD_AUDIT_DELAY_WINDOW_EVENTS
    if not 10 <= window <= 100_000:
        errors.append(checks.Error(
            f"SAFEGUARD_AUDIT_DELAY_WINDOW_EVENTS={window} is outside 10..100000: the audit "
            "page's integration delay would rest on too few events or read too many rows.",
            hint="Unset it (1000 is the default).", id="safeguard.E253"))
    return errors


def register() -> None:
    checks.register(integration, "safeguard", deploy=True)

"""System checks of the metrics app (ids E560-E569; docs/metrics.md)."""

from __future__ import annotations

from typing import Any

from django.core import checks


def register() -> None:
    checks.register(check_targets, "safeguard")


def check_targets(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """E560: every KPI target setting is well formed (a number, or a band low <= high)."""
    from safeguard.metrics import kpis

    errors: list[checks.CheckMessage] = []
    for problem in kpis.target_problems():
        errors.append(checks.Error(problem, id="safeguard.E560"))
    return errors

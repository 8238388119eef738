"""System checks of the governance app, ids safeguard.E540-E549.

* E540: the framework libraries or the controls file cannot be loaded (file, line and reason).
* E541: a control names an automated check that does not exist.
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


def register() -> None:
    checks.register(library_loads)

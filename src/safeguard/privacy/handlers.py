"""Fulfilment handlers of data-subject requests (R-DATA-7): each app offers what it can do
for a request about one customer, and the privacy app calls every one it finds.

Actions (``RequestAction``): ``export`` (access, portability, CCPA know) returns the app's
tables about the customer, ``{table: [row, ...]}``, flat values only (a bundle writes one CSV
per table); ``rectify`` applies corrections the officer approved and returns what changed;
``restrict`` is told a processing of the customer is restricted or stopped and returns what the
app did about it. Erasure keeps its own plan (requests.erasure_plan): holds and statutory
periods decide, not each app.

Apps below the privacy app (customers, cases) cannot import it: the privacy app registers
their handlers from its own ``ready()`` with their public selectors and services. An app at or
above the privacy layer registers through ``safeguard.web.providers`` under
``dsr.<action>.<app>``; both are found by :func:`handlers`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from safeguard.web import providers

Handler = Callable[..., Any]
_local: dict[str, dict[str, Handler]] = {}
PROVIDER_PREFIX = "dsr."


def handler_register(*, action: str, app: str, handler: Handler) -> None:
    """Offer ``handler`` for ``action`` under the app's label (idempotent for one callable)."""
    current = _local.setdefault(action, {}).get(app)
    if current is not None and current is not handler:
        raise ValueError(f"a {action} handler of {app!r} is already registered")
    _local[action][app] = handler


def handlers(action: str) -> dict[str, Handler]:
    """Every handler of ``action`` by app label, sorted: the local registry, then providers."""
    found = dict(_local.get(action, {}))
    prefix = f"{PROVIDER_PREFIX}{action}."
    for name in providers.names(prefix):
        fn = providers.get(name)
        if fn is not None:
            found.setdefault(name[len(prefix):], fn)
    return dict(sorted(found.items()))


def flat_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with nested values (dicts, lists) turned into text, for CSV and for handlers that
    return nested data."""
    import json

    return [{k: (json.dumps(v, ensure_ascii=False, sort_keys=True)
                 if isinstance(v, dict | list) else v) for k, v in row.items()} for row in rows]

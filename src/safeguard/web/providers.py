"""A registry of named providers: how an app offers a figure or a check to apps that may not
import it.

The layers (ARCHITECTURE.md) let an app import only the apps below it. A KPI of the metrics app
can read the detection app's selectors directly, but ``governance`` and ``incidents`` sit side by
side, and an app that is not installed cannot be imported at all. The app that owns a figure
registers a callable here from its ``AppConfig.ready()``; the app that shows it looks the name
up and treats a missing name as *unavailable* — never as met (the rule of issues 13 and 14).

Names are dotted and documented by the app that registers them, for example
``kpi.mttd_seconds`` (detection) or ``control.exercises_on_time`` (incidents). Registering the
same name twice with a different callable is a programming error and raises.

This module imports nothing from any domain app: ``web`` is the bottom layer.
"""

from __future__ import annotations

from collections.abc import Callable
from threading import Lock
from typing import Any

_lock = Lock()
_providers: dict[str, Callable[..., Any]] = {}


class ProviderConflict(RuntimeError):
    """Two different callables were registered under one name."""


def register(name: str, provider: Callable[..., Any]) -> None:
    """Offer ``provider`` under ``name``. Registering the same callable again is a no-op (an
    ``AppConfig.ready()`` may run twice in tests); a different one raises ProviderConflict."""
    if not name or name != name.strip() or " " in name:
        raise ValueError(f"provider name must be a dotted name without spaces: {name!r}")
    with _lock:
        current = _providers.get(name)
        if current is not None and current is not provider:
            raise ProviderConflict(f"provider {name!r} is already registered by {current!r}")
        _providers[name] = provider


def get(name: str) -> Callable[..., Any] | None:
    """The callable registered under ``name``, or None when no installed app offers it."""
    return _providers.get(name)


def names(prefix: str = "") -> list[str]:
    """Every registered name starting with ``prefix``, sorted."""
    return sorted(n for n in _providers if n.startswith(prefix))

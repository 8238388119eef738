"""Per-caller counters of the vault (tokenize rate limit, R-OPS-2).

:func:`count` is the ONE function through which the vault touches counter storage, so it moves
to another store by changing its body only. It is a fixed-window counter in Django's default
cache, which is the durable, never-evicting security-state store (decision 0110: database rows
or Redis with noeviction; keys are keyed HMACs), so no actor id is stored and an attacker
cannot flush it.
"""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache


def count(*, scope: str, key: str, window_seconds: int, now: float | None = None
          ) -> tuple[int, int]:
    """Count one event for ``key`` in the current ``window_seconds`` window.

    Returns ``(events so far in this window, seconds until the window ends)``.
    """
    at = time.time() if now is None else now
    digest = hashlib.sha256(f"{scope}\x00{key}".encode()).hexdigest()[:32]
    cache_key = f"sg:vault:{scope}:{digest}:{int(at // window_seconds)}"
    cache.add(cache_key, 0, timeout=window_seconds + 1)
    try:
        used = int(cache.incr(cache_key))
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=window_seconds + 1)
        used = 1
    return used, int(window_seconds - (at % window_seconds)) + 1

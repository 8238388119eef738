"""Fixed-window counters in the security-state store (the default cache: database rows or
Redis that never evicts, decision 0110), shared by every process and machine: the vault's
tokenize limit (R-OPS-2) and the channels' rate limits use this one counter. Keys are keyed
HMACs (issue 17 item 9), never an id or an unkeyed hash of one; the store HMACs them again.
"""

from __future__ import annotations

import time

from django.core.cache import cache
from django.utils.crypto import salted_hmac


def key_for(scope: str, key: str, window_seconds: int, at: float) -> str:
    """The cache key of ``key``'s counter in ``scope`` for the window holding ``at``."""
    digest = salted_hmac("safeguard.protection.throttle", f"{scope}\x00{key}",
                         algorithm="sha256").hexdigest()[:32]
    return f"sg:rl:{scope}:{digest}:{int(at // window_seconds)}"


def count(*, scope: str, key: str, window_seconds: int, now: float | None = None
          ) -> tuple[int, int]:
    """Count one event for ``key`` in the current ``window_seconds`` window.

    Returns ``(events so far in this window, seconds until the window ends)``.
    """
    at = time.time() if now is None else now
    cache_key = key_for(scope, key, window_seconds, at)
    cache.add(cache_key, 0, timeout=window_seconds + 1)
    try:
        used = int(cache.incr(cache_key))
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=window_seconds + 1)
        used = 1
    return used, int(window_seconds - (at % window_seconds)) + 1


def used(*, scope: str, key: str, window_seconds: int, now: float | None = None) -> int:
    """Events counted for ``key`` in the current window (nothing counted)."""
    at = time.time() if now is None else now
    return int(cache.get(key_for(scope, key, window_seconds, at), 0))

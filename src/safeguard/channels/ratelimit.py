"""Fixed-window rate limits in the security-state store (the default cache: a database table,
or Redis that never evicts; docs/deploy.md), shared by every process and machine. Keys are
keyed HMACs (never an unkeyed hash someone could match against a list of addresses; issue 17
item 9), and the store HMACs them once more before storing."""

from __future__ import annotations

import re
import time

from django.core.cache import cache
from django.utils.crypto import salted_hmac

from safeguard.channels.contracts import RateLimited

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SPEC = re.compile(r"^([1-9][0-9]*)/([1-9][0-9]*)?([smhd])$")


def parse(spec: str) -> tuple[int, int]:
    """``"5/h"`` -> (5, 3600); ``"20/10m"`` -> (20, 600)."""
    match = _SPEC.match(spec.strip())
    if not match:
        raise ValueError(f"rate limit must look like 5/h or 20/10m, got {spec!r}")
    count, multiple, unit = match.groups()
    return int(count), int(multiple or 1) * _UNITS[unit]


def _key(scope: str, key: str, window: int, now: float) -> str:
    digest = salted_hmac("safeguard.channels.ratelimit", f"{scope}\x00{key}",
                         algorithm="sha256").hexdigest()[:32]
    return f"sg:rl:{scope}:{digest}:{int(now // window)}"


def hit(*, scope: str, key: str, limit: str, now: float | None = None) -> None:
    """Count one event for ``key`` in ``scope``; raise :class:`RateLimited` past the limit."""
    count, window = parse(limit)
    at = time.time() if now is None else now
    cache_key = _key(scope, key, window, at)
    cache.add(cache_key, 0, timeout=window + 1)
    try:
        used = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=window + 1)
        used = 1
    if used > count:
        retry = int(window - (at % window)) + 1
        raise RateLimited(f"At most {count} per {window} s; try again later.", retry_after=retry)


def remaining(*, scope: str, key: str, limit: str, now: float | None = None) -> int:
    """How many events ``key`` may still have in the current window (for tests and pages)."""
    count, window = parse(limit)
    at = time.time() if now is None else now
    return max(0, count - int(cache.get(_key(scope, key, window, at), 0)))

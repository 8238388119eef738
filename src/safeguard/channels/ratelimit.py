"""Rate limits of the channels ("5/h", "20/10m") on the protection app's fixed-window counter
in the security-state store (a database table, or Redis that never evicts; docs/deploy.md),
shared by every process and machine. Keys are keyed HMACs (never an unkeyed hash someone could
match against a list of addresses; issue 17 item 9)."""

from __future__ import annotations

import re

from safeguard.channels.contracts import RateLimited
from safeguard.protection import services as protection

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
    return protection.throttle_key(scope, key, window, now)


def hit(*, scope: str, key: str, limit: str, now: float | None = None) -> None:
    """Count one event for ``key`` in ``scope``; raise :class:`RateLimited` past the limit."""
    count, window = parse(limit)
    used, retry = protection.throttle_count(scope=scope, key=key, window_seconds=window, now=now)
    if used > count:
        raise RateLimited(f"At most {count} per {window} s; try again later.", retry_after=retry)


def remaining(*, scope: str, key: str, limit: str, now: float | None = None) -> int:
    """How many events ``key`` may still have in the current window (for tests and pages)."""
    count, window = parse(limit)
    return max(0, count - protection.throttle_used(scope=scope, key=key, window_seconds=window,
                                                   now=now))

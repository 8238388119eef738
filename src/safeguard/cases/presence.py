"""Who is on a case right now (issue 15, collision detection): a short-lived record per case in
the shared cache (the database store in the embedded setup, Redis when scaled out), so every
web process sees it. Holds user ids, e-mail addresses, a state and a time — nothing of the case.

One cache entry per case maps user id to ``[email, state, reported_at]``; entries older than
``SAFEGUARD_PRESENCE_TTL_SECONDS`` are dropped on read and write. Two reports at the same moment
may overwrite each other's entry; the next report (every ``SAFEGUARD_PRESENCE_SECONDS``) puts
it back, which is the accuracy a "someone else is here" hint needs.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache

VIEWING = "viewing"
REPLYING = "replying"
STATES = (VIEWING, REPLYING)


def _key(case_id: object) -> str:
    return f"cases.presence.{case_id}"


def _fresh(entries: dict[str, Any], now: float) -> dict[str, Any]:
    ttl = settings.SAFEGUARD_PRESENCE_TTL_SECONDS
    return {uid: e for uid, e in entries.items()
            if isinstance(e, list) and len(e) == 4 and now - float(e[2]) <= ttl}


def read(case_id: object) -> dict[str, Any]:
    """The fresh entries of a case: ``{user_id: [email, state, reported_at, typed_at]}``."""
    entries = cache.get(_key(case_id)) or {}
    return _fresh(entries if isinstance(entries, dict) else {}, time.time())


def write(case_id: object, *, user_id: int, email: str, state: str, typed: bool) -> None:
    """Record one person's report (``typed``: they typed in the composer since the last one)."""
    now = time.time()
    entries = read(case_id)
    previous = entries.get(str(user_id))
    typed_at = now if typed else (float(previous[3]) if previous else 0.0)
    entries[str(user_id)] = [email, state, now, typed_at]
    cache.set(_key(case_id), entries, timeout=settings.SAFEGUARD_PRESENCE_TTL_SECONDS * 2)

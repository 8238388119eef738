"""The event fields a Sigma rule may name, and how a dotted name reads a nested event dict.

The catalogue here is the one docs/detection.md ("Fields") prints; the loader refuses a rule
naming a field that is neither in it nor under one of the open prefixes (``data.``, ``context.``),
so a typo (``acton``) is a refused rule, not a rule that silently never fires (R-OPS-6).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

# name -> what an analyst needs to know. Order is the documentation order.
FIELDS: dict[str, str] = {
    "seq": "integer: the event's position in the integrated audit log (gap-free, increasing)",
    "at": "time the event was recorded (UTC); used for windows, not usually matched",
    "action": "what happened, `<area>.<verb>` (e.g. `customer.viewed`); see Actions",
    "outcome": "`success`, `failure` or `denied`",
    "actor.kind": "`user` (a signed-in person), `token` (an API token), `system`, `anonymous`",
    "actor.id": "the user's id, or the API token's id when `actor.kind` is `token`",
    "actor.label": "the user's e-mail address (the token owner's for tokens)",
    "subject.type": "what was acted on: `customer`, `case`, `user`, `api_token`, `token`, ...",
    "subject.id": "its id (customer ids are UUIDs)",
    "source_ip": "the client address the request came from (null for jobs)",
    "user_agent": "the client's User-Agent header (null for jobs)",
    "request_id": "the request's correlation id",
}
# Open prefixes: any key below them may be named (the event's own data, and the enrichment the
# Django side adds before evaluation; docs/detection.md lists the keys in use).
OPEN_PREFIXES = ("data.", "context.")

_MISSING = object()


def field_known(name: str) -> bool:
    """Whether a rule may name ``name`` (catalogued, or under an open prefix)."""
    return name in FIELDS or any(name.startswith(p) and len(name) > len(p) for p in OPEN_PREFIXES)


Getter = Callable[[Mapping[str, Any]], Any]


def getter(name: str) -> Getter:
    """A function reading dotted ``name`` from an event; a missing key reads as ``MISSING``."""
    parts = tuple(name.split("."))
    if len(parts) == 1:
        key = parts[0]
        return lambda event: event.get(key, _MISSING)
    if len(parts) == 2:
        first, second = parts

        def get2(event: Mapping[str, Any]) -> Any:
            inner = event.get(first)
            if isinstance(inner, Mapping):
                return inner.get(second, _MISSING)
            return _MISSING
        return get2

    def get_n(event: Mapping[str, Any]) -> Any:
        value: Any = event
        for part in parts:
            if not isinstance(value, Mapping):
                return _MISSING
            value = value.get(part, _MISSING)
            if value is _MISSING:
                return _MISSING
        return value
    return get_n


MISSING = _MISSING


def event_time(event: Mapping[str, Any]) -> float:
    """The event's time as POSIX seconds (``at`` is an aware datetime or an ISO 8601 string)."""
    at = event["at"]
    if isinstance(at, datetime):
        return at.timestamp()
    if isinstance(at, (int, float)):
        return float(at)
    return datetime.fromisoformat(str(at).replace("Z", "+00:00")).timestamp()


def entity_of(field_name: str, event: Mapping[str, Any], value: Any) -> str:
    """How a grouped value is named in a finding: ``user:3``, ``customer:17``, ``ip:192.0.2.7``."""
    if field_name == "actor.id":
        actor = event.get("actor")
        kind = actor.get("kind", "actor") if isinstance(actor, Mapping) else "actor"
        return f"{kind}:{value}"
    if field_name == "subject.id":
        subject = event.get("subject")
        kind = subject.get("type", "subject") if isinstance(subject, Mapping) else "subject"
        return f"{kind}:{value}"
    if field_name == "source_ip":
        return f"ip:{value}"
    return f"{field_name}={value}"


def actor_entity(event: Mapping[str, Any]) -> str:
    """The default entity of an event: its actor, or its address when the actor is anonymous."""
    actor = event.get("actor")
    if isinstance(actor, Mapping) and actor.get("kind") not in (None, "anonymous"):
        return f"{actor.get('kind')}:{actor.get('id')}"
    ip = event.get("source_ip")
    return f"ip:{ip}" if ip else "anonymous"

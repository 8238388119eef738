"""The canonical byte encoding of an audit event: what the Merkle tree commits to (R-IR-5).

Pure: no Django. Version 1 is compact JSON with sorted keys over every field of the event,
including its sequence number (so a row moved to another position no longer matches its leaf)
and its time in UTC with microseconds. Anyone holding an exported event can recompute its leaf
hash with ``merkle.leaf_hash(canonical_entry(fields))``; docs/audit.md specifies the format.
"""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

VERSION = 1


@lru_cache(maxsize=4096)
def normalise_ip(value: str | None) -> str | None:
    """The compressed form a database returns for an address, so hashing is storage-stable."""
    if not value:
        return None
    return _compressed(value)


@lru_cache(maxsize=256)
def _compressed(value: str) -> str:
    # A request's events share its address: parsed once (issue 10, the per-event cost). An
    # invalid address raises every time (exceptions are not remembered).
    return ipaddress.ip_address(value).compressed


def normalise_data(data: Any) -> Any:
    """A JSON round trip: what a JSON column gives back is what gets hashed.

    Non-integer numbers become strings: PostgreSQL's jsonb re-formats them (1e16 comes back as
    10000000000000000), which would read as tampering; integers and booleans round-trip exactly.
    """
    return _floats_as_text(json.loads(json.dumps(data, ensure_ascii=False, sort_keys=True,
                                                 default=str)))


def _floats_as_text(value: Any) -> Any:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict):
        return {k: _floats_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats_as_text(v) for v in value]
    return value


def format_time(at: datetime) -> str:
    """UTC, microsecond precision, 'Z' suffix; naive datetimes are refused."""
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_entry(  # noqa: PLR0913 - one keyword per committed field, on purpose
    *,
    seq: int,
    at: datetime,
    actor_kind: str,
    actor_id: str,
    actor_label: str,
    action: str,
    subject_type: str,
    subject_id: str,
    outcome: str,
    source_ip: str | None,
    user_agent: str,
    request_id: str,
    data: Any,
) -> bytes:
    """The bytes of one event as the Merkle tree commits to them."""
    doc = {
        "v": VERSION,
        "seq": seq,
        "at": format_time(at),
        "actor": {"kind": actor_kind, "id": actor_id, "label": actor_label},
        "action": action,
        "subject": {"type": subject_type, "id": subject_id},
        "outcome": outcome,
        "source_ip": normalise_ip(source_ip),
        "user_agent": user_agent,
        "request_id": request_id,
        "data": data,
    }
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()

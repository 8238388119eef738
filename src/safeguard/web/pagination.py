"""Cursor pagination for the API: stable under inserts, opaque to clients, O(page) per request.

The cursor encodes the last seen ordering key; it is signed so a client cannot forge one that
skips the scope filter of the queryset it pages through.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core import signing
from django.db.models import QuerySet

from safeguard.web.errors import ApplicationError

T = TypeVar("T")
_SALT = "safeguard.pagination.cursor"
MAX_LIMIT = 200


class InvalidCursor(ApplicationError):
    """The cursor was not issued by this server for this listing."""

    status = 400
    code = "invalid-cursor"
    title = "Invalid cursor"


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results and the cursor of the next one (None at the end)."""

    items: list[T]
    next_cursor: str | None


def encode_cursor(last_key: Any, *, scope: str) -> str:
    """Sign the last key seen; the scope names the listing so cursors are not portable."""
    raw = signing.dumps({"k": last_key, "s": scope}, salt=_SALT, compress=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, scope: str) -> Any:
    """Return the last key a cursor carries, or raise InvalidCursor."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = signing.loads(base64.urlsafe_b64decode(padded).decode(), salt=_SALT)
    except (signing.BadSignature, ValueError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidCursor("The cursor is malformed or was not issued here.") from exc
    if not isinstance(data, dict) or data.get("s") != scope:
        raise InvalidCursor("The cursor belongs to another listing.")
    return data.get("k")


def paginate(
    queryset: QuerySet[Any], *, cursor: str | None, limit: int, scope: str, key: str = "id"
) -> Page[Any]:
    """Page a queryset by ascending ``key`` (unique, indexed) after the cursor's key."""
    if limit < 1 or limit > MAX_LIMIT:
        raise ApplicationError(f"limit must be between 1 and {MAX_LIMIT}")
    qs = queryset.order_by(key)
    if cursor:
        qs = qs.filter(**{f"{key}__gt": decode_cursor(cursor, scope=scope)})
    rows = list(qs[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(getattr(rows[-1], key), scope=scope) if has_more else None
    return Page(items=rows, next_cursor=next_cursor)

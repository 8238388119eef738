"""Reads of forwarder cursors."""

from __future__ import annotations

from safeguard.audit import selectors as audit_selectors
from safeguard.audit.siem.contracts import CursorView
from safeguard.audit.siem.models import ForwarderCursor


def cursor_position(*, name: str) -> int:
    """The last seq the forwarder ``name`` delivered (0 when it never shipped anything)."""
    row = ForwarderCursor.objects.filter(name=name).values_list("last_seq", flat=True).first()
    return row or 0


def cursor_list() -> list[CursorView]:
    """Every forwarder cursor with its lag behind the newest event, by name."""
    newest = audit_selectors.last_seq()
    return [
        CursorView(name=c.name, last_seq=c.last_seq, updated_at=c.updated_at,
                   lag=max(newest - c.last_seq, 0))
        for c in ForwarderCursor.objects.order_by("name")
    ]

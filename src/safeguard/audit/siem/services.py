"""Writes of forwarder cursors: create, advance after delivery, and an audited operator reset."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from safeguard.audit import selectors as audit_selectors
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.audit.siem.contracts import CursorConflict, SiemConfigError
from safeguard.audit.siem.models import ForwarderCursor


@transaction.atomic
def cursor_ensure(*, name: str) -> int:
    """The cursor of ``name``, created at 0 (ship from the first event) when missing."""
    cursor, _ = ForwarderCursor.objects.get_or_create(name=name)
    return cursor.last_seq


@transaction.atomic
def cursor_advance(*, name: str, from_seq: int, to_seq: int) -> None:
    """Move the cursor from ``from_seq`` to ``to_seq`` after the sink accepted that range.

    A compare-and-set: if the cursor is no longer at ``from_seq``, another forwarder with the
    same name moved it, and CursorConflict stops this one instead of racing it.
    """
    if to_seq < from_seq:
        raise ValueError("a forwarder cursor only moves forward")
    moved = ForwarderCursor.objects.filter(name=name, last_seq=from_seq).update(
        last_seq=to_seq, updated_at=timezone.now())
    if moved != 1:
        raise CursorConflict(
            f"the cursor of forwarder {name!r} is no longer at {from_seq}: another forwarder "
            "with the same name is running (run one forwarder per name)", name=name)


@transaction.atomic
def cursor_reset(*, name: str, to_seq: int, actor: Actor) -> int:
    """Move a cursor back to replay events or ahead to skip them; audited. Returns the old seq."""
    newest = audit_selectors.last_seq()
    if not 0 <= to_seq <= newest:
        raise SiemConfigError(f"--to must be between 0 and the newest sequence number {newest}")
    cursor = ForwarderCursor.objects.select_for_update().filter(name=name).first()
    if cursor is None:
        raise SiemConfigError(f"no forwarder cursor named {name!r}")
    before = cursor.last_seq
    cursor.last_seq = to_seq
    cursor.save(update_fields=["last_seq", "updated_at"])
    audit.record(action="siem.cursor_reset", actor=actor, subject=("siem_forwarder", name),
                 data={"from_seq": before, "to_seq": to_seq})
    return before

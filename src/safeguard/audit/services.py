"""The one way to write the audit log (R-IR-5, R-OPS-8).

``record`` must be called inside the transaction of the action it describes, so the action and its
event commit or roll back together. Appends are serialised through a row lock on the sequence
counter, so concurrent writers produce one gap-free total order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from safeguard.audit import context
from safeguard.audit.contracts import Actor
from safeguard.audit.models import Event, Sequence

_OUTCOMES = {"success", "failure", "denied"}


def record(
    *,
    action: str,
    actor: Actor,
    subject: tuple[str, object] | None = None,
    outcome: str = "success",
    data: Mapping[str, Any] | None = None,
) -> int:
    """Append one event and return its sequence number; joins the caller's transaction."""
    if outcome not in _OUTCOMES:
        raise ValueError(f"outcome must be one of {sorted(_OUTCOMES)}")
    if not action or "." not in action:
        raise ValueError("action must be a dotted name such as 'case.viewed'")
    ctx = context.current()
    with transaction.atomic():
        counter, _ = Sequence.objects.select_for_update().get_or_create(id=1)
        counter.last_seq += 1
        counter.save(update_fields=["last_seq"])
        Event.objects.create(
            seq=counter.last_seq,
            at=timezone.now(),
            actor_kind=actor.kind,
            actor_id=actor.id,
            actor_label=actor.label[:254],
            action=action,
            subject_type=subject[0] if subject else "",
            subject_id=str(subject[1]) if subject else "",
            outcome=outcome,
            source_ip=ctx.source_ip,
            user_agent=ctx.user_agent,
            request_id=ctx.request_id,
            data=dict(data or {}),
        )
    return counter.last_seq

"""Reads of the audit log; hands out frozen EventView, never ORM rows."""

from __future__ import annotations

from django.db.models import QuerySet

from safeguard.audit.contracts import Actor, EventView
from safeguard.audit.models import Event


def _view(e: Event) -> EventView:
    return EventView(
        seq=e.seq, at=e.at, actor=Actor(kind=e.actor_kind, id=e.actor_id, label=e.actor_label),  # type: ignore[arg-type]
        action=e.action, subject_type=e.subject_type, subject_id=e.subject_id,
        outcome=e.outcome, source_ip=e.source_ip, user_agent=e.user_agent,
        request_id=e.request_id, data=dict(e.data),
    )


def event_list(
    *,
    action: str | None = None,
    actor_id: str | None = None,
    subject: tuple[str, object] | None = None,
    limit: int = 100,
) -> list[EventView]:
    """Newest events first, filtered by exact action, actor id or subject."""
    qs: QuerySet[Event] = Event.objects.all()
    if action:
        qs = qs.filter(action=action)
    if actor_id:
        qs = qs.filter(actor_id=actor_id)
    if subject:
        qs = qs.filter(subject_type=subject[0], subject_id=str(subject[1]))
    return [_view(e) for e in qs.order_by("-seq")[:limit]]

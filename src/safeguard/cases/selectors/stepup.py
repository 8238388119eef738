"""Reads of the forced step-up of queues (incident containment, decision 0226)."""

from __future__ import annotations

from safeguard.cases.contracts import QueueView
from safeguard.cases.models import Queue


def case_needs_step_up(*, number: int) -> bool:
    """Is the case with this number in a queue under forced step-up? (False for no case.)"""
    return Queue.objects.filter(cases__number=number, step_up_forced_at__isnull=False).exists()


def queues_forced() -> list[QueueView]:
    """The queues under forced step-up."""
    return [QueueView(id=q.id, slug=q.slug, name=q.name,
                      first_response_minutes=q.first_response_minutes,
                      resolution_minutes=q.resolution_minutes, is_active=q.is_active)
            for q in Queue.objects.filter(step_up_forced_at__isnull=False).order_by("slug")]

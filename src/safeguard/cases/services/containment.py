"""Incident containment on a queue (decision 0226): force a fresh second factor for every
opening of the queue's cases, and release it. Called by the incidents app; audited here."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.cases.contracts import QueueNotFound, QueueView
from safeguard.cases.models import Queue
from safeguard.web.errors import ApplicationError


class QueueStepUpError(ApplicationError):
    """The queue is already (or not) under forced step-up."""

    code = "queue-step-up"
    title = "Queue step-up refused"


def _view(q: Queue) -> QueueView:
    return QueueView(id=q.id, slug=q.slug, name=q.name,
                     first_response_minutes=q.first_response_minutes,
                     resolution_minutes=q.resolution_minutes, is_active=q.is_active)


@transaction.atomic
def queue_step_up_force(*, actor: Actor, queue_id: int, reason: str) -> QueueView:
    """From now on every opening of this queue's cases needs a fresh step-up and tokens are
    refused, until released. ``reason`` is screened by the caller. Forcing twice is an error."""
    queue = Queue.objects.select_for_update().filter(id=queue_id).first()
    if queue is None:
        raise QueueNotFound(f"No queue {queue_id}.")
    if queue.step_up_forced_at is not None:
        raise QueueStepUpError(f"Queue {queue.slug} is already under forced step-up "
                               f"(since {queue.step_up_forced_at:%Y-%m-%d %H:%M}).")
    queue.step_up_forced_at = timezone.now()
    queue.step_up_forced_by = actor.label[:200]
    queue.step_up_reason = reason.strip()[:500]
    queue.save(update_fields=["step_up_forced_at", "step_up_forced_by", "step_up_reason"])
    audit.record(action="queue.step_up_forced", actor=actor, subject=("queue", queue.id),
                 data={"slug": queue.slug})
    return _view(queue)


@transaction.atomic
def queue_step_up_release(*, actor: Actor, queue_id: int) -> QueueView:
    """End the forced step-up of a queue (audited); releasing a queue not under it is an error."""
    queue = Queue.objects.select_for_update().filter(id=queue_id).first()
    if queue is None:
        raise QueueNotFound(f"No queue {queue_id}.")
    if queue.step_up_forced_at is None:
        raise QueueStepUpError(f"Queue {queue.slug} is not under forced step-up.")
    queue.step_up_forced_at = None
    queue.step_up_forced_by = ""
    queue.step_up_reason = ""
    queue.save(update_fields=["step_up_forced_at", "step_up_forced_by", "step_up_reason"])
    audit.record(action="queue.step_up_released", actor=actor, subject=("queue", queue.id),
                 data={"slug": queue.slug})
    return _view(queue)


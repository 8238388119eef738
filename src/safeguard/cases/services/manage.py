"""Queues, their members and SLA targets, and macros (``queues.manage``)."""

from __future__ import annotations

from django.db import transaction

from safeguard.accounts.contracts import Principal
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.cases import permissions as perm
from safeguard.cases import placeholders
from safeguard.cases.contracts import InvalidInput, QueueExists, QueueNotFound
from safeguard.cases.models import Macro, Queue, QueueMembership
from safeguard.web.errors import NotFound, PermissionDenied


def _require_manage(principal: Principal | None) -> None:
    if principal is not None and not principal.has(perm.QUEUES_MANAGE):
        raise PermissionDenied(f"This needs the permission {perm.QUEUES_MANAGE}.")


def _check_targets(*minutes: int | None) -> None:
    for m in minutes:
        if m is not None and (m < 1 or m > 60 * 24 * 365):
            raise InvalidInput("SLA targets are whole minutes between 1 and a year.")


@transaction.atomic
def queue_create(*, actor: Actor, slug: str, name: str, first_response_minutes: int | None = None,
                 resolution_minutes: int | None = None,
                 principal: Principal | None = None) -> int:
    """Create a queue with its SLA targets (minutes; None for no target)."""
    _require_manage(principal)
    _check_targets(first_response_minutes, resolution_minutes)
    slug = slug.strip().lower()
    if not slug or not name.strip() or len(slug) > 50:
        raise InvalidInput("A queue needs a slug (at most 50 characters) and a name.")
    if Queue.objects.filter(slug=slug).exists():
        raise QueueExists(f"A queue {slug!r} exists.")
    queue = Queue.objects.create(slug=slug, name=name.strip()[:100],
                                 first_response_minutes=first_response_minutes,
                                 resolution_minutes=resolution_minutes)
    audit.record(action="queue.created", actor=actor, subject=("queue", queue.id),
                 data={"slug": slug, "first_response_minutes": first_response_minutes,
                       "resolution_minutes": resolution_minutes})
    return queue.id


@transaction.atomic
def queue_update(*, actor: Actor, slug: str, name: str, first_response_minutes: int | None,
                 resolution_minutes: int | None, is_active: bool = True,
                 principal: Principal | None = None) -> None:
    """Change a queue's name, targets or state; new targets apply to cases created after."""
    _require_manage(principal)
    _check_targets(first_response_minutes, resolution_minutes)
    queue = Queue.objects.select_for_update().filter(slug=slug).first()
    if queue is None:
        raise QueueNotFound(f"No queue {slug!r}.")
    queue.name = name.strip()[:100] or queue.name
    queue.first_response_minutes = first_response_minutes
    queue.resolution_minutes = resolution_minutes
    queue.is_active = is_active
    queue.save()
    audit.record(action="queue.updated", actor=actor, subject=("queue", queue.id),
                 data={"slug": slug, "first_response_minutes": first_response_minutes,
                       "resolution_minutes": resolution_minutes, "active": is_active})


@transaction.atomic
def queue_member_add(*, actor: Actor, slug: str, user_id: int, is_supervisor: bool = False,
                     principal: Principal | None = None) -> None:
    """Let a user work a queue (idempotent; updates the supervisor flag)."""
    _require_manage(principal)
    queue = Queue.objects.filter(slug=slug).first()
    if queue is None:
        raise QueueNotFound(f"No queue {slug!r}.")
    from safeguard.accounts import selectors as accounts

    accounts.user_get(user_id=user_id)  # UserNotFound for a bad id
    membership, created = QueueMembership.objects.get_or_create(
        queue=queue, user_id=user_id, defaults={"is_supervisor": is_supervisor})
    if not created and membership.is_supervisor == is_supervisor:
        return
    if not created:
        membership.is_supervisor = is_supervisor
        membership.save(update_fields=["is_supervisor"])
    audit.record(action="queue.member_added", actor=actor, subject=("queue", queue.id),
                 data={"slug": slug, "user": user_id, "supervisor": is_supervisor})


@transaction.atomic
def queue_member_remove(*, actor: Actor, slug: str, user_id: int,
                        principal: Principal | None = None) -> None:
    """Stop a user working a queue (their assigned cases stay assigned and visible to them)."""
    _require_manage(principal)
    deleted, _ = QueueMembership.objects.filter(queue__slug=slug, user_id=user_id).delete()
    if deleted:
        audit.record(action="queue.member_removed", actor=actor, subject=("queue", slug),
                     data={"slug": slug, "user": user_id})


@transaction.atomic
def macro_save(*, actor: Actor, name: str, body: str, queue: str | None = None,
               macro_id: int | None = None, principal: Principal | None = None) -> int:
    """Create or change a canned reply. Its placeholders must be known ones
    (``cases.placeholders``): a typo such as ``{first_name}`` is refused, never sent as is."""
    _require_manage(principal)
    if not name.strip() or not body.strip() or len(body) > 10_000:
        raise InvalidInput("A macro needs a name and a body of at most 10,000 characters.")
    bad = placeholders.unknown(body)
    if bad:
        known = ", ".join("{" + k + "}" for k in placeholders.KNOWN)
        raise InvalidInput(f"Unknown placeholder {{{bad[0]}}} in the macro; use {known}.",
                           placeholders=bad)
    queue_obj = None
    if queue:
        queue_obj = Queue.objects.filter(slug=queue).first()
        if queue_obj is None:
            raise QueueNotFound(f"No queue {queue!r}.")
    if macro_id is None:
        macro = Macro.objects.create(name=name.strip()[:100], body=body, queue=queue_obj)
    else:
        found = Macro.objects.select_for_update().filter(id=macro_id).first()
        if found is None:
            raise NotFound(f"No macro {macro_id}.")
        macro = found
        macro.name, macro.body, macro.queue = name.strip()[:100], body, queue_obj
        macro.save()
    audit.record(action="macro.saved", actor=actor, subject=("macro", macro.id),
                 data={"name": macro.name, "queue": queue or ""})
    return macro.id


@transaction.atomic
def macro_delete(*, actor: Actor, macro_id: int, principal: Principal | None = None) -> None:
    _require_manage(principal)
    deleted, _ = Macro.objects.filter(id=macro_id).delete()
    if deleted:
        audit.record(action="macro.deleted", actor=actor, subject=("macro", macro_id))


@transaction.atomic
def macro_use_denied(*, actor: Actor, macro_id: int, case_number: int) -> None:
    """Record a request for a macro not offered in that case (another queue's, or none)."""
    audit.record(action="macro.use_denied", actor=actor, subject=("macro", macro_id),
                 outcome="denied", data={"case": case_number})

"""Containment actions beyond disabling a user and revoking a token (R-IR-7; decision 0226):
freeze every data export, force step-up for a queue's cases, start a key rotation.

Each calls the owning app's real service inside the incident's transaction, so it takes effect
at the commit of the request that asked for it; each is a ``ContainmentAction`` row (who, when,
why) plus the incident's audit event, and the owning app records its own. ``reverse_effect``
undoes the reversible ones (freeze, queue step-up) for ``services.containment_reverse``.
"""

from __future__ import annotations

from django.db import transaction

from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor, AuditError
from safeguard.cases import selectors as case_selectors
from safeguard.cases import services as case_services
from safeguard.incidents import selectors
from safeguard.incidents.contracts import ActionView, IncidentError
from safeguard.incidents.enums import ContainmentKind
from safeguard.protection import selectors as protection_selectors
from safeguard.protection import services as protection
from safeguard.protection.contracts import JobView
from safeguard.protection.enums import KeysetName
from safeguard.web.errors import ApplicationError

KEYSETS = tuple(KeysetName.values)


@transaction.atomic
def contain_exports_freeze(*, actor: Actor, incident_id: int, reason: str) -> ActionView:
    """Freeze every data export (audit.exports_freeze) until reversed: the next export request
    is refused (423) and recorded."""
    from safeguard.incidents import services as s  # it imports this module for reversal

    row = s._open_for_containment(incident_id)
    clean = s._text(reason, field="incidents.containment_reason", limit=200)
    try:
        freeze = audit.exports_freeze(actor=actor, reason=clean, reference=f"incident {row.id}")
    except AuditError as exc:
        raise IncidentError(exc.detail) from exc
    return s._contained(actor=actor, row=row, kind=ContainmentKind.EXPORTS_FREEZE,
                        target_id=freeze.id, label="every data export", reason=clean)


@transaction.atomic
def contain_queue_step_up(*, actor: Actor, incident_id: int, queue_id: int,
                          reason: str) -> ActionView:
    """Force a fresh second factor for every opening of one queue's cases (API tokens refused)
    until reversed."""
    from safeguard.incidents import services as s  # it imports this module for reversal

    row = s._open_for_containment(incident_id)
    clean = s._text(reason, field="incidents.containment_reason", limit=200)
    try:
        queue = case_services.queue_step_up_force(actor=actor, queue_id=queue_id,
                                                  reason=f"incident {row.id}: {clean}")
    except ApplicationError as exc:
        raise IncidentError(exc.detail) from exc
    return s._contained(actor=actor, row=row, kind=ContainmentKind.QUEUE_STEP_UP,
                        target_id=queue.id, label=f"queue {queue.slug}", reason=clean)


@transaction.atomic
def contain_key_rotation(*, actor: Actor, incident_id: int, keysets: list[str],
                         reason: str) -> ActionView:
    """Start a key rotation through protection: a new primary key per keyset now, and the
    re-encryption job queued at commit. Its id is the action's target; not reversible."""
    from safeguard.incidents import services as s  # it imports this module for reversal

    row = s._open_for_containment(incident_id)
    clean = s._text(reason, field="incidents.containment_reason", limit=200)
    names = list(dict.fromkeys(keysets))
    unknown = [k for k in names if k not in KEYSETS]
    if not names or unknown:
        raise IncidentError(f"Name keysets among {', '.join(KEYSETS)}.")
    try:
        job = protection.keys_rotate(keysets=names, actor=actor)
    except ApplicationError as exc:
        raise IncidentError(exc.detail) from exc
    return s._contained(actor=actor, row=row, kind=ContainmentKind.KEY_ROTATION,
                        target_id=job.id, label=f"rotation job {job.id} ({', '.join(names)})",
                        reason=clean)


def reverse_effect(*, actor: Actor, kind: str, target_id: int, reason: str) -> None:
    """Undo a reversible containment's effect in its owning app; refuse the others."""
    try:
        if kind == ContainmentKind.EXPORTS_FREEZE:
            audit.exports_unfreeze(actor=actor, freeze_id=target_id, reason=reason)
        elif kind == ContainmentKind.QUEUE_STEP_UP:
            case_services.queue_step_up_release(actor=actor, queue_id=target_id)
        elif kind == ContainmentKind.TOKEN_REVOKE:
            raise IncidentError("A revoked token cannot be restored; issue a new one.")
        elif kind == ContainmentKind.KEY_ROTATION:
            raise IncidentError("A key rotation cannot be undone; the old keys stay readable "
                                "until the job has moved every row.")
        else:
            raise IncidentError(f"{kind} cannot be reversed here.")
    except IncidentError:
        raise
    except ApplicationError as exc:
        raise IncidentError(exc.detail) from exc


def rotation_jobs(*, incident_id: int) -> dict[int, JobView]:
    """The progress of every rotation job an incident started, by job id."""
    out: dict[int, JobView] = {}
    for action in selectors.action_list(incident_id=incident_id):
        if action.kind == ContainmentKind.KEY_ROTATION:
            job = protection_selectors.rotation_job_get(job_id=action.target_id)
            if job is not None:
                out[action.target_id] = job
    return out


def queue_choices() -> list[tuple[int, str]]:
    """Every active queue, for the step-up form."""
    return [(q.id, f"{q.name} ({q.slug})") for q in case_selectors.queue_list() if q.is_active]

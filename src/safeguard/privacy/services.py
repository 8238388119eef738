"""Writes of the privacy app: legal holds and retention sweeps (R-DATA-3, R-REG-4).

Every write records its audit event in the same transaction (STYLE.md rule 6). The sweep's
engine is in :mod:`safeguard.privacy.sweep`; its entry points are re-exported here.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from safeguard.accounts.contracts import Principal
from safeguard.audit import services as audit
from safeguard.cases import selectors as case_selectors
from safeguard.customers import selectors as customer_selectors
from safeguard.privacy.contracts import HoldError, HoldView
from safeguard.privacy.enums import HoldScope
from safeguard.privacy.models import LegalHold
from safeguard.privacy.selectors import hold_view
from safeguard.privacy.sweep import sweep_batch, sweep_run, sweep_start
from safeguard.protection import services as protection
from safeguard.web.errors import NotFound

__all__ = ["legal_hold_place", "legal_hold_release", "sweep_batch", "sweep_run", "sweep_start"]

REASON_MAX = 1000


@transaction.atomic
def legal_hold_place(*, principal: Principal, scope: str, target_id: str,
                     reason: str) -> HoldView:
    """Place a hold on an existing customer or case; from now on the sweep skips it."""
    if scope not in HoldScope.values:
        raise HoldError(f"Scope must be one of {', '.join(HoldScope.values)}.")
    target_id = target_id.strip()
    reason = reason.strip()
    if not reason or len(reason) > REASON_MAX:
        raise HoldError(f"A reason of 1 to {REASON_MAX} characters is required.")
    exists = (customer_selectors.customer_exists(customer_id=target_id)
              if scope == HoldScope.CUSTOMER
              else case_selectors.retention_case_exists(case_id=target_id))
    if not exists:
        raise NotFound(f"No {scope} with that id.")
    if LegalHold.objects.filter(scope=scope, target_id=target_id,
                                released_at__isnull=True).exists():
        raise HoldError(f"That {scope} is already under an active legal hold.")
    hold = LegalHold.objects.create(
        scope=scope, target_id=target_id,
        reason=protection.screen(reason, field="privacy.hold_reason").text,
        placed_by_id=principal.user_id, placed_at=timezone.now())
    audit.record(action="legal_hold.placed", actor=principal.actor,
                 subject=("legal_hold", hold.id), data={"scope": scope, "target": target_id})
    return hold_view(hold)


def legal_hold_release(*, principal: Principal, hold_id: str) -> HoldView:
    """Release an active hold; the person who placed it cannot release it (four eyes). The
    refusal is recorded outside the rolled-back work, so the log keeps it."""
    with transaction.atomic():
        try:
            hold = LegalHold.objects.select_for_update().filter(id=hold_id).first()
        except (ValueError, ValidationError):
            hold = None
        if hold is None:
            raise NotFound("No such legal hold.")
        if hold.released_at is not None:
            raise HoldError("That legal hold is already released.")
        if hold.placed_by_id != principal.user_id:
            hold.released_by_id = principal.user_id
            hold.released_at = timezone.now()
            hold.save(update_fields=["released_by", "released_at"])
            audit.record(action="legal_hold.released", actor=principal.actor,
                         subject=("legal_hold", hold.id),
                         data={"scope": hold.scope, "target": hold.target_id})
            return hold_view(hold)
    audit.record(action="legal_hold.release_refused", actor=principal.actor,
                 subject=("legal_hold", hold.id), outcome="denied",
                 data={"why": "same person who placed it"})
    raise HoldError("A legal hold is released by a second person, not by whoever placed it.")

"""Writes of the privacy app: legal holds and retention sweeps (R-DATA-3, R-REG-4).

Every write records its audit event in the same transaction (STYLE.md rule 6). The sweep's
engine is in :mod:`safeguard.privacy.sweep`; its entry points are re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

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
from safeguard.privacy.sweep import query_kwargs, sweep_batch, sweep_run, sweep_start
from safeguard.protection import services as protection
from safeguard.web.errors import NotFound

__all__ = ["hold_query_clean", "hold_query_matches", "legal_hold_place", "legal_hold_release",
           "sweep_batch", "sweep_run", "sweep_start"]

REASON_MAX = 1000
#: What a query-scoped hold may name (cases.selectors.retention_cases_matching).
QUERY_FIELDS: tuple[str, ...] = ("queue", "tag", "created_from", "created_to")


def hold_query_clean(query: Mapping[str, Any]) -> dict[str, str]:
    """A hold query checked and normalised: at least one of an existing queue (slug), an
    existing tag, a creation date range (ISO dates, from <= to); nothing else."""
    unknown = set(query) - set(QUERY_FIELDS)
    if unknown:
        raise HoldError(f"Unknown query field: {', '.join(sorted(unknown))}.")
    clean = {k: str(query.get(k) or "").strip() for k in QUERY_FIELDS}
    clean = {k: v for k, v in clean.items() if v}
    if not clean:
        raise HoldError("A query hold needs a queue, a tag or a date range.")
    if "queue" in clean and not case_selectors.retention_queue_exists(slug=clean["queue"]):
        raise HoldError(f"No queue {clean['queue']!r}.")
    if "tag" in clean and not case_selectors.retention_tag_exists(name=clean["tag"]):
        raise HoldError(f"No tag {clean['tag']!r}.")
    try:
        days = {k: date.fromisoformat(clean[k]) for k in ("created_from", "created_to")
                if k in clean}
    except ValueError:
        raise HoldError("Dates must be written YYYY-MM-DD.") from None
    if len(days) == 2 and days["created_from"] > days["created_to"]:
        raise HoldError("The date range ends before it starts.")
    return clean


def hold_query_matches(*, query: Mapping[str, Any]) -> int:
    """How many cases a hold query covers now (shown before the hold is placed)."""
    return len(case_selectors.retention_cases_matching(**query_kwargs(hold_query_clean(query))))


@transaction.atomic
def legal_hold_place(*, principal: Principal, scope: str, target_id: str = "",
                     reason: str, query: Mapping[str, Any] | None = None) -> HoldView:
    """Place a hold on an existing customer or case, or on every case matching a query (queue,
    tag, creation dates — evaluated at each sweep, so later matches are held too); from now on
    the sweep and erasures skip what it covers."""
    if scope not in HoldScope.values:
        raise HoldError(f"Scope must be one of {', '.join(HoldScope.values)}.")
    target_id = target_id.strip()
    reason = reason.strip()
    if not reason or len(reason) > REASON_MAX:
        raise HoldError(f"A reason of 1 to {REASON_MAX} characters is required.")
    clean: dict[str, str] = {}
    if scope == HoldScope.QUERY:
        if target_id:
            raise HoldError("A query hold names no customer or case id; give the query.")
        clean = hold_query_clean(query or {})
        if LegalHold.objects.filter(scope=scope, query=clean,
                                    released_at__isnull=True).exists():
            raise HoldError("That query is already under an active legal hold.")
    else:
        if query:
            raise HoldError("A customer or case hold takes an id, not a query.")
        exists = (customer_selectors.customer_exists(customer_id=target_id)
                  if scope == HoldScope.CUSTOMER
                  else case_selectors.retention_case_exists(case_id=target_id))
        if not exists:
            raise NotFound(f"No {scope} with that id.")
        if LegalHold.objects.filter(scope=scope, target_id=target_id,
                                    released_at__isnull=True).exists():
            raise HoldError(f"That {scope} is already under an active legal hold.")
    hold = LegalHold.objects.create(
        scope=scope, target_id=target_id, query=clean,
        reason=protection.screen(reason, field="privacy.hold_reason").text,
        placed_by_id=principal.user_id, placed_at=timezone.now())
    data: dict[str, Any] = {"scope": scope, "target": target_id}
    if clean:
        data.update(query=clean, matches_now=len(
            case_selectors.retention_cases_matching(**query_kwargs(clean))))
    audit.record(action="legal_hold.placed", actor=principal.actor,
                 subject=("legal_hold", hold.id), data=data)
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

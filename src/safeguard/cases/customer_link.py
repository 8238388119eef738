"""The cases app's calls into the customers app, in one place (decision 0006).

Only ``customers.services``, ``customers.selectors`` and ``customers.contracts`` are used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from uuid import UUID

from safeguard.accounts.contracts import Principal
from safeguard.audit.contracts import Actor
from safeguard.cases.contracts import SenderIn
from safeguard.customers import selectors as customers_selectors
from safeguard.customers import services as customers_services
from safeguard.customers.contracts import CustomerNotFound, MatchResult


def match_or_create(*, sender: SenderIn, actor: Actor, channel: str) -> MatchResult:
    """The customer an inbound sender is, by blind index, or a new one. An explicit
    ``customer_id`` (an adapter that already knows the customer) must exist."""
    if sender.customer_id is not None:
        if not customers_selectors.customer_exists(customer_id=sender.customer_id):
            raise CustomerNotFound("No such customer.")
        return MatchResult(customer_id=sender.customer_id, created=False)
    if not sender.email and not sender.phone and channel == "voice":
        # A withheld number: the call still needs a case, so an anonymous profile holds it
        # (an agent merges it with the caller's real profile once they are identified).
        view = customers_services.customer_create(actor=actor, name=sender.name or "",
                                                  source=channel)
        return MatchResult(customer_id=view.id, created=True)
    return customers_services.customer_match_or_create(
        actor=actor, email=sender.email, phone=sender.phone, name=sender.name, source=channel)


def known_values(customer_id: UUID) -> Mapping[str, Iterable[str]] | None:
    """The customer's own profile values, for screening their texts (system read)."""
    return customers_selectors.customer_known_values(customer_id=customer_id) or None


def labels(*, viewer: Principal, customer_ids: Iterable[UUID]) -> dict[UUID, str]:
    """Masked display names for a list, only for customers in the viewer's scope (one audit
    event for the list, recorded by the customers app)."""
    summaries = customers_selectors.customer_summaries(viewer=viewer, customer_ids=customer_ids)
    return {cid: (s.name or s.email or s.phone) for cid, s in summaries.items()}


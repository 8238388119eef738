"""Factories of the customers tests: customers, principals, and a scope provider."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from safeguard.accounts import selectors as accounts
from safeguard.accounts.contracts import Principal
from safeguard.customers import services
from safeguard.customers.contracts import CustomerScope, CustomerView
from tests.factories import SYSTEM

SCOPE_PROVIDER = "tests.customers.factories.scope_provider"
# user id -> the customer ids that user may see (what the cases app derives from queues).
SCOPES: dict[int, set[UUID]] = {}

MARIA: dict[str, Any] = {
    "name": "Maria Lopez",
    "email": "maria.lopez@example.com",
    "phone": "+44 20 7946 0132",
    "address": {"line1": "12 Station Road", "postcode": "LS1 4AP", "city": "Leeds",
                "country": "GB"},
    "date_of_birth": "1984-03-12",
    "payout": {"iban": "GB29 NWBK 6016 1331 9268 19", "holder": "Maria Lopez"},
    "language": "en",
}


def scope_provider(principal: Principal) -> CustomerScope:
    """The test stand-in for cases.selectors.customer_scope."""
    return CustomerScope(all=False, customer_ids=frozenset(SCOPES.get(principal.user_id, ())))


def grant_scope(user: Any, *customer_ids: UUID) -> None:
    SCOPES.setdefault(user.id, set()).update(customer_ids)


def principal(user: Any, *, via: str = "session", token_id: int | None = None) -> Principal:
    """The user as the API guard or a page would present them."""
    return Principal(user_id=user.id, email=user.email, via=via, token_id=token_id,
                     permissions=accounts.user_permissions(user_id=user.id))


def make_customer(**overrides: Any) -> CustomerView:
    """Maria Lopez (fictional), with any field overridden."""
    values = {**MARIA, **overrides}
    return services.customer_create(actor=SYSTEM, **values)

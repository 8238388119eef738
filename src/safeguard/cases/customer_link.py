"""The cases app's calls into the customers app, in one place (decision 0006).

Only ``customers.services``, ``customers.selectors`` and ``customers.contracts`` are used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from uuid import UUID

from safeguard.accounts.contracts import Principal
from safeguard.audit.contracts import Actor
from safeguard.cases import placeholders
from safeguard.cases.contracts import SenderIn
from safeguard.cases.enums import ContactFlag, SenderAuth
from safeguard.customers import selectors as customers_selectors
from safeguard.customers import services as customers_services
from safeguard.customers.contracts import CustomerNotFound, MatchResult
from safeguard.customers.enums import CustomerKind, VerificationMethod


def match_or_create(*, sender: SenderIn, actor: Actor, channel: str) -> MatchResult:
    """The customer (or unverified contact) an inbound sender is (decision 0101). An explicit
    ``customer_id`` (a trusted integration that already knows the customer; the API allows it
    to service accounts only) must exist."""
    if sender.customer_id is not None:
        if not customers_selectors.customer_exists(customer_id=sender.customer_id):
            raise CustomerNotFound("No such customer.")
        return MatchResult(customer_id=sender.customer_id, created=False)
    if not sender.email and not sender.phone and channel == "voice":
        # A withheld number: the call still needs a case, so an anonymous unverified contact
        # holds it (an agent verifies the caller, which links the call to their profile).
        view = customers_services.customer_create(actor=actor, name=sender.name or "",
                                                  source=channel,
                                                  kind=CustomerKind.UNVERIFIED)
        return MatchResult(customer_id=view.id, created=True, unverified=True)
    return customers_services.customer_match_or_create(
        actor=actor, email=sender.email, phone=sender.phone, name=sender.name, source=channel,
        verified=sender.verified and channel != "voice")  # caller id is not verification


def flags_for(match: MatchResult, sender: SenderIn) -> list[dict[str, str]]:
    """The case flags a match raises: a claimed profile, look-alikes, failed authentication."""
    flags: list[dict[str, str]] = []
    if match.claims is not None:
        flags.append({"flag": ContactFlag.CLAIMS_PROFILE, "customer": str(match.claims)})
    flags.extend({"flag": ContactFlag.LOOKALIKE, "customer": str(cid)}
                 for cid in match.lookalike_of)
    if sender.auth == SenderAuth.FAILED:
        flags.append({"flag": ContactFlag.AUTH_FAILED, "customer": ""})
    return flags


def unverified(customer_ids: Iterable[UUID]) -> frozenset[UUID]:
    """Which of these customers are unverified contacts (kinds only, no values)."""
    return customers_selectors.unverified_ids(customer_ids=customer_ids)


def record_system_verification(*, actor: Actor, customer_id: UUID, channel: str,
                               case_number: int) -> None:
    """Keep the evidence that the system verified a sender it linked (audited)."""
    customers_services.customer_link_verified(
        actor=actor, customer_id=customer_id, interaction_ref=f"case:{case_number}",
        method=(VerificationMethod.MAIL_AUTHENTICATED if channel == "email"
                else VerificationMethod.INTEGRATION))


def known_values(customer_id: UUID) -> Mapping[str, Iterable[str]] | None:
    """The customer's own profile values, for screening their texts (system read)."""
    return customers_selectors.customer_known_values(customer_id=customer_id) or None


def labels(*, viewer: Principal, customer_ids: Iterable[UUID]) -> dict[UUID, str]:
    """Masked display names for a list, only for customers in the viewer's scope (one audit
    event for the list, recorded by the customers app)."""
    summaries = customers_selectors.customer_summaries(viewer=viewer, customer_ids=customer_ids)
    return {cid: (s.name or s.email or s.phone) for cid, s in summaries.items()}


def text_masker(*, viewer: Principal, customer_id: UUID) -> customers_selectors.TextMasker:
    """The customers app's display mask for texts the customer wrote (issue 15, R-DATA-2);
    its ``unverified`` says whether the customer is an unverified contact (no second read)."""
    return customers_selectors.text_masker(viewer=viewer, customer_id=customer_id)


def first_name(customer_id: UUID) -> str:
    """The customer's first name in clear, for what the customer receives only (the masked-safe
    ``{customer_first_name}`` placeholder, filled at delivery; system read, never displayed)."""
    names = customers_selectors.customer_known_values(customer_id=customer_id).get("name") or []
    return placeholders.first_name(names[0]) if names else ""

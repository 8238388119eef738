"""The data inventory of the customers app (R-DATA-1): every column, its category, why it is
kept and for how long. The privacy app reads ``FIELD_INVENTORY`` to build the organisation's
inventory and retention matrix; a test fails when a column is added without an entry here.

Retention values are hints for the Records Retention Matrix (R-DATA-3), which owns the legal
citations and the final periods; "relationship" means while the customer has an open account.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DataCategory(StrEnum):
    CONTACT = "contact"  # how to reach the customer
    IDENTITY = "identity"  # who the customer is
    FINANCIAL = "financial"  # where money goes
    ACCOUNT = "account"  # the state of the customer relationship
    SECURITY = "security"  # evidence of verification, access and approvals
    TECHNICAL = "technical"  # keys, indexes and timestamps with no meaning on their own


@dataclass(frozen=True)
class FieldInfo:
    """One column: its data category, purpose, retention hint and how it is protected."""

    model: str
    field: str
    category: DataCategory
    purpose: str
    retention: str
    personal: bool
    encrypted: bool = False
    masked: bool = False
    lookup: str = ""  # how the value is found without decrypting (a blind index)


_RELATIONSHIP = "relationship + 6 years (limitation period for contract claims)"
_SECURITY = "7 years (evidence for audits and disputes)"

FIELD_INVENTORY: tuple[FieldInfo, ...] = (
    # --- customers.customer
    FieldInfo("customers.customer", "id", DataCategory.TECHNICAL,
              "Stable pseudonymous identifier; the only customer reference in audit events",
              _RELATIONSHIP, personal=False),
    FieldInfo("customers.customer", "name", DataCategory.IDENTITY,
              "Address the customer and match them on contact", _RELATIONSHIP, personal=True,
              encrypted=True, masked=True),
    FieldInfo("customers.customer", "email", DataCategory.CONTACT,
              "Reply to the customer; match inbound e-mail to their profile", _RELATIONSHIP,
              personal=True, encrypted=True, masked=True, lookup="email_index"),
    FieldInfo("customers.customer", "email_index", DataCategory.TECHNICAL,
              "Blind index (keyed HMAC) for lookup by e-mail without decrypting",
              _RELATIONSHIP, personal=True),
    FieldInfo("customers.customer", "email_skeleton_index", DataCategory.TECHNICAL,
              "Blind index of the address's confusables skeleton: flags look-alike senders",
              _RELATIONSHIP, personal=True),
    FieldInfo("customers.customer", "kind", DataCategory.ACCOUNT,
              "Profile, or unverified contact (a channel sender not yet verified)",
              _RELATIONSHIP, personal=False),
    FieldInfo("customers.customer", "phone", DataCategory.CONTACT,
              "Call the customer back; match inbound calls to their profile", _RELATIONSHIP,
              personal=True, encrypted=True, masked=True, lookup="phone_index"),
    FieldInfo("customers.customer", "phone_index", DataCategory.TECHNICAL,
              "Blind index (keyed HMAC) for lookup by phone without decrypting",
              _RELATIONSHIP, personal=True),
    FieldInfo("customers.customer", "address", DataCategory.CONTACT,
              "Postal correspondence and deliveries", _RELATIONSHIP, personal=True,
              encrypted=True, masked=True),
    FieldInfo("customers.customer", "date_of_birth", DataCategory.IDENTITY,
              "Identity verification on contact (knowledge-based checks)", _RELATIONSHIP,
              personal=True, encrypted=True, masked=True),
    FieldInfo("customers.customer", "payout", DataCategory.FINANCIAL,
              "Pay refunds and payouts to the customer's own account",
              "relationship + 7 years (tax and financial records)", personal=True,
              encrypted=True, masked=True),
    FieldInfo("customers.customer", "language", DataCategory.ACCOUNT,
              "Answer in the customer's language", _RELATIONSHIP, personal=False),
    FieldInfo("customers.customer", "status", DataCategory.ACCOUNT,
              "Whether the account is open or closed", _RELATIONSHIP, personal=False),
    FieldInfo("customers.customer", "created_at", DataCategory.TECHNICAL,
              "Start of the relationship (retention clock)", _RELATIONSHIP, personal=False),
    FieldInfo("customers.customer", "updated_at", DataCategory.TECHNICAL,
              "Last change to the profile", _RELATIONSHIP, personal=False),
    FieldInfo("customers.customer", "closed_at", DataCategory.ACCOUNT,
              "End of the relationship (starts the retention period)", _RELATIONSHIP,
              personal=False),
    # --- customers.contactcode
    FieldInfo("customers.contactcode", "id", DataCategory.TECHNICAL,
              "Identifier of the one-time code", _SECURITY, personal=False),
    FieldInfo("customers.contactcode", "contact", DataCategory.TECHNICAL,
              "The unverified contact the code was sent for", _SECURITY, personal=False),
    FieldInfo("customers.contactcode", "target", DataCategory.TECHNICAL,
              "The profile whose address on file received the code", _SECURITY,
              personal=False),
    FieldInfo("customers.contactcode", "interaction_ref", DataCategory.SECURITY,
              "The case the code was sent for", _SECURITY, personal=False),
    FieldInfo("customers.contactcode", "code_hash", DataCategory.SECURITY,
              "Keyed hash of the one-time code (the code itself is never stored)", _SECURITY,
              personal=False),
    FieldInfo("customers.contactcode", "requested_by", DataCategory.SECURITY,
              "The staff member who sent the code", _SECURITY, personal=False),
    FieldInfo("customers.contactcode", "created_at", DataCategory.SECURITY,
              "When the code was sent", _SECURITY, personal=False),
    FieldInfo("customers.contactcode", "expires_at", DataCategory.SECURITY,
              "When the code stops working", _SECURITY, personal=False),
    FieldInfo("customers.contactcode", "attempts", DataCategory.SECURITY,
              "Wrong tries so far (limited)", _SECURITY, personal=False),
    FieldInfo("customers.contactcode", "used_at", DataCategory.SECURITY,
              "When the code was used (a code works once)", _SECURITY, personal=False),
    # --- customers.identityverification
    FieldInfo("customers.identityverification", "id", DataCategory.TECHNICAL,
              "Identifier of the verification record", _SECURITY, personal=False),
    FieldInfo("customers.identityverification", "customer", DataCategory.TECHNICAL,
              "The customer who was verified", _SECURITY, personal=False),
    FieldInfo("customers.identityverification", "method", DataCategory.SECURITY,
              "How the customer proved their identity (account-takeover defence)", _SECURITY,
              personal=False),
    FieldInfo("customers.identityverification", "verified_by", DataCategory.SECURITY,
              "The staff member who verified", _SECURITY, personal=False),
    FieldInfo("customers.identityverification", "verified_at", DataCategory.SECURITY,
              "When the customer was verified", _SECURITY, personal=False),
    FieldInfo("customers.identityverification", "interaction_ref", DataCategory.SECURITY,
              "The contact (case, call or chat) the verification happened on", _SECURITY,
              personal=False),
    # --- customers.revealgrant
    FieldInfo("customers.revealgrant", "id", DataCategory.TECHNICAL,
              "Identifier of the reveal (named in the audit event)", _SECURITY, personal=False),
    FieldInfo("customers.revealgrant", "customer", DataCategory.TECHNICAL,
              "The customer whose field was revealed", _SECURITY, personal=False),
    FieldInfo("customers.revealgrant", "field", DataCategory.SECURITY,
              "Which field was revealed", _SECURITY, personal=False),
    FieldInfo("customers.revealgrant", "user", DataCategory.SECURITY,
              "Who revealed it", _SECURITY, personal=False),
    FieldInfo("customers.revealgrant", "reason", DataCategory.SECURITY,
              "Why it was revealed (screened free text; reviewed by the privacy officer)",
              _SECURITY, personal=True, encrypted=True),
    FieldInfo("customers.revealgrant", "granted_at", DataCategory.SECURITY,
              "When the reveal started", _SECURITY, personal=False),
    FieldInfo("customers.revealgrant", "expires_at", DataCategory.SECURITY,
              "When the clear value stops being shown", _SECURITY, personal=False),
    # --- customers.approval
    FieldInfo("customers.approval", "id", DataCategory.TECHNICAL,
              "Identifier of the request", _SECURITY, personal=False),
    FieldInfo("customers.approval", "customer", DataCategory.TECHNICAL,
              "The customer the request is about", _SECURITY, personal=False),
    FieldInfo("customers.approval", "kind", DataCategory.SECURITY,
              "What is requested (contact, payout, closure, refund)", _SECURITY, personal=False),
    FieldInfo("customers.approval", "status", DataCategory.SECURITY,
              "Pending, granted or refused", _SECURITY, personal=False),
    FieldInfo("customers.approval", "payload", DataCategory.FINANCIAL,
              "The requested change (new contact or payout details, refund amount and case)",
              "relationship + 7 years (tax and financial records)", personal=True,
              encrypted=True, masked=True),
    FieldInfo("customers.approval", "reason", DataCategory.SECURITY,
              "Why the agent asked (screened free text)", _SECURITY, personal=True,
              encrypted=True),
    FieldInfo("customers.approval", "requested_by", DataCategory.SECURITY,
              "The agent who asked", _SECURITY, personal=False),
    FieldInfo("customers.approval", "requested_at", DataCategory.SECURITY,
              "When it was asked", _SECURITY, personal=False),
    FieldInfo("customers.approval", "decided_by", DataCategory.SECURITY,
              "The supervisor who decided", _SECURITY, personal=False),
    FieldInfo("customers.approval", "decided_at", DataCategory.SECURITY,
              "When it was decided", _SECURITY, personal=False),
    FieldInfo("customers.approval", "decision_note", DataCategory.SECURITY,
              "The supervisor's note (screened free text)", _SECURITY, personal=True,
              encrypted=True),
    FieldInfo("customers.approval", "auto_granted", DataCategory.SECURITY,
              "A refund under the approval threshold, granted without a supervisor",
              _SECURITY, personal=False),
)


def inventory_for(model: str) -> dict[str, FieldInfo]:
    """The entries of one model (``app_label.model_name``), by field name."""
    return {f.field: f for f in FIELD_INVENTORY if f.model == model}

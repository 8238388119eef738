"""Tables of the customers app (private: other apps use services, selectors and contracts).

Every personal value is an encrypted field (Tink AEAD bound to model, column and row), so each
model has a client-generated UUID primary key (decision 0005). E-mail and phone carry blind
indexes for equality lookup. ``inventory.FIELD_INVENTORY`` annotates every column here.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from safeguard.customers.enums import (
    ApprovalKind,
    ApprovalStatus,
    CustomerKind,
    CustomerStatus,
    VerificationMethod,
)
from safeguard.protection.fields import BlindIndexField, EncryptedJSONField, EncryptedTextField


class Customer(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = EncryptedTextField(default="")
    # A profile, or an unverified contact (what a channel sender is until verified).
    kind = models.CharField(max_length=12, choices=CustomerKind.choices,
                            default=CustomerKind.CUSTOMER)
    email = EncryptedTextField(null=True)
    # Exact identity (protection.emailid): one profile and one unverified contact per address.
    email_index = BlindIndexField(source="email", normaliser="email_exact", null=True)
    # What the address looks like (confusables skeleton): finds look-alikes to flag.
    email_skeleton_index = BlindIndexField(source="email", normaliser="email_skeleton",
                                           purpose="customers.customer.email.skeleton",
                                           null=True, db_index=True)
    phone = EncryptedTextField(null=True)
    phone_index = BlindIndexField(source="phone", normaliser="phone", null=True, db_index=True)
    address = EncryptedJSONField(null=True)  # line1, line2, postcode, city, region, country
    date_of_birth = EncryptedTextField(null=True)  # ISO 8601 date
    payout = EncryptedJSONField(null=True)  # iban, bic | account_number, routing_number; holder
    language = models.CharField(max_length=16, blank=True, default="")
    status = models.CharField(max_length=16, choices=CustomerStatus.choices,
                              default=CustomerStatus.ACTIVE)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="customer_created_idx")]
        constraints = [models.UniqueConstraint(fields=["kind", "email_index"],
                                               name="customer_email_unique_per_kind")]

    def __str__(self) -> str:  # never the name or an address: str() ends up in logs
        return f"customer {self.id}"


class IdentityVerification(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE,
                                 related_name="verifications")
    method = models.CharField(max_length=32, choices=VerificationMethod.choices)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, related_name="+")
    verified_at = models.DateTimeField()
    # A reference to the interaction (case/call/chat id) as a plain string: no cross-app key.
    interaction_ref = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["customer", "-verified_at"], name="verif_cust_at_idx")]

    def __str__(self) -> str:
        return f"verification {self.id} of customer {self.customer_id}"


class ContactCode(models.Model):
    """A one-time code sent to the address on file, proving an unverified contact controls it.

    Only a keyed hash of the code is kept; it expires, allows a few wrong tries, and is used
    once (SAFEGUARD_CONTACT_CODE_*).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    contact = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    # The profile whose address on file received the code (null: the contact's own address,
    # and verifying creates the profile).
    target = models.ForeignKey(Customer, on_delete=models.CASCADE, null=True, related_name="+")
    interaction_ref = models.CharField(max_length=64)  # the case the code was sent for
    code_hash = models.BinaryField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                     null=True, related_name="+")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["contact", "interaction_ref", "-created_at"],
                                name="contactcode_contact_idx")]

    def __str__(self) -> str:  # never the hash
        return f"contact code {self.id}"


class RevealGrant(models.Model):
    """A time-limited permission for one person to see one field of one customer in clear."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    field = models.CharField(max_length=32)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    reason = EncryptedTextField()  # screened; kept for the privacy officer's review
    granted_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["user", "customer", "expires_at"],
                                name="reveal_user_cust_exp_idx")]

    def __str__(self) -> str:
        return f"reveal {self.id} of {self.field}"


class Approval(models.Model):
    """A sensitive request (R-WORK-4): nothing changes until a supervisor grants it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="approvals")
    kind = models.CharField(max_length=32, choices=ApprovalKind.choices)
    status = models.CharField(max_length=16, choices=ApprovalStatus.choices,
                              default=ApprovalStatus.PENDING)
    payload = EncryptedJSONField(default=dict)  # the requested change, encrypted while pending
    reason = EncryptedTextField(default="")  # the requester's, screened
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+")
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = EncryptedTextField(default="")  # the supervisor's, screened
    auto_granted = models.BooleanField(default=False)  # a refund under the threshold

    class Meta:
        indexes = [models.Index(fields=["status", "requested_at"], name="approval_status_idx")]
        constraints = [
            models.CheckConstraint(
                name="approval_decided_consistently",
                condition=(models.Q(status=ApprovalStatus.PENDING, decided_at__isnull=True)
                           | (~models.Q(status=ApprovalStatus.PENDING)
                              & models.Q(decided_at__isnull=False))),
            ),
        ]

    def __str__(self) -> str:  # never the payload
        return f"{self.kind} approval {self.id} ({self.status})"

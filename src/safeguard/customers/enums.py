"""Public enums of the customers app."""

from __future__ import annotations

from django.db import models


class CustomerStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    CLOSED = "closed", "Closed"


class CustomerKind(models.TextChoices):
    """A profile, or an unverified contact: who wrote on a channel, not yet proved to be a
    customer (docs/customers.md "Linking policy"; R-WORK-4)."""

    CUSTOMER = "customer", "Customer"
    UNVERIFIED = "unverified", "Unverified contact"


class CustomerField(models.TextChoices):
    """The profile fields a person can reveal (each is encrypted at rest and masked on display)."""

    NAME = "name", "Name"
    EMAIL = "email", "E-mail"
    PHONE = "phone", "Phone"
    ADDRESS = "address", "Address"
    DATE_OF_BIRTH = "date_of_birth", "Date of birth"
    PAYOUT = "payout", "Payout details"


class VerificationMethod(models.TextChoices):
    """How a customer proved who they are on a contact."""

    KNOWLEDGE = "knowledge", "Security questions (knowledge-based)"
    OTP_EMAIL = "otp_email", "One-time code to the e-mail on file"
    OTP_SMS = "otp_sms", "One-time code to the phone on file"
    CALLBACK = "callback", "Call back on the number on file"
    DOCUMENT = "document", "Identity document checked"
    AUTHENTICATED_SESSION = "authenticated_session", "Signed in to the customer account"
    MAIL_AUTHENTICATED = "mail_authenticated", "Mail authenticated by the receiving MTA (DMARC)"
    INTEGRATION = "integration", "Asserted by a trusted integration (service token)"


class ApprovalKind(models.TextChoices):
    """Sensitive requests that a supervisor must grant before anything changes (R-WORK-4)."""

    EMAIL_CHANGE = "email_change", "Change e-mail"
    PHONE_CHANGE = "phone_change", "Change phone"
    ADDRESS_CHANGE = "address_change", "Change address"
    PAYOUT_CHANGE = "payout_change", "Change payout details"
    DATE_OF_BIRTH_CHANGE = "date_of_birth_change", "Change date of birth"
    ACCOUNT_CLOSURE = "account_closure", "Close the account"
    REFUND = "refund", "Refund"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    GRANTED = "granted", "Granted"
    REFUSED = "refused", "Refused"

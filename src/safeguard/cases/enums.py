"""Public enums of the cases app: channels, author kinds, delivery and call states."""

from __future__ import annotations

from django.db import models

from safeguard.cases.lifecycle import Status


class CaseStatus(models.TextChoices):
    """The lifecycle states of :mod:`safeguard.cases.lifecycle`, as model choices."""

    NEW = Status.NEW.value, "New"
    OPEN = Status.OPEN.value, "Open"
    PENDING = Status.PENDING.value, "Pending"
    RESOLVED = Status.RESOLVED.value, "Resolved"
    CLOSED = Status.CLOSED.value, "Closed"


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class Channel(models.TextChoices):
    """R-OPS-5: the channels a customer reaches the contact centre through."""

    EMAIL = "email", "E-mail"
    CHAT = "chat", "Chat"
    VOICE = "voice", "Voice"
    WEB = "web", "Web form"
    API = "api", "API"


class AuthorKind(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    AGENT = "agent", "Agent"
    SYSTEM = "system", "System"


class DeliveryStatus(models.TextChoices):
    """Outbound messages only; inbound messages and notes carry ``none``."""

    NONE = "none", "—"
    PENDING = "pending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    NOT_DELIVERED = "not_delivered", "Not delivered (no sender for this channel)"


class AttachmentState(models.TextChoices):
    """What screening decided for a file (issue 8, R-OPS-2): only ``screened`` files are served
    to every agent of the case; ``withheld`` ones were never stored; ``quarantined`` ones are
    stored encrypted and opened only with ``cases.attachment_quarantine`` after step-up."""

    SCREENED = "screened", "Screened"
    WITHHELD = "withheld", "Withheld: it contained a card number"
    QUARANTINED = "quarantined", "Quarantined: it could not be screened"


class CallEvent(models.TextChoices):
    QUEUED = "queued", "Queued"
    ANSWERED = "answered", "Answered"
    ENDED = "ended", "Ended"


class RetentionCategory(models.TextChoices):
    """What a call recording is kept for; the privacy app maps each to a retention period
    (R-DATA-3: e.g. 90 days for QA recordings)."""

    QA_RECORDING = "qa_recording", "Quality assurance recording"
    FINANCIAL_RECORD = "financial_record", "Financial record"
    INSURANCE_RECORD = "insurance_record", "Insurance record"
    COMPLAINT = "complaint", "Complaint evidence"


class HistoryKind(models.TextChoices):
    CREATED = "created", "Created"
    MESSAGE = "message", "Message received"
    REPLY = "reply", "Reply sent"
    NOTE = "note", "Internal note"
    STATUS = "status", "Status changed"
    REOPENED = "reopened", "Reopened"
    ASSIGNED = "assigned", "Assigned"
    QUEUE = "queue", "Queue changed"
    PRIORITY = "priority", "Priority changed"
    TAGS = "tags", "Tags changed"
    MERGED = "merged", "Merged"
    SLA_BREACH = "sla_breach", "SLA breached"
    CALL = "call", "Call event"
    TRANSCRIPT = "transcript", "Transcript stored"
    DELIVERY = "delivery", "Delivery"
    CSAT = "csat", "Satisfaction answer"
    CONTACT_LINKED = "contact_linked", "Contact verified and linked"
    CONTACT_CODE = "contact_code", "Verification code sent"


class SenderAuth(models.TextChoices):
    """What the receiving MTA's trusted Authentication-Results say of an e-mail's sender."""

    VERIFIED = "verified", "Sender verified (DMARC pass)"
    FAILED = "failed", "Sender authentication failed"
    NONE = "none", "Sender not authenticated"


class ContactFlag(models.TextChoices):
    """Why a case's contact needs care before anyone treats it as the customer (R-WORK-4)."""

    CLAIMS_PROFILE = "claims_profile", "Sender uses an existing customer's address (unverified)"
    LOOKALIKE = "lookalike", "Sender address looks like an existing customer's address"
    AUTH_FAILED = "auth_failed", "Sender authentication failed (SPF/DKIM/DMARC)"


class AssignmentStrategy(models.TextChoices):
    """How an assignment rule picks an agent of the queue (issue 15)."""

    ROUND_ROBIN = "round_robin", "Round-robin (take turns)"
    LOAD_BALANCED = "load_balanced", "Load-balanced (fewest open cases)"


class TriggerEvent(models.TextChoices):
    """When a trigger runs: a case is created, or a customer writes again on an open case."""

    CREATED = "created", "Case created"
    UPDATED = "updated", "Case updated by the customer"
    BOTH = "both", "Created or updated"


class TriggerNotify(models.TextChoices):
    """Whom a trigger notifies in the notification centre."""

    NOBODY = "", "Nobody"
    ASSIGNEE = "assignee", "The case's assignee"
    QUEUE_SUPERVISORS = "queue_supervisors", "The queue's supervisors"
    QUEUE_MEMBERS = "queue_members", "Every member of the queue"

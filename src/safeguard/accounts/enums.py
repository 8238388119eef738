"""Public enumerations of the accounts app."""

from django.db import models


class MFAState(models.TextChoices):
    """Where a staff user stands with MFA (R-OPS-1)."""

    MISSING = "missing", "No second factor enrolled"
    WEBAUTHN_REQUIRED = "webauthn_required", "Administrator without a security key"
    OK = "ok", "Enrolled"


class NotificationKind(models.TextChoices):
    """What an in-app notification is about (issue 15: the notification centre)."""

    APPROVAL_DECIDED = "approval_decided", "Approval decided"
    MENTION = "mention", "Mention"
    ASSIGNMENT = "assignment", "Assignment"
    SLA_WARNING = "sla_warning", "SLA warning"
    AUTOMATION = "automation", "Automation"

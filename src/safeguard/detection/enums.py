"""Public enums of the detection app: alert states and closing resolutions (R-OPS-9)."""

from __future__ import annotations

from django.db import models


class AlertStatus(models.TextChoices):
    """new -> acknowledged -> investigating -> closed; acknowledged may close directly."""

    NEW = "new", "New"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    INVESTIGATING = "investigating", "Investigating"
    CLOSED = "closed", "Closed"


class Resolution(models.TextChoices):
    """How a closed alert ended; the false-positive rate per rule counts FALSE_POSITIVE."""

    TRUE_POSITIVE = "true_positive", "True positive"
    FALSE_POSITIVE = "false_positive", "False positive"
    BENIGN = "benign", "Benign (true, but expected)"


class Severity(models.TextChoices):
    """Sigma's levels, lowest first (engine.contracts.SEVERITIES)."""

    INFORMATIONAL = "informational", "Informational"
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class EscalationLevel(models.TextChoices):
    """The two clocks of a critical alert (R-OPS-9): acknowledge window, escalation window."""

    ACK_OVERDUE = "ack_overdue", "Not acknowledged in the acknowledge window"
    ESCALATED = "escalated", "Not acknowledged in the escalation window"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending (will retry)"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (retries exhausted)"


# Transitions a person may make; closing names a resolution.
TRANSITIONS: dict[str, frozenset[str]] = {
    AlertStatus.NEW: frozenset({AlertStatus.ACKNOWLEDGED, AlertStatus.INVESTIGATING,
                                AlertStatus.CLOSED}),
    AlertStatus.ACKNOWLEDGED: frozenset({AlertStatus.INVESTIGATING, AlertStatus.CLOSED}),
    AlertStatus.INVESTIGATING: frozenset({AlertStatus.CLOSED}),
    AlertStatus.CLOSED: frozenset(),
}

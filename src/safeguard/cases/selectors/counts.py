"""Record counts of the cases app, for the breach-cost model of the metrics app (R-KPI-10):
aggregates only, no content."""

from __future__ import annotations

from safeguard.cases.models import Interaction, Message


def message_count() -> int:
    """Messages held (every message a customer or an agent wrote)."""
    return Message.objects.count()


def recording_count() -> int:
    """Interactions that hold a call recording reference."""
    return Interaction.objects.filter(recording__isnull=False).count()

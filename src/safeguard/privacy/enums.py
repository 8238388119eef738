"""Public enums of the privacy app."""

from __future__ import annotations

from django.db import models


class HoldScope(models.TextChoices):
    """What a legal hold covers: every case of a customer, or one case."""

    CUSTOMER = "customer", "Customer (all their cases and recordings)"
    CASE = "case", "Case"


class SweepStatus(models.TextChoices):
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    FAILED = "failed", "Failed"

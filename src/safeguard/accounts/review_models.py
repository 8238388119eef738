"""Access-review storage (private to the accounts app; R-OPS-8, decision 0128).

Imported by ``accounts/models.py`` so Django registers the two tables with the app. Rules live
in ``reviews.py``, not here.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class AccessReviewCampaign(models.Model):
    """One review of every grant for one period (a quarter by default). One per period: the
    unique period start is what makes the periodic job and a manual start idempotent."""

    class Status(models.TextChoices):
        SNAPSHOTTING = "snapshotting"  # items being written; a rerun resumes here
        OPEN = "open"
        CLOSED = "closed"

    period_start = models.DateField(unique=True)
    period_end = models.DateField(help_text="First day after the period.")
    status = models.CharField(max_length=12, choices=Status.choices,
                              default=Status.SNAPSHOTTING)
    started_at = models.DateTimeField(default=timezone.now)
    started_by = models.CharField(max_length=200, help_text="Actor label: a person or the job.")
    due_at = models.DateTimeField()
    escalate_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=200, blank=True)
    close_reason = models.CharField(max_length=30, blank=True)
    report_pdf = models.BinaryField(null=True, blank=True)
    report_sha256 = models.CharField(max_length=64, blank=True)
    report_signature = models.CharField(max_length=200, blank=True)
    report_key_id = models.CharField(max_length=32, blank=True)

    def __str__(self) -> str:
        return f"access review {self.period_start} ({self.status})"


class AccessReviewItem(models.Model):
    """One grant (a role assignment or a live API token) of one user, as it stood when the
    campaign started, and the reviewer's decision on it."""

    class Kind(models.TextChoices):
        ROLE = "role"
        TOKEN = "token"  # noqa: S105 - a kind of grant, not a secret

    class Decision(models.TextChoices):
        PENDING = "pending"
        KEEP = "keep"
        REVOKE = "revoke"

    campaign = models.ForeignKey(AccessReviewCampaign, on_delete=models.PROTECT,
                                 related_name="items")
    user = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL,
                             related_name="+")
    user_email = models.CharField(max_length=254)
    kind = models.CharField(max_length=5, choices=Kind.choices)
    grant_key = models.CharField(max_length=80, help_text="role:<user id>:<slug> or token:<id>.")
    grant_label = models.CharField(max_length=200)
    grant_permissions = models.JSONField(default=list)
    effective_permissions = models.JSONField(default=list)
    token_id = models.PositiveIntegerField(null=True, blank=True)
    token_last_used_at = models.DateTimeField(null=True, blank=True)
    last_login_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    snapshot_at = models.DateTimeField(default=timezone.now)
    reviewer = models.ForeignKey("accounts.User", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    # why this reviewer: the user's manager, the role-owner rule, or a reassignment
    assigned_as = models.CharField(max_length=12, blank=True, default="")
    escalation_reviewer = models.ForeignKey("accounts.User", null=True, blank=True,
                                            on_delete=models.SET_NULL, related_name="+")
    escalated_at = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(max_length=7, choices=Decision.choices,
                                default=Decision.PENDING)
    comment = models.CharField(max_length=500, blank=True)
    decided_by = models.ForeignKey("accounts.User", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_by_email = models.CharField(max_length=254, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [  # noqa: RUF012 - Django's Meta convention
            # one item per grant per campaign: a resumed snapshot never writes one twice
            models.UniqueConstraint(fields=["campaign", "grant_key"],
                                    name="accounts_reviewitem_once"),
        ]
        indexes = [  # noqa: RUF012 - Django's Meta convention
            models.Index(fields=["reviewer", "decision"], name="reviewitem_queue_idx")]

    def __str__(self) -> str:
        return f"review item {self.id} ({self.grant_key}: {self.decision})"

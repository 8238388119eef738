"""Models of the governance app (private: read through selectors, write through services).

Every evaluation of every control is kept (R-REG-1): an auditor sees when a control failed and
for how long. A run is resumable: a control already stored for a run is not evaluated again.
"""

from __future__ import annotations

from django.db import models

from safeguard.governance.enums import ControlStatus


class EvaluationRun(models.Model):
    """One pass over every control (the hourly job, `safeguard governance check`, the page)."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    triggered_by = models.CharField(max_length=254)

    def __str__(self) -> str:
        return f"governance run {self.pk}"


class ControlEvaluation(models.Model):
    """The status of one control at one moment, with the evidence that decided it."""

    run = models.ForeignKey(EvaluationRun, on_delete=models.PROTECT, related_name="results")
    control_id = models.CharField(max_length=40)
    status = models.CharField(max_length=16, choices=ControlStatus.choices)
    evidence = models.TextField()
    checked_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "control_id"],
                                               name="governance_one_result_per_run")]
        indexes = [models.Index(fields=["control_id", "checked_at"],
                                name="governance_control_time")]

    def __str__(self) -> str:
        return f"{self.control_id} {self.status} at {self.checked_at:%Y-%m-%d %H:%M}"


class BackupRecord(models.Model):
    """An encrypted backup written by `safeguard backup create` (issue 13 section 5). The file
    carries its own sealed key; the row keeps where it went and its manifest (no key, no data)."""

    id = models.UUIDField(primary_key=True)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=254)
    engine = models.CharField(max_length=20)
    path = models.CharField(max_length=1024)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    manifest = models.JSONField()

    def __str__(self) -> str:
        return f"backup {self.id}"


class RestoreDrill(models.Model):
    """One restore of a backup into a scratch database, with what was checked and how long the
    recovery took (`safeguard backup restore --verify`, or the backups page)."""

    backup = models.ForeignKey(BackupRecord, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="drills")
    backup_ref = models.CharField(max_length=36)
    path = models.CharField(max_length=1024)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    seconds = models.FloatField()
    outcome = models.CharField(max_length=16, choices=[("verified", "verified"),
                                                       ("failed", "failed")])
    checks = models.JSONField(default=list)
    triggered_by = models.CharField(max_length=254)

    class Meta:
        indexes = [models.Index(fields=["outcome", "finished_at"],
                                name="governance_drill_outcome")]

    def __str__(self) -> str:
        return f"restore drill {self.pk} {self.outcome}"

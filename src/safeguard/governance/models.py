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


class VulnImport(models.Model):
    """One scanner report imported into the vulnerability register (R-OPS-7)."""

    source = models.CharField(max_length=120)  # re-importing the same source closes the missing
    fmt = models.CharField(max_length=16)
    imported_at = models.DateTimeField()
    imported_by = models.CharField(max_length=254)
    findings = models.PositiveIntegerField()
    opened = models.PositiveIntegerField()
    closed = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.fmt} import of {self.source} at {self.imported_at:%Y-%m-%d %H:%M}"


class Vulnerability(models.Model):
    """One finding in the register: identity = scanner + advisory id + package (R-OPS-7, R-KPI-6).
    Open while ``fixed_at`` is empty; ``excepted`` while an approved exception is unexpired."""

    scanner = models.CharField(max_length=64)
    vuln_id = models.CharField(max_length=128)
    package = models.CharField(max_length=255)
    source = models.CharField(max_length=120)
    version = models.CharField(max_length=128, blank=True)
    fixed_version = models.CharField(max_length=255, blank=True)
    aliases = models.JSONField(default=list)
    severity = models.CharField(max_length=16)
    score = models.FloatField(null=True, blank=True)
    vector = models.CharField(max_length=200, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True)  # none: no SLA for this severity
    fixed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scanner", "vuln_id", "package"],
                                               name="governance_vuln_identity")]
        indexes = [models.Index(fields=["fixed_at", "due_at"], name="governance_vuln_open_due")]

    def __str__(self) -> str:
        return f"{self.vuln_id} in {self.package} ({self.scanner})"


class VulnException(models.Model):
    """An accepted risk: the finding counts as ``excepted`` until ``expires_at`` (then open
    again). Requested by one person, approved by another."""

    vulnerability = models.ForeignKey(Vulnerability, on_delete=models.PROTECT,
                                      related_name="exceptions")
    reason = models.TextField()
    requested_by = models.CharField(max_length=254)
    approved_by = models.CharField(max_length=254)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"exception for {self.vulnerability_id} until {self.expires_at:%Y-%m-%d}"

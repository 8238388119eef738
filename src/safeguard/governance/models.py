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


# --- workforce (issue 13 section 3; R-WORK-1, R-WORK-2, R-WORK-5, R-KPI-7; decision 0243) ----

class BackgroundCheck(models.Model):
    """The outcome of one pre-employment or periodic check of a staff member (R-WORK-1). Only the
    provider's reference and the outcome are kept: never the report or any file content."""

    user = models.ForeignKey("accounts.User", on_delete=models.PROTECT,
                             related_name="background_checks")
    check_type = models.CharField(max_length=20)
    result = models.CharField(max_length=20)
    checked_on = models.DateField()
    expires_on = models.DateField(null=True, blank=True)
    reference = models.CharField(max_length=120)
    provider = models.CharField(max_length=120, blank=True)
    recorded_by = models.CharField(max_length=254)
    recorded_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["user", "check_type"], name="governance_bgcheck_user")]

    def __str__(self) -> str:
        return f"{self.check_type} check of user {self.user_id}: {self.result}"


class TrainingCourse(models.Model):
    """A security-training module (R-WORK-2): its hours, the roles it is for (empty = everyone)
    and how often it must be repeated (0 = never)."""

    title = models.CharField(max_length=200, unique=True)
    hours = models.DecimalField(max_digits=5, decimal_places=2)
    roles = models.JSONField(default=list)
    refresher_months = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.title


class TrainingCompletion(models.Model):
    """One person completing one course on a day, with the hours it counted for."""

    course = models.ForeignKey(TrainingCourse, on_delete=models.PROTECT,
                               related_name="completions")
    user = models.ForeignKey("accounts.User", on_delete=models.PROTECT,
                             related_name="training_completions")
    completed_on = models.DateField()
    hours = models.DecimalField(max_digits=5, decimal_places=2)
    recorded_by = models.CharField(max_length=254)
    recorded_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["completed_on"], name="governance_training_done_on")]

    def __str__(self) -> str:
        return f"{self.course_id} completed by {self.user_id} on {self.completed_on}"


class TrainingAssignment(models.Model):
    """A course a person must complete by a date; open until a completion closes it."""

    course = models.ForeignKey(TrainingCourse, on_delete=models.PROTECT,
                               related_name="assignments")
    user = models.ForeignKey("accounts.User", on_delete=models.PROTECT,
                             related_name="training_assignments")
    due_on = models.DateField()
    reason = models.CharField(max_length=20)  # role, refresher, manual
    assigned_by = models.CharField(max_length=254)
    assigned_at = models.DateTimeField()
    completion = models.ForeignKey(TrainingCompletion, on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="assignments")

    class Meta:
        indexes = [models.Index(fields=["completion", "due_on"], name="governance_assign_open")]

    def __str__(self) -> str:
        return f"{self.course_id} for {self.user_id} due {self.due_on}"


class StaffTeam(models.Model):
    """The team a staff member belongs to, for per-team phishing, QA and attrition figures."""

    user = models.OneToOneField("accounts.User", on_delete=models.PROTECT,
                                related_name="workforce_team")
    team = models.CharField(max_length=80)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"user {self.user_id} in {self.team}"


class PhishingCampaign(models.Model):
    """One phishing simulation imported from GoPhish (R-KPI-7). Re-importing the same name
    replaces its recipients (GoPhish results grow as people click and report)."""

    name = models.CharField(max_length=200, unique=True)
    gophish_id = models.PositiveIntegerField(null=True, blank=True)
    fmt = models.CharField(max_length=8)
    imported_at = models.DateTimeField()
    imported_by = models.CharField(max_length=254)
    first_sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class PhishingRecipient(models.Model):
    """What one recipient did: sent, clicked (or submitted data), reported. No IP address,
    location or submitted form data is kept. ``team`` is the team at import time."""

    campaign = models.ForeignKey(PhishingCampaign, on_delete=models.CASCADE,
                                 related_name="recipients")
    email = models.CharField(max_length=254)
    user = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True,
                             related_name="phishing_results")
    team = models.CharField(max_length=80, blank=True)
    status = models.CharField(max_length=40)
    sent_at = models.DateTimeField(null=True, blank=True)
    clicked = models.BooleanField()
    submitted = models.BooleanField()
    reported = models.BooleanField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "email"],
                                               name="governance_phish_one_per_email")]
        indexes = [models.Index(fields=["sent_at"], name="governance_phish_sent_at")]

    def __str__(self) -> str:
        return f"{self.email} in campaign {self.campaign_id}"


class TeamMonth(models.Model):
    """One team's month for the training ROI view (R-WORK-5): QA score average, headcount at the
    start and end, leavers."""

    team = models.CharField(max_length=80)
    month = models.DateField()  # the first day of the month
    qa_score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    headcount_start = models.PositiveIntegerField()
    headcount_end = models.PositiveIntegerField()
    leavers = models.PositiveIntegerField()
    recorded_by = models.CharField(max_length=254)
    recorded_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "month"],
                                               name="governance_team_month")]

    def __str__(self) -> str:
        return f"{self.team} {self.month:%Y-%m}"


# --- Registers: manual attestations, external validation, vendors (decisions 0246, 0247) ------

class EvidenceFile(models.Model):
    """An evidence file sealed on disk (decision 0246): the row keeps the name, the SHA-256 of
    the plain bytes and of the sealed file; every access checks both."""

    id = models.UUIDField(primary_key=True)
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    file_sha256 = models.CharField(max_length=64)
    uploaded_by = models.CharField(max_length=254)
    uploaded_at = models.DateTimeField()
    tampered_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"evidence {self.name}"


class ControlOwner(models.Model):
    """Who owns (and alone attests) a manual control of the library."""

    control_id = models.CharField(max_length=40, unique=True)
    owner = models.ForeignKey("accounts.User", on_delete=models.PROTECT,
                              related_name="governance_controls")
    assigned_by = models.CharField(max_length=254)
    assigned_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"owner of {self.control_id}"


class Attestation(models.Model):
    """A statement by a manual control's owner that the control operates, with its evidence;
    it holds for the control's cadence from ``attested_at`` (R-REG-1)."""

    control_id = models.CharField(max_length=40)
    attested_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT,
                                    related_name="governance_attestations")
    attested_at = models.DateTimeField()
    statement = models.TextField()
    evidence = models.ForeignKey(EvidenceFile, on_delete=models.PROTECT,
                                 related_name="attestations")

    class Meta:
        indexes = [models.Index(fields=["control_id", "attested_at"],
                                name="governance_attest_time")]

    def __str__(self) -> str:
        return f"{self.control_id} attested {self.attested_at:%Y-%m-%d}"


class ExternalValidation(models.Model):
    """A penetration test, approved-vendor scan, audit or assessment (R-MEAS-3, R-OPS-7)."""

    kind = models.CharField(max_length=20)
    title = models.CharField(max_length=200)
    provider = models.CharField(max_length=200)
    scope = models.TextField()
    performed_on = models.DateField()
    report_received_on = models.DateField(null=True, blank=True)
    next_due_on = models.DateField(null=True, blank=True)
    cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    created_by = models.CharField(max_length=254)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.kind} {self.title} ({self.performed_on})"


class ValidationFinding(models.Model):
    """A finding of an external validation and how far its remediation got."""

    validation = models.ForeignKey(ExternalValidation, on_delete=models.PROTECT,
                                   related_name="findings")
    title = models.CharField(max_length=300)
    severity = models.CharField(max_length=16)
    status = models.CharField(max_length=16)
    due_on = models.DateField(null=True, blank=True)
    closed_on = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"finding {self.pk} ({self.severity}, {self.status})"


class Vendor(models.Model):
    """A third party the organisation relies on, what it does and what data it receives."""

    name = models.CharField(max_length=200, unique=True)
    services = models.TextField()
    data_categories = models.JSONField(default=list)
    risk_tier = models.CharField(max_length=16)
    review_due_on = models.DateField()
    last_reviewed_on = models.DateField(null=True, blank=True)
    contract_start = models.DateField(null=True, blank=True)
    contract_end = models.DateField(null=True, blank=True)
    dpa_signed_on = models.DateField(null=True, blank=True)
    created_by = models.CharField(max_length=254)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name


class VendorEvidence(models.Model):
    """A file (sealed, see EvidenceFile) or a link kept as evidence of a vendor review."""

    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="evidence")
    file = models.ForeignKey(EvidenceFile, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="vendor_uses")
    url = models.URLField(max_length=500, blank=True)
    note = models.CharField(max_length=300, blank=True)
    added_by = models.CharField(max_length=254)
    added_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"evidence for vendor {self.vendor_id}"


# --- Certification register (decision 0249) -------------------------------------------------

class Certification(models.Model):
    """A certification or attestation of compliance the organisation holds (ISO/IEC 27001, a
    PCI DSS AOC, a SOC 2 report), its dates and whether the public trust page shows it
    (R-REG-1, R-MEAS-3). A withdrawn one keeps its row, with the date and the reason."""

    name = models.CharField(max_length=200)
    framework_id = models.CharField(max_length=40, blank=True)
    issuer = models.CharField(max_length=200)
    reference = models.CharField(max_length=200, blank=True)
    scope = models.TextField()
    issued_on = models.DateField()
    expires_on = models.DateField()
    published = models.BooleanField(default=False)
    validation = models.ForeignKey(ExternalValidation, on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="certifications")
    evidence_file = models.ForeignKey(EvidenceFile, on_delete=models.PROTECT, null=True,
                                      blank=True, related_name="certification_uses")
    evidence_url = models.URLField(max_length=500, blank=True)
    withdrawn_on = models.DateField(null=True, blank=True)
    withdrawn_reason = models.TextField(blank=True)
    created_by = models.CharField(max_length=254)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} ({self.issued_on} to {self.expires_on})"

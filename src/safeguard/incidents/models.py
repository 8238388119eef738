"""Private tables of the incidents app (R-IR-1, R-IR-2, R-REG-3). Read through selectors."""

from __future__ import annotations

from django.db import models

from safeguard.incidents.enums import (
    Category,
    ContainmentKind,
    ExerciseKind,
    IncidentRole,
    ItemStatus,
    RetainerKind,
    RetestResult,
    Severity,
    State,
)


class Incident(models.Model):
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True, default="")
    severity = models.CharField(max_length=8, choices=Severity.choices)
    category = models.CharField(max_length=32, choices=Category.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.DETECTED)
    aware_at = models.DateTimeField()
    jurisdictions = models.JSONField(default=list, blank=True)
    source_alert_id = models.BigIntegerField(null=True, blank=True, unique=True)
    opened_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    triaged_at = models.DateTimeField(null=True, blank=True)
    contained_at = models.DateTimeField(null=True, blank=True)
    eradicated_at = models.DateTimeField(null=True, blank=True)
    recovered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # SLA notices already sent: {"triage": ["warn", "breach"], ...} (the job is idempotent).
    sla_notified = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "aware_at"])]

    def __str__(self) -> str:
        return f"incident {self.id}"


class RoleAssignment(models.Model):
    """Who holds an incident role; a hand-off ends one row and starts the next."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(max_length=16, choices=IncidentRole.choices)
    user = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    assigned_at = models.DateTimeField()
    assigned_by = models.CharField(max_length=200)
    ended_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["incident", "role"], condition=models.Q(ended_at__isnull=True),
            name="incidents_one_current_holder_per_role")]

    def __str__(self) -> str:
        return f"{self.role} of incident {self.incident_id}"


class TimelineEntry(models.Model):
    """A manual timeline entry (audit-derived entries are read from the log, not copied)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="entries")
    at = models.DateTimeField()
    text = models.TextField()
    author = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"timeline entry {self.id}"


class DelayException(models.Model):
    """A recorded delay (law-enforcement request): pauses the notice clocks it names."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="delays")
    jurisdiction = models.CharField(max_length=32, blank=True, default="")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField()
    evidence = models.TextField()
    recorded_by = models.CharField(max_length=200)
    recorded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"delay {self.id}"


class ContainmentAction(models.Model):
    """A containment step taken through another app's service, and its reversal if any."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(max_length=16, choices=ContainmentKind.choices)
    target_id = models.BigIntegerField()
    target_label = models.CharField(max_length=200)
    reason = models.CharField(max_length=500)
    taken_at = models.DateTimeField()
    taken_by = models.CharField(max_length=200)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.CharField(max_length=200, blank=True, default="")
    reversal_reason = models.CharField(max_length=500, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.kind} {self.target_id}"


class PostIncidentReview(models.Model):
    """The post-incident review of one incident (R-IR-7); complete gates closing."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="review")
    root_cause = models.TextField(blank=True, default="")
    lessons = models.TextField(blank=True, default="")
    playbook_updated = models.BooleanField(default=False)
    playbook_reference = models.CharField(max_length=300, blank=True, default="")
    retest_on = models.DateField(null=True, blank=True)
    retest_result = models.CharField(max_length=8, choices=RetestResult.choices, blank=True,
                                     default="")
    updated_by = models.CharField(max_length=200)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"review of incident {self.incident_id}"


class ActionItem(models.Model):
    """An action item of a post-incident review, tracked to closure (R-IR-7)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="action_items")
    text = models.CharField(max_length=1000)
    owner = models.CharField(max_length=200)
    due_on = models.DateField()
    status = models.CharField(max_length=8, choices=ItemStatus.choices, default=ItemStatus.OPEN)
    resolution = models.CharField(max_length=1000, blank=True, default="")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=200, blank=True, default="")
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"action item {self.id}"


class Exercise(models.Model):
    """A tabletop or full incident-response drill (R-IR-3): scheduled, run, timed, scored."""

    kind = models.CharField(max_length=16, choices=ExerciseKind.choices)
    title = models.CharField(max_length=200)
    scheduled_on = models.DateField()
    run_on = models.DateField(null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    external_observers = models.CharField(max_length=500, blank=True, default="")
    timeliness_score = models.PositiveSmallIntegerField(null=True, blank=True)
    clarity_score = models.PositiveSmallIntegerField(null=True, blank=True)
    created_by = models.CharField(max_length=200)
    recorded_by = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "run_on"])]

    def __str__(self) -> str:
        return f"exercise {self.id}"


class ExerciseFinding(models.Model):
    """A finding of an exercise, tracked to closure (R-IR-3)."""

    exercise = models.ForeignKey(Exercise, on_delete=models.CASCADE, related_name="findings")
    text = models.CharField(max_length=1000)
    owner = models.CharField(max_length=200)
    due_on = models.DateField()
    status = models.CharField(max_length=8, choices=ItemStatus.choices, default=ItemStatus.OPEN)
    resolution = models.CharField(max_length=1000, blank=True, default="")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=200, blank=True, default="")
    created_by = models.CharField(max_length=200)

    def __str__(self) -> str:
        return f"finding {self.id}"


class Retainer(models.Model):
    """A forensic or legal firm on retainer (R-IR-4)."""

    kind = models.CharField(max_length=16, choices=RetainerKind.choices)
    firm = models.CharField(max_length=200)
    service = models.CharField(max_length=300)
    contact = models.CharField(max_length=300)
    contract_reference = models.CharField(max_length=200)
    starts_on = models.DateField()
    ends_on = models.DateField()
    hours_included = models.PositiveIntegerField()
    last_tested_on = models.DateField(null=True, blank=True)
    created_by = models.CharField(max_length=200)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"retainer {self.id}"


class EvidenceItem(models.Model):
    """One item in an incident's evidence locker (R-IR-5): its SHA-256 taken at intake and its
    bytes sealed under the ``data`` keyset, bound to the incident and that hash. Never updated
    except to mark it tampered; never deleted through the application."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="evidence")
    kind = models.CharField(max_length=16)  # "upload" | "audit_slice"
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    sealed = models.TextField()
    description = models.CharField(max_length=500, blank=True, default="")
    collected_by = models.CharField(max_length=200)
    collected_at = models.DateTimeField(auto_now_add=True)
    tampered_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"evidence {self.id}"


class CustodyEntry(models.Model):
    """The chain of custody of one evidence item: append-only, one row per access (R-IR-5)."""

    item = models.ForeignKey(EvidenceItem, on_delete=models.PROTECT, related_name="custody")
    at = models.DateTimeField()
    actor = models.CharField(max_length=200)
    action = models.CharField(max_length=16)  # collected | viewed | exported | transferred
    purpose = models.CharField(max_length=500)
    transferred_to = models.CharField(max_length=200, blank=True, default="")
    outcome = models.CharField(max_length=16, default="ok")  # ok | tampered

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"custody {self.id}"


class PlaybookPin(models.Model):
    """The playbook version an incident follows (R-IR-7): pinned when its checklist is made, so
    a later edit of the YAML never rewrites an open incident's checklist."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="playbook")
    category = models.CharField(max_length=32)
    version = models.PositiveIntegerField()
    file = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64)
    pinned_at = models.DateTimeField()
    pinned_by = models.CharField(max_length=200)

    def __str__(self) -> str:
        return f"{self.file} v{self.version} for incident {self.incident_id}"


class ChecklistItem(models.Model):
    """One checklist item of an incident's pinned playbook: copied at pinning (text, owner role,
    due time from awareness), checked off with who, when and a note (R-IR-7)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="checklist")
    position = models.PositiveIntegerField()
    stage = models.CharField(max_length=32)
    key = models.CharField(max_length=40)
    text = models.CharField(max_length=500)
    owner_role = models.CharField(max_length=16, choices=IncidentRole.choices)
    due_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.CharField(max_length=200, blank=True, default="")
    note = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["incident", "key"],
                                               name="incidents_checklist_key_once")]

    def __str__(self) -> str:
        return f"checklist item {self.id}"


# --- Communications (R-IR-6; decision 0229): letters, regulator notices, internal updates ----

class CommunicationPlan(models.Model):
    """What an incident's customer letters say beyond the facts the platform knows (what
    happened in words, what we did, what you can do, the mitigation offered); editable."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE,
                                    related_name="communication_plan")
    what_happened = models.TextField(blank=True, default="")
    what_we_did = models.TextField(blank=True, default="")
    what_you_can_do = models.TextField(blank=True, default="")
    mitigation = models.TextField(blank=True, default="")  # e.g. 12 months of credit monitoring
    updated_by = models.CharField(max_length=200)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"communication plan of incident {self.incident_id}"


class Communication(models.Model):
    """The sent log: one generated document (PDF sealed under the ``data`` keyset, bound to the
    incident and its SHA-256) and what became of it. Never deleted through the application."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT,
                                 related_name="communications")
    kind = models.CharField(max_length=20)  # customer_letter | regulator_notice | internal_update
    recipient_ref = models.CharField(max_length=200)  # customer id, jurisdiction, "role holders"
    jurisdictions = models.JSONField(default=list, blank=True)
    data_categories = models.JSONField(default=list, blank=True)
    channel = models.CharField(max_length=16, default="")  # email | manual ("" until sent)
    status = models.CharField(max_length=16)  # generated | sent | failed | submitted | withheld
    pdf_sha256 = models.CharField(max_length=64, blank=True, default="")
    sealed = models.TextField(blank=True, default="")
    reference = models.CharField(max_length=200, blank=True, default="")
    detail = models.CharField(max_length=500, blank=True, default="")
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["incident", "kind"])]

    def __str__(self) -> str:
        return f"communication {self.id}"


class PublicNotice(models.Model):
    """A short public notice about an incident for the trust page; public text only."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT,
                                 related_name="public_notices")
    title = models.CharField(max_length=200)
    summary = models.TextField()
    published_at = models.DateTimeField()
    published_by = models.CharField(max_length=200)

    class Meta:
        indexes = [models.Index(fields=["-published_at"])]

    def __str__(self) -> str:
        return f"public notice {self.id}"


class LetterRun(models.Model):
    """One "generate letters" action (R-IR-6): who asked, when, for how many affected customers,
    and how far the background job has got. ``customers`` holds the affected list as it was when
    asked (customer ids, read times, categories: what each letter says); ``position`` is the
    index of the next customer and moves in the same transaction as each letter, so a job killed
    half-way resumes at the first customer without a letter, never writing one twice."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="letter_runs")
    state = models.CharField(max_length=16)  # queued | running | done | failed
    total = models.PositiveIntegerField()
    position = models.PositiveIntegerField(default=0)
    generated = models.PositiveIntegerField(default=0)
    withheld = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)  # already had a letter
    not_addressable = models.PositiveIntegerField(default=0)
    customers = models.JSONField(default=list)
    content_sha256 = models.CharField(max_length=64)  # the letter content (plan) it renders
    detail = models.CharField(max_length=500, blank=True, default="")
    actor_kind = models.CharField(max_length=16)
    actor_id = models.CharField(max_length=200, blank=True, default="")
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    # When the job last moved (started or handled a customer): a queued or running batch that
    # has not moved for SAFEGUARD_INCIDENTS_LETTERS_STALE_SECONDS is queued again.
    progressed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["incident", "-created_at"])]

    def __str__(self) -> str:
        return f"letter run {self.id}"

"""Tables of the privacy app: legal holds, retention sweeps and their dispositions.

Private (STYLE.md rule 3): other apps use services/selectors, which hand out frozen views.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from safeguard.privacy.enums import (
    ClockState,
    HoldScope,
    Regime,
    RequestChannel,
    RequestKind,
    RequestStatus,
    RestrictionScope,
    SweepStatus,
    TransferMechanism,
)
from safeguard.protection.fields import EncryptedTextField


class LegalHold(models.Model):
    """While active (not released), nothing in scope is deleted or anonymised (R-DATA-3)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    scope = models.CharField(max_length=10, choices=HoldScope.choices)
    target_id = models.CharField(max_length=64, blank=True)  # customer/case id; "" for a query
    # scope "query": {"queue": slug, "tag": name, "created_from": iso, "created_to": iso}
    query = models.JSONField(default=dict, blank=True)
    reason = EncryptedTextField()  # screened free text (may name a matter or a person)
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="+")
    placed_at = models.DateTimeField()
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["scope", "target_id"], name="privacy_hold_target")]
        constraints = [models.CheckConstraint(
            condition=Q(released_at__isnull=True) | ~Q(released_by=models.F("placed_by")),
            name="privacy_hold_release_second_person")]

    def __str__(self) -> str:  # ids only: str() ends up in logs
        return f"legal hold {self.pk}"


class SweepRun(models.Model):
    """One retention sweep; ``cursor`` holds the last key finished per target (resumable)."""

    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=SweepStatus.choices,
                              default=SweepStatus.RUNNING)
    as_of = models.DateField()  # the day the sweep evaluates periods against
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField()
    triggered_by = models.CharField(max_length=64)
    cursor = models.JSONField(default=dict)  # {target: last key done}
    counts = models.JSONField(default=dict)  # {"target:action": n}
    held = models.PositiveIntegerField(default=0)  # records skipped because of a legal hold
    matrix_version = models.PositiveIntegerField(default=1)  # the matrix version applied

    def __str__(self) -> str:
        return f"sweep {self.pk}"


class Disposition(models.Model):
    """What a sweep did (or would do, in a dry run) to one record: the deletion receipt line.

    Unique per record and action outside dry runs, so a resumed or repeated sweep never acts
    twice on the same record."""

    run = models.ForeignKey(SweepRun, on_delete=models.CASCADE, related_name="dispositions")
    target = models.CharField(max_length=20)  # sweep target: "case", "call_recording"
    record_id = models.CharField(max_length=64)
    record_class = models.CharField(max_length=40)
    action = models.CharField(max_length=10)
    dry_run = models.BooleanField(default=False)
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["target", "record_id", "action"], condition=Q(dry_run=False),
            name="privacy_disposition_once")]
        indexes = [models.Index(fields=["run", "target"], name="privacy_disposition_run")]

    def __str__(self) -> str:
        return f"disposition {self.pk}"


class DataSubjectRequest(models.Model):
    """A data-subject request (R-DATA-7): its clock, verification, outcome and reply."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=RequestKind.choices)
    channel = models.CharField(max_length=8, choices=RequestChannel.choices,
                               default=RequestChannel.STAFF)
    regime = models.CharField(max_length=8, choices=Regime.choices)
    # None: a public request whose address matches no profile (we hold nothing under it)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="+")
    received_on = models.DateField()
    due_on = models.DateField()
    extended = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=RequestStatus.choices,
                              default=RequestStatus.RECEIVED)
    acknowledge_by = models.DateField(null=True, blank=True)  # CCPA: 10 business days
    acknowledged_on = models.DateField(null=True, blank=True)
    clock_state = models.CharField(max_length=10, choices=ClockState.choices,
                                   default=ClockState.ON_TRACK)  # last state notified
    verified_at = models.DateTimeField(null=True, blank=True)  # the verification relied on
    closed_on = models.DateField(null=True, blank=True)
    reply = EncryptedTextField(default="", blank=True)  # the letter sent (names kept records)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="+")  # None: the public page
    created_at = models.DateTimeField()
    # Public intake (decision 0117): the requester's own address (replies go there), what they
    # wrote (screened), the keyed hash of the public reference and of the one-time code.
    contact_email = EncryptedTextField(null=True, blank=True)
    details = EncryptedTextField(null=True, blank=True)
    reference_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    code_hash = models.CharField(max_length=64, default="", blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    code_failures = models.PositiveSmallIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["closed_on", "due_on"], name="privacy_dsr_clock")]

    def __str__(self) -> str:  # ids only: str() ends up in logs
        return f"dsr {self.pk}"


class ProcessingRestriction(models.Model):
    """A processing of a customer's data stopped by a request (GDPR Arts. 18, 21; CCPA opt-out
    and limit): apps ask ``privacy.customer_restrictions`` before such a processing."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT,
                                 related_name="+")
    scope = models.CharField(max_length=12, choices=RestrictionScope.choices)
    request = models.ForeignKey(DataSubjectRequest, on_delete=models.PROTECT, related_name="+")
    since = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "scope"],
                                               name="privacy_restriction_once")]

    def __str__(self) -> str:
        return f"restriction {self.pk}"


class MatrixVersion(models.Model):
    """One version of the Records Retention Matrix edited in the UI (R-DATA-3, R-REG-4): the
    whole document, what changed and why, who changed it. The highest number is in force; the
    shipped file is stored as version 1 (``changed_by`` empty) before the first edit."""

    number = models.PositiveIntegerField(unique=True)
    document = models.TextField()  # the matrix YAML of this version (validated before saving)
    changes = models.JSONField(default=list)  # [{"class", "field", "old", "new"}]
    reason = models.TextField()  # screened free text
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"matrix v{self.number}"


class NoticeVersion(models.Model):
    """A published version of the public privacy notice (R-DATA-5): effective from a date,
    with a summary of what changed and who published it. Versions are never edited."""

    number = models.PositiveIntegerField(unique=True)
    effective_on = models.DateField()
    summary = models.TextField()
    body = models.TextField()
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                     related_name="+")
    published_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["effective_on", "number"], name="privacy_notice_eff")]

    def __str__(self) -> str:
        return f"notice v{self.number}"


class Subprocessor(models.Model):
    """A processor the organisation engages (R-DATA-6): published on the public register while
    not removed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    vendor = models.CharField(max_length=200)
    service = models.CharField(max_length=300)
    data_categories = models.JSONField(default=list)  # keys of privacy/taxonomy.yaml
    location = models.CharField(max_length=200)
    dpa_signed_on = models.DateField()
    transfer_mechanism = models.CharField(max_length=12, choices=TransferMechanism.choices)
    last_verified_on = models.DateField()
    evidence_ref = models.CharField(max_length=300)
    added_on = models.DateField()
    removed_on = models.DateField(null=True, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"subprocessor {self.pk}"


class Archive(models.Model):
    """An encrypted archive taken before the sweep deleted or erased a record (archive-then-
    delete). The ciphertext is a file (Tink streaming AEAD); its key, wrapped by the data
    keyset, lives only here, so deleting the row makes a leftover file unreadable. The sweep
    deletes it on ``expires_on`` unless a legal hold covers its case or customer."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    target = models.CharField(max_length=20)  # sweep target: "case", "call_recording"
    record_id = models.CharField(max_length=64)
    case_id = models.CharField(max_length=64)
    customer_id = models.CharField(max_length=64)
    record_class = models.CharField(max_length=40)
    created_at = models.DateTimeField()
    expires_on = models.DateField()
    wrapped_key = models.TextField()  # the archive's own keyset, sealed under the data keyset
    sha256 = models.CharField(max_length=64)  # of the ciphertext file
    size = models.PositiveBigIntegerField()
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["deleted_at", "expires_on"], name="privacy_archive_due")]

    def __str__(self) -> str:
        return f"archive {self.pk}"

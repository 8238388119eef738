"""Storage of the protection app (private): keys, the card vault, job cursors.

Nothing here holds a secret in the clear: keysets are wrapped by the key-encryption key, card
numbers are AEAD ciphertext bound to their row, fingerprints are keyed PRF outputs.
"""

from __future__ import annotations

import uuid

from django.db import models

from safeguard.protection.enums import JobStatus, KekProvider
from safeguard.protection.fields import BlindIndexField, EncryptedTextField


class MasterKey(models.Model):
    """The single key-encryption-key record: which provider, and a check value to verify it."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    provider = models.CharField(max_length=16, choices=KekProvider.choices)
    # Names the unsealed-key file of this installation (several may share a machine).
    instance = models.UUIDField(default=uuid.uuid4, unique=True)
    # The KEK's encryption of a constant: proves a KEK (or a set of shares) is the right one.
    check_value = models.BinaryField()
    threshold = models.PositiveSmallIntegerField(null=True, blank=True)
    shares = models.PositiveSmallIntegerField(null=True, blank=True)
    kms_uri = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"KEK ({self.provider})"


class Keyset(models.Model):
    """A Tink keyset encrypted under the KEK; ``version`` bumps on every change (cache check)."""

    name = models.CharField(max_length=32, primary_key=True)
    wrapped = models.BinaryField()
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"keyset {self.name} v{self.version}"


class KeyVersion(models.Model):
    """When each key of a keyset was created and became primary (Tink keeps no dates)."""

    keyset = models.CharField(max_length=32)
    key_id = models.BigIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["keyset", "key_id"], name="protection_key_once"),
        ]

    def __str__(self) -> str:
        return f"{self.keyset}:{self.key_id}"


class Token(models.Model):
    """The card vault: a random token, the card number as ciphertext, display metadata."""

    # Generated before the first INSERT so the ciphertext can bind to it (decision 0005).
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    token = models.CharField(max_length=40, unique=True)
    pan = EncryptedTextField()
    fingerprint = BlindIndexField(source="pan", normaliser="digits", keyset="fingerprint",
                                  purpose="vault.pan", unique=True)
    brand = models.CharField(max_length=16)
    last4 = models.CharField(max_length=4)
    created_at = models.DateTimeField()
    last_detokenized_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.token


class RotationJob(models.Model):
    """A re-encryption run after a rotation: its cursor makes it resumable."""

    keysets = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    cursor = models.JSONField(default=dict)  # model label -> last primary key done
    models_done = models.JSONField(default=list)
    scanned = models.BigIntegerField(default=0)
    rewritten = models.BigIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    # Issue 17: the job ends only with a full sweep that began after every process's keyset
    # cache expired (settle_after) and found nothing under an old key.
    settle_after = models.DateTimeField(null=True, blank=True)
    passes = models.PositiveIntegerField(default=0)
    pass_started_at = models.DateTimeField(null=True, blank=True)
    pass_rewritten = models.BigIntegerField(default=0)
    # Who runs it (host:pid) and when it last made progress: a job killed with kill -9 stays
    # "running" in the database; these tell that it is stale and may be resumed.
    runner = models.CharField(max_length=120, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"rotation job {self.pk} ({self.status})"


class RescanRun(models.Model):
    """A scan of stored text for card numbers (`safeguard protection rescan`), resumable."""

    fix = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    cursor = models.JSONField(default=dict)
    models_done = models.JSONField(default=list)
    scanned = models.BigIntegerField(default=0)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"rescan {self.pk} ({self.status})"


class RescanFinding(models.Model):
    """Where a card number was found: model, row, column and offsets, never the value."""

    run = models.ForeignKey(RescanRun, on_delete=models.CASCADE, related_name="findings")
    model = models.CharField(max_length=100)
    object_pk = models.CharField(max_length=64)
    field = models.CharField(max_length=100)
    type = models.CharField(max_length=40)
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    fixed = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.model}:{self.object_pk}.{self.field}"

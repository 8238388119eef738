"""Public enums of the protection app."""

from __future__ import annotations

from django.db import models


class Action(models.TextChoices):
    """What screening does with one finding (policies.yaml names these)."""

    TOKENIZE = "tokenize", "Replace with a vault token (card numbers, always)"
    MASK = "mask", "Replace with a mask such as [EMAIL]"
    HASH = "hash", "Replace with a keyed hash, equal values give equal hashes"
    DROP = "drop", "Remove the value"
    KEEP = "keep", "Keep the value as written"


class KekProvider(models.TextChoices):
    """Where the key-encryption key comes from (docs/keys.md)."""

    DEV = "dev", "Development file in the data directory (demo only)"
    LOCAL = "local", "Split knowledge: Shamir shares held by custodians"
    KMS = "kms", "External KMS (AWS KMS, GCP KMS, HashiCorp Vault / OpenBao transit)"


class KeysetName(models.TextChoices):
    """The data keysets; each is a Tink keyset wrapped by the KEK."""

    DATA = "data", "AEAD AES-256-GCM: encrypted fields and the vault"
    INDEX = "index", "HMAC-SHA256 PRF: blind indexes and keyed hashes"
    FINGERPRINT = "fingerprint", "HMAC-SHA256 PRF: the vault's card fingerprints"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"

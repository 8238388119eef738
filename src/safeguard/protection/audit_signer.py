"""The audit log's tree-head signing key, managed by the protection app (R-IR-5, R-OPS-4).

The Ed25519 private key lives in a 0600 file sealed with the ``data`` keyset (Tink AEAD, wrapped
by the KEK): a copy of the file is useless without the KEK, and while the installation is sealed
nothing can sign. Named by ``SAFEGUARD_AUDIT_SIGNER`` (the default outside tests); the audit app
never imports this module.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from safeguard.audit import signing
from safeguard.protection import keyring

_AD = b"safeguard.audit.signing-key.v1"


def _path() -> Path:
    configured = getattr(settings, "SAFEGUARD_AUDIT_KEY_FILE", "")
    base = Path(configured) if configured else Path(settings.DATA_DIR) / "audit-signing.key"
    return base.with_name(base.name + ".sealed")


def _seal(raw: bytes) -> bytes:
    return keyring.data_aead().encrypt(raw, _AD)


def _unseal(blob: bytes) -> bytes:
    return keyring.data_aead().decrypt(blob, _AD)


def sealed_signer(*, keygen: bool = False) -> signing.Signer:
    """The sealed key file; generated on first use except in production (``audit keygen``)."""
    path = _path()
    if keygen and path.exists():
        raise FileExistsError(f"{path} exists; a signing key is never replaced in place")
    return signing.FileSigner(path, create=keygen or not settings.PRODUCTION, seal=_seal,
                              unseal=_unseal)

"""Signing keys for tree heads (R-IR-5): Ed25519, from a provider named in settings.

``SAFEGUARD_AUDIT_SIGNER`` names a zero-argument callable returning a :class:`Signer`. The
default keeps an Ed25519 private key in a file (``SAFEGUARD_AUDIT_KEY_FILE``, default
``$SAFEGUARD_DATA_DIR/audit-signing.key``, mode 0600), generated on first use. The protection app
can provide a KMS-backed signer through the same setting; the audit app never imports it.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class Signer(Protocol):
    key_id: str

    def sign(self, message: bytes) -> bytes: ...

    def public_key_pem(self) -> str: ...


@dataclass(frozen=True)
class Verifier:
    """A trusted public key: checks heads without any secret."""

    key_id: str
    public_key: Ed25519PublicKey

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            self.public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


def key_id_for(public_key: Ed25519PublicKey) -> str:
    """The first 16 hex characters of SHA-256 over the raw public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


class FileSigner:
    """An Ed25519 key in a 0600 file: PEM, or sealed by ``seal``/``unseal`` (the protection
    app's key hierarchy) so the file alone is useless to whoever copies it."""

    def __init__(self, path: Path, *, create: bool = True,
                 seal: Callable[[bytes], bytes] | None = None,
                 unseal: Callable[[bytes], bytes] | None = None) -> None:
        if not path.exists():
            if not create:
                raise ImproperlyConfigured(
                    f"No audit signing key at {path}: create it once with "
                    "`safeguard audit keygen` (a key appearing by itself would let anyone who "
                    "deletes the file sign a rewritten history).")
            path.parent.mkdir(parents=True, exist_ok=True)
            key = Ed25519PrivateKey.generate()
            if seal is not None:
                blob = seal(key.private_bytes(serialization.Encoding.Raw,
                                              serialization.PrivateFormat.Raw,
                                              serialization.NoEncryption()))
            else:
                blob = key.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption())
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
            logger.warning("audit.signing_key_generated", extra={"path": str(path)})
        loaded: object
        if unseal is not None:
            loaded = Ed25519PrivateKey.from_private_bytes(unseal(path.read_bytes()))
        else:
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        self._key = loaded
        self.key_id = key_id_for(loaded.public_key())

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def public_key_pem(self) -> str:
        return self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def key_path() -> Path:
    """SAFEGUARD_AUDIT_KEY_FILE, or audit-signing.key in the data directory."""
    return Path(getattr(settings, "SAFEGUARD_AUDIT_KEY_FILE", "") or
                Path(settings.DATA_DIR) / "audit-signing.key")


def file_signer(*, keygen: bool = False) -> Signer:
    """A plain key file, generated on first use except in production (the fallback provider;
    installations with the protection app use its sealed key)."""
    return FileSigner(_fresh(key_path()) if keygen else key_path(),
                      create=keygen or not settings.PRODUCTION)


def _fresh(path: Path) -> Path:
    if path.exists():
        raise FileExistsError(f"{path} exists; a signing key is never replaced in place")
    return path


def keygen() -> Signer:
    """Create the configured provider's signing key once (0600); never replaces one."""
    return import_string(settings.SAFEGUARD_AUDIT_SIGNER)(keygen=True)


@cache
def _signer(path: str) -> Signer:
    return import_string(path)()


def get_signer() -> Signer:
    """The configured signer (cached per provider path)."""
    return _signer(getattr(settings, "SAFEGUARD_AUDIT_SIGNER",
                           "safeguard.audit.signing.file_signer"))


def trusted_verifiers() -> dict[str, Verifier]:
    """The keys heads may be signed with: the signer's own plus SAFEGUARD_AUDIT_TRUSTED_KEYS
    (PEM files of retired keys, so heads signed before a rotation still verify)."""
    keys: dict[str, Verifier] = {}
    pems = [get_signer().public_key_pem()]
    pems += [Path(path).read_text() for path in getattr(settings,
                                                         "SAFEGUARD_AUDIT_TRUSTED_KEYS", [])]
    for pem in pems:
        public = serialization.load_pem_public_key(pem.encode())
        if isinstance(public, Ed25519PublicKey):
            keys[key_id_for(public)] = Verifier(key_id_for(public), public)
    return keys


def head_message(*, size: int, root_hash: str, signed_at_iso: str) -> bytes:
    """What a head signature covers; stable, documented in docs/audit.md."""
    return f"safeguard-tree-head/v1\n{size}\n{root_hash}\n{signed_at_iso}\n".encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)

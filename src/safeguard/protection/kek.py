"""Key-encryption-key (KEK) providers: where the key that wraps every data keyset comes from.

* ``dev``: a Tink keyset in a file in the data directory. Anyone who can read the data
  directory can read every secret: demo and tests only, loudly warned, refused in production.
* ``local``: split knowledge (R-OPS-4). A 256-bit KEK exists only as M-of-N SLIP-39 shares held
  by custodians; ``safeguard keys unseal`` recombines M of them and writes the KEK to a file on
  tmpfs, readable by the service user only, from which every process on that machine loads it
  (docs/decisions/0004-key-hierarchy-and-unseal.md).
* ``kms``: envelope encryption under a key that never leaves an external KMS (Tink's AWS KMS,
  GCP KMS and HashiCorp Vault / OpenBao transit integrations), named by ``SAFEGUARD_KEK_URI``.

Internal to the app: other apps never see a KEK.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import sys
import uuid
from pathlib import Path

import tink
from django.conf import settings
from tink import aead, secret_key_access
from tink.proto import aes_gcm_pb2, tink_pb2

from safeguard.protection.contracts import KeysError, KeysSealed, KmsUnavailable, UnsealRefused
from safeguard.protection.enums import KekProvider

logger = logging.getLogger("safeguard.protection.keys")

KEK_BYTES = 32
CHECK_PLAINTEXT = b"safeguard-kek-check-v1"

_registered = False


def register_tink() -> None:
    """Register Tink's primitives once per process (idempotent)."""
    global _registered  # noqa: PLW0603 - process-wide one-time registration
    if not _registered:
        from tink import prf

        aead.register()
        prf.register()
        _registered = True


def check_associated_data(instance: uuid.UUID) -> bytes:
    return b"safeguard:kek-check:" + instance.bytes


def aead_from_raw(key: bytes) -> aead.Aead:
    """A Tink AES-256-GCM AEAD over raw key bytes (the key recombined from Shamir shares)."""
    register_tink()
    if len(key) != KEK_BYTES:
        raise KeysError("the key-encryption key must be 32 bytes")
    keyset = tink_pb2.Keyset(primary_key_id=1)
    entry = keyset.key.add()
    entry.key_data.type_url = "type.googleapis.com/google.crypto.tink.AesGcmKey"
    entry.key_data.value = aes_gcm_pb2.AesGcmKey(version=0, key_value=key).SerializeToString()
    entry.key_data.key_material_type = tink_pb2.KeyData.SYMMETRIC
    entry.status = tink_pb2.ENABLED
    entry.key_id = 1
    entry.output_prefix_type = tink_pb2.RAW
    handle = tink.proto_keyset_format.parse(keyset.SerializeToString(), secret_key_access.TOKEN)
    return handle.primitive(aead.Aead)


# --- dev ------------------------------------------------------------------------------------


@functools.cache
def _warn_dev() -> None:
    """Once per process (issue 15: the demo printed it twice), to stderr and the log."""
    message = ("DEV KEY-ENCRYPTION KEY IN USE: every secret is readable by anyone who can read "
               f"{settings.SAFEGUARD_DEV_KEK_FILE}. Demo and tests only; production needs "
               "SAFEGUARD_KEK_PROVIDER=local or kms (docs/keys.md).")
    logger.warning("protection.dev_kek_in_use", extra={"detail": message})
    if not settings.TESTING:
        sys.stderr.write(f"\n*** WARNING *** {message}\n\n")


def dev_aead() -> aead.Aead:
    """The dev KEK from its file, generated on first use (0600 in a 0700 directory)."""
    register_tink()
    path = Path(settings.SAFEGUARD_DEV_KEK_FILE)
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle = tink.new_keyset_handle(aead.aead_key_templates.AES256_GCM)
        text = tink.json_proto_keyset_format.serialize(handle, secret_key_access.TOKEN)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first: use theirs
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
    _warn_dev()
    handle = tink.json_proto_keyset_format.parse(path.read_text(), secret_key_access.TOKEN)
    return handle.primitive(aead.Aead)


# --- local (split knowledge) ----------------------------------------------------------------


def runtime_path(instance: uuid.UUID) -> Path:
    """Where `keys unseal` leaves the KEK for this installation's processes on this machine."""
    return Path(settings.SAFEGUARD_KEK_RUNTIME_DIR) / f"kek-{instance}"


def on_tmpfs(path: Path) -> bool:
    """True when ``path`` lies on a memory file system (never written to a disk)."""
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return False
    target = str(path.resolve())
    best, fstype = "", ""
    for line in mounts:
        parts = line.split()
        if len(parts) >= 3 and (target == parts[1] or target.startswith(parts[1].rstrip("/") + "/")
                                ) and len(parts[1]) > len(best):
            best, fstype = parts[1], parts[2]
    return fstype in {"tmpfs", "ramfs"}


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def runtime_dir_problem() -> str | None:
    """Why the KEK runtime directory is unfit, or None: it must be on tmpfs, outside the data
    directory (backups carry that), and if it exists owned by this user with mode 0700."""
    directory = Path(settings.SAFEGUARD_KEK_RUNTIME_DIR).resolve()
    data = Path(settings.DATA_DIR).resolve()
    if directory == data or data in directory.parents:
        return (f"{directory} lies inside the data directory {data}, which backups copy; set "
                "SAFEGUARD_KEK_RUNTIME_DIR to a directory on tmpfs such as /dev/shm/safeguard")
    if not on_tmpfs(_existing(directory)):
        return (f"{directory} is not on tmpfs: the unsealed KEK would be written to a disk; set "
                "SAFEGUARD_KEK_RUNTIME_DIR to a directory on tmpfs such as /dev/shm/safeguard")
    if directory.exists():
        st = directory.stat()
        if st.st_uid != os.geteuid():
            return (f"{directory} belongs to uid {st.st_uid}, not to this service user "
                    f"(uid {os.geteuid()}): another local user created it; remove it or set "
                    "SAFEGUARD_KEK_RUNTIME_DIR elsewhere")
        if st.st_mode & 0o077:
            return (f"{directory} has mode {oct(st.st_mode & 0o777)}; it must be 0700 "
                    "(chmod 700, or set SAFEGUARD_KEK_RUNTIME_DIR elsewhere)")
    return None


def _refusal(path: Path, *, is_dir: bool) -> str | None:
    """Why ``path`` may not hold (or contain) the unsealed KEK, or None (issue 17 item 7).

    Owner and mode are never negotiable; tmpfs is, only by SAFEGUARD_KEK_RUNTIME_ALLOW_DISK
    (every unseal records whether the key went to disk).
    """
    st = path.stat()
    if st.st_uid != os.geteuid():
        return (f"{path} belongs to uid {st.st_uid}, not to this service user (uid "
                f"{os.geteuid()}): another local user created it. Remove it, or set "
                "SAFEGUARD_KEK_RUNTIME_DIR to a directory of your own")
    wanted = 0o700 if is_dir else 0o600
    if st.st_mode & 0o777 != wanted:
        return (f"{path} has mode {oct(st.st_mode & 0o777)}; it must be {oct(wanted)} "
                "(readable by the service user alone)")
    if not on_tmpfs(path) and not settings.SAFEGUARD_KEK_RUNTIME_ALLOW_DISK:
        return (f"{path} is not on tmpfs: the key would reach a disk and its backups. Set "
                "SAFEGUARD_KEK_RUNTIME_DIR to a tmpfs directory such as /dev/shm/safeguard")
    return None


def write_runtime_key(instance: uuid.UUID, key: bytes) -> Path:
    """Write the unsealed KEK atomically, owner-only, on tmpfs; refuse a directory owned by
    another user, open to others, or on a disk (unless SAFEGUARD_KEK_RUNTIME_ALLOW_DISK)."""
    path = runtime_path(instance)
    directory = path.parent
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        problem = _refusal(directory, is_dir=True)
    except OSError as exc:
        raise UnsealRefused(f"Cannot use the KEK runtime directory {directory}: {exc.strerror}. "
                            "Set SAFEGUARD_KEK_RUNTIME_DIR to a directory this service user "
                            "owns.") from None
    if problem:
        raise UnsealRefused(f"KEK runtime directory refused: {problem}.")
    temp = directory / f".{path.name}.{secrets.token_hex(8)}"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    except OSError as exc:
        raise UnsealRefused(f"Cannot write the unsealed key in {directory}: {exc.strerror}."
                            ) from None
    finally:
        if temp.exists():
            temp.unlink()
    return path


def remove_runtime_key(instance: uuid.UUID) -> bool:
    """Overwrite and delete the unsealed KEK file; True if there was one."""
    path = runtime_path(instance)
    if not path.exists():
        return False
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.write(b"\0" * size)
        fh.flush()
        os.fsync(fh.fileno())
    path.unlink()
    return True


def local_aead(instance: uuid.UUID) -> aead.Aead:
    """The unsealed KEK from the runtime file, or :class:`KeysSealed`."""
    path = runtime_path(instance)
    try:
        problem = _refusal(path, is_dir=False)
        if problem:
            raise KeysSealed(f"The unsealed key file is refused: {problem}.")
        key = path.read_bytes()
    except FileNotFoundError:
        raise KeysSealed("The keys are sealed: custodians must run `safeguard keys unseal` "
                         "on this machine.") from None
    except OSError as exc:
        raise KeysSealed(f"Cannot read the unsealed key at {path}: {exc.strerror}.") from None
    return aead_from_raw(key)


# --- kms ------------------------------------------------------------------------------------

_EXTRAS = {"aws-kms": "tink[awskms]", "gcp-kms": "tink[gcpkms]", "hcvault": "tink[hcvault]"}


def _remote_aead(uri: str) -> aead.Aead:
    scheme = uri.split("://", 1)[0] if "://" in uri else ""
    credentials = settings.SAFEGUARD_KMS_CREDENTIALS or None
    try:
        if scheme == "aws-kms":
            from tink.integration import awskms

            return awskms.AwsKmsClient(uri, credentials).get_aead(uri)
        if scheme == "gcp-kms":
            from tink.integration import gcpkms

            return gcpkms.GcpKmsClient(uri, credentials).get_aead(uri)
        if scheme == "hcvault":
            import hvac
            from tink.integration import hcvault

            token_file = settings.SAFEGUARD_VAULT_TOKEN_FILE
            token = Path(token_file).read_text().strip() if token_file else None
            client = hvac.Client(url=settings.SAFEGUARD_VAULT_ADDR, token=token)
            return hcvault.new_aead(uri.removeprefix("hcvault://"), client)
        # Any other scheme: a KMS client registered with tink.register_kms_client().
        return tink.kms_client_from_uri(uri).get_aead(uri)
    except ImportError:
        raise KmsUnavailable(
            f"The {scheme} integration is not installed: pip install '{_EXTRAS[scheme]}'."
        ) from None
    except (tink.TinkError, OSError) as exc:
        raise KmsUnavailable(f"Cannot reach the KMS key {uri}: {exc}") from None


def kms_aead(uri: str) -> aead.Aead:
    """Envelope AEAD: a fresh AES-256-GCM key per wrap, itself encrypted by the remote key.

    Envelope encryption also lets remote keys that take no associated data (Vault transit)
    protect keysets whose wrapping binds the keyset name.
    """
    register_tink()
    if not uri:
        raise KmsUnavailable("SAFEGUARD_KEK_URI is empty: name the KMS key, e.g. aws-kms://arn:…")
    return aead.KmsEnvelopeAead(aead.aead_key_templates.AES256_GCM, _remote_aead(uri))


def provider_aead(provider: str, *, instance: uuid.UUID, kms_uri: str) -> aead.Aead:
    """The KEK of an initialised installation, from its provider."""
    if provider == KekProvider.DEV:
        return dev_aead()
    if provider == KekProvider.LOCAL:
        return local_aead(instance)
    if provider == KekProvider.KMS:
        return kms_aead(kms_uri)
    raise KeysError(f"unknown KEK provider {provider!r}")

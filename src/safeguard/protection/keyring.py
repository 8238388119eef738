"""Data keysets: Tink keysets wrapped by the KEK, cached per process, rotated by adding keys.

Keysets (``KeysetName``): ``data`` (AEAD AES-256-GCM, Tink output prefix so every ciphertext
names its key), ``index`` and ``fingerprint`` (HMAC-SHA256 PRFs; stored outputs carry the key id
as a 4-byte prefix). Rotation adds a new primary key and keeps the old ones for reading; the
rotation job (`rotation.py`) then rewrites rows still under an old key.

A process caches unwrapped keysets and re-checks the stored version every
``SAFEGUARD_KEYSET_CACHE_SECONDS``, so a rotation in another process is picked up without a
restart. Internal to the app.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import secrets
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import tink
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from tink import aead, prf, secret_key_access
from tink.proto import tink_pb2

from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.protection import kek as keks
from safeguard.protection.contracts import (
    IssuedShares,
    KeysAlreadyInitialised,
    KeysError,
    KeysNotInitialised,
    UnsealRefused,
    UnsealResult,
)
from safeguard.protection.enums import KekProvider, KeysetName
from safeguard.protection.models import Keyset, KeyVersion, MasterKey

PRF_KEYSETS = frozenset({KeysetName.INDEX.value, KeysetName.FINGERPRINT.value})
TINK_PREFIX = 0x01


def _template(name: str) -> tink_pb2.KeyTemplate:
    keks.register_tink()
    if name == KeysetName.DATA:
        return aead.aead_key_templates.AES256_GCM
    if name in PRF_KEYSETS:
        return prf.prf_key_templates.HMAC_SHA256
    raise KeysError(f"unknown keyset {name!r}; keysets are {', '.join(KeysetName.values)}")


def _wrap_ad(name: str) -> bytes:
    return b"safeguard:keyset:" + name.encode()


@dataclass
class _Cached:
    version: int
    checked_at: float
    handle: tink.KeysetHandle
    primitive: Any
    primary_id: int


_lock = threading.RLock()
_keysets: dict[str, _Cached] = {}
_keks: dict[uuid.UUID, aead.Aead] = {}


def reset_caches() -> None:
    """Forget every cached key (tests; after init, rotation or seal in this process)."""
    with _lock:
        _keysets.clear()
        _keks.clear()


# --- the KEK --------------------------------------------------------------------------------


def _master(*, auto_dev: bool = True) -> MasterKey:
    master = MasterKey.objects.filter(id=1).first()
    if master is None:
        if auto_dev and settings.SAFEGUARD_KEK_PROVIDER == KekProvider.DEV:
            # Demo and tests initialise themselves; real providers need `safeguard keys init`.
            # Another process may initialise first: then use its keys.
            with contextlib.suppress(KeysAlreadyInitialised, IntegrityError):
                keys_init(provider=KekProvider.DEV, actor=Actor.system("protection.keys"))
            master = MasterKey.objects.get(id=1)
        else:
            raise KeysNotInitialised("No keys yet: run `safeguard keys init` (docs/keys.md).")
    if master.provider != settings.SAFEGUARD_KEK_PROVIDER:
        raise KeysError(f"The keys were initialised with the {master.provider!r} provider but "
                        f"SAFEGUARD_KEK_PROVIDER is {settings.SAFEGUARD_KEK_PROVIDER!r}.")
    return master


def _verify(kek: aead.Aead, master: MasterKey) -> None:
    try:
        plain = kek.decrypt(bytes(master.check_value), keks.check_associated_data(master.instance))
    except tink.TinkError:
        plain = b""
    if plain != keks.CHECK_PLAINTEXT:
        raise KeysError(f"The {master.provider} key-encryption key does not match this "
                        "installation's keys (wrong file, shares or KMS key).")


def _kek(master: MasterKey) -> aead.Aead:
    with _lock:
        cached = _keks.get(master.instance)
    if cached is not None:
        return cached
    kek = keks.provider_aead(master.provider, instance=master.instance, kms_uri=master.kms_uri)
    _verify(kek, master)
    with _lock:
        _keks[master.instance] = kek
    return kek


# --- keysets --------------------------------------------------------------------------------


def _unwrap(row: Keyset, kek: aead.Aead) -> tink.KeysetHandle:
    try:
        return tink.proto_keyset_format.parse_encrypted(bytes(row.wrapped), kek, _wrap_ad(row.name))
    except tink.TinkError:
        raise KeysError(f"Keyset {row.name!r} does not decrypt under the key-encryption key."
                        ) from None


def _primitive(name: str, handle: tink.KeysetHandle) -> Any:
    return handle.primitive(aead.Aead if name == KeysetName.DATA else prf.PrfSet)


def _load(name: str, *, force: bool = False) -> _Cached:
    now = time.monotonic()
    with _lock:
        cached = _keysets.get(name)
    if cached is not None and not force and now - cached.checked_at < (
            settings.SAFEGUARD_KEYSET_CACHE_SECONDS):
        return cached
    version = Keyset.objects.filter(name=name).values_list("version", flat=True).first()
    if cached is not None and not force and version == cached.version:
        cached.checked_at = now
        return cached
    master = _master()
    row = Keyset.objects.filter(name=name).first()
    if row is None:
        raise KeysNotInitialised(f"Keyset {name!r} is missing: run `safeguard keys init`.")
    handle = _unwrap(row, _kek(master))
    fresh = _Cached(row.version, now, handle, _primitive(name, handle),
                    handle.keyset_info().primary_key_id)
    with _lock:
        _keysets[name] = fresh
    return fresh


def data_aead(*, force: bool = False) -> aead.Aead:
    """The AEAD of the ``data`` keyset (encrypts with the primary, decrypts with any key)."""
    return _load(KeysetName.DATA, force=force).primitive


def prf_set(name: str, *, force: bool = False) -> prf.PrfSet:
    """The PRF set of a PRF keyset (``index`` or ``fingerprint``)."""
    if name not in PRF_KEYSETS:
        raise KeysError(f"{name!r} is not a PRF keyset")
    return _load(name, force=force).primitive


def primary_key_id(name: str) -> int:
    return _load(name).primary_id


def ciphertext_key_id(blob: bytes) -> int | None:
    """The Tink key id a ciphertext (or key-prefixed PRF output) was made with."""
    if len(blob) >= 5 and blob[0] == TINK_PREFIX:
        return int.from_bytes(blob[1:5], "big")
    return None


def keyset_info(name: str) -> tink_pb2.KeysetInfo:
    return _load(name).handle.keyset_info()


# --- init, rotate ---------------------------------------------------------------------------


def _store(name: str, handle: tink.KeysetHandle, kek: aead.Aead, *, new_key_id: int) -> None:
    wrapped = tink.proto_keyset_format.serialize_encrypted(handle, kek, _wrap_ad(name))
    now = timezone.now()
    row = Keyset.objects.select_for_update().filter(name=name).first()
    if row is None:
        Keyset.objects.create(name=name, wrapped=wrapped, version=1, updated_at=now)
    else:
        row.wrapped = wrapped
        row.version += 1
        row.updated_at = now
        row.save(update_fields=["wrapped", "version", "updated_at"])
    KeyVersion.objects.create(keyset=name, key_id=new_key_id, created_at=now)


def _with_new_primary(handle: tink.KeysetHandle, name: str) -> tuple[tink.KeysetHandle, int]:
    keyset = tink_pb2.Keyset.FromString(
        tink.proto_keyset_format.serialize(handle, secret_key_access.TOKEN))
    template = _template(name)
    taken = {k.key_id for k in keyset.key}
    key_id = 0
    while key_id == 0 or key_id in taken:
        key_id = secrets.randbits(32)
    entry = keyset.key.add()
    entry.key_data.CopyFrom(tink.core.Registry.new_key_data(template))
    entry.status = tink_pb2.ENABLED
    entry.key_id = key_id
    entry.output_prefix_type = template.output_prefix_type
    keyset.primary_key_id = key_id
    parsed = tink.proto_keyset_format.parse(keyset.SerializeToString(), secret_key_access.TOKEN)
    return parsed, key_id


def _validate_split(shares: int | None, threshold: int | None) -> tuple[int, int]:
    if shares is None or threshold is None:
        raise KeysError("The local provider needs --shares N and --threshold M.")
    if not 2 <= threshold <= shares <= 16:
        raise KeysError("Split knowledge needs 2 <= threshold <= shares <= 16 "
                        f"(got threshold {threshold}, shares {shares}).")
    return shares, threshold


@transaction.atomic
def keys_init(
    *, provider: str, actor: Actor, shares: int | None = None, threshold: int | None = None,
    kms_uri: str = "",
) -> IssuedShares | None:
    """Create the KEK record and every keyset; local provider: return the shares (shown once)."""
    import shamir_mnemonic

    keks.register_tink()
    if MasterKey.objects.select_for_update().filter(id=1).exists():
        raise KeysAlreadyInitialised("Keys already exist; rotate them with `safeguard keys "
                                     "rotate` (initialising again would orphan all data).")
    if provider != settings.SAFEGUARD_KEK_PROVIDER:
        raise KeysError(f"SAFEGUARD_KEK_PROVIDER is {settings.SAFEGUARD_KEK_PROVIDER!r}; set it "
                        f"to {provider!r} before initialising with that provider.")
    instance = uuid.uuid4()
    issued: IssuedShares | None = None
    if provider == KekProvider.DEV:
        kek = keks.dev_aead()
        kms_uri = ""
    elif provider == KekProvider.LOCAL:
        count, needed = _validate_split(shares, threshold)
        secret = secrets.token_bytes(keks.KEK_BYTES)
        groups = shamir_mnemonic.generate_mnemonics(1, [(needed, count)], secret, b"", True, 0)
        issued = IssuedShares(shares=tuple(groups[0]), threshold=needed)
        kek = keks.aead_from_raw(secret)
        kms_uri = ""
    elif provider == KekProvider.KMS:
        kms_uri = kms_uri or settings.SAFEGUARD_KEK_URI
        kek = keks.kms_aead(kms_uri)
    else:
        raise KeysError(f"unknown KEK provider {provider!r}; use dev, local or kms")
    MasterKey.objects.create(
        id=1, provider=provider, instance=instance,
        check_value=kek.encrypt(keks.CHECK_PLAINTEXT, keks.check_associated_data(instance)),
        threshold=issued.threshold if issued else None,
        shares=len(issued.shares) if issued else None, kms_uri=kms_uri, created_at=timezone.now(),
    )
    for name in KeysetName.values:
        handle = tink.new_keyset_handle(_template(name))
        _store(name, handle, kek, new_key_id=handle.keyset_info().primary_key_id)
    audit.record(action="keys.initialised", actor=actor, subject=("keys", str(instance)),
                 data={"provider": provider, "threshold": threshold if issued else None,
                       "shares": shares if issued else None, "kms_uri": kms_uri})
    reset_caches()
    if provider != KekProvider.LOCAL:
        with _lock:
            _keks[instance] = kek
    return issued


@transaction.atomic
def keys_rotate(*, keysets: Iterable[str], actor: Actor) -> dict[str, int]:
    """Add a new primary key to each keyset; old keys stay for reading until rows move."""
    names = list(dict.fromkeys(keysets))
    if not names:
        raise KeysError("Name at least one keyset to rotate.")
    for name in names:
        _template(name)
    master = _master()
    kek = _kek(master)
    rotated: dict[str, int] = {}
    for name in names:
        row = Keyset.objects.select_for_update().get(name=name)
        handle, key_id = _with_new_primary(_unwrap(row, kek), name)
        _store(name, handle, kek, new_key_id=key_id)
        rotated[name] = key_id
    audit.record(action="keys.rotated", actor=actor, subject=("keys", str(master.instance)),
                 data={"keysets": {n: str(k) for n, k in rotated.items()}})
    with _lock:
        for name in names:
            _keysets.pop(name, None)
    return rotated


# --- unseal, seal ---------------------------------------------------------------------------


def keys_unseal(*, mnemonics: Iterable[str], actor: Actor) -> UnsealResult:
    """Recombine custodian shares into the KEK and leave it for this machine's processes.

    Fewer shares than the threshold, shares of another key, or a mistyped share are refused
    with a message that never repeats a share's words; every attempt is audited.
    """
    from shamir_mnemonic import MnemonicError, Share, combine_mnemonics

    master = _master(auto_dev=False)
    if master.provider != KekProvider.LOCAL:
        raise KeysError(f"Unseal applies to the local provider; this installation uses "
                        f"{master.provider!r}.")
    words = [" ".join(m.split()).lower() for m in mnemonics if m.strip()]

    def refuse(detail: str) -> UnsealRefused:
        audit.record(action="keys.unseal", actor=actor, outcome="failure",
                     subject=("keys", str(master.instance)),
                     data={"shares_given": len(words), "reason": detail})
        return UnsealRefused(detail)

    parsed: dict[int, str] = {}
    identifier = None
    threshold = master.threshold or 0
    for position, mnemonic in enumerate(words, start=1):
        try:
            share = Share.from_mnemonic(mnemonic)
        except MnemonicError:
            raise refuse(f"Share {position} is not a valid share (a word is misspelt or "
                         "missing; the checksum does not match).") from None
        if identifier is not None and share.identifier != identifier:
            raise refuse("The shares come from different key sets.")
        identifier = share.identifier
        threshold = share.member_threshold
        parsed.setdefault(share.index, mnemonic)
    if len(parsed) < max(threshold, 2):
        raise refuse(f"{max(threshold, 2)} different shares are needed to unseal; "
                     f"{len(parsed)} given.")
    try:
        secret = combine_mnemonics(list(parsed.values()))
    except MnemonicError:
        raise refuse("The shares do not combine into a key.") from None
    kek = keks.aead_from_raw(secret)
    try:
        _verify(kek, master)
    except KeysError:
        raise refuse("These shares do not open this installation's key.") from None
    try:
        path = keks.write_runtime_key(master.instance, secret)
    except UnsealRefused as exc:
        raise refuse(exc.detail) from None
    with _lock:
        _keks[master.instance] = kek
    audit.record(action="keys.unsealed", actor=actor, subject=("keys", str(master.instance)),
                 data={"shares_used": len(parsed), "on_tmpfs": keks.on_tmpfs(path),
                       "disk_override": settings.SAFEGUARD_KEK_RUNTIME_ALLOW_DISK})
    return UnsealResult(path=str(path), on_tmpfs=keks.on_tmpfs(path), shares_used=len(parsed))


def keys_seal(*, actor: Actor) -> bool:
    """Remove the unsealed KEK file of this machine; running processes keep theirs until restart."""
    master = _master(auto_dev=False)
    if master.provider != KekProvider.LOCAL:
        raise KeysError("Seal applies to the local provider.")
    removed = keks.remove_runtime_key(master.instance)
    reset_caches()
    audit.record(action="keys.sealed", actor=actor, subject=("keys", str(master.instance)),
                 data={"removed": removed})
    return removed


def master_info() -> MasterKey | None:
    return MasterKey.objects.filter(id=1).first()


def is_sealed(master: MasterKey) -> bool:
    if master.provider != KekProvider.LOCAL:
        return False
    with _lock:
        if master.instance in _keks:
            return False
    return not keks.runtime_path(master.instance).exists()


def copy_problems(*, using: str) -> list[str]:
    """Whether the keys present open the keysets of a database copy on connection ``using`` (a
    restore, decision 0276): its master key row must match the configured provider and verify
    under the KEK present, and every keyset must unwrap under it. The problems, empty when it
    opens; nothing is cached."""
    master = MasterKey.objects.using(using).filter(id=1).first()
    if master is None:
        return ["the copy holds no master key row (keys were never initialised in it)"]
    if master.provider != settings.SAFEGUARD_KEK_PROVIDER:
        return [(f"the copy's keys use the {master.provider!r} provider but "
                 f"SAFEGUARD_KEK_PROVIDER is {settings.SAFEGUARD_KEK_PROVIDER!r}")]
    try:
        kek = keks.provider_aead(master.provider, instance=master.instance,
                                 kms_uri=master.kms_uri)
        _verify(kek, master)
    except KeysError as exc:
        return [str(exc)]
    problems = []
    for row in Keyset.objects.using(using).order_by("name"):
        try:
            _unwrap(row, kek)
        except KeysError as exc:
            problems.append(str(exc))
    return problems


def data_export() -> dict[str, str]:
    """The ``data`` keyset as stored (wrapped by the KEK) with what identifies and checks the KEK
    (provider, instance, KMS URI, check value): what a backup's header carries so the backup opens
    without a database (decision 0276). Holds no key: without the KEK it opens nothing."""
    master = _master()
    row = Keyset.objects.filter(name=KeysetName.DATA).first()
    if row is None:
        raise KeysNotInitialised("Keyset 'data' is missing: run `safeguard keys init`.")
    return {"provider": master.provider, "instance": str(master.instance),
            "kms_uri": master.kms_uri,
            "check_value": base64.b64encode(bytes(master.check_value)).decode("ascii"),
            "data": base64.b64encode(bytes(row.wrapped)).decode("ascii")}


def data_aead_exported(export: dict[str, str]) -> aead.Aead:
    """The AEAD of an exported ``data`` keyset, unwrapped with the KEK present (KeysError when
    the KEK is not the one it was wrapped with). Reads no database; nothing is cached."""
    try:
        master = MasterKey(provider=str(export["provider"]),
                           instance=uuid.UUID(str(export["instance"])),
                           kms_uri=str(export.get("kms_uri", "")),
                           check_value=base64.b64decode(str(export["check_value"])))
        row = Keyset(name=KeysetName.DATA.value, wrapped=base64.b64decode(str(export["data"])))
    except (KeyError, ValueError, binascii.Error):
        raise KeysError("The backup's key record is damaged.") from None
    kek = keks.provider_aead(master.provider, instance=master.instance, kms_uri=master.kms_uri)
    _verify(kek, master)
    return _unwrap(row, kek).primitive(aead.Aead)

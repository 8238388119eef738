"""Encrypted archives for archive-then-delete (R-DATA-3): what the sweep removes from the live
tables under a matrix row with ``action: archive`` is first written here, encrypted, and kept for
the row's ``archive_for`` period; the sweep deletes expired archives later.

Envelope encryption, one key per archive: a fresh Tink streaming AEAD keyset
(AES256-GCM-HKDF, 1 MB segments, so an archive of any size is encrypted and verified segment by
segment without holding it in memory) encrypts the file; that keyset is sealed under the
installation's ``data`` keyset (``protection.services.stash_seal``, bound to the archive's id) and
stored only in the archive's row. The file's associated data is the archive's id too, so a file
swapped for another archive's does not open. Reading checks the SHA-256 recorded at write time,
then decrypts, which authenticates every segment: a flipped bit, a truncated file or a foreign
file is an :class:`ArchiveError`, never wrong data. Deleting the row destroys the key, so a file
left behind (by a crash between writing the file and committing the row, or a failed unlink)
cannot be read by anyone.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import tink
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from tink import secret_key_access, streaming_aead

from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.privacy.contracts import PrivacyError
from safeguard.privacy.models import Archive
from safeguard.protection import services as protection
from safeguard.web.filestores import FileStore

FORMAT = "safeguard.archive/1"
_AD = b"safeguard:archive:v1:"
_CHUNK = 1 << 16


class ArchiveError(PrivacyError):
    """An archive is missing, was altered, or its key is gone."""

    status = 409
    code = "archive-unreadable"
    title = "Archive cannot be read"


@dataclass(frozen=True)
class ArchiveView:
    """An archive as pages and receipts show it (never its key or content)."""

    id: str
    target: str
    record_id: str
    record_class: str
    created_at: datetime
    expires_on: date
    size: int
    sha256: str
    deleted_at: datetime | None


def archive_view(row: Archive) -> ArchiveView:
    return ArchiveView(id=str(row.id), target=row.target, record_id=row.record_id,
                       record_class=row.record_class, created_at=row.created_at,
                       expires_on=row.expires_on, size=row.size, sha256=row.sha256,
                       deleted_at=row.deleted_at)


def archive_dir() -> Path:
    """Where archive files live (SAFEGUARD_ARCHIVE_DIR)."""
    return Path(settings.SAFEGUARD_ARCHIVE_DIR)


def _path(archive_id: uuid.UUID | str) -> Path:
    return archive_dir() / f"{archive_id}.sgarc"


def _primitive(handle: tink.KeysetHandle) -> streaming_aead.StreamingAead:
    return handle.primitive(streaming_aead.StreamingAead)


def _context(archive_id: uuid.UUID | str) -> str:
    return f"privacy.archive:{archive_id}"


class _HashingWriter(io.RawIOBase):
    """A binary sink that writes to a file and hashes what passes through."""

    def __init__(self, target: io.BufferedWriter) -> None:
        self._target = target
        self.digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._target.write(chunk)
        self.digest.update(chunk)
        self.size += len(chunk)
        return len(chunk)


def archive_write(*, target: str, record_id: str, case_id: str, customer_id: str,
                  record_class: str, content: dict[str, Any], keep_until: date,
                  actor: Actor) -> ArchiveView:
    """Encrypt ``content`` (JSON) into a new archive kept until ``keep_until``; call inside the
    transaction that then deletes the live record, so both commit or neither does."""
    streaming_aead.register()
    archive_id = uuid.uuid4()
    handle = tink.new_keyset_handle(
        streaming_aead.streaming_aead_key_templates.AES256_GCM_HKDF_1MB)
    keyset = tink.proto_keyset_format.serialize(handle, secret_key_access.TOKEN)
    wrapped = protection.stash_seal(keyset, context=_context(archive_id))
    payload = json.dumps({"format": FORMAT, "target": target, "record": record_id,
                          "record_class": record_class, "content": content},
                         ensure_ascii=False, sort_keys=True).encode("utf-8")
    path = _path(archive_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("xb") as raw:
        sink = _HashingWriter(raw)
        with _primitive(handle).new_encrypting_stream(sink, _AD + str(archive_id).encode()
                                                     ) as enc:
            view = memoryview(payload)
            for start in range(0, len(view), _CHUNK):
                enc.write(view[start:start + _CHUNK])
        raw.flush()
    row = Archive.objects.create(
        id=archive_id, target=target, record_id=record_id, case_id=case_id,
        customer_id=customer_id, record_class=record_class, created_at=timezone.now(),
        expires_on=keep_until, wrapped_key=wrapped, sha256=sink.digest.hexdigest(),
        size=sink.size)
    audit.record(action="archive.written", actor=actor, subject=("archive", str(archive_id)),
                 data={"target": target, "record": record_id, "record_class": record_class,
                       "expires_on": keep_until.isoformat(), "bytes": sink.size})
    return archive_view(row)


def _open(row: Archive) -> Iterator[bytes]:
    if row.deleted_at is not None:
        raise ArchiveError("That archive was deleted at the end of its retention.")
    keyset = protection.stash_open(row.wrapped_key, context=_context(row.id))
    if keyset is None:
        raise ArchiveError("The archive's key does not open under the data keyset.")
    streaming_aead.register()
    handle = tink.proto_keyset_format.parse(keyset, secret_key_access.TOKEN)
    path = _path(row.id)
    try:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                digest.update(chunk)
    except OSError:
        raise ArchiveError("The archive's file is missing.") from None
    if digest.hexdigest() != row.sha256:
        raise ArchiveError("The archive's file was altered (its digest does not match).")
    with path.open("rb") as fh:
        try:
            with _primitive(handle).new_decrypting_stream(
                    fh, _AD + str(row.id).encode()) as dec:
                while True:
                    chunk = dec.read(_CHUNK)
                    if not chunk:
                        break
                    yield chunk
        except tink.TinkError:
            raise ArchiveError("The archive does not authenticate (altered or not this "
                               "archive's file).") from None


def archive_read(*, archive_id: str, actor: Actor, reason: str) -> dict[str, Any]:
    """Decrypt and verify an archive; every read is audited with its reason. Raises
    :class:`ArchiveError` when the file was altered, swapped or lost."""
    row = Archive.objects.filter(id=archive_id).first()
    if row is None:
        raise ArchiveError("No such archive.")
    data = b"".join(_open(row))
    audit.record(action="archive.read", actor=actor, subject=("archive", str(row.id)),
                 data={"record": row.record_id, "reason": reason[:200]})
    doc: dict[str, Any] = json.loads(data)
    return doc


def archive_live_ids() -> list[str]:
    """Ids of every archive not yet deleted, oldest first."""
    return [str(i) for i in Archive.objects.filter(deleted_at__isnull=True)
            .order_by("created_at", "id").values_list("id", flat=True)]


def archive_verify(*, archive_id: str) -> bool:
    """Whether an archive still decrypts and authenticates end to end (content not kept)."""
    row = Archive.objects.filter(id=archive_id).first()
    if row is None:
        return False
    try:
        for _chunk in _open(row):
            pass
    except ArchiveError:
        return False
    return True


def archive_delete(*, row: Archive, actor: Actor) -> None:
    """Destroy an archive at the end of its retention: the key at once (the row keeps only the
    receipt), the file once the transaction commits. Call inside the sweep's batch."""
    row.wrapped_key = ""
    row.deleted_at = timezone.now()
    row.save(update_fields=["wrapped_key", "deleted_at"])
    audit.record(action="archive.deleted", actor=actor, subject=("archive", str(row.id)),
                 data={"record": row.record_id, "record_class": row.record_class,
                       "expired_on": row.expires_on.isoformat()})
    path = _path(row.id)
    transaction.on_commit(lambda: path.unlink(missing_ok=True))


def _referenced(using: str) -> dict[str, str]:
    """The file of every archive of database ``using`` not yet deleted, with its digest."""
    rows = Archive.objects.using(using).filter(deleted_at__isnull=True).values_list("id", "sha256")
    return {_path(archive_id).name: digest for archive_id, digest in rows}


def backup_file_store() -> FileStore:
    """Provider ``filestore.privacy_archives``: archive-then-delete files, which hold records
    kept for their retention period and nowhere else (R-DATA-3, R-DATA-4)."""
    return FileStore(name="privacy_archives", setting="SAFEGUARD_ARCHIVE_DIR",
                     root=archive_dir, referenced=_referenced)

"""Evidence files of the governance registers (manual attestations, vendor reviews), sealed on
disk and checked on every access (decision 0246; docs/governance.md "Evidence files").

Intake takes the SHA-256 of the plain bytes, seals them under the installation's ``data``
keyset (``protection.services.stash_seal``) with associated data bound to the file's id and that
digest, writes the sealed text to ``SAFEGUARD_GOVERNANCE_EVIDENCE_DIR/<id>.sgev`` and records the
SHA-256 of the file as written. Opening compares the file's digest, decrypts under the bound
context and compares the plain digest again: an edited, truncated, swapped or missing file is
refused (:class:`EvidenceTampered`), the row is marked tampered and the failure is audited.

Accepted types are decided from the content, not the name: PDF, PNG, JPEG, Office Open XML
(docx, xlsx) and UTF-8 text (plain text, CSV, JSON). Files holding a card number in readable text
are refused (R-OPS-2); text inside compressed containers is not searched (stated in the docs).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import filetype
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.governance.contracts import GovernanceError
from safeguard.governance.models import EvidenceFile
from safeguard.protection import services as protection
from safeguard.web.filestores import FileStore

# Content type sniffed from the bytes -> the type recorded and served.
BINARY_TYPES = {
    "application/pdf": "application/pdf",
    "image/png": "image/png",
    "image/jpeg": "image/jpeg",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
TEXT_TYPE = "text/plain; charset=utf-8"
ACCEPTED = "PDF, PNG, JPEG, Word (.docx), Excel (.xlsx) or UTF-8 text (.txt, .csv, .json)"
SUFFIX = ".sgev"


class EvidenceRefused(GovernanceError):
    """An upload that is empty, too large, of a type not accepted, or holds a card number."""

    status = 400
    code = "evidence-refused"
    title = "Evidence file refused"


class EvidenceTampered(GovernanceError):
    """The file on disk no longer matches what was sealed at intake; the access is refused."""

    status = 409
    code = "evidence-tampered"
    title = "Evidence failed its integrity check"


@dataclass(frozen=True)
class EvidenceView:
    """An evidence file as pages show it (never its content)."""

    id: str
    name: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime
    tampered_at: datetime | None


def evidence_view(row: EvidenceFile) -> EvidenceView:
    return EvidenceView(id=str(row.id), name=row.name, content_type=row.content_type,
                        size=row.size, sha256=row.sha256, uploaded_by=row.uploaded_by,
                        uploaded_at=row.uploaded_at, tampered_at=row.tampered_at)


def evidence_dir() -> Path:
    return Path(settings.SAFEGUARD_GOVERNANCE_EVIDENCE_DIR)


def path_of(file_id: str | uuid.UUID) -> Path:
    """Where the sealed file of ``file_id`` lives."""
    return evidence_dir() / f"{file_id}{SUFFIX}"


def _context(file_id: str | uuid.UUID, sha256: str) -> str:
    return f"governance.evidence:v1:{file_id}:{sha256}"


def sniff(content: bytes) -> str:
    """The accepted content type of ``content``, or EvidenceRefused naming what is accepted."""
    kind = filetype.guess(content)
    if kind is not None:
        if kind.mime in BINARY_TYPES:
            return BINARY_TYPES[kind.mime]
        raise EvidenceRefused(f"Files of type {kind.mime} are not accepted; use {ACCEPTED}.")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise EvidenceRefused(f"The file's type is not recognised; use {ACCEPTED}.") from None
    if "\x00" in text:
        raise EvidenceRefused(f"The file's type is not recognised; use {ACCEPTED}.")
    return TEXT_TYPE


def store(*, content: bytes, name: str, actor: Actor) -> EvidenceFile:
    """Seal ``content`` to disk and create its row; call inside the caller's transaction. The
    caller validates everything else first; a later rollback leaves a sealed file without a row,
which nothing reads (decision 0246). Refuses (nothing written) an empty,
    oversize, unaccepted or card-bearing file."""
    if not content:
        raise EvidenceRefused("The evidence file is empty.")
    limit = settings.SAFEGUARD_GOVERNANCE_EVIDENCE_MAX_BYTES
    if len(content) > limit:
        raise EvidenceRefused(f"The evidence file is larger than {limit} bytes.")
    content_type = sniff(content)
    if protection.card_numbers_in(content.decode("utf-8", errors="replace")):
        raise EvidenceRefused("The file holds a card number; it was not stored. Mask it first.")
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200] or "evidence"
    clean = protection.screen(base, field="governance.evidence.name").text[:200]
    file_id = uuid.uuid4()
    digest = hashlib.sha256(content).hexdigest()
    sealed = protection.stash_seal(content, context=_context(file_id, digest)).encode("ascii")
    path = path_of(file_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("xb") as fh:
        fh.write(sealed)
    try:
        row = EvidenceFile.objects.create(
            id=file_id, name=clean, content_type=content_type, size=len(content),
            sha256=digest, file_sha256=hashlib.sha256(sealed).hexdigest(),
            uploaded_by=f"{actor.kind}:{actor.label}"[:254], uploaded_at=timezone.now())
    except Exception:
        path.unlink(missing_ok=True)
        raise
    audit.record(action="governance.evidence_stored", actor=actor,
                 subject=("governance_evidence", str(file_id)),
                 data={"name": clean, "sha256": digest, "bytes": len(content),
                       "content_type": content_type})
    return row


def _mark_tampered(row: EvidenceFile, *, actor: Actor, reason: str) -> None:
    with transaction.atomic():
        EvidenceFile.objects.filter(id=row.id, tampered_at__isnull=True).update(
            tampered_at=timezone.now())
        audit.record(action="governance.evidence_tampered", actor=actor, outcome="failure",
                     subject=("governance_evidence", str(row.id)),
                     data={"name": row.name, "sha256": row.sha256, "reason": reason})


def open_checked(*, file_id: str, actor: Actor, purpose: str) -> tuple[EvidenceView, bytes]:
    """The plain bytes of an evidence file after checking them against the digests recorded at
    intake; every successful open is audited with its purpose. A file that fails the check is
    marked tampered, the failure audited, and EvidenceTampered raised."""
    row = EvidenceFile.objects.filter(id=file_id).first()
    if row is None:
        raise EvidenceRefused("No such evidence file.")
    problem = verify_row(row)
    if problem:
        _mark_tampered(row, actor=actor, reason=problem)
        raise EvidenceTampered(f"Evidence file {row.name} failed its integrity check: {problem}")
    content = _plain(row)
    if content is None:  # changed between the check and now
        raise EvidenceTampered(f"Evidence file {row.name} failed its integrity check.")
    audit.record(action="governance.evidence_opened", actor=actor,
                 subject=("governance_evidence", str(row.id)),
                 data={"name": row.name, "sha256": row.sha256, "purpose": purpose[:200]})
    row.refresh_from_db()
    return evidence_view(row), content


def _plain(row: EvidenceFile) -> bytes | None:
    try:
        sealed = path_of(row.id).read_bytes()
    except OSError:
        return None
    if hashlib.sha256(sealed).hexdigest() != row.file_sha256:
        return None
    try:
        text = sealed.decode("ascii")
    except UnicodeDecodeError:
        return None
    content = protection.stash_open(text, context=_context(row.id, row.sha256))
    if content is None or hashlib.sha256(content).hexdigest() != row.sha256:
        return None
    return content


def verify_row(row: EvidenceFile) -> str:
    """Why the file of ``row`` fails its check ("" when it is intact)."""
    path = path_of(row.id)
    try:
        sealed = path.read_bytes()
    except OSError:
        return "the file is missing"
    if hashlib.sha256(sealed).hexdigest() != row.file_sha256:
        return "the file was altered (its SHA-256 does not match the one recorded at intake)"
    if _plain(row) is None:
        return "the file does not decrypt and authenticate under its recorded digest"
    return ""


def verify(*, file_id: str, actor: Actor) -> bool:
    """Check one file without serving it (the attestation control does this); a failure is
    marked and audited as on open."""
    row = EvidenceFile.objects.filter(id=file_id).first()
    if row is None:
        return False
    problem = verify_row(row)
    if problem:
        if row.tampered_at is None:
            _mark_tampered(row, actor=actor, reason=problem)
        return False
    return True


def _referenced(using: str) -> dict[str, str]:
    """The sealed file every evidence row of database ``using`` needs, with its recorded digest.
    Rows already marked tampered are left out: their file is known lost or altered, the failure
    is on record and their control fails on it; a backup cannot bring the original back."""
    rows = (EvidenceFile.objects.using(using).filter(tampered_at__isnull=True)
            .values_list("id", "file_sha256"))
    return {f"{file_id}{SUFFIX}": digest for file_id, digest in rows}


def backup_file_store() -> FileStore:
    """Provider ``filestore.governance_evidence``: the sealed evidence files, which the backup
    carries and a restore drill checks against the rows (R-DATA-4, R-OPS-11)."""
    return FileStore(name="governance_evidence", setting="SAFEGUARD_GOVERNANCE_EVIDENCE_DIR",
                     root=evidence_dir, referenced=_referenced)

"""Continuity: encrypted, consistent backups and verified restore drills (issue 13 section 5,
R-REG-1; decision 0241).

``backup_create`` takes one consistent snapshot of the database — SQLite's online backup API into
memory, or ``pg_dump --format=custom`` on an exported REPEATABLE READ snapshot for PostgreSQL —
and streams it through a fresh Tink streaming AEAD keyset (AES256-GCM-HKDF, 1 MB segments, as
privacy archives do) straight into the file, so no plaintext copy ever touches disk. The keyset
is sealed under the installation's ``data`` keyset (``protection.services.stash_seal``) and kept
in the file's header with the manifest core (created_at, engine, row count per table, audit last
seq and signed head); the whole header is the ciphertext's associated data, so a changed count,
id or key is refused like a changed byte. A sidecar ``<file>.manifest.json`` adds the file's
SHA-256.

The files kept outside the database travel in the same encrypted stream, before the database
(format 2; R-DATA-4, R-OPS-11): every file of every file store (``web.filestores``: governance
evidence, privacy archives, the Django storages and FileFields), indexed with its size and
SHA-256, the index's digest in the authenticated header. ``NOT_CARRIED`` names the locations left
out on purpose (keys and secrets are backed up apart, docs/keys.md) with the reason.

``restore_verify`` checks the digest, decrypts into a scratch database (a temporary SQLite file
in a private directory, or a new temporary PostgreSQL database), checks the audit log on that
copy through a Django connection alias (``audit.selectors.snapshot_check``: every event hashes to
its leaf, every signed head verifies, the root at the manifest's head size is the manifest's),
compares every table's row count with the manifest, checks every carried file's SHA-256 and that
every file a restored row refers to is in the backup, measures the recovery time, removes the
scratch copy and records a :class:`RestoreDrill` and an audit event. ``restore_files`` runs the
same drill and then puts the files missing from their stores back, all or none.
``restore_database`` (decision 0276) runs the drill, keeps the verified copy and swaps it in for
the configured database in one atomic step. The header also carries the ``data`` keyset as the
database stores it (wrapped by the KEK, never the KEK), so a backup opens on an empty database.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import tink
from django.apps import apps
from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.db import connection, connections, models
from django.db.utils import load_backend
from django.utils import timezone
from tink import secret_key_access, streaming_aead

from safeguard.audit import selectors as audit_selectors
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.governance.models import BackupRecord, RestoreDrill
from safeguard.protection import services as protection
from safeguard.web import providers
from safeguard.web.errors import ApplicationError
from safeguard.web.filestores import PREFIX as FILESTORE_PREFIX
from safeguard.web.filestores import FileStore

FORMAT = "safeguard.backup/2"
FORMAT_V1 = "safeguard.backup/1"  # database only; still verified, its files check fails
MAGIC = b"SGBACKUP1\n"
FILES_MAGIC = b"SGFILES1"
STAGING_PREFIX = ".sg-restore-"
_AD = b"safeguard:backup:v1:"
_CHUNK = 1 << 16
_MAX_HEADER = 1 << 20
VERIFIED, FAILED = "verified", "failed"


class BackupError(ApplicationError):
    """A backup cannot be written or restored: bad path, wrong engine, altered or foreign file."""

    status = 400
    code = "backup-error"
    title = "Backup refused"


@dataclass(frozen=True)
class BackupView:
    id: str
    created_at: datetime
    created_by: str
    engine: str
    path: str
    size: int
    sha256: str
    tables: int
    rows: int
    audit_last_seq: int
    files: int
    file_bytes: int
    warnings: list[str]


@dataclass(frozen=True)
class DrillView:
    id: int
    backup_id: str
    path: str
    started_at: datetime
    finished_at: datetime
    seconds: float
    outcome: str
    checks: list[dict[str, Any]]
    triggered_by: str


def _backup_view(r: BackupRecord) -> BackupView:
    counts = r.manifest.get("tables", {})
    files = r.manifest.get("files", {})
    return BackupView(id=str(r.id), created_at=r.created_at, created_by=r.created_by,
                      engine=r.engine, path=r.path, size=r.size, sha256=r.sha256,
                      tables=len(counts), rows=sum(counts.values()),
                      audit_last_seq=int(r.manifest.get("audit", {}).get("last_seq", 0)),
                      files=int(files.get("count", 0)), file_bytes=int(files.get("bytes", 0)),
                      warnings=list(r.manifest.get("warnings", [])))


def _drill_view(d: RestoreDrill) -> DrillView:
    return DrillView(id=d.id, backup_id=d.backup_ref, path=d.path, started_at=d.started_at,
                     finished_at=d.finished_at, seconds=d.seconds, outcome=d.outcome,
                     checks=list(d.checks), triggered_by=d.triggered_by)


def backup_list(*, limit: int = 100) -> list[BackupView]:
    return [_backup_view(r) for r in BackupRecord.objects.order_by("-created_at")[:limit]]


def backup_get(*, backup_id: str) -> BackupView | None:
    try:
        row = BackupRecord.objects.filter(id=uuid.UUID(str(backup_id))).first()
    except ValueError:
        return None
    return _backup_view(row) if row else None


def drill_list(*, limit: int = 100) -> list[DrillView]:
    return [_drill_view(d) for d in RestoreDrill.objects.order_by("-finished_at", "-id")[:limit]]


def engine() -> str:
    return str(connection.vendor)


def _context(backup_id: str) -> str:
    return f"governance.backup:{backup_id}"


def _header_bytes(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


class _HashingWriter(io.RawIOBase):
    def __init__(self, target: IO[bytes]) -> None:
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


# --- Files kept outside the database ----------------------------------------------------------

# Locations the application writes or reads outside the database that a backup deliberately does
# not carry, each with the reason (docs/governance.md "What a backup carries"). Everything else
# that holds durable files must be a file store (web.filestores) or a Django storage; the test
# tests/governance/test_backup_coverage.py fails on a location in neither list.
NOT_CARRIED: dict[str, str] = {
    "BASE_DIR": "the application's code, installed from the release",
    "DATA_DIR": "the parent of the stores below: its SQLite database is carried as the database "
                "snapshot; secret_key, webhook_secret and demo_api_token are secrets kept apart "
                "like the keys; huey.sqlite3 holds queued, idempotent jobs (as Redis does)",
    "STATIC_ROOT": "rebuilt by collectstatic",
    "LOG_FILE": "operational logs, for the log tooling; no record of the product lives there",
    "SAFEGUARD_BACKUP_DIR": "the backups themselves",
    "SAFEGUARD_AUDIT_KEY_FILE": "the audit signing key: backed up separately from the data "
                                "on purpose (docs/deploy.md, Backups)",
    "SAFEGUARD_DEV_KEK_FILE": "a key-encryption key: a backup holds only ciphertext and wrapped "
                              "keysets, never the key that opens them (docs/keys.md, R-DATA-4)",
    "SAFEGUARD_KEK_RUNTIME_DIR": "the unsealed key-encryption key on tmpfs, never persisted",
    "SAFEGUARD_VAULT_TOKEN_FILE": "a credential for the external KMS, kept apart like the keys",
    "SAFEGUARD_IMAP_PASSWORD_FILE": "a mailbox credential, kept apart like the keys",
    "SAFEGUARD_IMAP_CA_FILE": "operator configuration, read only",
    "SAFEGUARD_AUDIT_WITNESS_FILE": "the independent witness of the audit log's signed heads: "
                                    "kept on its own volume and off-site; a copy restored with "
                                    "the data would rewind the witness the data is checked "
                                    "against",
    "SAFEGUARD_SIEM_SINKS": "a file sink is the SIEM's copy of the audit log; the log itself is "
                            "in the database and the exporter resumes from its cursor",
    "SAFEGUARD_GOVERNANCE_LIBRARY_DIR": "operator configuration, read only",
    "SAFEGUARD_INCIDENTS_PLAYBOOK_DIR": "operator configuration, read only",
    "SAFEGUARD_DETECTION_RULE_PATHS": "operator configuration, read only",
    "SAFEGUARD_PROTECTION_POLICY_FILE": "operator configuration, read only",
    "SAFEGUARD_SCANNER_DETECTORS_FILE": "operator configuration, read only",
}
_STATIC_STORAGE = "staticfiles"  # STORAGES alias rebuilt by collectstatic (STATIC_ROOT above)


def _local_location(storage: Any, what: str) -> Path:
    if not isinstance(storage, FileSystemStorage):
        raise BackupError(f"{what} is not a local file system storage; safeguard backup cannot "
                          "carry it.")
    return Path(storage.location)


def file_stores() -> list[FileStore]:
    """Every directory of durable files a backup carries: the stores apps register
    (``filestore.*`` providers), each Django storage but the static one, and the storage of
    every FileField. One entry per directory, sorted by name."""
    found: dict[str, FileStore] = {}
    for name in providers.names(FILESTORE_PREFIX):
        provider = providers.get(name)
        store = provider() if provider else None
        if isinstance(store, FileStore):
            found.setdefault(store.name, store)

    def add_storage(name: str, setting: str, storage: Any) -> None:
        location = _local_location(storage, setting)
        if all(s.root().resolve() != location.resolve() for s in found.values()):
            found[name] = FileStore(name=name, setting=setting, root=lambda: location)

    for alias in sorted(settings.STORAGES):
        if alias != _STATIC_STORAGE:
            add_storage(f"storage_{alias}", f"STORAGES[{alias!r}]", storages[alias])
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, models.FileField):
                label = f"{model._meta.label}.{field.name}"
                add_storage(f"filefield_{label}", label, field.storage)
    return sorted(found.values(), key=lambda s: s.name)


def _file_index(stores: list[FileStore]) -> list[dict[str, Any]]:
    """Every regular file under every store, with its size and SHA-256 (symbolic links and a
    restore's staging directories are skipped)."""
    entries: list[dict[str, Any]] = []
    for store in stores:
        root = store.root()
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if rel.parts[0].startswith(STAGING_PREFIX) or path.is_symlink() or not path.is_file():
                continue
            sha256, size = _sha256_size(path)
            entries.append({"store": store.name, "path": rel.as_posix(), "size": size,
                            "sha256": sha256})
    return entries


def _index_bytes(entries: list[dict[str, Any]]) -> bytes:
    return json.dumps(entries, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _files_summary(entries: list[dict[str, Any]], stores: list[FileStore]) -> dict[str, Any]:
    per_store = {s.name: 0 for s in stores}
    for e in entries:
        per_store[e["store"]] = per_store.get(e["store"], 0) + 1
    return {"count": len(entries), "bytes": sum(int(e["size"]) for e in entries),
            "index_sha256": hashlib.sha256(_index_bytes(entries)).hexdigest(),
            "stores": per_store}


def _file_chunks(stores: list[FileStore], entries: list[dict[str, Any]]) -> Iterator[bytes]:
    """The files section of the plaintext: magic, index length and index, then each file's
    bytes in index order. A file that changed since it was indexed stops the backup."""
    index = _index_bytes(entries)
    yield FILES_MAGIC + len(index).to_bytes(8, "big") + index
    roots = {s.name: s.root() for s in stores}
    for e in entries:
        digest, size = hashlib.sha256(), 0
        with (roots[e["store"]] / e["path"]).open("rb") as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                digest.update(chunk)
                size += len(chunk)
                if size > e["size"]:
                    break
                yield chunk
        if size != e["size"] or digest.hexdigest() != e["sha256"]:
            raise BackupError(f"{e['store']}/{e['path']} changed while the backup was written; "
                              "run the backup again.")


class _Reader:
    """Exact reads over the decrypted chunk stream, then the rest as chunks."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def read(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = next(self._chunks, b"")
            if not chunk:
                break
            self._buffer += chunk
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    def rest(self) -> Iterator[bytes]:
        if self._buffer:
            yield self._buffer
            self._buffer = b""
        yield from self._chunks


Sink = Callable[[dict[str, Any]], IO[bytes] | None]


def _read_files(reader: _Reader, want: dict[str, Any], sink: Sink | None
                ) -> tuple[list[dict[str, Any]], list[str]]:
    """Read the files section; check the index against the authenticated header and every
    file's size and SHA-256 against its index entry. Returns the entries and the problems with
    single files; a section that cannot be read at all raises BackupError (the database that
    follows it could not be found either)."""
    if reader.read(len(FILES_MAGIC)) != FILES_MAGIC:
        raise BackupError("the backup's files section is missing or damaged")
    index = reader.read(int.from_bytes(reader.read(8), "big"))
    if hashlib.sha256(index).hexdigest() != want.get("index_sha256"):
        raise BackupError("the backup's file index differs from its manifest")
    try:
        entries: list[dict[str, Any]] = json.loads(index)
    except ValueError:
        raise BackupError("the backup's file index is damaged") from None
    problems = []
    for e in entries:
        digest, left = hashlib.sha256(), int(e["size"])
        out = sink(e) if sink else None
        try:
            while left:
                chunk = reader.read(min(left, _CHUNK))
                if not chunk:
                    break
                digest.update(chunk)
                left -= len(chunk)
                if out is not None:
                    out.write(chunk)
        finally:
            if out is not None:
                out.close()
        if left or digest.hexdigest() != e["sha256"]:
            problems.append(f"{e['store']}/{e['path']}: its bytes differ from the manifest")
    if len(entries) != int(want.get("count", -1)):
        problems.append(f"{len(entries)} files in the backup, manifest {want.get('count')}")
    return entries, problems


def _reference_check(alias: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Every file the restored rows refer to is in the backup with the digest the row records."""
    present = {(e["store"], e["path"]): e["sha256"] for e in entries}
    missing, differ, total = [], [], 0
    for store in file_stores():
        if store.referenced is None:
            continue
        for rel, digest in sorted(store.referenced(alias).items()):
            total += 1
            got = present.get((store.name, rel))
            if got is None:
                missing.append(f"{store.name}/{rel}")
            elif got != digest:
                differ.append(f"{store.name}/{rel}")
    problems = ([f"missing from the backup: {', '.join(missing[:10])}"] if missing else []) + \
               ([f"not the file the row recorded: {', '.join(differ[:10])}"] if differ else [])
    return {"check": "file_references", "ok": not problems,
            "detail": ("; ".join(problems) if problems else
                       f"all {total} files the restored rows refer to are in the backup with "
                       "their recorded SHA-256")}


# --- Snapshots ------------------------------------------------------------------------------

def _pg_params(name: str | None = None) -> tuple[list[str], dict[str, str]]:
    cfg = connection.settings_dict
    args = []
    if cfg.get("HOST"):
        args += ["-h", str(cfg["HOST"])]
    if cfg.get("PORT"):
        args += ["-p", str(cfg["PORT"])]
    if cfg.get("USER"):
        args += ["-U", str(cfg["USER"])]
    args += ["-d", name or str(cfg["NAME"])]
    env = dict(os.environ)
    if cfg.get("PASSWORD"):
        env["PGPASSWORD"] = str(cfg["PASSWORD"])
    return args, env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not on PATH (system check safeguard.E543).")
    return found


def _pg_connect(name: str | None = None, *, autocommit: bool = False) -> Any:
    import psycopg

    cfg = connection.settings_dict
    return psycopg.connect(dbname=name or cfg["NAME"], user=cfg.get("USER") or None,
                           password=cfg.get("PASSWORD") or None, host=cfg.get("HOST") or None,
                           port=cfg.get("PORT") or None, autocommit=autocommit)


def _state(cursor: Any, tables: list[str], quote: Any) -> dict[str, Any]:
    """Row count per table and the audit log's end, read inside the snapshot."""
    counts = {}
    for t in sorted(tables):
        cursor.execute(f"SELECT COUNT(*) FROM {quote(t)}")  # noqa: S608 - names from the catalog
        counts[t] = int(cursor.fetchone()[0])
    cursor.execute("SELECT last_seq FROM audit_sequence WHERE id = 1")
    row = cursor.fetchone()
    cursor.execute("SELECT size, root_hash FROM audit_treehead ORDER BY size DESC, id DESC "
                   "LIMIT 1")
    head = cursor.fetchone()
    return {"tables": counts, "audit": {"last_seq": int(row[0]) if row else 0,
                                        "head_size": int(head[0]) if head else 0,
                                        "head_root": str(head[1]) if head else ""}}


def _sqlite_snapshot() -> tuple[dict[str, Any], Iterator[bytes]]:
    connection.ensure_connection()
    memory = sqlite3.connect(":memory:")
    connection.connection.backup(memory)  # the online backup API: one consistent copy
    cur = memory.cursor()
    cur.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    tables = [r[0] for r in cur.fetchall()]
    state = _state(cur, tables, lambda t: '"' + t.replace('"', '""') + '"')
    data = memory.serialize()
    memory.close()

    def chunks() -> Iterator[bytes]:
        view = memoryview(data)
        for start in range(0, len(view), _CHUNK):
            yield bytes(view[start:start + _CHUNK])
    return state, chunks()


class _PgSnapshot:
    """A REPEATABLE READ transaction whose snapshot pg_dump shares (--snapshot)."""

    proc: subprocess.Popen[bytes] | None = None
    conn: Any = None

    def __enter__(self) -> tuple[dict[str, Any], Iterator[bytes]]:
        self.conn = _pg_connect()
        cur = self.conn.cursor()
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cur.execute("SELECT pg_export_snapshot()")
        snapshot = cur.fetchone()[0]
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        tables = [r[0] for r in cur.fetchall()]
        state = _state(cur, tables, lambda t: '"' + t.replace('"', '""') + '"')
        args, env = _pg_params()
        self.proc = subprocess.Popen(  # noqa: S603 - fixed program, arguments from settings
            [_tool("pg_dump"), "--format=custom", f"--snapshot={snapshot}", "--no-password", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)

        proc = self.proc

        def chunks() -> Iterator[bytes]:
            out = proc.stdout
            if out is None:
                raise BackupError("pg_dump gave no output pipe.")
            yield from iter(lambda: out.read(_CHUNK), b"")
            _, err = proc.communicate()
            if proc.returncode != 0:
                raise BackupError(f"pg_dump failed: {err.decode(errors='replace').strip()}")
        return state, chunks()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.communicate()  # reaps it and closes both pipes
        if self.conn is not None:
            self.conn.rollback()
            self.conn.close()


# --- Create ---------------------------------------------------------------------------------

def _target(output: str | None, backup_id: str, now: datetime) -> Path:
    if output:
        path = Path(output).expanduser()
        if path.exists():
            raise BackupError(f"{path} already exists; a backup never overwrites a file.")
        if not path.parent.is_dir():
            raise BackupError(f"{path.parent} is not a directory.")
        return path.resolve()
    folder = Path(settings.SAFEGUARD_BACKUP_DIR)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return (folder / f"safeguard-{now:%Y%m%dT%H%M%SZ}-{backup_id[:8]}.sgbak").resolve()


def backup_create(*, output: str | None, actor: Actor) -> BackupView:
    """Write an encrypted, consistent backup; record it and audit it. Raises BackupError on a bad
    path (nothing written) and the protection app's KeysError when the keys are sealed."""
    vendor = engine()
    if vendor not in ("sqlite", "postgresql"):
        raise BackupError(f"Backups support SQLite and PostgreSQL, not {vendor}.")
    backup_id = str(uuid.uuid4())
    now = timezone.now()
    path = _target(output, backup_id, now)
    streaming_aead.register()
    handle = tink.new_keyset_handle(
        streaming_aead.streaming_aead_key_templates.AES256_GCM_HKDF_1MB)
    wrapped = protection.stash_seal(
        tink.proto_keyset_format.serialize(handle, secret_key_access.TOKEN),
        context=_context(backup_id))
    primitive = handle.primitive(streaming_aead.StreamingAead)
    pg = _PgSnapshot() if vendor == "postgresql" else None
    try:
        state, chunks = pg.__enter__() if pg else _sqlite_snapshot()
        # Files after the snapshot: a row in the snapshot was committed after its file was
        # written, so its file is on disk now (unless deleted since; the drill then says so).
        stores = file_stores()
        entries = _file_index(stores)
        header = {"format": FORMAT, "id": backup_id, "created_at": now.isoformat(),
                  "engine": vendor, **state, "files": _files_summary(entries, stores),
                  "keyring": protection.stash_export(), "wrapped_key": wrapped}
        head = _header_bytes(header)
        with path.open("xb") as raw:
            os.chmod(path, 0o600)
            sink = _HashingWriter(raw)
            sink.write(MAGIC + len(head).to_bytes(4, "big") + head)
            with primitive.new_encrypting_stream(sink, _AD + hashlib.sha256(head).digest()
                                                 ) as enc:
                for chunk in _file_chunks(stores, entries):
                    enc.write(chunk)
                for chunk in chunks:
                    enc.write(chunk)
    except BaseException:
        if path.exists() and 'sink' in locals():
            path.unlink()
        raise
    finally:
        if pg:
            pg.__exit__()
    manifest = {k: v for k, v in header.items() if k not in ("wrapped_key", "keyring")}
    manifest.update({"file": path.name, "size": sink.size, "sha256": sink.digest.hexdigest()})
    # Rows of the live database whose file is not on disk: the backup cannot carry them and
    # every drill of it will fail; said at once rather than at the next drill.
    refs = _reference_check(connection.alias, entries)
    manifest["warnings"] = [] if refs["ok"] else [refs["detail"]]
    Path(f"{path}.manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True),
                                             encoding="utf-8")
    row = BackupRecord.objects.create(
        id=backup_id, created_at=now, created_by=actor.label or actor.id, engine=vendor,
        path=str(path), size=sink.size, sha256=manifest["sha256"], manifest=manifest)
    view = _backup_view(row)
    audit.record(action="governance.backup_created", actor=actor, subject=("backup", backup_id),
                 data={"engine": vendor, "bytes": sink.size, "sha256": manifest["sha256"],
                       "tables": view.tables, "rows": view.rows,
                       "audit_last_seq": view.audit_last_seq, "files": view.files,
                       "file_bytes": view.file_bytes, "warnings": view.warnings})
    return view


# --- Restore --------------------------------------------------------------------------------

def _read_header(path: Path) -> tuple[dict[str, Any], bytes, int]:
    with path.open("rb") as fh:
        if fh.read(len(MAGIC)) != MAGIC:
            raise BackupError(f"{path} is not a Safeguard backup.")
        size = int.from_bytes(fh.read(4), "big")
        if not 0 < size <= _MAX_HEADER:
            raise BackupError(f"{path} has a damaged header.")
        head = fh.read(size)
    try:
        header = json.loads(head)
    except ValueError:
        raise BackupError(f"{path} has a damaged header.") from None
    if not isinstance(header, dict) or header.get("format") not in (FORMAT, FORMAT_V1):
        raise BackupError(f"{path} is not a {FORMAT} backup.")
    return header, head, len(MAGIC) + 4 + size


def _preflight(path_text: str) -> tuple[Path, dict[str, Any], bytes, int, dict[str, Any]]:
    """Argument checks that refuse before anything is recorded or created."""
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise BackupError(f"{path} does not exist or is not a file.")
    manifest_path = Path(f"{path}.manifest.json")
    if not manifest_path.is_file():
        raise BackupError(f"{manifest_path} is missing: a backup is restored with its manifest.")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeError):
        raise BackupError(f"{manifest_path} is not a manifest (not JSON).") from None
    header, head, offset = _read_header(path)
    if header.get("engine") != engine():
        raise BackupError(f"This backup is of a {header.get('engine')} database; this "
                          f"installation runs {engine()}.")
    if not isinstance(manifest, dict) or manifest.get("id") != header.get("id"):
        raise BackupError(f"{manifest_path} belongs to another backup.")
    return path.resolve(), header, head, offset, manifest


def _plaintext(path: Path, header: dict[str, Any], head: bytes, offset: int
               ) -> Iterator[bytes]:
    sealed, context = str(header.get("wrapped_key", "")), _context(str(header["id"]))
    # The header's copy of the wrapped data keyset (decision 0276) opens it without a database;
    # a backup written before it carried one needs the database's keyset.
    exported = header.get("keyring")
    keyset = (protection.stash_open_exported(sealed, context=context, export=exported)
              if isinstance(exported, dict) else protection.stash_open(sealed, context=context))
    if keyset is None:
        raise BackupError("The backup's key does not open under this installation's data "
                          "keyset (another installation's backup, or altered).")
    streaming_aead.register()
    handle = tink.proto_keyset_format.parse(keyset, secret_key_access.TOKEN)
    primitive = handle.primitive(streaming_aead.StreamingAead)
    with path.open("rb") as fh:
        fh.seek(offset)
        try:
            with primitive.new_decrypting_stream(fh, _AD + hashlib.sha256(head).digest()) as dec:
                while chunk := dec.read(_CHUNK):
                    yield chunk
        except tink.TinkError:
            raise BackupError("The backup does not authenticate (altered, truncated or not "
                              "this backup's file).") from None


class _Scratch:
    """A scratch database filled from the plaintext stream, reachable as a connection alias."""

    def __init__(self, beside: Path | None = None) -> None:
        self.alias = f"restore_{uuid.uuid4().hex[:12]}"
        self.beside = beside  # SQLite: make the private directory here (same file system)
        self.dir: Path | None = None
        self.pg_name: str | None = None
        self.connected = False

    def fill(self, stream: Iterator[bytes]) -> None:
        cfg = copy.deepcopy(connections.settings["default"])
        if engine() == "sqlite":
            self.dir = Path(tempfile.mkdtemp(prefix="sg-restore-", dir=self.beside))
            target = self.dir / "scratch.sqlite3"
            with target.open("wb") as out:
                for chunk in stream:
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            cfg["NAME"] = str(target)
        else:
            self.pg_name = f"sg_restore_{uuid.uuid4().hex[:12]}"
            with _pg_connect("postgres", autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{self.pg_name}"')
            args, env = _pg_params(self.pg_name)
            with tempfile.TemporaryFile() as errors:
                proc = subprocess.Popen(  # noqa: S603 - fixed program, arguments from settings
                    [_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                     "--no-password", *args], stdin=subprocess.PIPE, stderr=errors, env=env)
                sink = proc.stdin
                if sink is None:
                    raise BackupError("pg_restore gave no input pipe.")
                try:
                    # pg_restore may stop early; its exit status and message then say why.
                    with contextlib.suppress(BrokenPipeError):
                        for chunk in stream:
                            sink.write(chunk)
                finally:
                    with contextlib.suppress(BrokenPipeError):
                        sink.close()
                    proc.wait()
                errors.seek(0)
                err = errors.read()
            if proc.returncode != 0:
                raise BackupError(f"pg_restore failed: {err.decode(errors='replace').strip()}")
            cfg["NAME"] = self.pg_name
        # A connection object of its own under a fresh alias (not added to DATABASES): the ORM
        # reads the copy with .using(alias); nothing else in the process ever sees it.
        connections[self.alias] = load_backend(cfg["ENGINE"]).DatabaseWrapper(cfg, self.alias)
        self.connected = True

    def disconnect(self) -> None:
        if self.connected:
            connections[self.alias].close()
            del connections[self.alias]
            self.connected = False

    def drop(self) -> None:
        if self.connected:
            connections[self.alias].close()
            del connections[self.alias]
            self.connected = False
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
        if self.pg_name is not None:
            with _pg_connect("postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')


def _checks(alias: str, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    expected_counts: dict[str, int] = manifest.get("tables", {})
    quote = connections[alias].ops.quote_name
    mismatched, total = [], 0
    with connections[alias].cursor() as cur:
        for table, count in sorted(expected_counts.items()):
            cur.execute(f"SELECT COUNT(*) FROM {quote(table)}")  # noqa: S608 - manifest names
            got = int(cur.fetchone()[0])
            total += got
            if got != count:
                mismatched.append(f"{table}: {got} rows, manifest {count}")
    results.append({"check": "row_counts", "ok": not mismatched,
                    "detail": ("; ".join(mismatched[:10]) if mismatched else
                               f"{len(expected_counts)} tables, {total} rows as in the manifest")})
    want = manifest.get("audit", {})
    report = audit_selectors.snapshot_check(using=alias, root_size=int(want.get("head_size", 0)))
    results.append({"check": "audit_log", "ok": report.ok,
                    "detail": (f"{report.events} events verify, {report.heads_checked} signed "
                               "heads" if report.ok else "; ".join(report.problems[:5]))})
    same = (report.last_seq == int(want.get("last_seq", 0))
            and (not want.get("head_root") or report.root_hash == want["head_root"]))
    results.append({"check": "audit_head", "ok": same,
                    "detail": (f"last seq {report.last_seq}, root at size {report.root_size} "
                               f"{report.root_hash[:16]}… as in the manifest" if same else
                               f"copy: last seq {report.last_seq}, root {report.root_hash[:16]}…; "
                               f"manifest: last seq {want.get('last_seq')}, root "
                               f"{str(want.get('head_root'))[:16]}…")})
    return results


@dataclass
class _Run:
    """One drill's outcome before it is recorded; ``scratch`` is still filled when kept."""

    resolved: Path
    header: dict[str, Any]
    started: datetime
    seconds: float
    checks: list[dict[str, Any]]
    entries: list[dict[str, Any]]
    refused: BackupError | None
    scratch: _Scratch


def _drill_run(path: str, sink: Sink | None, *, keep: bool = False,
               scratch_dir: Path | None = None) -> _Run:
    resolved, header, head, offset, manifest = _preflight(path)
    started, clock = timezone.now(), time.monotonic()
    checks: list[dict[str, Any]] = []
    refused: BackupError | None = None
    if _sha256(resolved) != manifest.get("sha256"):
        checks.append({"check": "digest", "ok": False,
                       "detail": "the file's SHA-256 differs from its manifest (altered)"})
    else:
        checks.append({"check": "digest", "ok": True, "detail": "SHA-256 matches the manifest"})
    authenticated = {k: v for k, v in header.items() if k != "wrapped_key"}
    entries: list[dict[str, Any]] = []
    scratch = _Scratch(scratch_dir)
    try:
        reader = _Reader(_plaintext(resolved, header, head, offset))
        files_check: dict[str, Any]
        if header.get("format") == FORMAT_V1:
            files_check = {"check": "files", "ok": False,
                           "detail": f"a {FORMAT_V1} backup carries no files (evidence, "
                                     "archives); make a new backup"}
        else:
            want = authenticated.get("files", {})
            entries, problems = _read_files(reader, want, sink)
            files_check = {"check": "files", "ok": not problems,
                           "detail": ("; ".join(problems[:10]) if problems else
                                      f"{len(entries)} files, {want.get('bytes', 0)} bytes, "
                                      "each with the SHA-256 of the manifest")}
        scratch.fill(reader.rest())
        checks.append({"check": "decrypt", "ok": True,
                       "detail": "every segment authenticates (Tink streaming AEAD)"})
        checks.append(files_check)
        checks += _checks(scratch.alias, authenticated)
        checks.append(_reference_check(scratch.alias, entries))
    except BackupError as exc:
        refused = exc
        checks.append({"check": "decrypt", "ok": False, "detail": exc.detail})
    except BaseException:
        scratch.drop()
        raise
    if not keep or refused is not None or not all(c["ok"] for c in checks):
        scratch.drop()
    seconds = round(time.monotonic() - clock, 3)
    return _Run(resolved, header, started, seconds, checks, entries, refused, scratch)


def _record_drill(run: _Run, actor: Actor) -> DrillView:
    outcome = VERIFIED if all(c["ok"] for c in run.checks) else FAILED
    record = BackupRecord.objects.filter(id=run.header["id"]).first()
    drill = RestoreDrill.objects.create(
        backup=record, backup_ref=str(run.header["id"]), path=str(run.resolved),
        started_at=run.started, finished_at=timezone.now(), seconds=run.seconds,
        outcome=outcome, checks=run.checks, triggered_by=actor.label or actor.id)
    audit.record(action="governance.restore_drill", actor=actor,
                 subject=("backup", str(run.header["id"])),
                 outcome="success" if outcome == VERIFIED else "failure",
                 data={"drill": drill.id, "outcome": outcome, "seconds": run.seconds,
                       "failed": [c["check"] for c in run.checks if not c["ok"]]})
    return _drill_view(drill)


def _drill(path: str, actor: Actor, sink: Sink | None
           ) -> tuple[DrillView, list[dict[str, Any]], BackupError | None]:
    run = _drill_run(path, sink)
    return _record_drill(run, actor), run.entries, run.refused


def restore_verify(*, path: str, actor: Actor) -> DrillView:
    """Restore a backup into a scratch database, verify it and record the drill. Raises
    BackupError, recording nothing, for a missing or foreign file (bad argument); a file that
    fails its digest or authentication, a carried file whose bytes differ from the manifest, a
    file a restored row needs that the backup lacks, or a copy that fails a check, is a recorded
    failed drill."""
    view, _entries, refused = _drill(path, actor, None)
    if refused is not None:
        raise BackupError(f"Restore refused: {refused.detail} (drill {view.id} recorded as "
                          "failed).")
    return view


@dataclass(frozen=True)
class FilesRestored:
    drill: DrillView
    written: list[str]  # "<store>/<path>" put back
    present: int  # already in place with the backup's SHA-256


def restore_files(*, path: str, actor: Actor) -> FilesRestored:
    """Put back the files of a backup (evidence, archives, stored files) that are missing from
    their stores. Runs a full restore drill first, decrypting each file into a staging directory
    inside its store; only when the drill verifies and no file in place differs from the
    backup's copy are the staged files moved into place (a rename each). Otherwise every staged
    file is removed and BackupError raised: no file of the stores is written or changed. A file
    already in place with the backup's SHA-256 is left as it is. The database is not restored
    (docs/governance.md)."""
    roots = {s.name: s.root() for s in file_stores()}
    staging = f"{STAGING_PREFIX}{uuid.uuid4().hex[:12]}"
    created: list[Path] = []  # directories this call made, removed again on refusal

    def stage(entry: dict[str, Any]) -> IO[bytes] | None:
        root = roots.get(entry["store"])
        if root is None:
            return None  # a store this installation lacks: refused below
        for folder in (root, root / staging):
            if not folder.exists():
                folder.mkdir(parents=True, mode=0o700)
                created.append(folder)
        target = root / staging / entry["path"]
        if not target.resolve().is_relative_to((root / staging).resolve()):
            return None  # a path outside its store never gets written
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        return os.fdopen(fd, "wb")

    def clean() -> None:
        for root in roots.values():
            shutil.rmtree(root / staging, ignore_errors=True)
        for folder in reversed(created):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if still empty

    try:
        drill, entries, refused = _drill(path, actor, stage)
        if refused is not None or drill.outcome != VERIFIED:
            failed = [f"{c['check']}: {c['detail']}" for c in drill.checks if not c["ok"]]
            raise BackupError(f"Restore refused: drill {drill.id} failed ({'; '.join(failed)}). "
                              "No file was written.")
        unknown = sorted({e["store"] for e in entries} - set(roots))
        if unknown:
            raise BackupError(f"Restore refused: this installation has no store "
                              f"{', '.join(unknown)}. No file was written.")
        written, present, conflicts = [], 0, []
        for e in entries:
            staged = roots[e["store"]] / staging / e["path"]
            if not staged.is_file():
                raise BackupError(f"Restore refused: {e['store']}/{e['path']} is not a path "
                                  "inside its store. No file was written.")
            target = roots[e["store"]] / e["path"]
            if target.exists() or target.is_symlink():
                if target.is_file() and _sha256(target) == e["sha256"]:
                    present += 1
                else:
                    conflicts.append(f"{e['store']}/{e['path']}")
            else:
                written.append(e)
        if conflicts:
            raise BackupError(f"Restore refused: {len(conflicts)} file(s) in place differ from "
                              f"the backup's copy ({', '.join(conflicts[:5])}); move them aside "
                              "first. No file was written.")
        for e in written:
            target = roots[e["store"]] / e["path"]
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.replace(roots[e["store"]] / staging / e["path"], target)
    finally:
        clean()
    names = [f"{e['store']}/{e['path']}" for e in written]
    audit.record(action="governance.backup_files_restored", actor=actor,
                 subject=("backup", drill.backup_id),
                 data={"drill": drill.id, "written": len(names), "present": present,
                       "files": names[:100]})
    return FilesRestored(drill=drill, written=names, present=present)


# --- Restore the database (decision 0276) ----------------------------------------------------

@dataclass(frozen=True)
class DatabaseRestored:
    backup_id: str
    sha256: str
    replaced: dict[str, Any]  # what the target held before (target_state)
    drill: DrillView  # the drill that verified the copy, recorded in the restored database
    migrated: list[str]  # migrations applied because the backup's schema was older
    audit_detail: str
    files: FilesRestored
    seconds: float


# Keys a restore never brings back (NOT_CARRIED); the operator puts them back before restoring.
KEYS_NEEDED = (
    ("the key-encryption key the backup's installation used (SAFEGUARD_DEV_KEK_FILE, the "
     "custodians' shares, or the KMS key)"),
    "the audit signing key (SAFEGUARD_AUDIT_KEY_FILE)",
    "SAFEGUARD_SECRET_KEY and SAFEGUARD_MFA_SECRET_KEY",
    "the audit witness file (SAFEGUARD_AUDIT_WITNESS_FILE), from its own volume",
)


def target_state() -> dict[str, Any]:
    """What the configured database holds now: its name, tables, rows, the audit log's end."""
    name = str(connection.settings_dict["NAME"])
    tables = sorted(connection.introspection.table_names())
    quote = connection.ops.quote_name
    rows, last_seq = 0, 0
    with connection.cursor() as cur:
        for t in tables:
            cur.execute(f"SELECT COUNT(*) FROM {quote(t)}")  # noqa: S608 - names from the catalog
            rows += int(cur.fetchone()[0])
        if "audit_sequence" in tables:
            cur.execute("SELECT last_seq FROM audit_sequence WHERE id = 1")
            row = cur.fetchone()
            last_seq = int(row[0]) if row else 0
    return {"engine": engine(), "name": name, "tables": len(tables), "rows": rows,
            "audit_last_seq": last_seq}


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _swap(scratch: _Scratch) -> None:
    """Put the verified copy in place of the configured database in one atomic step: SQLite, a
    rename of the fsynced copy (written beside the target) over the file; PostgreSQL, both
    renames (target aside, copy in) in one transaction, then the old database is dropped."""
    connection.close()
    if engine() == "sqlite":
        if scratch.dir is None:
            raise BackupError("the restored copy is missing")
        target = Path(str(connection.settings_dict["NAME"]))
        # Closed cleanly, SQLite has checkpointed its WAL; a stale -wal or -shm beside the
        # new file would be replayed onto it.
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(scratch.dir / "scratch.sqlite3", target)
        _fsync_dir(target.parent)
        return
    if scratch.pg_name is None:
        raise BackupError("the restored copy is missing")
    target_name = str(connection.settings_dict["NAME"])
    old = f"sg_replaced_{uuid.uuid4().hex[:12]}"
    with _pg_connect("postgres") as admin:  # one transaction: both renames or neither
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = %s AND pid <> pg_backend_pid()", [target_name])
        admin.execute(f'ALTER DATABASE "{target_name}" RENAME TO "{old}"')
        admin.execute(f'ALTER DATABASE "{scratch.pg_name}" RENAME TO "{target_name}"')
    scratch.pg_name = None  # it is the target now: never dropped
    with _pg_connect("postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)')


def _pending_migrations() -> list[str]:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{m.app_label}.{m.name}" for m, _backwards in plan]


def restore_database(*, path: str, actor: Actor, replace: bool = False) -> DatabaseRestored:
    """Restore a backup into the configured database (disaster recovery; decision 0276).

    Refuses (BackupError, nothing changed, nothing recorded) on a bad path or manifest, a
    database that is not empty without ``replace``, a drill that does not verify (digest,
    decryption, audit log, row counts, files), or a copy whose keysets the keys present cannot
    open. Otherwise the verified copy replaces the database in one atomic step (``_swap``), the
    migrations the backup's schema lacks are applied, the drill and a
    ``governance.backup_database_restored`` event (actor, backup, digest, what was replaced) are
    recorded in the restored log, the log is checked, and the missing files are put back as
    ``restore_files`` does."""
    if engine() not in ("sqlite", "postgresql"):
        raise BackupError(f"Backups support SQLite and PostgreSQL, not {engine()}.")
    clock = time.monotonic()
    _resolved, header, _head, _offset, manifest = _preflight(path)
    before = target_state()
    if not before["tables"] and not isinstance(header.get("keyring"), dict):
        raise BackupError(f"Restore refused: the database {before['name']} is empty, and this "
                          "backup was written before backups carried their wrapped data "
                          "keyset: its key opens only with the keyset kept in a database. "
                          "Restore with --replace over the installation's own database (even a "
                          "damaged one that still holds its keysets), or with the engine's "
                          "tools (docs/governance.md). Nothing was changed.")
    if before["tables"] and not replace:
        raise BackupError(f"Restore refused: the database {before['name']} is not empty "
                          f"({before['tables']} tables, {before['rows']} rows, audit log up to "
                          f"seq {before['audit_last_seq']}); give --replace to replace it. "
                          "Nothing was changed.")
    beside = (Path(str(connection.settings_dict["NAME"])).resolve().parent
              if engine() == "sqlite" else None)
    run = _drill_run(path, None, keep=True, scratch_dir=beside)
    failed = [f"{c['check']}: {c['detail']}" for c in run.checks if not c["ok"]]
    if run.refused is not None or failed:
        raise BackupError(f"Restore refused: the backup does not verify ({'; '.join(failed)}). "
                          "Nothing was changed.")
    try:
        from safeguard.protection import selectors as protection_selectors

        problems = protection_selectors.keys_open_copy(using=run.scratch.alias)
        if problems:
            raise BackupError("Restore refused: the restored data cannot be opened with the keys "
                              f"present ({'; '.join(problems)}). Put back "
                              f"{KEYS_NEEDED[0]} first. Nothing was changed.")
        run.scratch.disconnect()
        _swap(run.scratch)
    finally:
        run.scratch.drop()
    protection.keys_forget_cached()
    migrated = _pending_migrations()
    if migrated:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
    drill = _record_drill(run, actor)
    audit.record(action="governance.backup_database_restored", actor=actor,
                 subject=("backup", str(header["id"])),
                 data={"sha256": manifest.get("sha256"), "path": str(run.resolved),
                       "created_at": header.get("created_at"), "drill": drill.id,
                       "replaced": before, "migrated": len(migrated)})
    audit.integrate(wait=True)
    want = header.get("audit", {})
    report = audit_selectors.snapshot_check(using=connection.alias,
                                            root_size=int(want.get("head_size", 0)))
    if not report.ok:
        raise BackupError("The database was restored but its audit log does not verify: "
                          f"{'; '.join(report.problems[:5])}")
    files = restore_files(path=path, actor=actor)
    return DatabaseRestored(
        backup_id=str(header["id"]), sha256=str(manifest.get("sha256")), replaced=before,
        drill=drill, migrated=migrated,
        audit_detail=f"{report.events} events verify, {report.heads_checked} signed heads",
        files=files, seconds=round(time.monotonic() - clock, 3))


def _sha256(path: Path) -> str:
    return _sha256_size(path)[0]


def _sha256_size(path: Path) -> tuple[str, int]:
    """A file's SHA-256 and size, from one read."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def drill_on_record(*, backup_id: str, actor: Actor) -> DrillView:
    """Run a drill on a recorded backup's file (the backups page)."""
    found = backup_get(backup_id=backup_id)
    if found is None:
        raise BackupError("No such backup.")
    return restore_verify(path=found.path, actor=actor)


# --- The control ----------------------------------------------------------------------------

def control_backups_restored() -> dict[str, str]:
    """Provider ``control.backups_restored``: pass while a verified restore drill finished within
    SAFEGUARD_BACKUP_DRILL_MAX_DAYS (decision 0241)."""
    days = int(settings.SAFEGUARD_BACKUP_DRILL_MAX_DAYS)
    now = timezone.now()
    last = RestoreDrill.objects.filter(outcome=VERIFIED).order_by("-finished_at").first()
    if last is None:
        return {"status": "fail", "evidence": "No verified restore drill has ever been recorded "
                f"(one is required every {days} days)."}
    age = now - last.finished_at
    said = (f"Last verified restore drill {last.id} of backup {last.backup_ref[:8]} finished "
            f"{last.finished_at:%Y-%m-%d %H:%M} UTC ({age.days} days ago), recovery "
            f"{last.seconds:.1f} s")
    if age > timedelta(days=days):
        return {"status": "fail", "evidence": f"{said}: older than {days} days."}
    return {"status": "pass", "evidence": f"{said}, within {days} days."}

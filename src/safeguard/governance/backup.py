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

``restore_verify`` checks the digest, decrypts into a scratch database (a temporary SQLite file
in a private directory, or a new temporary PostgreSQL database), checks the audit log on that
copy through a Django connection alias (``audit.selectors.snapshot_check``: every event hashes to
its leaf, every signed head verifies, the root at the manifest's head size is the manifest's),
compares every table's row count with the manifest, measures the recovery time, removes the
scratch copy and records a :class:`RestoreDrill` and an audit event.
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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import tink
from django.conf import settings
from django.db import connection, connections
from django.db.utils import load_backend
from django.utils import timezone
from tink import secret_key_access, streaming_aead

from safeguard.audit import selectors as audit_selectors
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.governance.models import BackupRecord, RestoreDrill
from safeguard.protection import services as protection
from safeguard.web.errors import ApplicationError

FORMAT = "safeguard.backup/1"
MAGIC = b"SGBACKUP1\n"
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
    return BackupView(id=str(r.id), created_at=r.created_at, created_by=r.created_by,
                      engine=r.engine, path=r.path, size=r.size, sha256=r.sha256,
                      tables=len(counts), rows=sum(counts.values()),
                      audit_last_seq=int(r.manifest.get("audit", {}).get("last_seq", 0)))


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
        header = {"format": FORMAT, "id": backup_id, "created_at": now.isoformat(),
                  "engine": vendor, **state, "wrapped_key": wrapped}
        head = _header_bytes(header)
        with path.open("xb") as raw:
            os.chmod(path, 0o600)
            sink = _HashingWriter(raw)
            sink.write(MAGIC + len(head).to_bytes(4, "big") + head)
            with primitive.new_encrypting_stream(sink, _AD + hashlib.sha256(head).digest()
                                                 ) as enc:
                for chunk in chunks:
                    enc.write(chunk)
    except BaseException:
        if path.exists() and 'sink' in locals():
            path.unlink()
        raise
    finally:
        if pg:
            pg.__exit__()
    manifest = {k: v for k, v in header.items() if k != "wrapped_key"}
    manifest.update({"file": path.name, "size": sink.size, "sha256": sink.digest.hexdigest()})
    Path(f"{path}.manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True),
                                             encoding="utf-8")
    row = BackupRecord.objects.create(
        id=backup_id, created_at=now, created_by=actor.label or actor.id, engine=vendor,
        path=str(path), size=sink.size, sha256=manifest["sha256"], manifest=manifest)
    view = _backup_view(row)
    audit.record(action="governance.backup_created", actor=actor, subject=("backup", backup_id),
                 data={"engine": vendor, "bytes": sink.size, "sha256": manifest["sha256"],
                       "tables": view.tables, "rows": view.rows,
                       "audit_last_seq": view.audit_last_seq})
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
    if not isinstance(header, dict) or header.get("format") != FORMAT:
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
    keyset = protection.stash_open(str(header.get("wrapped_key", "")),
                                   context=_context(str(header["id"])))
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

    def __init__(self) -> None:
        self.alias = f"restore_{uuid.uuid4().hex[:12]}"
        self.dir: Path | None = None
        self.pg_name: str | None = None
        self.connected = False

    def fill(self, stream: Iterator[bytes]) -> None:
        cfg = copy.deepcopy(connections.settings["default"])
        if engine() == "sqlite":
            self.dir = Path(tempfile.mkdtemp(prefix="sg-restore-"))
            target = self.dir / "scratch.sqlite3"
            with target.open("wb") as out:
                for chunk in stream:
                    out.write(chunk)
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


def restore_verify(*, path: str, actor: Actor) -> DrillView:
    """Restore a backup into a scratch database, verify it and record the drill. Raises
    BackupError, recording nothing, for a missing or foreign file (bad argument); a file that
    fails its digest or authentication, or a copy that fails a check, is a recorded failed
    drill."""
    resolved, header, head, offset, manifest = _preflight(path)
    started, clock = timezone.now(), time.monotonic()
    checks: list[dict[str, Any]] = []
    refused: BackupError | None = None
    digest = hashlib.sha256()
    with resolved.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    if digest.hexdigest() != manifest.get("sha256"):
        checks.append({"check": "digest", "ok": False,
                       "detail": "the file's SHA-256 differs from its manifest (altered)"})
    else:
        checks.append({"check": "digest", "ok": True, "detail": "SHA-256 matches the manifest"})
    authenticated = {k: v for k, v in header.items() if k != "wrapped_key"}
    scratch = _Scratch()
    try:
        scratch.fill(_plaintext(resolved, header, head, offset))
        checks.append({"check": "decrypt", "ok": True,
                       "detail": "every segment authenticates (Tink streaming AEAD)"})
        checks += _checks(scratch.alias, authenticated)
    except BackupError as exc:
        refused = exc
        checks.append({"check": "decrypt", "ok": False, "detail": exc.detail})
    finally:
        scratch.drop()
    seconds = round(time.monotonic() - clock, 3)
    outcome = VERIFIED if all(c["ok"] for c in checks) else FAILED
    record = BackupRecord.objects.filter(id=header["id"]).first()
    drill = RestoreDrill.objects.create(
        backup=record, backup_ref=str(header["id"]), path=str(resolved), started_at=started,
        finished_at=timezone.now(), seconds=seconds, outcome=outcome, checks=checks,
        triggered_by=actor.label or actor.id)
    audit.record(action="governance.restore_drill", actor=actor,
                 subject=("backup", str(header["id"])),
                 outcome="success" if outcome == VERIFIED else "failure",
                 data={"drill": drill.id, "outcome": outcome, "seconds": seconds,
                       "failed": [c["check"] for c in checks if not c["ok"]]})
    view = _drill_view(drill)
    if refused is not None:
        raise BackupError(f"Restore refused: {refused.detail} (drill {drill.id} recorded as "
                          "failed).")
    return view


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

"""``safeguard backup restore --database`` (decision 0276; R-OPS-11, R-DATA-4): disaster
recovery puts a verified backup in place of the configured database in one atomic step.
Round trip — customers, a case, audit events, an evidence file and an archive; backup; the
database and the stores damaged; restore --database --replace --yes — the data and files come
back, ``audit verify`` passes and the restore is an audit event of the restored log. Refusals
change nothing: a non-empty target without --replace, a tampered backup, a wrong path, another
installation's backup key, and a restore killed right before its swap. Runs on SQLite (on a
file database: the swap is a rename) and, with DATABASE_URL, on PostgreSQL (a rename of
databases in one transaction)."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

from safeguard.audit.models import Event
from safeguard.cases.models import Case
from safeguard.customers.models import Customer
from safeguard.governance import backup
from safeguard.governance.models import EvidenceFile
from tests.governance.test_backup_files import _everything, _tree

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("builtin_roles", "stores")]
JOB = backup.Actor.system("tests")


@pytest.fixture(autouse=True)
def file_database(tmp_path):
    """On SQLite, the test database is in memory: run each test on a file copy of it (a restore
    replaces a file), then go back to the memory database."""
    if connection.vendor != "sqlite":
        yield None
        return
    original = connection.settings_dict["NAME"]
    keep = sqlite3.connect(original, uri=True)  # keeps the shared memory database alive
    path = tmp_path / "live" / "safeguard.sqlite3"
    path.parent.mkdir()
    connection.ensure_connection()
    copy = sqlite3.connect(path)
    connection.connection.backup(copy)
    copy.close()
    BaseDatabaseWrapper.close(connection)
    connection.settings_dict["NAME"] = str(path)
    yield path
    connection.close()
    connection.settings_dict["NAME"] = original
    connection.ensure_connection()
    keep.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _made(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    _everything()
    target = tmp_path / "dr.sgbak"
    backup.backup_create(output=str(target), actor=JOB)
    counts = {"customers": Customer.objects.count(), "cases": Case.objects.count(),
              "evidence": EvidenceFile.objects.count()}
    assert counts == {"customers": 1, "cases": 1, "evidence": 1}
    return target, counts


def _damage() -> None:
    Case.objects.all().delete()
    Customer.objects.all().delete()


def _state_now() -> dict[str, object]:
    return backup.target_state()


def test_round_trip_restores_database_and_files(tmp_path, stores):
    target, counts = _made(tmp_path)
    files_before = {name: _tree(root) for name, root in stores.items()}
    events_at_backup = Event.objects.count()
    # the disaster: rows lost, the stores wiped
    _damage()
    for root in stores.values():
        shutil.rmtree(root)
    assert Customer.objects.count() == 0

    call_command("backup", "restore", "--database", "--replace", "--yes", str(target))

    assert {"customers": Customer.objects.count(), "cases": Case.objects.count(),
            "evidence": EvidenceFile.objects.count()} == counts
    assert {name: _tree(root) for name, root in stores.items()} == files_before
    restored = Event.objects.filter(action="governance.backup_database_restored").get()
    manifest_sha = json.loads(Path(f"{target}.manifest.json").read_text())["sha256"]
    assert restored.data["sha256"] == manifest_sha == _digest(target)
    assert restored.data["replaced"]["rows"] > 0
    assert restored.actor_id.startswith("cli:")
    # the restored log: the backup's events, then the drill, the restore, the files put back
    assert Event.objects.count() > events_at_backup
    call_command("audit", "verify")


def test_non_empty_target_without_replace_is_refused(tmp_path):
    target, _ = _made(tmp_path)
    _damage()
    before = _state_now()
    with pytest.raises(CommandError, match=r"not empty.*--replace.*Nothing was changed"):
        call_command("backup", "restore", "--database", str(target))
    assert _state_now() == before
    assert Customer.objects.count() == 0


def test_tampered_backup_is_refused_and_target_untouched(tmp_path):
    target, _ = _made(tmp_path)
    raw = bytearray(target.read_bytes())
    raw[-100] ^= 0x01
    target.write_bytes(bytes(raw))
    _damage()
    before = _state_now()
    with pytest.raises(backup.BackupError, match=r"does not verify.*Nothing was changed"):
        backup.restore_database(path=str(target), actor=JOB, replace=True)
    assert _state_now() == before
    assert not list(Path(tmp_path).glob("live/sg-restore-*"))


def test_wrong_path_and_foreign_key_are_refused(tmp_path, monkeypatch):
    target, _ = _made(tmp_path)
    before = _state_now()
    with pytest.raises(backup.BackupError, match="does not exist"):
        backup.restore_database(path=str(tmp_path / "nope.sgbak"), actor=JOB, replace=True)
    # another installation's data keyset: the backup's key does not open
    monkeypatch.setattr(backup.protection, "stash_open_exported",
                        lambda sealed, context, export: None)
    with pytest.raises(backup.BackupError, match=r"does not open.*Nothing was changed"):
        backup.restore_database(path=str(target), actor=JOB, replace=True)
    assert _state_now() == before


def test_keys_that_do_not_open_the_copy_are_refused(tmp_path, monkeypatch):
    target, _ = _made(tmp_path)
    _damage()
    before = _state_now()
    from safeguard.protection import keyring

    monkeypatch.setattr(keyring, "copy_problems",
                        lambda using: ["The dev key-encryption key does not match"])
    with pytest.raises(backup.BackupError, match="cannot be opened with the keys present"):
        backup.restore_database(path=str(target), actor=JOB, replace=True)
    assert _state_now() == before


def test_copy_opens_with_the_keys_present(tmp_path):
    """The real key check on a verified copy: the master key verifies, every keyset unwraps."""
    target, _ = _made(tmp_path)
    from safeguard.protection import selectors

    run = backup._drill_run(str(target), None, keep=True)
    try:
        assert selectors.keys_open_copy(using=run.scratch.alias) == []
    finally:
        run.scratch.drop()


def test_killed_before_the_swap_leaves_target_untouched(tmp_path, file_database, monkeypatch):
    target, _ = _made(tmp_path)
    _damage()
    before = _state_now()
    connection.close()  # SQLite checkpoints its WAL into the file: the bytes to compare
    digest = _digest(file_database) if file_database else None

    def killed(scratch):
        raise KeyboardInterrupt("killed before the swap")

    monkeypatch.setattr(backup, "_swap", killed)
    with pytest.raises(KeyboardInterrupt):
        backup.restore_database(path=str(target), actor=JOB, replace=True)
    if file_database:
        connection.close()
        assert _digest(file_database) == digest
        assert not list(file_database.parent.glob("sg-restore-*"))
    assert _state_now() == before
    assert Customer.objects.count() == 0


def test_replace_needs_confirmation_without_a_terminal(tmp_path):
    target, _ = _made(tmp_path)
    with pytest.raises(CommandError, match=r"typed confirmation.*--yes"):
        call_command("backup", "restore", "--database", "--replace", str(target))


def _empty_the_database(file_database: Path | None) -> None:
    connection.close()
    if file_database is not None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{file_database}{suffix}").unlink(missing_ok=True)
    else:
        with connection.cursor() as cur:
            cur.execute("DROP SCHEMA public CASCADE")
            cur.execute("CREATE SCHEMA public")
        connection.close()


def test_restore_into_an_empty_database(tmp_path, stores, file_database):
    """The database is lost entirely: the backup's header carries the wrapped data keyset, so
    the KEK present opens it without a database."""
    target, counts = _made(tmp_path)
    header = json.loads(target.read_bytes()[14:14 + int.from_bytes(
        target.read_bytes()[10:14], "big")])
    assert set(header["keyring"]) == {"provider", "instance", "kms_uri", "check_value", "data"}
    assert "keyring" not in json.loads(Path(f"{target}.manifest.json").read_text())
    _empty_the_database(file_database)
    for root in stores.values():
        shutil.rmtree(root)
    assert backup.target_state()["tables"] == 0

    call_command("backup", "restore", "--database", str(target))

    assert {"customers": Customer.objects.count(), "cases": Case.objects.count(),
            "evidence": EvidenceFile.objects.count()} == counts
    event = Event.objects.filter(action="governance.backup_database_restored").get()
    assert event.data["replaced"]["tables"] == 0
    call_command("audit", "verify")


def test_another_kek_is_refused_and_target_untouched(tmp_path, settings):
    """The keys present are not the backup's: the KEK does not verify the header's check
    value; clear message, nothing changed."""
    from safeguard.protection import services as protection

    target, _ = _made(tmp_path)
    _damage()
    before = _state_now()
    settings.SAFEGUARD_DEV_KEK_FILE = tmp_path / "another-dev-kek.json"
    protection.keys_forget_cached()
    try:
        with pytest.raises(CommandError, match="key-encryption key does not match"):
            call_command("backup", "restore", "--database", "--replace", "--yes", str(target))
    finally:
        protection.keys_forget_cached()
    assert _state_now() == before

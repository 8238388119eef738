"""Continuity (issue 13 section 5, R-REG-1, decision 0241): an encrypted, consistent backup is
restored into a scratch database whose audit log verifies and whose row counts match the
manifest; a tampered file is refused; bad arguments change nothing; the "backups restored
recently" control follows the drills. Runs on SQLite and, with DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection

from safeguard.accounts.models import User
from safeguard.audit import services as audit_services
from safeguard.audit.contracts import Actor
from safeguard.audit.models import Event
from safeguard.governance import backup, evaluators
from safeguard.governance.models import BackupRecord, RestoreDrill
from tests.factories import make_user, signed_in_client

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("builtin_roles")]
JOB = Actor.system("tests")
T1 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _populate() -> None:
    make_user(email="kept.person@example.org", roles=("agent",))
    for n in range(5):
        audit_services.record(action="tests.backup_fixture", actor=JOB, subject=("n", n))
    audit_services.integrate(wait=True)
    audit_services.head_sign(force=True)


def _scratch_left() -> list[str]:
    if connection.vendor == "sqlite":
        return [p.name for p in Path(tempfile.gettempdir()).glob("sg-restore-*")]
    with connection.cursor() as cur:
        cur.execute("SELECT datname FROM pg_database WHERE datname LIKE 'sg_restore_%%'")
        return [r[0] for r in cur.fetchall()]


def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def _reseal_manifest(path: Path) -> None:
    """What an attacker who also rewrites the manifest does: the digest matches again."""
    import hashlib

    side = Path(f"{path}.manifest.json")
    doc = json.loads(side.read_text())
    doc["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    side.write_text(json.dumps(doc))


def test_backup_restore_verify_round_trip(tmp_path):
    _populate()
    before = _scratch_left()
    target = tmp_path / "nightly.sgbak"
    view = backup.backup_create(output=str(target), actor=JOB)

    raw = target.read_bytes()
    assert view.size == len(raw)
    assert target.stat().st_mode & 0o777 == 0o600
    assert b"kept.person@example.org" not in raw  # never plaintext on disk
    assert b"SQLite format 3" not in raw
    assert b"PGDMP" not in raw
    manifest = json.loads(Path(f"{target}.manifest.json").read_text())
    assert manifest["engine"] == connection.vendor
    assert manifest["tables"][User._meta.db_table] == User.objects.count()
    # Every event but the backup's own, recorded after the snapshot.
    assert manifest["tables"][Event._meta.db_table] == Event.objects.count() - 1
    assert manifest["audit"]["last_seq"] == Event.objects.count() - 1
    assert 0 < manifest["audit"]["head_size"] <= manifest["audit"]["last_seq"]
    assert "wrapped_key" not in manifest
    record = BackupRecord.objects.get()
    assert str(record.id) == view.id == manifest["id"]
    assert record.sha256 == manifest["sha256"]
    created = Event.objects.filter(action="governance.backup_created").get()
    assert created.data["sha256"] == manifest["sha256"]

    make_user(email="after.backup@example.org")  # the live database moves on; the copy does not
    drill = backup.restore_verify(path=str(target), actor=JOB)
    assert drill.outcome == backup.VERIFIED, drill.checks
    assert [c["check"] for c in drill.checks] == ["digest", "decrypt", "files", "row_counts",
                                                  "audit_log", "audit_head", "file_references"]
    events = manifest["audit"]["last_seq"]
    assert f"{events} events verify" in drill.checks[4]["detail"]
    assert drill.seconds > 0
    assert drill.finished_at >= drill.started_at
    row = RestoreDrill.objects.get()
    assert row.backup_id == record.id
    assert row.outcome == "verified"
    logged = Event.objects.filter(action="governance.restore_drill").get()
    assert logged.data["outcome"] == "verified"
    assert logged.outcome == "success"
    assert _scratch_left() == before  # the scratch copy is gone


def test_the_cli_round_trip(tmp_path, capsys):
    _populate()
    target = tmp_path / "cli.sgbak"
    call_command("backup", "create", "--output", str(target))
    assert "sha256" in capsys.readouterr().out
    call_command("backup", "restore", "--verify", str(target))
    out = capsys.readouterr().out
    assert "verified" in out
    assert "row_counts" in out


def test_a_tampered_backup_is_refused_and_recorded_as_a_failed_drill(tmp_path):
    _populate()
    target = tmp_path / "t.sgbak"
    backup.backup_create(output=str(target), actor=JOB)
    before = _scratch_left()
    _flip(target, target.stat().st_size // 2)
    with pytest.raises(CommandError, match="does not authenticate"):
        call_command("backup", "restore", "--verify", str(target))
    drill = RestoreDrill.objects.get()
    assert drill.outcome == "failed"
    assert {c["check"]: c["ok"] for c in drill.checks} == {"digest": False, "decrypt": False}

    _reseal_manifest(target)  # the digest matches again: the AEAD alone refuses
    with pytest.raises(CommandError, match="does not authenticate"):
        call_command("backup", "restore", "--verify", str(target))
    last = RestoreDrill.objects.order_by("-id").first()
    assert {c["check"]: c["ok"] for c in last.checks} == {"digest": True, "decrypt": False}
    assert _scratch_left() == before
    assert evaluators.backups_restored().status == "fail"


def test_an_altered_manifest_in_the_header_does_not_authenticate(tmp_path):
    _populate()
    target = tmp_path / "h.sgbak"
    backup.backup_create(output=str(target), actor=JOB)
    data = target.read_bytes()
    table = User._meta.db_table.encode()
    at = data.index(b'"' + table + b'":') + len(table) + 3  # first digit of the user count
    _flip(target, at)
    _reseal_manifest(target)
    with pytest.raises(backup.BackupError, match="does not authenticate"):
        backup.restore_verify(path=str(target), actor=JOB)
    assert RestoreDrill.objects.get().outcome == "failed"


def test_bad_paths_and_arguments_are_clear_errors_that_change_nothing(tmp_path):
    _populate()
    existing = tmp_path / "exists.sgbak"
    existing.write_bytes(b"keep me")
    events = Event.objects.count()
    with pytest.raises(CommandError, match="already exists"):
        call_command("backup", "create", "--output", str(existing))
    assert existing.read_bytes() == b"keep me"
    with pytest.raises(CommandError, match="is not a directory"):
        call_command("backup", "create", "--output", str(tmp_path / "no" / "dir.sgbak"))
    with pytest.raises(CommandError, match="does not exist"):
        call_command("backup", "restore", "--verify", str(tmp_path / "missing.sgbak"))
    with pytest.raises(CommandError, match="manifest"):
        call_command("backup", "restore", "--verify", str(existing))
    Path(f"{existing}.manifest.json").write_text("{}")
    with pytest.raises(CommandError, match="not a Safeguard backup"):
        call_command("backup", "restore", "--verify", str(existing))
    with pytest.raises(CommandError, match="needs --verify"):
        call_command("backup", "restore", str(existing))
    assert not BackupRecord.objects.exists()
    assert not RestoreDrill.objects.exists()
    assert Event.objects.count() == events
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists.sgbak",
                                                          "exists.sgbak.manifest.json"]


def test_the_control_passes_after_a_drill_and_fails_when_it_ages(tmp_path, settings):
    settings.SAFEGUARD_BACKUP_DRILL_MAX_DAYS = 30
    _populate()
    with time_machine.travel(T1, tick=True):
        first = evaluators.backups_restored()
        assert first.status == "fail"
        assert "No verified restore drill" in first.evidence
        target = tmp_path / "c.sgbak"
        backup.backup_create(output=str(target), actor=JOB)
        backup.restore_verify(path=str(target), actor=JOB)
        now = evaluators.backups_restored()
        assert now.status == "pass"
        assert "within 30 days" in now.evidence
        assert now.evidence.endswith("(from control.backups_restored)")
    with time_machine.travel(T1 + timedelta(days=29), tick=False):
        assert evaluators.backups_restored().status == "pass"
    with time_machine.travel(T1 + timedelta(days=31), tick=False):
        late = evaluators.backups_restored()
        assert late.status == "fail"
        assert "older than 30 days" in late.evidence
        settings.SAFEGUARD_BACKUP_DRILL_MAX_DAYS = 90
        assert evaluators.backups_restored().status == "pass"


def test_the_page_lists_backups_and_drills_and_only_managers_run_a_drill(tmp_path):
    _populate()
    target = tmp_path / "p.sgbak"
    view = backup.backup_create(output=str(target), actor=JOB)
    manager = signed_in_client(make_user(roles=("compliance_manager",)))
    auditor = signed_in_client(make_user(roles=("auditor",)))
    agent = signed_in_client(make_user(roles=("agent",)))
    assert agent.get("/governance/backups/").status_code == 403
    page = auditor.get("/governance/backups/").content.decode()
    assert view.id[:8] in page
    assert "No restore drill has been run yet." in page
    assert "Run restore drill" not in page
    url = f"/governance/backups/{view.id}/drill/"
    assert auditor.post(url).status_code == 403
    assert not RestoreDrill.objects.exists()
    response = manager.post(url, follow=True)
    drill = RestoreDrill.objects.get()
    assert drill.outcome == "verified"
    page = response.content.decode()
    assert f"Restore drill {drill.id} verified" in page
    assert "Run restore drill" in page
    assert "within 90 days" in page
    missing = manager.post("/governance/backups/00000000-0000-0000-0000-000000000000/drill/",
                           follow=True)
    assert "No such backup." in missing.content.decode()
    assert RestoreDrill.objects.count() == 1


def test_system_checks_e542_and_e543(settings, monkeypatch):
    from safeguard.governance import checks

    assert checks.backups_configured() == []
    settings.SAFEGUARD_BACKUP_DRILL_MAX_DAYS = 0
    assert [m.id for m in checks.backups_configured()] == ["safeguard.E542"]
    settings.SAFEGUARD_BACKUP_DRILL_MAX_DAYS = 90
    monkeypatch.setattr("shutil.which", lambda name: None)
    found = [m.id for m in checks.backups_configured()]
    # pg_dump and pg_restore matter only where the database is PostgreSQL.
    assert found == (["safeguard.E543"] if connection.vendor == "postgresql" else [])

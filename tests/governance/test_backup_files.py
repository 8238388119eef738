"""A backup carries the files kept outside the database (R-DATA-4, R-OPS-11; docs/governance.md
"Backups and restore drills"): governance evidence and privacy archives go into the encrypted
backup with a SHA-256 each; after the stores are wiped, ``restore --files`` puts them back with
identical digests, and the evidence and archives open again. Incident evidence and case
attachments live in the database and come back in the restored copy with identical bytes. A
file missing from the backup, a file whose bytes differ from the manifest, an altered backup or
a file in place that differs makes the drill fail (or the restore refuse) with a clear message,
and no file of the stores is written. Runs on SQLite and, with DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from safeguard.audit import services as audit_services
from safeguard.audit.contracts import Actor
from safeguard.audit.models import Event
from safeguard.cases import services as case_services
from safeguard.cases.contracts import AttachmentIn, SenderIn
from safeguard.cases.models import Attachment
from safeguard.governance import attestations, backup, evidence
from safeguard.governance.models import EvidenceFile, RestoreDrill
from safeguard.incidents import evidence as incident_evidence
from safeguard.incidents import services as incidents
from safeguard.incidents.models import EvidenceItem
from safeguard.privacy import archive
from tests.factories import make_user, signed_in_client

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("builtin_roles", "stores")]
JOB = Actor.system("tests")
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
CONTROL = "SG-PH-01"  # a manual control (controls.yaml)
LOG_LINE = b"2026-12-04T10:00:00Z agent-7 exported 1200 profiles from 10.0.0.9\n"


def _tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` with its SHA-256."""
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _everything() -> dict[str, object]:
    """One governance evidence file, one archive, one incident evidence item, one case
    attachment, and a signed audit head."""
    owner = make_user(roles=("compliance_manager",))
    attestations.owner_assign(control_id=CONTROL, owner_id=owner.id, actor=JOB)
    attested = attestations.attest(
        control_id=CONTROL, statement="Phishing drill reviewed.", content=PDF,
        file_name="drill.pdf", actor=Actor(kind="user", id=str(owner.id), label=owner.email),
        user_id=owner.id)
    kept = archive.archive_write(target="case", record_id="c-1", case_id="c-1",
                                 customer_id="cust-1", record_class="case_record",
                                 content={"messages": ["My parcel is late"]},
                                 keep_until=date(2031, 1, 1), actor=JOB)
    incident = incidents.incident_open(actor=JOB, title="Bulk export", severity="sev2",
                                       category="insider_misuse",
                                       aware_at=timezone.now() - timedelta(minutes=5))
    item = incident_evidence.upload_add(actor=JOB, incident_id=incident.id, name="proxy.log",
                                        content_type="text/plain", content=LOG_LINE,
                                        purpose="preserve the proxy log")
    case_services.message_receive(
        channel="email", sender=SenderIn(email="ann@example.com", name="Ann Lee"),
        text="See the receipt.", subject="Parcel", queue=None,
        attachments=[AttachmentIn("receipt.txt", "text/plain", b"Order 2291, total 45.00 EUR")])
    audit_services.integrate(wait=True)
    audit_services.head_sign(force=True)
    return {"attested": attested, "archive": kept, "item": item}


def test_files_round_trip_through_backup_wipe_and_restore(stores, tmp_path, monkeypatch):
    made = _everything()
    before = {name: _tree(root) for name, root in stores.items()}
    evidence_row = EvidenceFile.objects.get()
    assert before["evidence"] == {f"{evidence_row.id}.sgev": evidence_row.file_sha256}
    assert before["archives"] == {f"{made['archive'].id}.sgarc": made["archive"].sha256}

    target = tmp_path / "with-files.sgbak"
    view = backup.backup_create(output=str(target), actor=JOB)
    assert (view.files, view.warnings) == (2, [])
    assert view.file_bytes == sum((root / name).stat().st_size
                                  for key, root in stores.items() for name in before[key])
    manifest = json.loads(Path(f"{target}.manifest.json").read_text())
    assert manifest["format"] == "safeguard.backup/2"
    assert manifest["files"]["stores"] == {"governance_evidence": 1, "privacy_archives": 1,
                                           "storage_default": 0}
    raw = target.read_bytes()
    # the files travel inside the backup's ciphertext, not as their (sealed) bytes
    for key, root in stores.items():
        for name in before[key]:
            assert (root / name).read_bytes()[:48] not in raw

    # the database-held items as they are now, and as the drill's restored copy holds them
    live_item = EvidenceItem.objects.values_list("sha256", "sealed").get()
    live_attachment = base64.b64decode(Attachment.objects.get().content)
    restored: dict[str, object] = {}
    drop = backup._Scratch.drop

    def look_then_drop(self):
        if self.connected:
            restored["item"] = EvidenceItem.objects.using(self.alias).values_list(
                "sha256", "sealed").get()
            restored["attachment"] = base64.b64decode(
                Attachment.objects.using(self.alias).get().content)
            restored["evidence"] = EvidenceFile.objects.using(self.alias).values_list(
                "id", "file_sha256").get()
        drop(self)

    monkeypatch.setattr(backup._Scratch, "drop", look_then_drop)

    # when both stores are wiped and the files are restored from the backup
    for root in stores.values():
        shutil.rmtree(root)
    assert evidence.verify(file_id=str(evidence_row.id), actor=JOB) is False
    EvidenceFile.objects.update(tampered_at=None)  # the loss was recorded; now put it back
    result = backup.restore_files(path=str(target), actor=JOB)

    # then every file is back with the digest it had, and each opens again
    assert result.drill.outcome == backup.VERIFIED, result.drill.checks
    checks = {c["check"]: c for c in result.drill.checks}
    assert checks["files"]["detail"].startswith("2 files,")
    assert checks["file_references"]["detail"] == (
        "all 2 files the restored rows refer to are in the backup with their recorded SHA-256")
    assert sorted(result.written) == sorted(
        [f"governance_evidence/{evidence_row.id}.sgev",
         f"privacy_archives/{made['archive'].id}.sgarc"])
    assert {name: _tree(root) for name, root in stores.items()} == before
    assert evidence.verify(file_id=str(evidence_row.id), actor=JOB) is True
    assert archive.archive_read(archive_id=made["archive"].id, actor=JOB,
                                reason="restore test")["content"] == {
        "messages": ["My parcel is late"]}
    assert not list(stores["evidence"].glob(".sg-restore-*"))  # no staging left
    # and the database-held items came back byte for byte in the restored copy
    assert restored["item"] == live_item
    assert hashlib.sha256(LOG_LINE).hexdigest() == live_item[0]
    assert restored["attachment"] == live_attachment == b"Order 2291, total 45.00 EUR"
    assert restored["evidence"] == (evidence_row.id, evidence_row.file_sha256)
    logged = Event.objects.filter(action="governance.backup_files_restored").get()
    assert (logged.data["written"], logged.data["present"]) == (2, 0)

    # a second restore finds everything in place and writes nothing
    again = backup.restore_files(path=str(target), actor=JOB)
    assert (again.written, again.present) == ([], 2)


def test_a_file_missing_on_disk_fails_the_drill_and_is_named(stores, tmp_path):
    _everything()
    row = EvidenceFile.objects.get()
    (stores["evidence"] / f"{row.id}.sgev").unlink()  # lost before the backup ran
    target = tmp_path / "lacks.sgbak"
    view = backup.backup_create(output=str(target), actor=JOB)
    assert view.files == 1
    assert view.warnings == [f"missing from the backup: governance_evidence/{row.id}.sgev"]
    page = signed_in_client(make_user(roles=("auditor",))).get("/governance/backups/")
    assert "; 1 file (" in page.content.decode()
    assert (f"Warning: missing from the backup: governance_evidence/{row.id}.sgev"
            in page.content.decode())

    drill = backup.restore_verify(path=str(target), actor=JOB)

    assert drill.outcome == backup.FAILED
    [failed] = [c for c in drill.checks if not c["ok"]]
    assert failed == {"check": "file_references", "ok": False,
                      "detail": f"missing from the backup: governance_evidence/{row.id}.sgev"}
    # and a restore of its files refuses, writing nothing
    shutil.rmtree(stores["archives"])
    with pytest.raises(backup.BackupError, match="file_references: missing from the backup"):
        backup.restore_files(path=str(target), actor=JOB)
    assert not stores["archives"].exists()
    assert RestoreDrill.objects.filter(outcome="failed").count() == 2


def test_a_file_whose_bytes_differ_from_the_manifest_fails_and_changes_nothing(
        stores, tmp_path, monkeypatch):
    _everything()
    row = EvidenceFile.objects.get()
    def _bytes_of(entries, *, flip):
        roots = {s.name: s.root() for s in backup.file_stores()}
        for e in entries:
            data = (roots[e["store"]] / e["path"]).read_bytes()
            yield bytes([data[0] ^ 1]) + data[1:] if e["path"] == flip else data

    def index_then_corrupted(stores_, entries):
        index = backup._index_bytes(entries)
        yield backup.FILES_MAGIC + len(index).to_bytes(8, "big") + index
        yield from _bytes_of(entries, flip=f"{row.id}.sgev")

    monkeypatch.setattr(backup, "_file_chunks", index_then_corrupted)
    target = tmp_path / "bad-bytes.sgbak"
    backup.backup_create(output=str(target), actor=JOB)
    monkeypatch.undo()
    before = {name: _tree(root) for name, root in stores.items()}
    (stores["archives"] / next(iter(before["archives"]))).unlink()  # one file to restore

    with pytest.raises(backup.BackupError) as refused:
        backup.restore_files(path=str(target), actor=JOB)

    assert (f"files: governance_evidence/{row.id}.sgev: its bytes differ from the manifest"
            in refused.value.detail)
    assert refused.value.detail.endswith("No file was written.")
    assert _tree(stores["archives"]) == {}  # the missing archive was not put back
    assert _tree(stores["evidence"]) == before["evidence"]
    assert [p.name for p in stores["evidence"].iterdir()] == [f"{row.id}.sgev"]  # no staging
    drill = RestoreDrill.objects.get()
    assert drill.outcome == "failed"
    assert [c["check"] for c in drill.checks if not c["ok"]] == ["files"]


def test_an_altered_backup_restores_no_file(stores, tmp_path):
    _everything()
    target = tmp_path / "altered.sgbak"
    backup.backup_create(output=str(target), actor=JOB)
    data = bytearray(target.read_bytes())
    data[-100] ^= 0x01
    target.write_bytes(bytes(data))
    for root in stores.values():
        shutil.rmtree(root)

    with pytest.raises(backup.BackupError, match="digest: the file's SHA-256 differs"):
        backup.restore_files(path=str(target), actor=JOB)

    assert not stores["evidence"].exists()
    assert not stores["archives"].exists()


def test_a_file_in_place_that_differs_is_not_overwritten(stores, tmp_path):
    _everything()
    target = tmp_path / "ok.sgbak"
    backup.backup_create(output=str(target), actor=JOB)
    [sealed] = stores["evidence"].iterdir()
    sealed.write_bytes(b"replaced after the backup")
    [kept] = stores["archives"].iterdir()
    kept.unlink()

    with pytest.raises(backup.BackupError, match=r"1 file\(s\) in place differ from the "
                                                 r"backup's copy \(governance_evidence/"):
        backup.restore_files(path=str(target), actor=JOB)

    assert sealed.read_bytes() == b"replaced after the backup"
    assert list(stores["archives"].iterdir()) == []
    assert sorted(p.name for p in stores["evidence"].iterdir()) == [sealed.name]


def test_a_database_only_backup_of_format_1_fails_the_files_check(stores, tmp_path,
                                                                  monkeypatch):
    _everything()
    monkeypatch.setattr(backup, "FORMAT", backup.FORMAT_V1)
    monkeypatch.setattr(backup, "_file_chunks", lambda stores_, entries: iter(()))
    target = tmp_path / "v1.sgbak"
    backup.backup_create(output=str(target), actor=JOB)
    monkeypatch.undo()

    drill = backup.restore_verify(path=str(target), actor=JOB)

    failed = {c["check"]: c["detail"] for c in drill.checks if not c["ok"]}
    assert drill.outcome == backup.FAILED
    assert failed["files"] == ("a safeguard.backup/1 backup carries no files (evidence, "
                               "archives); make a new backup")
    assert failed["file_references"].startswith("missing from the backup: ")
    assert {"row_counts", "audit_log", "audit_head"}.isdisjoint(failed)


def test_the_cli_restores_files_and_refuses_without_a_mode(stores, tmp_path, capsys):
    _everything()
    target = tmp_path / "cli.sgbak"
    call_command("backup", "create", "--output", str(target))
    assert "files   2 (" in capsys.readouterr().out
    shutil.rmtree(stores["evidence"])
    with pytest.raises(CommandError, match="restore needs --verify"):
        call_command("backup", "restore", str(target))
    assert not stores["evidence"].exists()

    call_command("backup", "restore", "--files", str(target))

    out = capsys.readouterr().out
    assert "files: 1 put back, 1 already in place" in out
    assert len(list(stores["evidence"].iterdir())) == 1


def test_a_file_that_changes_while_it_is_copied_stops_the_backup_and_leaves_nothing(
        stores, tmp_path, monkeypatch):
    _everything()
    indexed = backup._file_index

    def then_changed(stores_):
        entries = indexed(stores_)
        [sealed] = stores["evidence"].iterdir()
        sealed.write_bytes(sealed.read_bytes() + b"\n")  # written to between index and copy
        return entries

    monkeypatch.setattr(backup, "_file_index", then_changed)
    target = tmp_path / "moving.sgbak"

    with pytest.raises(backup.BackupError, match=r"governance_evidence/.*\.sgev changed while "
                                                 r"the backup was written; run the backup again"):
        backup.backup_create(output=str(target), actor=JOB)

    assert not target.exists()
    assert not Path(f"{target}.manifest.json").exists()
    assert not backup.backup_list()

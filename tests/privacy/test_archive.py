"""Archive-then-delete (R-DATA-3): encrypted archives (Tink streaming AEAD, a key per archive
sealed under the data keyset) that round-trip, refuse a tampered or swapped file, carry their own
retention (the sweep deletes them when it ends, unless a legal hold covers them)."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import pytest
import time_machine

from safeguard.audit.models import Event
from safeguard.cases.models import Interaction
from safeguard.privacy import archive, matrix_edit, services
from safeguard.privacy.archive import ArchiveError
from safeguard.privacy.matrix import matrix_version_number
from safeguard.privacy.models import Archive
from tests.factories import SYSTEM, make_user
from tests.privacy.conftest import T0, closed_call_case, make_agent, make_queue, principal_for

pytestmark = pytest.mark.django_db
CONTENT = {"messages": [{"text": "My parcel is late, Ann Lee " * 20000}], "score": 4}


@pytest.fixture(autouse=True)
def archive_dir(settings, tmp_path):
    settings.SAFEGUARD_ARCHIVE_DIR = tmp_path / "archives"
    return settings.SAFEGUARD_ARCHIVE_DIR


def _write(record_id: str = "c-1", content=CONTENT):
    return archive.archive_write(target="case", record_id=record_id, case_id=record_id,
                                 customer_id="cust-1", record_class="case_record",
                                 content=content, keep_until=date(2031, 1, 1), actor=SYSTEM)


def test_an_archive_round_trips_and_holds_no_clear_text(archive_dir):
    view = _write()
    raw = (archive_dir / f"{view.id}.sgarc").read_bytes()
    assert view.size == len(raw) > 500_000  # more than one 1 MB segment's worth of text
    assert b"Ann Lee" not in raw
    doc = archive.archive_read(archive_id=view.id, actor=SYSTEM, reason="audit request 12")
    assert doc["content"] == CONTENT
    assert (doc["format"], doc["record"], doc["record_class"]) == (
        "safeguard.archive/1", "c-1", "case_record")
    assert archive.archive_verify(archive_id=view.id)
    [read] = Event.objects.filter(action="archive.read")
    assert read.data["reason"] == "audit request 12"


def _flip(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_tampered_truncated_or_swapped_file_is_refused(archive_dir):
    a, b = _write("c-1"), _write("c-2", content={"other": True})
    path_a = archive_dir / f"{a.id}.sgarc"
    # a flipped bit: the recorded digest no longer matches
    _flip(path_a, 1000)
    with pytest.raises(ArchiveError, match="altered"):
        archive.archive_read(archive_id=a.id, actor=SYSTEM, reason="x")
    # the same bit flipped with the digest "fixed" up: the AEAD still refuses the segment
    import hashlib

    Archive.objects.filter(id=a.id).update(sha256=hashlib.sha256(path_a.read_bytes())
                                           .hexdigest())
    with pytest.raises(ArchiveError, match="does not authenticate"):
        archive.archive_read(archive_id=a.id, actor=SYSTEM, reason="x")
    assert not archive.archive_verify(archive_id=a.id)
    # another archive's file under this one's name (digest fixed up): bound to its id, refused
    shutil.copy(archive_dir / f"{b.id}.sgarc", path_a)
    Archive.objects.filter(id=a.id).update(sha256=hashlib.sha256(path_a.read_bytes())
                                           .hexdigest())
    with pytest.raises(ArchiveError):
        archive.archive_read(archive_id=a.id, actor=SYSTEM, reason="x")
    # a truncated file
    path_b = archive_dir / f"{b.id}.sgarc"
    path_b.write_bytes(path_b.read_bytes()[:-10])
    Archive.objects.filter(id=b.id).update(sha256=hashlib.sha256(path_b.read_bytes())
                                           .hexdigest())
    with pytest.raises(ArchiveError):
        archive.archive_read(archive_id=b.id, actor=SYSTEM, reason="x")
    # no read succeeded, so none was audited as a read
    assert not Event.objects.filter(action="archive.read").exists()


def test_a_missing_file_or_a_destroyed_key_is_refused(archive_dir):
    view = _write()
    Archive.objects.filter(id=view.id).update(wrapped_key="AAAA")
    with pytest.raises(ArchiveError, match="key"):
        archive.archive_read(archive_id=view.id, actor=SYSTEM, reason="x")
    other = _write("c-9")
    (archive_dir / f"{other.id}.sgarc").unlink()
    with pytest.raises(ArchiveError, match="missing"):
        archive.archive_read(archive_id=other.id, actor=SYSTEM, reason="x")


def test_archive_then_delete_in_the_sweep_and_the_archive_own_retention(
        archive_dir, django_capture_on_commit_callbacks):
    # given QA recordings archived for one year instead of deleted outright
    make_queue("billing")
    agent = make_agent("billing")
    officer = make_user(roles=("privacy_officer",))
    kept = closed_call_case(agent, call_id="qa-1", category="qa_recording")
    held = closed_call_case(agent, call_id="qa-2", category="qa_recording")
    matrix_edit.matrix_row_update(
        principal=principal_for(officer), key="call_recording_qa",
        values={"action": "archive", "archive_for": "P1Y"}, reason="Keep QA evidence a year",
        base_version=matrix_version_number())
    # when the sweep runs 91 days after the calls
    day = T0 + timedelta(days=91)
    with time_machine.travel(day, tick=False):
        run = services.sweep_run(actor=SYSTEM)
    # then both recordings left the live table and went into encrypted archives
    assert run.counts == {"call_recording:archive": 2}
    assert Interaction.objects.filter(recording__isnull=False).count() == 0
    rows = {a.record_id: a for a in Archive.objects.all()}
    assert len(rows) == 2
    interaction = Interaction.objects.get(case=kept)
    row = rows[str(interaction.id)]
    assert row.expires_on == date(2026, 9, 1)  # as of 2025-09-01 + P1Y
    doc = archive.archive_read(archive_id=str(row.id), actor=SYSTEM, reason="QA review")
    assert doc["content"]["recording"]["uri"] == "s3://rec/qa-1.wav"
    assert Event.objects.filter(action="archive.written").count() == 2
    assert Event.objects.filter(action="call.recording_deleted").count() == 2
    # given a legal hold on the second call's case
    services.legal_hold_place(principal=principal_for(officer), scope="case",
                              target_id=str(held.id), reason="Complaint to the ombudsman")
    # when the archives' own year has passed
    with (time_machine.travel(T0 + timedelta(days=91 + 366), tick=False),
          django_capture_on_commit_callbacks(execute=True)):  # the file goes after the commit
        later = services.sweep_run(actor=SYSTEM)
    # then the unheld archive is destroyed (key and file), the held one kept
    assert later.counts == {"archive:delete": 1}
    assert later.held == 1
    gone = Archive.objects.get(id=row.id)
    assert gone.deleted_at is not None
    assert gone.wrapped_key == ""
    assert not (archive_dir / f"{row.id}.sgarc").exists()
    with pytest.raises(ArchiveError, match="deleted"):
        archive.archive_read(archive_id=str(row.id), actor=SYSTEM, reason="x")
    other = Archive.objects.exclude(id=row.id).get()
    assert other.deleted_at is None
    assert archive.archive_verify(archive_id=str(other.id))


def test_the_archives_page_verifies_without_showing_content(archive_dir):
    from tests.factories import signed_in_client

    view = _write()
    client = signed_in_client(make_user(roles=("privacy_officer",)))
    page = client.get("/privacy/archives/").content.decode()
    assert view.id in page
    assert "Ann Lee" not in page
    client.post(f"/privacy/archives/{view.id}/verify/")
    _flip(archive_dir / f"{view.id}.sgarc", 10)
    client.post(f"/privacy/archives/{view.id}/verify/")
    assert list(Event.objects.filter(action="archive.verified").order_by("seq")
                .values_list("outcome", flat=True)) == ["success", "failure"]
    assert signed_in_client(make_user(roles=("auditor",))).get(
        "/privacy/archives/").status_code == 403


def test_e315_reports_an_archive_directory_that_cannot_be_written(settings, tmp_path):
    from safeguard.privacy import checks

    settings.SAFEGUARD_ARCHIVE_DIR = tmp_path / "ok"
    assert checks.archive_dir_writable() == []
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    settings.SAFEGUARD_ARCHIVE_DIR = blocker / "archives"
    [error] = checks.archive_dir_writable()
    assert error.id == "safeguard.E315"
    assert str(blocker) in error.msg


def test_the_cli_verifies_every_live_archive_and_fails_on_a_tampered_one(archive_dir):
    from io import StringIO

    from django.core.management import CommandError, call_command

    good, bad = _write("c-1"), _write("c-2")
    out = StringIO()
    call_command("privacy", "archives-verify", stdout=out)
    assert "2 of 2 archive(s) verify." in out.getvalue()
    _flip(archive_dir / f"{bad.id}.sgarc", 50)
    out = StringIO()
    with pytest.raises(CommandError, match="1 archive"):
        call_command("privacy", "archives-verify", stdout=out)
    assert f"does not verify: {bad.id}" in out.getvalue()
    assert good.id not in out.getvalue()
    assert "1 of 2 archive(s) verify." in out.getvalue()
    assert list(Event.objects.filter(action="archive.verified").order_by("seq")
                .values_list("outcome", flat=True)) == ["success", "failure"]

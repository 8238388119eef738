"""Manual controls and attestations (R-REG-1, decision 0246): a manual control passes only while
its owner's latest attestation is within the cadence, fails once overdue, is unavailable when
never attested; the status lands in the same history and framework CSV as automated checks;
evidence is sealed on disk and an altered file is caught on access; only the owner attests;
bad input stores nothing; permissions are denied by default."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from safeguard.audit.contracts import Actor
from safeguard.audit.models import Event, QueuedEntry
from safeguard.governance import attestations, evidence, selectors, services
from safeguard.governance.models import Attestation, ControlEvaluation, EvidenceFile
from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
JOB = Actor.system("tests")
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
CONTROL = "SG-PH-01"  # cadence_days: 90 in controls.yaml


@pytest.fixture(autouse=True)
def evidence_dir(settings, tmp_path):
    settings.SAFEGUARD_GOVERNANCE_EVIDENCE_DIR = tmp_path / "evidence"
    return tmp_path / "evidence"


def _actions(name: str) -> list[dict]:
    rows = list(Event.objects.filter(action=name).values_list("data", flat=True))
    rows += list(QueuedEntry.objects.filter(action=name).values_list("data", flat=True))
    return rows


def _owned(control: str = CONTROL):
    owner = make_user(roles=("compliance_manager",))
    attestations.owner_assign(control_id=control, owner_id=owner.id, actor=JOB)
    return owner


def _attest(owner, *, content: bytes = PDF, statement: str = "Badge logs reviewed, no gaps."):
    return attestations.attest(control_id=CONTROL, statement=statement, content=content,
                               file_name="badge-review.pdf",
                               actor=Actor(kind="user", id=str(owner.id), label=owner.email),
                               user_id=owner.id)


def _stored(control: str) -> str:
    return ControlEvaluation.objects.filter(control_id=control).order_by("-id")[0].status


def _csv_status(framework: str, control: str) -> set[str]:
    rows = csv.DictReader(io.StringIO(selectors.framework_csv(framework_id=framework)))
    return {r["control_status"] for r in rows if r["control_id"] == control}


def test_never_attested_is_unavailable_never_pass():
    with time_machine.travel(T0, tick=False):
        services.evaluate_all(actor=JOB)
    assert _stored(CONTROL) == "unavailable"
    assert _stored("SG-HR-01") == "unavailable"
    assert "Never attested" in selectors.control_state(control_id=CONTROL).evidence
    assert _csv_status("iso27001", CONTROL) == {"unavailable"}


def test_passes_within_the_cadence_and_fails_once_overdue_in_history_and_csv():
    owner = _owned()
    with time_machine.travel(T0, tick=False):
        view = _attest(owner)
    assert view.valid_until == T0 + timedelta(days=90)
    with time_machine.travel(T0 + timedelta(days=89, hours=23), tick=False):
        services.evaluate_all(actor=JOB)
    assert _stored(CONTROL) == "pass"
    assert _csv_status("pci_dss", CONTROL) == {"pass"}
    reqs = {r.id: r for r in selectors.requirement_states(framework_id="pci_dss")}
    assert reqs["9.2.1"].status == "pass"  # SG-PH-01 is the requirement's only control
    with time_machine.travel(T0 + timedelta(days=90, hours=1), tick=False):
        services.evaluate_all(actor=JOB)
        live = attestations.manual_control_get(control_id=CONTROL)
    assert _stored(CONTROL) == "fail"
    assert "OVERDUE" in selectors.control_state(control_id=CONTROL).evidence
    assert live.status == "fail"
    assert _csv_status("pci_dss", CONTROL) == {"fail"}
    assert _csv_status("soc2", CONTROL) == {"fail"}
    spans = selectors.spans(control_id=CONTROL)
    assert [s.status for s in spans] == ["fail", "pass"]
    changes = [d for d in _actions("governance.control_status_changed")
               if d["to"] == "fail" and d["from"] == "pass"]
    assert len(changes) == 1
    # a fresh attestation puts it back to pass from the next run
    with time_machine.travel(T0 + timedelta(days=91), tick=False):
        _attest(owner, content=PDF + b"% second\n")
        services.evaluate_all(actor=JOB)
    assert _stored(CONTROL) == "pass"


def test_evidence_is_sealed_on_disk_and_an_altered_file_is_refused_on_access(evidence_dir):
    owner = _owned()
    with time_machine.travel(T0, tick=False):
        view = _attest(owner)
    path = evidence.path_of(view.evidence.id)
    assert path.parent == evidence_dir
    assert b"%PDF" not in path.read_bytes()  # sealed, not the plain bytes
    client = signed_in_client(owner)
    ok = client.get(f"/governance/evidence/{view.evidence.id}/")
    assert ok.status_code == 200
    assert ok.content == PDF
    assert ok["X-Content-SHA256"] == view.evidence.sha256
    # when someone edits the file on disk
    data = bytearray(path.read_bytes())
    data[10] = ord("A") if data[10] != ord("A") else ord("B")
    path.write_bytes(bytes(data))
    refused = client.get(f"/governance/evidence/{view.evidence.id}/")
    assert refused.status_code == 409
    assert "integrity" in refused.content.decode()
    assert EvidenceFile.objects.get(id=view.evidence.id).tampered_at is not None
    assert _actions("governance.evidence_tampered")[0]["sha256"] == view.evidence.sha256
    # and the control no longer passes, although the attestation is within its cadence
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        services.evaluate_all(actor=JOB)
    assert _stored(CONTROL) == "fail"
    assert "integrity" in selectors.control_state(control_id=CONTROL).evidence


def test_a_deleted_evidence_file_fails_the_control():
    owner = _owned()
    with time_machine.travel(T0, tick=False):
        view = _attest(owner)
    evidence.path_of(view.evidence.id).unlink()
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        services.evaluate_all(actor=JOB)
    assert _stored(CONTROL) == "fail"


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "empty"),
    (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64, "not accepted"),
    (b"\xff\xfe\x00\x00binary\x00junk", "not recognised"),
    (b"card on file 4111 1111 1111 1111 thanks", "card number"),
])
def test_bad_evidence_is_refused_and_nothing_is_stored(content, reason, evidence_dir):
    owner = _owned()
    with pytest.raises(evidence.EvidenceRefused, match=reason):
        _attest(owner, content=content)
    assert Attestation.objects.count() == 0
    assert EvidenceFile.objects.count() == 0
    assert not evidence_dir.exists() or not list(evidence_dir.iterdir())


def test_oversize_evidence_is_refused(settings):
    settings.SAFEGUARD_GOVERNANCE_EVIDENCE_MAX_BYTES = 20
    owner = _owned()
    with pytest.raises(evidence.EvidenceRefused, match="larger than 20 bytes"):
        _attest(owner)
    assert Attestation.objects.count() == 0


def test_only_the_owner_attests_and_a_statement_is_required():
    someone = make_user(roles=("compliance_manager",))
    with pytest.raises(attestations.AttestationRefused, match="no owner"):
        _attest(someone)
    _owned()
    with pytest.raises(attestations.AttestationRefused, match="Only the control's owner"):
        _attest(someone)
    assert Attestation.objects.count() == 0
    with pytest.raises(attestations.AttestationRefused, match="statement"):
        attestations.attest(control_id=CONTROL, statement="  ", content=PDF, file_name="x.pdf",
                            actor=JOB, user_id=attestations.manual_control_get(
                                control_id=CONTROL).owner_id)
    assert EvidenceFile.objects.count() == 0
    with pytest.raises(attestations.UnknownControl):
        attestations.owner_assign(control_id="SG-AC-01", owner_id=someone.id, actor=JOB)


def test_pages_deny_by_default_and_the_owner_attests_through_the_form():
    agent = signed_in_client(make_user(roles=("agent",)))
    auditor = signed_in_client(make_user(roles=("auditor",)))
    manager_user = make_user(roles=("compliance_manager",))
    manager = signed_in_client(manager_user)
    assert Client().get("/governance/attestations/").status_code == 302  # to sign-in
    assert agent.get("/governance/attestations/").status_code == 403
    assert auditor.get("/governance/attestations/").status_code == 200
    assert auditor.post(f"/governance/attestations/{CONTROL}/owner/",
                        {"owner": manager_user.id}).status_code == 403
    # a bad owner id: 400, nothing changes
    bad = manager.post(f"/governance/attestations/{CONTROL}/owner/", {"owner": "x"})
    assert bad.status_code == 400
    assert attestations.manual_control_get(control_id=CONTROL).owner_id is None
    ok = manager.post(f"/governance/attestations/{CONTROL}/owner/", {"owner": manager_user.id})
    assert ok.status_code == 302
    assert _actions("governance.control_owner_assigned")[0]["to"] == manager_user.id
    # no file: 400 and nothing stored
    missing = manager.post(f"/governance/attestations/{CONTROL}/attest/",
                           {"statement": "Checked."})
    assert missing.status_code == 400
    assert b"Attach the evidence file" in missing.content
    assert Attestation.objects.count() == 0
    page = manager.get(f"/governance/attestations/{CONTROL}/")
    assert b'enctype="multipart/form-data"' in page.content
    upload = io.BytesIO(b"name,acknowledged\nstaff-1,2026-03-01\n")
    upload.name = "acks.csv"
    done = manager.post(f"/governance/attestations/{CONTROL}/attest/",
                        {"statement": "Visitor log reviewed.", "file": upload})
    assert done.status_code == 302
    row = Attestation.objects.get()
    assert row.evidence.content_type.startswith("text/plain")
    assert _actions("governance.control_attested")[0]["sha256"] == row.evidence.sha256
    assert attestations.manual_control_get(control_id=CONTROL).status == "pass"
    listing = auditor.get("/governance/attestations/")
    assert CONTROL.encode() in listing.content
    assert b"pass" in listing.content
    assert auditor.get("/governance/attestations/SG-AC-01/").status_code == 404


def test_the_statement_of_applicability_shows_the_manual_control_and_its_status():
    from pypdf import PdfReader

    owner = _owned()
    with time_machine.travel(T0, tick=False):
        _attest(owner)
        services.evaluate_all(actor=JOB)
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        response = signed_in_client(owner).get("/governance/frameworks/iso27001/statement.pdf")
    assert response.status_code == 200
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    flat = " ".join(text.split())
    assert "SG-PH-01 pass (manual)" in flat
    assert "SG-HR-01 unavailable (manual)" in flat

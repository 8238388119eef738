"""The evidence locker (R-IR-5): items hashed at intake and sealed, integrity checked on every
access (altered bytes are refused, recorded and shown as tampered), an append-only chain of
custody, audit-log slices whose inclusion proofs verify against the signed head, and an export
package whose signed manifest verifies offline and fails when one byte changes."""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from safeguard.audit import merkle, signing
from safeguard.audit import selectors as audit
from safeguard.audit import services as audit_services
from safeguard.audit.contracts import Actor
from safeguard.incidents import evidence
from safeguard.incidents.contracts import IncidentError
from safeguard.incidents.models import CustodyEntry, EvidenceItem
from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db

CARD = "4111111111111111"
LOG_LINE = b"2026-12-04T10:00:00Z agent-7 exported 1200 profiles from 10.0.0.9\n"


def _incident(client: Client) -> int:
    response = client.post("/incidents/", {
        "title": "Bulk export by an agent", "severity": "sev2", "category": "insider_misuse",
        "aware_at": (timezone.localtime() - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302
    return int(response["Location"].rstrip("/").rsplit("/", 1)[-1])


def _upload(client: Client, iid: int, content: bytes, name: str = "proxy.log") -> str:
    response = client.post(f"/incidents/{iid}/evidence/upload/", {
        "file": SimpleUploadedFile(name, content, content_type="text/plain"),
        "description": "proxy log", "purpose": "preserve the proxy log"}, follow=True)
    return response.content.decode()


def _open(client: Client, iid: int, item_id: int, purpose: str = "review"):  # type: ignore[no-untyped-def]
    return client.post(f"/incidents/{iid}/evidence/{item_id}/open/", {"purpose": purpose})


def test_an_upload_is_hashed_sealed_and_every_access_is_in_the_custody_log_in_order() -> None:
    analyst = make_user(roles=("security_analyst",))
    client = signed_in_client(analyst)
    iid = _incident(client)
    # when the analyst uploads a log, opens it twice and hands it to outside counsel
    page = _upload(client, iid, LOG_LINE)
    item = EvidenceItem.objects.get(incident_id=iid)
    assert f"SHA-256 {hashlib.sha256(LOG_LINE).hexdigest()}" in page
    # then the hash is the content's and the stored bytes are ciphertext
    assert item.sha256 == hashlib.sha256(LOG_LINE).hexdigest()
    assert item.size == len(LOG_LINE)
    assert b"agent-7" not in item.sealed.encode()
    assert "agent-7" not in item.sealed
    first = _open(client, iid, item.id, "first review")
    assert first.status_code == 200
    assert first.content == LOG_LINE
    assert first["X-Content-SHA256"] == item.sha256
    assert _open(client, iid, item.id, "second review").content == LOG_LINE
    client.post(f"/incidents/{iid}/evidence/{item.id}/transfer/",
                {"to": "Outside counsel (K. Lee)", "purpose": "legal hold"})
    # and each access is one custody entry, in order, with who, purpose and recipient
    rows = list(CustodyEntry.objects.filter(item=item).order_by("id")
                .values_list("action", "purpose", "transferred_to", "outcome", "actor"))
    assert rows == [
        ("collected", "preserve the proxy log", "", "ok", f"user:{analyst.email}"),
        ("viewed", "first review", "", "ok", f"user:{analyst.email}"),
        ("viewed", "second review", "", "ok", f"user:{analyst.email}"),
        ("transferred", "legal hold", "Outside counsel (K. Lee)", "ok", f"user:{analyst.email}")]
    # each also an audit event on the incident, in the same order
    events = [e for e in audit.event_list(subject=("incident", str(iid)))
              if e.action.startswith("incident.evidence_")]
    assert [e.action for e in reversed(events)] == [
        "incident.evidence_collected", "incident.evidence_viewed", "incident.evidence_viewed",
        "incident.evidence_transferred"]
    assert all(e.data["item"] == item.id and e.data["sha256"] == item.sha256 for e in events)
    # and a purpose is required to open an item: no purpose, no bytes, no entry
    assert client.post(f"/incidents/{iid}/evidence/{item.id}/open/", {}).status_code == 400
    assert CustodyEntry.objects.filter(item=item).count() == 4
    item_page = client.get(f"/incidents/{iid}/evidence/{item.id}/").content.decode()
    assert "Outside counsel (K. Lee)" in item_page
    assert "Checked on every access" in item_page


@pytest.mark.parametrize("alteration", ["blob", "hash", "swapped"])
def test_evidence_altered_in_storage_is_refused_recorded_and_shown_as_tampered(
        alteration: str) -> None:
    analyst = make_user(roles=("security_analyst",))
    client = signed_in_client(analyst)
    iid = _incident(client)
    _upload(client, iid, LOG_LINE)
    _upload(client, iid, b"another file\n", name="other.txt")
    item, other = EvidenceItem.objects.filter(incident_id=iid).order_by("id")
    # given the stored item is altered behind the application's back
    if alteration == "blob":
        middle = len(item.sealed) // 2
        flipped = "A" if item.sealed[middle] != "A" else "B"
        EvidenceItem.objects.filter(id=item.id).update(
            sealed=item.sealed[:middle] + flipped + item.sealed[middle + 1:])
    elif alteration == "hash":
        EvidenceItem.objects.filter(id=item.id).update(
            sha256=hashlib.sha256(b"forged").hexdigest())
    else:
        EvidenceItem.objects.filter(id=item.id).update(sealed=other.sealed)
    # when someone opens it
    response = _open(client, iid, item.id)
    # then the access is refused, and the refusal is recorded and shown
    assert response.status_code == 409
    assert LOG_LINE not in response.content
    assert b"another file" not in response.content
    last = CustodyEntry.objects.filter(item_id=item.id).order_by("-id").first()
    assert last is not None
    assert (last.action, last.outcome) == ("viewed", "tampered")
    assert EvidenceItem.objects.get(id=item.id).tampered_at is not None
    refused = audit.event_list(action="incident.evidence_viewed")[0]
    assert (refused.outcome, refused.data["item"], refused.data["integrity"]) == (
        "failure", item.id, "tampered")
    assert "Tampered" in client.get(f"/incidents/{iid}/evidence/").content.decode()
    # and the untouched item still opens
    assert _open(client, iid, other.id).content == b"another file\n"


def test_bad_uploads_are_refused_and_store_nothing(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SAFEGUARD_EVIDENCE_MAX_UPLOAD_BYTES = 64
    client = signed_in_client(make_user(roles=("security_analyst",)))
    iid = _incident(client)
    before = len(audit.event_list(action="incident.evidence_collected"))
    assert "The submitted file is empty" in _upload(client, iid, b"")
    assert "larger than 64 bytes" in _upload(client, iid, b"x" * 65)
    page = _upload(client, iid, f"card on file {CARD} seen\n".encode())
    assert "holds a card number" in page
    assert CARD not in page
    no_purpose = client.post(f"/incidents/{iid}/evidence/upload/", {
        "file": SimpleUploadedFile("a.txt", b"fine", content_type="text/plain")}, follow=True)
    assert "Nothing stored" in no_purpose.content.decode()
    assert EvidenceItem.objects.count() == 0
    assert CustodyEntry.objects.count() == 0
    assert len(audit.event_list(action="incident.evidence_collected")) == before
    # the service refuses the same without the page's checks
    actor = Actor(kind="user", id="1", label="x@example.test")
    for content in (b"", b"y" * 65, CARD.encode()):
        with pytest.raises(IncidentError):
            evidence.upload_add(actor=actor, incident_id=iid, name="f", content_type="",
                                content=content, purpose="p")
    assert EvidenceItem.objects.count() == 0


def test_an_audit_slice_carries_inclusion_proofs_that_verify_against_the_signed_head() -> None:
    analyst = make_user(roles=("security_analyst",))
    client = signed_in_client(analyst)
    iid = _incident(client)
    actor = Actor(kind="user", id="9", label="bo@example.test")
    for i in range(6):
        audit_services.record(action="case.viewed", actor=actor, subject=("case", i))
    last = audit.last_seq()
    # a slice beyond the signed head is refused, nothing stored
    response = client.post(f"/incidents/{iid}/evidence/slice/",
                           {"first_seq": 2, "last_seq": last, "purpose": "what bo read"},
                           follow=True)
    assert "not yet under a signed tree head" in response.content.decode()
    assert EvidenceItem.objects.count() == 0
    head = audit_services.head_sign()
    assert head is not None
    assert head.size >= last
    client.post(f"/incidents/{iid}/evidence/slice/",
                {"first_seq": 2, "last_seq": last, "purpose": "what bo read"})
    item = EvidenceItem.objects.get(incident_id=iid, kind="audit_slice")
    content = _open(client, iid, item.id).content
    assert hashlib.sha256(content).hexdigest() == item.sha256
    doc = json.loads(content)
    assert [r["seq"] for r in doc["events"]] == list(range(2, last + 1))
    assert doc["head"]["root_hash"] == head.root_hash
    assert doc["head"]["size"] == head.size
    # each event verifies with audit's own functions against the signed head
    root = bytes.fromhex(head.root_hash)
    for row in doc["events"]:
        assert merkle.verify_inclusion_leaf(merkle.leaf_hash(row["entry"].encode()),
                                            row["seq"] - 1, head.size,
                                            [bytes.fromhex(p) for p in row["path"]], root)
    verifier = signing.trusted_verifiers()[head.key_id]
    assert verifier.verify(signing.head_message(size=head.size, root_hash=head.root_hash,
                                                signed_at_iso=doc["head"]["signed_at"]),
                           signing.unb64(head.signature))
    pem = signing.get_signer().public_key_pem()
    assert evidence.verify_slice(doc, public_key_pem=pem) == []
    # an edited event no longer verifies
    doc["events"][0]["entry"] = doc["events"][0]["entry"].replace('"action":"', '"action":"x', 1)
    assert evidence.verify_slice(doc, public_key_pem=pem) == [
        "event 2: entry does not match its leaf hash",
        "event 2: inclusion proof does not verify"]
    # the capture is recorded with its digest
    collected = audit.event_list(action="incident.evidence_collected")[0]
    assert collected.data["sha256"] == item.sha256


def test_the_export_package_verifies_offline_and_fails_when_one_byte_changes() -> None:
    analyst = make_user(roles=("security_analyst",))
    client = signed_in_client(analyst)
    iid = _incident(client)
    _upload(client, iid, LOG_LINE)
    _upload(client, iid, b"second\n", name="second.txt")
    # a stale second factor exports nothing
    stale = signed_in_client(analyst, mfa_at=time.time() - 3600)
    refused = stale.post(f"/incidents/{iid}/evidence/export/", {"purpose": "regulator"})
    assert refused.status_code == 302
    assert "reauthenticate" in refused["Location"]
    assert not CustodyEntry.objects.filter(action="exported").exists()
    # an agent without the permission gets a 403
    agent = signed_in_client(make_user(roles=("agent",)))
    assert agent.post(f"/incidents/{iid}/evidence/export/",
                      {"purpose": "x"}).status_code == 403
    response = client.post(f"/incidents/{iid}/evidence/export/", {"purpose": "regulator"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    body = response.content
    pem = signing.get_signer().public_key_pem()
    assert evidence.verify_package(body, public_key_pem=pem) == []
    zf = zipfile.ZipFile(io.BytesIO(body))
    manifest = json.loads(zf.read("manifest.json"))
    items = EvidenceItem.objects.filter(incident_id=iid).order_by("id")
    assert [(m["id"], m["sha256"]) for m in manifest["items"]] == [
        (i.id, i.sha256) for i in items]
    assert zf.read(manifest["items"][0]["path"]) == LOG_LINE
    assert zf.read("public_key.pem").decode() == pem
    custody = json.loads(zf.read(manifest["items"][0]["custody_path"]))
    assert [c["action"] for c in custody] == ["collected", "exported"]
    exported = audit.event_list(action="incident.evidence_package_exported")[0]
    assert exported.data["sha256"] == hashlib.sha256(body).hexdigest()
    # one changed byte in the manifest breaks the signature
    mbytes = zf.read("manifest.json")
    flipped = mbytes[:40] + bytes([mbytes[40] ^ 1]) + mbytes[41:]
    assert evidence.verify_package(_rezip(zf, {"manifest.json": flipped}),
                                   public_key_pem=pem) == ["the manifest signature does not verify"]
    # one changed byte in an item breaks its hash
    path = manifest["items"][0]["path"]
    changed = _rezip(zf, {path: LOG_LINE.replace(b"1200", b"1201")})
    assert evidence.verify_package(changed, public_key_pem=pem) == [
        f"{path} does not match its SHA-256 in the manifest"]
    # another key does not verify it
    other = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    assert evidence.verify_package(body, public_key_pem=other) == [
        "the manifest signature does not verify"]


def test_a_tampered_item_refuses_the_whole_package() -> None:
    client = signed_in_client(make_user(roles=("security_analyst",)))
    iid = _incident(client)
    _upload(client, iid, LOG_LINE)
    _upload(client, iid, b"second\n", name="second.txt")
    second = EvidenceItem.objects.filter(incident_id=iid).order_by("id").last()
    assert second is not None
    EvidenceItem.objects.filter(id=second.id).update(sha256="0" * 64)
    response = client.post(f"/incidents/{iid}/evidence/export/", {"purpose": "regulator"},
                           follow=True)
    assert "failed its integrity check" in response.content.decode()
    assert not CustodyEntry.objects.filter(action="exported", outcome="ok").exists()
    assert CustodyEntry.objects.get(action="exported").outcome == "tampered"


def _rezip(zf: zipfile.ZipFile, replace: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as new:
        for name in zf.namelist():
            new.writestr(name, replace.get(name, zf.read(name)))
    return out.getvalue()

"""The evidence locker of an incident (R-IR-5): uploads and audit-log slices, hashed at intake,
sealed under the ``data`` keyset, integrity-checked on every access, with an append-only chain
of custody and a signed export package. Decision 0223; docs/incidents.md "Evidence locker".

Every item's SHA-256 is taken at intake and the sealed bytes are bound (AEAD associated data) to
the incident and that hash, so an altered blob, an altered hash or a blob moved to another item
all fail to open. An access that fails is refused, recorded in the custody log and the audit log
(outcome ``tampered``) and the item is shown as tampered from then on.

The package's manifest is signed with the audit signer over ``MANIFEST_PREFIX`` + the exact
bytes of ``manifest.json`` (a distinct prefix, so it can never pass for a tree head or the trust
page); ``verify_package`` and ``verify_slice`` need only the public key.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from safeguard.audit import merkle, proofs, signing
from safeguard.audit import selectors as audit_selectors
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor, ProofUnavailable
from safeguard.audit.entries import canonical_entry, format_time
from safeguard.incidents.contracts import IncidentError, IncidentNotFound
from safeguard.incidents.models import CustodyEntry, EvidenceItem, Incident
from safeguard.protection import services as protection

MANIFEST_PREFIX = b"safeguard-evidence-manifest/v1\n"
SLICE_FORMAT = "safeguard-audit-slice/v1"
PACKAGE_FORMAT = "safeguard-evidence-package/v1"
UPLOAD, AUDIT_SLICE = "upload", "audit_slice"
COLLECTED, VIEWED, EXPORTED, TRANSFERRED = "collected", "viewed", "exported", "transferred"
_LIMIT_TEXT = 500


class EvidenceTampered(IncidentError):
    """The item's bytes no longer match what was sealed at intake; the access is refused."""

    status = 409
    code = "evidence-tampered"
    title = "Evidence failed its integrity check"


@dataclass(frozen=True)
class ItemView:
    id: int
    incident_id: int
    kind: str
    name: str
    content_type: str
    size: int
    sha256: str
    description: str
    collected_by: str
    collected_at: datetime
    tampered_at: datetime | None


@dataclass(frozen=True)
class CustodyView:
    id: int
    item_id: int
    at: datetime
    actor: str
    action: str
    purpose: str
    transferred_to: str
    outcome: str


def _item_view(row: EvidenceItem) -> ItemView:
    return ItemView(id=row.id, incident_id=row.incident_id, kind=row.kind, name=row.name,
                    content_type=row.content_type, size=row.size, sha256=row.sha256,
                    description=row.description, collected_by=row.collected_by,
                    collected_at=row.collected_at, tampered_at=row.tampered_at)


def _custody_view(row: CustodyEntry) -> CustodyView:
    return CustodyView(id=row.id, item_id=row.item_id, at=row.at, actor=row.actor,
                       action=row.action, purpose=row.purpose,
                       transferred_to=row.transferred_to, outcome=row.outcome)


# --- reads -------------------------------------------------------------------------------------

def item_list(*, incident_id: int) -> list[ItemView]:
    return [_item_view(r) for r in EvidenceItem.objects.filter(incident_id=incident_id)
            .order_by("id")]


def custody_list(*, item_id: int) -> list[CustodyView]:
    return [_custody_view(r) for r in CustodyEntry.objects.filter(item_id=item_id)
            .order_by("id")]


# --- helpers -----------------------------------------------------------------------------------

def _label(actor: Actor) -> str:
    return f"{actor.kind}:{actor.label}"[:200]


def _text(value: str, *, name: str, field: str, required: bool = True) -> str:
    cleaned = (value or "").strip()
    if required and not cleaned:
        raise IncidentError(f"{name} is required.")
    if len(cleaned) > _LIMIT_TEXT:
        raise IncidentError(f"{name} is longer than {_LIMIT_TEXT} characters.")
    return protection.screen(cleaned, field=field).text if cleaned else ""


def _context(incident_id: int, sha256: str) -> str:
    return f"incidents.evidence:v1:{incident_id}:{sha256}"


def _incident(incident_id: int) -> Incident:
    row = Incident.objects.select_for_update().filter(id=incident_id).first()
    if row is None:
        raise IncidentNotFound(f"No incident {incident_id}.")
    return row


def _custody(item: EvidenceItem, *, actor: Actor, action: str, purpose: str,
             transferred_to: str = "", outcome: str = "ok") -> CustodyEntry:
    """Append one custody entry and its audit event (same transaction)."""
    row = CustodyEntry.objects.create(item=item, at=timezone.now(), actor=_label(actor),
                                      action=action, purpose=purpose,
                                      transferred_to=transferred_to, outcome=outcome)
    audit.record(action=f"incident.evidence_{action}", actor=actor,
                 subject=("incident", item.incident_id),
                 outcome="success" if outcome == "ok" else "failure",
                 data={"item": item.id, "custody": row.id, "sha256": item.sha256,
                       "purpose": purpose, "transferred_to": transferred_to,
                       "integrity": outcome})
    return row


def _store(*, actor: Actor, incident_id: int, kind: str, name: str, content_type: str,
           content: bytes, description: str, purpose: str) -> ItemView:
    digest = hashlib.sha256(content).hexdigest()
    sealed = protection.stash_seal(content, context=_context(incident_id, digest))
    with transaction.atomic():
        _incident(incident_id)
        row = EvidenceItem.objects.create(
            incident_id=incident_id, kind=kind, name=name, content_type=content_type,
            size=len(content), sha256=digest, sealed=sealed, description=description,
            collected_by=_label(actor))
        _custody(row, actor=actor, action=COLLECTED, purpose=purpose)
    return _item_view(row)


# --- intake ------------------------------------------------------------------------------------

def upload_add(*, actor: Actor, incident_id: int, name: str, content_type: str,
               content: bytes, description: str = "", purpose: str) -> ItemView:
    """Take an uploaded file into the locker. Empty, oversize or card-bearing content is refused
    and nothing is stored (R-OPS-2: a card number is withheld, never sealed)."""
    if not content:
        raise IncidentError("The file is empty.")
    limit = settings.SAFEGUARD_EVIDENCE_MAX_UPLOAD_BYTES
    if len(content) > limit:
        raise IncidentError(f"The file is larger than {limit} bytes.")
    if protection.card_numbers_in(content.decode("utf-8", errors="replace")):
        raise IncidentError("The file holds a card number; it was not stored. Mask it first.")
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    clean_name = _text(base[:200], name="File name", field="incidents.evidence.name")
    return _store(actor=actor, incident_id=incident_id, kind=UPLOAD, name=clean_name,
                  content_type=(content_type or "application/octet-stream")[:100],
                  content=content,
                  description=_text(description, name="Description", required=False,
                                    field="incidents.evidence.description"),
                  purpose=_text(purpose, name="Purpose", field="incidents.evidence.purpose"))


def _head_json(size: int) -> dict[str, Any]:
    """The newest signed head covering ``size`` events, as JSON."""
    head = audit_selectors.head_latest()
    if head is None or head.size < size:
        raise IncidentError("Those events are not yet under a signed tree head; sign one "
                            "(`safeguard audit head`) and capture again.")
    return {"size": head.size, "root_hash": head.root_hash,
            "signed_at": format_time(head.signed_at), "key_id": head.key_id,
            "signature": head.signature,
            "public_key_pem": signing.get_signer().public_key_pem()}


def slice_document(*, first_seq: int, last_seq: int) -> dict[str, Any]:
    """Events ``first_seq``..``last_seq`` with their canonical entries and RFC 9162 inclusion
    proofs against the latest signed tree head (R-IR-5)."""
    if not 1 <= first_seq <= last_seq:
        raise IncidentError("Give a sequence range with 1 <= first <= last.")
    most = settings.SAFEGUARD_EVIDENCE_SLICE_MAX_EVENTS
    if last_seq - first_seq + 1 > most:
        raise IncidentError(f"A slice holds at most {most} events.")
    head = _head_json(last_seq)
    events = audit_selectors.event_batch_after(after_seq=first_seq - 1,
                                               limit=last_seq - first_seq + 1)
    rows = _proven(list(events), head)
    if len(rows) != last_seq - first_seq + 1:
        raise IncidentError(f"The log holds no event {first_seq + len(rows)} yet.")
    return {"format": SLICE_FORMAT, "first_seq": first_seq, "last_seq": last_seq,
            "head": head, "events": rows}


def slice_capture(*, actor: Actor, incident_id: int, first_seq: int, last_seq: int,
                  purpose: str) -> ItemView:
    """Capture an audit-log slice as an evidence item; its digest is in the item and the
    ``incident.evidence_collected`` event (every audit export carries a recorded digest)."""
    purpose_text = _text(purpose, name="Purpose", field="incidents.evidence.purpose")
    doc = slice_document(first_seq=first_seq, last_seq=last_seq)
    content = json.dumps(doc, sort_keys=True, indent=1).encode()
    return _store(actor=actor, incident_id=incident_id, kind=AUDIT_SLICE,
                  name=f"audit-{first_seq}-{last_seq}.json", content_type="application/json",
                  content=content, description=f"Audit events {first_seq}-{last_seq} with "
                  f"inclusion proofs against the head of size {doc['head']['size']}",
                  purpose=purpose_text)


def verify_slice(doc: dict[str, Any], *, public_key_pem: str | None = None) -> list[str]:
    """Problems with a captured slice (empty = it verifies): the head's signature under the
    given key (default: the one in the slice), each entry's leaf hash, each inclusion proof."""
    problems: list[str] = []
    head = doc["head"]
    public = serialization.load_pem_public_key((public_key_pem or head["public_key_pem"])
                                               .encode())
    if not isinstance(public, Ed25519PublicKey):
        return ["the public key is not Ed25519"]
    verifier = signing.Verifier(signing.key_id_for(public), public)
    message = signing.head_message(size=head["size"], root_hash=head["root_hash"],
                                   signed_at_iso=head["signed_at"])
    if not verifier.verify(message, signing.unb64(head["signature"])):
        problems.append("the tree head signature does not verify")
    root = bytes.fromhex(head["root_hash"])
    for row in doc["events"]:
        leaf = merkle.leaf_hash(row["entry"].encode())
        if leaf.hex() != row["leaf_hash"]:
            problems.append(f"event {row['seq']}: entry does not match its leaf hash")
        if not merkle.verify_inclusion_leaf(leaf, row["seq"] - 1, head["size"],
                                            [bytes.fromhex(p) for p in row["path"]], root):
            problems.append(f"event {row['seq']}: inclusion proof does not verify")
    return problems


# --- access ------------------------------------------------------------------------------------

def _open(row: EvidenceItem) -> bytes | None:
    content = protection.stash_open(row.sealed, context=_context(row.incident_id, row.sha256))
    if content is None or hashlib.sha256(content).hexdigest() != row.sha256:
        return None
    return content


def _access(*, actor: Actor, item_id: int, incident_id: int, action: str, purpose: str,
            transferred_to: str = "") -> tuple[ItemView, bytes]:
    """Check the item's integrity, then log the access. A failed check is recorded (committed)
    and the access refused with EvidenceTampered."""
    purpose_text = _text(purpose, name="Purpose", field="incidents.evidence.purpose")
    with transaction.atomic():
        row = EvidenceItem.objects.select_for_update().filter(
            id=item_id, incident_id=incident_id).first()
        if row is None:
            raise IncidentNotFound(f"No evidence item {item_id} in incident {incident_id}.")
        content = _open(row)
        if content is not None:
            _custody(row, actor=actor, action=action, purpose=purpose_text,
                     transferred_to=transferred_to)
            return _item_view(row), content
        if row.tampered_at is None:
            row.tampered_at = timezone.now()
            row.save(update_fields=["tampered_at"])
        _custody(row, actor=actor, action=action, purpose=purpose_text,
                 transferred_to=transferred_to, outcome="tampered")
    raise EvidenceTampered(f"Evidence item {item_id} failed its integrity check (its bytes no "
                           "longer match the SHA-256 taken at intake); access refused.")


def item_view(*, actor: Actor, incident_id: int, item_id: int, purpose: str
              ) -> tuple[ItemView, bytes]:
    """The item's bytes for viewing or download, integrity-checked and logged."""
    return _access(actor=actor, item_id=item_id, incident_id=incident_id, action=VIEWED,
                   purpose=purpose)


def item_transfer(*, actor: Actor, incident_id: int, item_id: int, purpose: str,
                  to: str) -> ItemView:
    """Record a hand-over of the item to someone (integrity-checked first)."""
    recipient = _text(to, name="Transferred to", field="incidents.evidence.transferred_to")
    return _access(actor=actor, item_id=item_id, incident_id=incident_id, action=TRANSFERRED,
                   purpose=purpose, transferred_to=recipient)[0]


def _custody_json(item_id: int) -> bytes:
    return json.dumps([{"id": c.id, "at": c.at.isoformat(), "actor": c.actor,
                        "action": c.action, "purpose": c.purpose,
                        "transferred_to": c.transferred_to, "outcome": c.outcome}
                       for c in custody_list(item_id=item_id)], indent=1).encode()


def package_export(*, actor: Actor, incident_id: int, purpose: str) -> tuple[str, bytes]:
    """A zip of every item, its custody log and a signed manifest of their SHA-256s. Each item
    is integrity-checked and gets an ``exported`` custody entry; one tampered item refuses the
    whole package (the refusal is recorded)."""
    items = item_list(incident_id=incident_id)
    if not items:
        raise IncidentError("The locker of this incident is empty.")
    for item in items:  # check all first: a refused package leaves no "exported" entries
        if _open(EvidenceItem.objects.get(id=item.id)) is None:
            _access(actor=actor, item_id=item.id, incident_id=incident_id, action=EXPORTED,
                    purpose=purpose)  # records the refusal and raises EvidenceTampered
    opened = [_access(actor=actor, item_id=item.id, incident_id=incident_id, action=EXPORTED,
                      purpose=purpose) for item in items]
    buf = io.BytesIO()
    entries: list[dict[str, Any]] = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for item, content in opened:
            path = f"items/{item.id}-{item.name}"
            custody_path = f"custody/{item.id}.json"
            custody = _custody_json(item.id)
            zf.writestr(path, content)
            zf.writestr(custody_path, custody)
            entries.append({"id": item.id, "kind": item.kind, "name": item.name,
                            "size": item.size, "sha256": item.sha256,
                            "collected_at": item.collected_at.isoformat(),
                            "collected_by": item.collected_by, "path": path,
                            "custody_path": custody_path,
                            "custody_sha256": hashlib.sha256(custody).hexdigest()})
        signer = signing.get_signer()
        manifest = json.dumps({"format": PACKAGE_FORMAT, "incident": incident_id,
                               "exported_at": timezone.now().isoformat(),
                               "exported_by": _label(actor), "key_id": signer.key_id,
                               "items": entries}, sort_keys=True, indent=1).encode()
        zf.writestr("manifest.json", manifest)
        zf.writestr("manifest.sig", signing.b64(signer.sign(MANIFEST_PREFIX + manifest)))
        zf.writestr("public_key.pem", signer.public_key_pem())
    body = buf.getvalue()
    with transaction.atomic():
        audit.record(action="incident.evidence_package_exported", actor=actor,
                     subject=("incident", incident_id),
                     data={"items": [i.id for i, _ in opened],
                           "manifest_sha256": hashlib.sha256(manifest).hexdigest(),
                           "sha256": hashlib.sha256(body).hexdigest()})
    return f"incident-{incident_id}-evidence.zip", body


def verify_package(body: bytes, *, public_key_pem: str) -> list[str]:
    """Problems with an export package (empty = it verifies): the manifest signature under the
    given public key, then every item's and custody log's SHA-256 against the manifest."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(body))
        manifest = zf.read("manifest.json")
        signature = signing.unb64(zf.read("manifest.sig").decode())
    except (zipfile.BadZipFile, KeyError, ValueError, UnicodeError) as exc:
        return [f"not a readable package: {exc}"]
    public = serialization.load_pem_public_key(public_key_pem.encode())
    if not isinstance(public, Ed25519PublicKey):
        return ["the public key is not Ed25519"]
    try:
        public.verify(signature, MANIFEST_PREFIX + manifest)
    except InvalidSignature:
        return ["the manifest signature does not verify"]
    problems = []
    for entry in json.loads(manifest)["items"]:
        for path, digest in ((entry["path"], entry["sha256"]),
                             (entry["custody_path"], entry["custody_sha256"])):
            try:
                data = zf.read(path)
            except KeyError:
                problems.append(f"{path} is missing")
                continue
            if hashlib.sha256(data).hexdigest() != digest:
                problems.append(f"{path} does not match its SHA-256 in the manifest")
    return problems


# --- audit-log slices by filter (actor / customer / time window; issue 12 item 5) -------------

def _mentions(ev: Any, customer_id: str) -> bool:
    """The event is about ``customer_id``: its subject, one of the ids a search or list
    returned, or the 12-hex prefix a case event carries (as the affected list counts reads)."""
    if ev.subject_type == "customer" and ev.subject_id == customer_id:
        return True
    if customer_id in [str(c) for c in ev.data.get("customer_ids") or []]:
        return True
    ref = ev.data.get("customer")
    return bool(ref) and customer_id.replace("-", "").startswith(str(ref)) and len(str(ref)) >= 12


def _proven(events: list[Any], head: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for e in events:
        entry = canonical_entry(seq=e.seq, at=e.at, actor_kind=e.actor.kind,
                                actor_id=e.actor.id, actor_label=e.actor.label,
                                action=e.action, subject_type=e.subject_type,
                                subject_id=e.subject_id, outcome=e.outcome,
                                source_ip=e.source_ip, user_agent=e.user_agent,
                                request_id=e.request_id, data=e.data)
        try:
            proof = proofs.inclusion(seq=e.seq, size=head["size"])
        except ProofUnavailable as exc:
            raise IncidentError(f"No inclusion proof for event {e.seq}: {exc}") from exc
        rows.append({"seq": e.seq, "entry": entry.decode(), "leaf_hash": proof.leaf_hash,
                     "leaf_index": proof.leaf_index, "path": proof.path})
    return rows


def slice_document_filtered(*, since: datetime, until: datetime, actor_id: str = "",
                            customer_id: str = "") -> dict[str, Any]:
    """Every event in [since, until) by ``actor_id`` (the actor's id, a user or token number)
    and/or about ``customer_id``, each with its canonical entry and RFC 9162 inclusion proof
    against the newest signed head (R-IR-5). The same format as a sequence-range slice, plus
    the filter; events need not be contiguous. At most SAFEGUARD_EVIDENCE_SLICE_MAX_EVENTS."""
    if timezone.is_naive(since) or timezone.is_naive(until) or until <= since:
        raise IncidentError("The window needs a time-zone-aware start before its end.")
    actor_id, customer_id = actor_id.strip(), customer_id.strip().lower()
    if not actor_id and not customer_id:
        raise IncidentError("Name an actor id or a customer id (or capture a sequence range).")
    if customer_id and len(customer_id.replace("-", "")) != 32:
        raise IncidentError("A customer is named by its full id.")
    most = settings.SAFEGUARD_EVIDENCE_SLICE_MAX_EVENTS
    scan_limit = settings.SAFEGUARD_INCIDENTS_AFFECTED_MAX_EVENTS
    picked = []
    for scanned, ev in enumerate(audit_selectors.event_export(
            actor_id=actor_id or None, since=since, until=until), start=1):
        if scanned > scan_limit:
            raise IncidentError("Too many events in the window; narrow it.")
        if customer_id and not _mentions(ev, customer_id):
            continue
        picked.append(ev)
        if len(picked) > most:
            raise IncidentError(f"A slice holds at most {most} events; narrow the filter.")
    if not picked:
        raise IncidentError("No event matches the filter in the window.")
    head = _head_json(picked[-1].seq)
    return {"format": SLICE_FORMAT, "first_seq": picked[0].seq, "last_seq": picked[-1].seq,
            "filter": {"actor_id": actor_id, "customer_id": customer_id,
                       "since": format_time(since), "until": format_time(until)},
            "head": head, "events": _proven(picked, head)}


def slice_capture_filtered(*, actor: Actor, incident_id: int, since: datetime, until: datetime,
                           purpose: str, actor_id: str = "", customer_id: str = "") -> ItemView:
    """Capture the events of an actor and/or about a customer in a window as an evidence item,
    each with its inclusion proof; recorded with its digest like any slice."""
    purpose_text = _text(purpose, name="Purpose", field="incidents.evidence.purpose")
    doc = slice_document_filtered(since=since, until=until, actor_id=actor_id,
                                  customer_id=customer_id)
    content = json.dumps(doc, sort_keys=True, indent=1).encode()
    what = " and ".join(p for p in (f"actor {actor_id.strip()}" if actor_id.strip() else "",
                                    "one customer" if customer_id.strip() else "") if p)
    return _store(actor=actor, incident_id=incident_id, kind=AUDIT_SLICE,
                  name=f"audit-filtered-{doc['first_seq']}-{doc['last_seq']}.json",
                  content_type="application/json", content=content,
                  description=f"{len(doc['events'])} audit events of {what}, "
                  f"{doc['filter']['since']} to {doc['filter']['until']}, with inclusion "
                  f"proofs against the head of size {doc['head']['size']}",
                  purpose=purpose_text)

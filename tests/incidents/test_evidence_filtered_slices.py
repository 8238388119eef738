"""Audit-log slices by filter (R-IR-5, issue 12 item 5): the events of one actor and/or about
one customer in a time window, each with an inclusion proof against the signed head; exactly
the matching events, bad filters refused with nothing stored."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from safeguard.audit import selectors as audit
from safeguard.audit import services as audit_services
from safeguard.audit import signing
from safeguard.audit.contracts import Actor
from safeguard.incidents import evidence, services
from safeguard.incidents.contracts import IncidentError
from safeguard.incidents.models import EvidenceItem
from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db

ANALYST = Actor(kind="user", id="1", label="analyst@example.test")
BO = Actor(kind="user", id="9", label="bo@example.test")
AL = Actor(kind="user", id="10", label="al@example.test")


def _events(start):  # type: ignore[no-untyped-def]
    """Bo and Al read two customers over an hour; one event falls outside the window."""
    anna, bob = uuid.uuid4(), uuid.uuid4()
    plan = [(BO, "customer.viewed", anna, 0), (AL, "customer.viewed", anna, 5),
            (BO, "customer.viewed", bob, 10), (BO, "case.viewed", anna, 15),
            (AL, "customer.searched", None, 20), (BO, "customer.viewed", anna, 120)]
    for actor, action, cust, minute in plan:
        with time_machine.travel(start + timedelta(minutes=minute), tick=False):
            if action == "case.viewed":
                audit_services.record(action=action, actor=actor, subject=("case", 3),
                                      data={"customer": cust.hex[:12]})
            elif action == "customer.searched":
                audit_services.record(action=action, actor=actor,
                                      data={"customer_ids": [str(anna), str(bob)]})
            else:
                audit_services.record(action=action, actor=actor, subject=("customer", cust))
    return anna, bob


def _oracle(pred, since, until):  # type: ignore[no-untyped-def]
    return [e.seq for e in audit.event_export() if since <= e.at < until and pred(e)]


def test_a_slice_by_actor_or_customer_holds_exactly_the_matching_events_with_proofs() -> None:
    start = timezone.now() - timedelta(hours=5)
    anna, _ = _events(start)
    incident = services.incident_open(actor=ANALYST, title="Bo", severity="sev2",
                                      category="insider_misuse", aware_at=timezone.now())
    head = audit_services.head_sign()
    assert head is not None
    since, until = start - timedelta(minutes=1), start + timedelta(hours=1)
    by_actor = evidence.slice_document_filtered(since=since, until=until, actor_id="9")
    assert [r["seq"] for r in by_actor["events"]] == _oracle(
        lambda e: e.actor.id == "9", since, until)
    assert len(by_actor["events"]) == 3
    about = evidence.slice_document_filtered(since=since, until=until, customer_id=str(anna))
    expected = _oracle(lambda e: (e.subject_id == str(anna)) or str(anna) in (
        e.data.get("customer_ids") or []) or e.data.get("customer") == anna.hex[:12],
        since, until)
    assert [r["seq"] for r in about["events"]] == expected
    assert len(expected) == 4
    both = evidence.slice_document_filtered(since=since, until=until, actor_id="9",
                                            customer_id=str(anna))
    assert len(both["events"]) == 2
    pem = signing.get_signer().public_key_pem()
    for doc in (by_actor, about, both):
        assert evidence.verify_slice(doc, public_key_pem=pem) == []
        assert doc["head"]["root_hash"] == head.root_hash
    item = evidence.slice_capture_filtered(actor=ANALYST, incident_id=incident.id, since=since,
                                           until=until, actor_id="9", purpose="what bo did")
    row = EvidenceItem.objects.get(id=item.id)
    assert row.kind == "audit_slice"
    assert str(anna) not in row.description
    event = audit.event_list(action="incident.evidence_collected")[0]
    assert event.data["sha256"] == row.sha256


def test_bad_filters_are_refused_and_store_nothing() -> None:
    start = timezone.now() - timedelta(hours=5)
    _events(start)
    incident = services.incident_open(actor=ANALYST, title="Bo", severity="sev2",
                                      category="insider_misuse", aware_at=timezone.now())
    since, until = start - timedelta(minutes=1), start + timedelta(hours=1)
    before = audit.last_seq()
    with pytest.raises(IncidentError, match="not yet under a signed tree head"):
        evidence.slice_capture_filtered(actor=ANALYST, incident_id=incident.id, since=since,
                                        until=until, actor_id="9", purpose="p")
    audit_services.head_sign()
    for kwargs, message in [
            ({"actor_id": "", "customer_id": ""}, "Name an actor id or a customer id"),
            ({"customer_id": "abc"}, "full id"),
            ({"actor_id": "4242"}, "No event matches")]:
        with pytest.raises(IncidentError, match=message):
            evidence.slice_capture_filtered(actor=ANALYST, incident_id=incident.id,
                                            since=since, until=until, purpose="p", **kwargs)
    with pytest.raises(IncidentError, match="window"):
        evidence.slice_capture_filtered(actor=ANALYST, incident_id=incident.id, since=until,
                                        until=since, actor_id="9", purpose="p")
    assert EvidenceItem.objects.count() == 0
    assert [e.action for e in audit.event_list(limit=50) if e.seq > before] == []


def test_the_locker_page_captures_a_filtered_slice() -> None:
    start = timezone.now() - timedelta(hours=5)
    _events(start)
    audit_services.head_sign()
    client = signed_in_client(make_user(roles=("security_analyst",)))
    incident = services.incident_open(actor=ANALYST, title="Bo", severity="sev2",
                                      category="insider_misuse", aware_at=timezone.now())
    fmt = "%Y-%m-%dT%H:%M"
    page = client.get(f"/incidents/{incident.id}/evidence/")
    assert "Capture a slice by actor or customer" in page.content.decode()
    response = client.post(f"/incidents/{incident.id}/evidence/slice/filtered/", {
        "actor_id": "9", "customer_id": "",
        "since": (start - timedelta(minutes=1)).strftime(fmt),
        "until": (start + timedelta(hours=1)).strftime(fmt), "purpose": "bo"})
    assert response.status_code == 302
    item = EvidenceItem.objects.get(incident_id=incident.id)
    opened = client.post(f"/incidents/{incident.id}/evidence/{item.id}/open/",
                         {"purpose": "review"})
    assert hashlib.sha256(opened.content).hexdigest() == item.sha256
    assert len(json.loads(opened.content)["events"]) == 3
    auditor = signed_in_client(make_user(roles=("auditor",)))
    assert auditor.post(f"/incidents/{incident.id}/evidence/slice/filtered/",
                        {"actor_id": "9"}).status_code == 403

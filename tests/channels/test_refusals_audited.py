"""Refused signatures and secrets on channel endpoints are in the audit log, without the
attacker's text in clear (issue 9 §9, R-IR-5)."""

from __future__ import annotations

import hashlib
import json
import re
import time

import pytest
from django.test import Client

from safeguard.audit.models import Event
from safeguard.channels import signing
from tests.channels.conftest import SECRET, signed_post
from tests.channels.test_chat import _start

pytestmark = pytest.mark.django_db

URL = "/channels/voice/events"
PAYLOAD = {"type": "call.queued", "call_id": "evil-call-77", "at": "2026-03-02T09:00:00+00:00",
           "caller_phone": "+44 20 7946 0018"}


def _refusals():
    return list(Event.objects.filter(action="channel.auth_refused").order_by("seq"))


def _dump(event):
    return json.dumps([event.actor_label, event.subject_id, event.data, event.actor_id])


def test_a_forged_webhook_signature_is_recorded_by_digest_only(webhook_secret):
    body = json.dumps(PAYLOAD).encode()
    forged = signing.header_value(secrets=["not-the-secret"], timestamp=int(time.time()),
                                  body=body)
    response = signed_post(Client(), URL, PAYLOAD, header=forged)
    assert response.status_code == 401
    [event] = _refusals()
    assert (event.outcome, event.actor_kind, event.data["endpoint"], event.data["code"]) == (
        "denied", "anonymous", "voice-webhook", "signature-invalid")
    assert event.data["evidence"] == [
        {"sha256": hashlib.sha256(forged.encode()).hexdigest()[:16], "bytes": len(forged)},
        {"sha256": hashlib.sha256(body).hexdigest()[:16], "bytes": len(body)},
    ]
    assert "evil-call-77" not in _dump(event)
    assert forged not in _dump(event)


@pytest.mark.parametrize(("header", "code"), [
    ("", "signature-missing"), ("t=abc", "signature-malformed"),
])
def test_missing_and_malformed_signatures_are_recorded(webhook_secret, header, code):
    signed_post(Client(), URL, PAYLOAD, header=header)
    assert [e.data["code"] for e in _refusals()] == [code]


def test_stale_and_replayed_signatures_are_recorded(webhook_secret):
    client = Client()
    stale = signed_post(client, URL, PAYLOAD, timestamp=int(time.time()) - 3600)
    body = json.dumps(PAYLOAD).encode()
    header = signing.header_value(secrets=[SECRET], timestamp=int(time.time()), body=body)
    first = signed_post(client, URL, PAYLOAD, header=header)
    replay = signed_post(client, URL, PAYLOAD, header=header)
    assert (stale.status_code, first.status_code, replay.status_code) == (401, 200, 409)
    assert [e.data["code"] for e in _refusals()] == ["signature-expired", "signature-replayed"]


def test_a_good_signature_records_no_refusal(webhook_secret):
    assert signed_post(Client(), URL, PAYLOAD).status_code == 200
    assert _refusals() == []


def test_a_refusal_flood_is_recorded_only_up_to_the_cap(webhook_secret):
    client = Client()
    for _ in range(25):
        signed_post(client, URL, PAYLOAD, header="t=1,v1=" + "0" * 64)
    assert len(_refusals()) == 20


def test_a_wrong_chat_secret_is_recorded_by_digest_only():
    link = _start(Client())
    bad = re.sub(r"/[A-Za-z0-9_-]{40,}/$", "/" + "A" * 43 + "/", link)
    assert Client().post(bad + "post", {"message": "intrusion"}).status_code == 404
    [event] = _refusals()
    assert (event.data["endpoint"], event.data["code"]) == ("chat-post", "chat-not-found")
    conversation_id = bad.rstrip("/").split("/")[-2]
    assert event.data["evidence"] == [
        {"sha256": hashlib.sha256(conversation_id.encode()).hexdigest()[:16],
         "bytes": len(conversation_id)}]
    assert "intrusion" not in _dump(event)

"""The signed voice webhook: call events give speed to answer; transcripts, recordings and
payment spans are stored; anything unsigned, malformed, stale or replayed is a 4xx problem and
stores nothing."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from safeguard.channels import signing
from tests.channels.conftest import SECRET, interactions, signed_post, stored_counts
from tests.factories import ref_hash

pytestmark = pytest.mark.django_db

URL = "/channels/voice/events"
T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


def _event(kind: str, call_id: str = "call-1", at: datetime = T0, **extra):
    if kind == "call.queued":
        extra.setdefault("caller_phone", "+44 20 7946 0018")
    return {"type": kind, "call_id": call_id, "at": at.isoformat(), **extra}


def test_queued_then_answered_gives_speed_to_answer(webhook_secret):
    client = Client()
    # given a call queued at 09:00:00
    r1 = signed_post(client, URL, _event("call.queued", queue="general",
                                         caller_phone="+44 20 7946 0018"))
    assert r1.status_code == 200
    assert r1.json()["speed_to_answer_seconds"] is None
    # when it is answered 42 seconds later, then ends
    r2 = signed_post(client, URL, _event("call.answered", at=T0 + timedelta(seconds=42)))
    r3 = signed_post(client, URL, _event("call.ended", at=T0 + timedelta(minutes=5)))
    # then the speed to answer is 42 s, on a voice case in the named queue
    assert r2.status_code == 200
    assert r2.json()["speed_to_answer_seconds"] == 42
    assert r3.json()["ended_at"].startswith("2026-03-02T09:05:00")
    assert r3.json()["queue"] == "general"
    [call] = interactions("voice")
    assert call.call_id == ref_hash("call-1") == call.thread_ref  # a keyed hash only
    assert call.answered_at - call.queued_at == timedelta(seconds=42)


def test_transcript_is_screened_and_recording_metadata_kept(webhook_secret):
    client = Client()
    signed_post(client, URL, _event("call.queued"))
    response = signed_post(client, URL, {
        "type": "transcript", "call_id": "call-1",
        "text": "Caller: my card is 4111 1111 1111 1111, expiry next year.",
        "recording": {"uri": "s3://recordings/call-1.wav", "duration_seconds": 300,
                      "retention_category": "qa_recording"},
    })
    assert response.status_code == 200
    [call] = interactions("voice")
    assert "4111 1111 1111 1111" not in call.transcript
    assert "•••• 1111" in call.transcript
    assert call.recording_retention == "qa_recording"
    assert call.recording["duration_seconds"] == 300


def test_payment_span_marks_where_recording_is_paused(webhook_secret):
    client = Client()
    signed_post(client, URL, _event("call.queued"))
    start = signed_post(client, URL, _event("payment.started", at=T0 + timedelta(minutes=1)))
    assert start.json()["payment_paused"] is True
    stop = signed_post(client, URL, _event("payment.stopped", at=T0 + timedelta(minutes=2)))
    assert stop.json()["payment_paused"] is False
    [call] = interactions("voice")
    assert call.payment_pauses == [{"start": "2026-03-02T09:01:00+00:00",
                                    "end": "2026-03-02T09:02:00+00:00"}]


def _assert_refused(response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("/" + code)
    assert stored_counts() == (0, 0, 0)


def test_unsigned_request_is_refused_and_stores_nothing(webhook_secret):
    response = signed_post(Client(), URL, _event("call.queued"), header="")
    _assert_refused(response, 401, "signature-missing")
    assert "HMAC-SHA256" in response["WWW-Authenticate"]


def test_wrong_secret_is_refused(webhook_secret):
    response = signed_post(Client(), URL, _event("call.queued"), secret="not-the-secret")
    _assert_refused(response, 401, "signature-invalid")


def test_tampered_body_is_refused(webhook_secret):
    body = json.dumps(_event("call.queued")).encode()
    header = signing.header_value(secrets=[SECRET], timestamp=int(time.time()), body=body)
    tampered = body.replace(b"call-1", b"call-2")
    response = signed_post(Client(), URL, None, raw=tampered, header=header)
    _assert_refused(response, 401, "signature-invalid")


@pytest.mark.parametrize("header", ["garbage", "t=abc,v1=00", "v1=" + "0" * 64,
                                    "t=1700000000", "t=1,t=2,v1=" + "0" * 64])
def test_malformed_signature_header_is_a_400(webhook_secret, header):
    response = signed_post(Client(), URL, _event("call.queued"), header=header)
    _assert_refused(response, 400, "signature-malformed")


def test_stale_timestamp_is_refused(webhook_secret):
    stale = int(time.time()) - 301
    response = signed_post(Client(), URL, _event("call.queued"), timestamp=stale)
    _assert_refused(response, 401, "signature-expired")


def test_replayed_request_is_refused(webhook_secret):
    client = Client()
    body = json.dumps(_event("call.queued")).encode()
    header = signing.header_value(secrets=[SECRET], timestamp=int(time.time()), body=body)
    first = signed_post(client, URL, None, raw=body, header=header)
    assert first.status_code == 200
    before = stored_counts()
    replay = signed_post(client, URL, None, raw=body, header=header)
    assert replay.status_code == 409
    assert replay.json()["type"].endswith("/signature-replayed")
    assert stored_counts() == before


@pytest.mark.parametrize("payload", [
    {"type": "call.queued", "call_id": "c1"},  # no timestamp
    {"type": "call.queued", "call_id": "c1", "at": "2026-03-02T09:00:00"},  # naive time
    {"type": "call.teleported", "call_id": "c1", "at": "2026-03-02T09:00:00Z"},
    {"type": "call.queued", "call_id": "", "at": "2026-03-02T09:00:00Z"},
    {"type": "call.queued", "call_id": "c1", "at": "2026-03-02T09:00:00Z", "extra": 1},
    {"type": "transcript", "call_id": "c1", "text": "x",
     "recording": {"uri": "s3://r.wav", "retention_category": "forever"}},
    ["not", "an", "object"],
])
def test_malformed_payload_is_a_422_and_stores_nothing(webhook_secret, payload):
    response = signed_post(Client(), URL, payload)
    _assert_refused(response, 422, "payload-invalid")
    assert response.json()["errors"]


def test_body_that_is_not_json_is_a_422(webhook_secret):
    response = signed_post(Client(), URL, None, raw=b"{not json")
    _assert_refused(response, 422, "payload-invalid")


def test_transcript_for_an_unknown_call_is_a_404_and_stores_nothing(webhook_secret):
    response = signed_post(Client(), URL, {"type": "transcript", "call_id": "nope", "text": "hi"})
    _assert_refused(response, 404, "call-not-found")


def test_rotation_accepts_old_and_new_secret(settings):
    # given two configured secrets during a rotation
    settings.SAFEGUARD_WEBHOOK_SECRETS = ["new-secret-" + "n" * 32, SECRET]
    client = Client()
    # then a sender still on the old secret and one on the new are both accepted
    assert signed_post(client, URL, _event("call.queued", call_id="a")).status_code == 200
    assert signed_post(client, URL, _event("call.queued", call_id="b"),
                       secret="new-secret-" + "n" * 32).status_code == 200


def test_without_a_configured_secret_every_webhook_is_refused(settings):
    settings.SAFEGUARD_WEBHOOK_SECRETS = []
    response = signed_post(Client(), URL, _event("call.queued"))
    _assert_refused(response, 503, "webhook-not-configured")


def test_oversized_body_is_a_413(webhook_secret, settings):
    settings.SAFEGUARD_WEBHOOK_MAX_BYTES = 100
    response = signed_post(Client(), URL, _event("call.queued", queue="x" * 200))
    _assert_refused(response, 413, "payload-too-large")


def test_get_is_a_405_problem(webhook_secret):
    response = Client().get(URL)
    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"

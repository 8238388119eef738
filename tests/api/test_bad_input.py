"""Input that used to answer 500 (issue 9, item 8): each is now a 4xx that changes nothing.

R-OPS-8 (deny by default, bad input never a 500) and R-OPS-2 (a card-like filter is refused, not
stored). Extreme datetimes, an oversized body, Unicode digits and card-like filters, through the
API, the pages and the voice webhook.
"""

from __future__ import annotations

import base64
import json

import pytest
from django.conf import settings
from django.test import Client

from safeguard.accounts import services as accounts
from safeguard.audit.models import Event
from tests.channels.conftest import SECRET, signed_post, stored_counts
from tests.factories import SYSTEM, make_user, signed_in_client

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
EXTREME = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "9999-12-31T23:59:59Z",
           "0001-01-01T00:00:00Z", "1969-12-31T23:59:59Z"]
PAN = "4111111111111111"
INGEST = "/api/v1/channels/messages"
BODY = {"sender": {"email": "carol@customer.example", "name": "Carol"},
        "subject": "Order 1234", "text": "Where is my order?", "external_id": "crm-1"}


def _auditor_token() -> str:
    user = make_user(roles=("security_analyst",))
    return accounts.token_issue(actor=SYSTEM, user_id=user.id, name="auditor",
                                scopes=("audit.view",), expires_in_days=1).secret


def _ingest_token() -> str:
    accounts.role_create(actor=SYSTEM, slug="integration", name="Integration",
                         permissions=["channels.ingest"])
    user = accounts.user_create(actor=SYSTEM, email="crm@service.example",
                                is_service_account=True, roles=("integration",))
    return accounts.token_issue(actor=SYSTEM, user_id=user.id, name="crm",
                                scopes=("channels.ingest",), expires_in_days=1).secret


def _assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"].endswith("/" + code)
    return body


@pytest.mark.parametrize("value", EXTREME)
@pytest.mark.parametrize("name", ["since", "until"])
def test_audit_api_refuses_datetimes_outside_the_window(name, value):
    # given an auditor's token
    token = _auditor_token()
    # when an event search names an instant outside 1970..2999 (some overflow in UTC)
    response = Client().get("/api/v1/audit/events", {name: value},
                            HTTP_AUTHORIZATION=f"Bearer {token}")
    # then it is a 422 naming the field and the window
    body = _assert_problem(response, 422, "validation-error")
    [error] = body["errors"]
    assert error["loc"][-1] == name
    assert "1970-01-01T00:00:00Z and 2999-12-31T23:59:59Z" in error["msg"]


def test_audit_api_accepts_the_window_edges():
    token = _auditor_token()
    response = Client().get("/api/v1/audit/events",
                            {"since": "1970-01-01T00:00:00Z", "until": "2999-12-31T10:00:00-12:00"},
                            HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response.json()["items"] != []


@pytest.mark.parametrize("value", EXTREME)
def test_rest_ingest_refuses_extreme_occurred_at_and_stores_nothing(value):
    response = Client().post(INGEST, data={**BODY, "occurred_at": value},
                             content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {_ingest_token()}")
    body = _assert_problem(response, 422, "validation-error")
    assert body["errors"][0]["loc"][-1] == "occurred_at"
    assert stored_counts() == (0, 0, 0)


@pytest.mark.parametrize("value", EXTREME)
def test_voice_webhook_refuses_extreme_times_and_stores_nothing(settings, value):
    settings.SAFEGUARD_WEBHOOK_SECRETS = [SECRET]
    response = signed_post(Client(), "/channels/voice/events", {
        "type": "call.queued", "call_id": "call-x", "at": value,
        "caller_phone": "+44 20 7946 0018"})
    body = _assert_problem(response, 422, "payload-invalid")
    assert body["errors"][0]["loc"][-1] == "at"
    assert stored_counts() == (0, 0, 0)


def test_an_api_body_over_the_limit_is_413_stating_it_and_stores_nothing():
    # given the default limit: one maximal attachment base64-encoded plus 1 MiB
    limit = settings.SAFEGUARD_REQUEST_MAX_BODY_BYTES
    assert limit == 4 * -(-settings.SAFEGUARD_ATTACHMENT_MAX_BYTES // 3) + 1024 * 1024
    assert limit == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    # when an ingest body is one byte over it
    payload = json.dumps({**BODY, "text": ""}).encode()
    oversized = payload[:-1] + b' ' * (limit + 1 - len(payload)) + b"}"
    assert len(oversized) == limit + 1
    response = Client().generic("POST", INGEST, oversized, content_type="application/json",
                                HTTP_AUTHORIZATION=f"Bearer {_ingest_token()}")
    # then it is a 413 problem stating the limit, and nothing is stored
    body = _assert_problem(response, 413, "payload-too-large")
    assert body["limit_bytes"] == limit
    assert str(limit) in body["detail"]
    assert stored_counts() == (0, 0, 0)


def test_a_nine_mib_body_with_an_attachment_is_accepted():
    # given a 6.9 MiB attachment: 9 MiB once base64-encoded (over Django's 2.5 MiB default)
    content = bytes(range(256)) * (7_200_000 // 256)
    payload = {**BODY, "attachments": [{"filename": "scan.png", "content_type": "image/png",
                                        "content_base64": base64.b64encode(content).decode()}]}
    raw = json.dumps(payload).encode()
    assert 9 * 1024 * 1024 < len(raw) < settings.SAFEGUARD_REQUEST_MAX_BODY_BYTES
    # when it is ingested
    response = Client().generic("POST", INGEST, raw, content_type="application/json",
                                HTTP_AUTHORIZATION=f"Bearer {_ingest_token()}")
    # then the message and its attachment are stored whole
    assert response.status_code == 201, response.content[:300]
    from safeguard.cases.models import Attachment

    [attachment] = Attachment.objects.all()
    assert attachment.filename == "scan.png"
    assert attachment.size == len(content)


@pytest.mark.parametrize("value", ["²", "¹²", "٣", "9" * 30, "-1", " 5"])
def test_audit_page_refuses_non_ascii_or_out_of_range_before_seq(value):
    # given an auditor signed in
    client = signed_in_client(make_user(roles=("security_analyst",)))
    # when the page is asked for events before a "number" int() would choke on
    response = client.get("/audit/", {"before_seq": value})
    # then it is a 400 with the form error, not a 500
    assert response.status_code == 400
    assert b"before_seq must be a sequence number" in response.content


@pytest.mark.parametrize(("name", "value"), [("since", "0001-01-01"), ("until", "9999-12-31")])
def test_audit_page_and_export_refuse_extreme_dates(name, value):
    client = signed_in_client(make_user(roles=("security_analyst",)))
    exported = Event.objects.filter(action="audit.exported").count()
    page = client.get("/audit/", {name: value})
    export = client.get("/audit/export/", {name: value, "format": "csv"})
    assert page.status_code == 400
    assert b"must be between 1970-01-01 and 2999-12-31" in page.content
    assert export.status_code == 400
    assert Event.objects.filter(action="audit.exported").count() == exported


@pytest.mark.parametrize("name", ["actor", "subject_id", "action"])
def test_a_card_like_export_filter_is_never_a_500_nor_stored(name):
    # given an auditor signed in
    client = signed_in_client(make_user(roles=("security_analyst",)))
    # when an export filter holds a card-like number
    response = client.get("/audit/export/", {name: PAN, "format": "csv"})
    # then it is refused with a clear message (or, where audit.record masks card-like text,
    # served) — never a 500, and the number is in no stored event
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert response.content.startswith(b"Invalid filters:")
        assert PAN.encode() not in response.content
    assert not [e.seq for e in Event.objects.all() if PAN in json.dumps(e.data)]


def test_session_revoke_with_a_unicode_digit_is_refused_quietly():
    user = make_user(roles=("agent",))
    client = signed_in_client(user)
    response = client.post("/staff/me/sessions/revoke/", {"session": "²"}, follow=True)
    assert response.status_code == 200
    assert b"That session is not yours or has already ended." in response.content

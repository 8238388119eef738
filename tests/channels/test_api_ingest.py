"""REST ingest for integrations: POST /api/v1/channels/messages with a token holding
channels.ingest (a service account in a custom role: no built-in role has it)."""

from __future__ import annotations

import base64

import pytest
from django.test import Client

from safeguard.accounts import rbac
from safeguard.accounts import services as accounts
from tests.channels.conftest import all_cases, all_messages, stored_counts
from tests.factories import SYSTEM, make_user, ref_hash

pytestmark = pytest.mark.django_db

URL = "/api/v1/channels/messages"
BODY = {"sender": {"email": "carol@customer.example", "name": "Carol"},
        "subject": "Order 1234", "text": "Where is my order?", "external_id": "crm-1"}


def _token(scopes=("channels.ingest",)) -> str:
    accounts.role_create(actor=SYSTEM, slug="integration", name="Integration",
                         permissions=["channels.ingest"])
    user = accounts.user_create(actor=SYSTEM, email="crm@service.example",
                                is_service_account=True, roles=("integration",))
    issued = accounts.token_issue(actor=SYSTEM, user_id=user.id, name="crm", scopes=scopes,
                                  expires_in_days=30)
    return issued.secret


def _post(token: str | None, body) -> object:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return Client().post(URL, data=body, content_type="application/json", **headers)


def test_no_human_role_holds_ingest_by_default():
    assert rbac.get("channels.ingest").roles == frozenset()
    assert rbac.get("channels.manage").roles == frozenset({"administrator"})


def test_an_integration_token_ingests_a_message():
    response = _post(_token(), BODY)
    assert response.status_code == 201
    data = response.json()
    assert data["created_case"] is True
    assert data["duplicate"] is False
    [case] = all_cases()
    assert case.number == data["case_number"]
    assert case.channel == "api"
    [message] = all_messages("api")
    assert message.body == "Where is my order?"
    assert message.external_id == ref_hash("crm-1")


def test_resending_the_same_external_id_is_idempotent():
    token = _token()
    first = _post(token, BODY).json()
    again = _post(token, BODY)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["message_id"] == first["message_id"]
    assert stored_counts()[2] == 1


def test_thread_ref_continues_the_conversation_and_attachments_are_stored():
    token = _token()
    first = _post(token, {**BODY, "thread_ref": "crm-thread-9"}).json()
    second = _post(token, {**BODY, "external_id": "crm-2", "thread_ref": "crm-thread-9",
                           "text": "Receipt attached.",
                           "attachments": [{"filename": "receipt.pdf",
                                            "content_type": "application/pdf",
                                            "content_base64": base64.b64encode(
                                                b"%PDF-1.4").decode()}]})
    assert second.status_code == 201
    assert second.json()["case_id"] == first["case_id"]
    assert second.json()["created_case"] is False
    [_, message] = all_messages("api")
    assert [a.filename for a in message.attachments.all()] == ["receipt.pdf"]


def test_without_a_token_it_is_401():
    response = _post(None, BODY)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert stored_counts() == (0, 0, 0)


def test_a_token_without_ingest_is_403():
    admin = make_user(roles=("administrator",))
    issued = accounts.token_issue(actor=SYSTEM, user_id=admin.id, name="x",
                                  scopes=("accounts.view_users",), expires_in_days=1)
    response = _post(issued.secret, BODY)
    assert response.status_code == 403
    assert stored_counts() == (0, 0, 0)


@pytest.mark.parametrize("body", [
    {"text": "no sender"},
    {**BODY, "unexpected": True},
    {**BODY, "occurred_at": "2026-01-01T10:00:00"},  # naive
    {**BODY, "attachments": [{"filename": "a.pdf", "content_type": "application/pdf",
                              "content_base64": "***not base64***"}]},
    {**BODY, "sender": {"email": "x@y.example", "role": "admin"}},
])
def test_malformed_bodies_are_422_and_store_nothing(body):
    response = _post(_token(), body)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert stored_counts() == (0, 0, 0)


def test_domain_refusals_are_problems_and_store_nothing():
    token = _token()
    no_text = _post(token, {**BODY, "text": ""})
    bad_type = _post(token, {**BODY, "attachments": [
        {"filename": "x.exe", "content_type": "application/x-msdownload",
         "content_base64": base64.b64encode(b"MZ").decode()}]})
    unknown_queue = _post(token, {**BODY, "queue": "no-such-queue"})
    assert no_text.status_code == 422
    assert bad_type.status_code == 422
    assert unknown_queue.status_code == 404
    assert stored_counts() == (0, 0, 0)


def test_the_answer_says_which_attachments_were_withheld_or_quarantined():
    # given an integration posting a clean PDF, a PDF with a card number and a zip called PDF
    from tests.cases import attachment_files as files

    def pdf_file(name: str, data: bytes) -> dict:
        return {"filename": name, "content_type": "application/pdf",
                "content_base64": base64.b64encode(data).decode()}

    body = {**BODY, "attachments": [
        pdf_file("clean.pdf", files.pdf("Total 45.00")),
        pdf_file("card.pdf", files.pdf("card 4111 1111 1111 1111")),
        pdf_file("zip.pdf", files.plain_zip())]}
    # when it is ingested, and again (a resend)
    token = _token()
    first = _post(token, body)
    again = _post(token, body)
    # then the answer names each file's outcome in order, the resend the same
    assert first.status_code == 201
    assert first.json()["attachments"] == ["screened", "withheld", "quarantined"]
    assert again.json()["attachments"] == ["screened", "withheld", "quarantined"]
    assert again.json()["duplicate"] is True

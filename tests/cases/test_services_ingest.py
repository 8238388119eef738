"""The ingest contract of decision 0006: screening, threading, idempotency, attachments."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection

from safeguard.audit.models import Event
from safeguard.cases import services
from safeguard.cases.contracts import (
    AttachmentIn,
    AttachmentRejected,
    ChannelError,
    InvalidInput,
    SenderIn,
)
from safeguard.cases.models import Attachment, Case, Interaction, Message
from tests.cases.conftest import PAN_VISA, inbound, make_queue
from tests.factories import ref_hash

pytestmark = pytest.mark.django_db


def _raw(table: str, column: str, pk) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "{column}" FROM "{table}" WHERE id = %s',
                       [pk.hex if connection.vendor == "sqlite" else pk])
        return bytes(cursor.fetchone()[0])


def test_a_new_email_opens_a_case_in_its_queue_and_is_audited():
    make_queue("billing", first_response_minutes=60, resolution_minutes=480)
    result = inbound("Where is my refund?", external_id="<m1@example.com>")
    case = Case.objects.get(id=result.case_id)
    assert result.created_case
    assert not result.duplicate
    assert case.queue.slug == "billing"
    assert case.status == "new"
    assert (case.first_response_due_at - case.created_at).total_seconds() == 60 * 60
    assert (case.resolution_due_at - case.created_at).total_seconds() == 480 * 60
    assert Message.objects.get(id=result.message_id).body == "Where is my refund?"
    actions = list(Event.objects.filter(subject_type="case", subject_id=str(case.number))
                   .values_list("action", flat=True))
    assert actions == ["case.created", "message.received"]


def test_the_same_external_id_twice_stores_one_message():
    make_queue()
    first = inbound("Hi", external_id="<dup@example.com>")
    events = Event.objects.count()
    second = inbound("Hi", external_id="<dup@example.com>")
    assert second.duplicate is True
    assert (second.case_id, second.message_id) == (first.case_id, first.message_id)
    assert Message.objects.count() == 1
    assert Case.objects.count() == 1
    assert Event.objects.count() == events


def test_a_card_number_is_stored_as_a_token_and_the_column_is_ciphertext():
    # given a customer who pastes a card number into an e-mail
    make_queue()
    result = inbound(f"Please charge my card {PAN_VISA[:4]} {PAN_VISA[4:8]} {PAN_VISA[8:12]} "
                     f"{PAN_VISA[12:]} for the order.")
    # then the stored body carries a token with brand and last four
    body = Message.objects.get(id=result.message_id).body
    assert PAN_VISA not in body.replace(" ", "")
    assert "•••• 1111" in body
    assert "VISA" in body.upper()
    assert "tok_" in body or "[card" in body
    assert "PAN" in Message.objects.get(id=result.message_id).findings
    # and the raw column holds neither the card number nor the clear text
    raw = _raw("cases_message", "body", result.message_id)
    assert PAN_VISA.encode() not in raw
    assert b"1111" not in raw
    assert b"charge my card" not in raw


def test_a_reply_on_the_thread_continues_the_case_and_reopens_it_when_resolved():
    make_queue()
    first = inbound("My order is late", external_id="<a@example.com>")
    case = Case.objects.get(id=first.case_id)
    case.status = "resolved"
    case.save(update_fields=["status"])
    # when the customer answers on the same thread
    second = inbound("Still not here", external_id="<b@example.com>",
                     thread_ref="<a@example.com>")
    case.refresh_from_db()
    assert second.case_id == first.case_id
    assert second.interaction_id == first.interaction_id
    assert not second.created_case
    assert case.status == "open"
    assert case.reopen_count == 1


def test_a_message_on_a_closed_thread_starts_a_new_case():
    make_queue()
    first = inbound("Question", external_id="<c1@example.com>")
    Case.objects.filter(id=first.case_id).update(status="closed")
    second = inbound("Another question", external_id="<c2@example.com>",
                     thread_ref="<c1@example.com>")
    assert second.created_case
    assert second.case_id != first.case_id


def test_a_guessed_thread_reference_cannot_push_into_another_customers_case():
    make_queue()
    ann = inbound("Mine", email="ann@example.com", external_id="<ann@example.com>")
    bob = inbound("Injected", email="bob@example.com", thread_ref="<ann@example.com>")
    assert bob.case_id != ann.case_id
    assert bob.created_case


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"channel": "fax"}, ChannelError),
    ({"text": "   "}, InvalidInput),
    ({"occurred_at": datetime(2025, 1, 1)}, InvalidInput),  # noqa: DTZ001 - naive on purpose
    ({"attachments": [AttachmentIn("x.exe", "application/x-msdownload", b"MZ")]},
     AttachmentRejected),
])
def test_bad_input_is_refused_and_nothing_is_stored(kwargs, error):
    make_queue()
    args = {"channel": "email", "sender": SenderIn(email="ann@example.com"), "text": "hi",
            "queue": "billing", **kwargs}
    with pytest.raises(error):
        services.message_receive(**args)
    assert Case.objects.count() == 0
    assert Message.objects.count() == 0


def test_attachment_over_the_size_limit_is_refused(settings):
    make_queue()
    settings.SAFEGUARD_ATTACHMENT_MAX_BYTES = 10
    with pytest.raises(AttachmentRejected):
        inbound("see file", attachments=[AttachmentIn("a.txt", "text/plain", b"x" * 11)])
    assert Message.objects.count() == 0


def test_text_attachments_are_screened_and_stored_encrypted():
    make_queue()
    result = inbound("see file", attachments=[
        AttachmentIn("card.txt", "text/plain", f"card: {PAN_VISA}\n".encode()),
        AttachmentIn("photo.png", "image/png", b"\x89PNG\r\n\x1a\n...")])
    rows = {a.content_type: a for a in Attachment.objects.filter(message_id=result.message_id)}
    import base64

    text = base64.b64decode(rows["text/plain"].content).decode()
    assert PAN_VISA not in text
    assert "1111" in text
    assert rows["text/plain"].screened
    assert not rows["image/png"].screened
    raw = _raw("cases_attachment", "content", rows["text/plain"].id)
    assert b"card" not in raw
    assert PAN_VISA.encode() not in raw


def test_an_unknown_queue_is_a_clear_error_and_the_default_queue_exists_on_demand():
    from safeguard.cases.contracts import QueueNotFound

    with pytest.raises(QueueNotFound):
        inbound("hi", queue="nope")
    result = inbound("hi", queue=None)
    assert Case.objects.get(id=result.case_id).queue.slug == "general"


def test_chat_start_and_the_customer_side_sees_screened_messages_only_with_the_secret():
    make_queue("chat")
    started = services.chat_start(name="Ann Lee", email="ann@example.com", queue="chat")
    interaction = Interaction.objects.get(thread_ref=ref_hash(started.conversation_id))
    assert interaction.chat_secret_hash
    assert started.secret not in interaction.chat_secret_hash
    services.message_receive(channel="chat", sender=SenderIn(), text=f"card {PAN_VISA}",
                             thread_ref=started.conversation_id)
    msgs = services.chat_messages(conversation_id=started.conversation_id,
                                  secret=started.secret)
    assert [m.id for m in msgs] == [1]
    assert PAN_VISA not in msgs[0].text
    assert "1111" in msgs[0].text
    assert services.chat_messages(conversation_id=started.conversation_id,
                                  secret=started.secret, after_id=1) == []
    from safeguard.cases.contracts import ChatNotFound

    with pytest.raises(ChatNotFound):
        services.chat_messages(conversation_id=started.conversation_id, secret="wrong")


def test_occurred_at_is_kept():
    make_queue()
    at = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    result = inbound("hi", occurred_at=at)
    assert Message.objects.get(id=result.message_id).created_at == at

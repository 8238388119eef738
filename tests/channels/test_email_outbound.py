"""Threaded replies out: an agent's reply goes through cases.outbound to our e-mail sender and
Django's SMTP backend into a real loopback SMTP sink; the customer's answer threads back."""

from __future__ import annotations

import re
from uuid import uuid4

import pytest

from safeguard.accounts import services as accounts
from safeguard.accounts.contracts import Principal
from safeguard.audit.contracts import Actor
from safeguard.cases import outbound
from safeguard.cases import services as cases
from safeguard.cases.contracts import OutboundMessage
from safeguard.channels import mail_out
from safeguard.channels import services as channel_services
from safeguard.channels.contracts import DeliverySuppressed
from tests.channels.conftest import SUPPORT, all_cases, case_messages, interactions, mail
from tests.factories import make_user, ref_hash

pytestmark = pytest.mark.django_db(transaction=True)


def _agent() -> Principal:
    accounts.roles_ensure_builtin()  # a transactional test starts from a flushed database
    user = make_user(roles=("agent",), full_name="Sam Agent")
    cases.queue_member_add(actor=Actor.system("tests"), slug="general", user_id=user.id)
    return Principal(user_id=user.id, email=user.email,
                     permissions=frozenset({"cases.view", "cases.reply", "cases.manage"}),
                     via="session")


def test_the_senders_are_registered_by_the_app():
    assert outbound.sender_for("email") is mail_out.email_send
    assert outbound.sender_for("web") is mail_out.email_send
    assert outbound.sender_for("chat") is channel_services.chat_deliver
    assert outbound.sender_for("voice") is None  # a call is answered on the phone


def test_an_agent_reply_is_threaded_under_the_customers_mail(smtpd, smtp_sink):
    # given a case opened by a customer's mail
    smtpd.send(mail(message_id="<m1@customer.example>"))
    [case] = all_cases()
    # when an agent replies
    cases.message_send(case_number=case.number, principal=_agent(),
                       text="Sorry about that, a new parcel is on its way.")
    # then one mail reaches the customer as a "Re:" with our own Message-ID; the customer's
    # Message-ID was kept as a hash only, so it is not named (nothing readable is stored)
    [sent] = smtp_sink.wait(1)
    _, rcpt, _ = smtp_sink.messages[0]
    assert rcpt == ["alice@customer.example"]
    assert sent["In-Reply-To"] is None
    assert sent["References"] is None
    reply = case_messages(case.number)[-1]
    assert sent["Message-ID"] == mail_out.message_id_for(reply.id)
    assert re.fullmatch(r"<[a-p]{26}\.sg@mail\.example\.com>", sent["Message-ID"])
    assert sent["Subject"] == f"Re: [#{case.number}] My order"
    assert sent["From"] == f"Example Support <{SUPPORT}>"
    assert sent["Auto-Submitted"] is None  # a person wrote it
    assert sent["X-Safeguard-Loop"] == "safeguard@mail.example.com"
    assert "a new parcel is on its way" in sent.get_content()
    # and the stored reply carries that Message-ID's keyed hash as its external id
    reply = case_messages(case.number)[-1]
    assert reply.delivery_status == "sent"
    assert reply.external_id == ref_hash(sent["Message-ID"])


def test_the_customers_answer_to_our_reply_joins_the_same_interaction(smtpd, smtp_sink):
    # given a case, our reply, and the customer's client keeping only In-Reply-To
    smtpd.send(mail(message_id="<m1@customer.example>"))
    [case] = all_cases()
    cases.message_send(case_number=case.number, principal=_agent(), text="Which address?")
    [ours] = smtp_sink.wait(1)
    # when the customer answers our reply
    smtpd.send(mail(subject="Re: My order", body="12 Main Street.",
                    message_id="<m3@customer.example>", In_Reply_To=ours["Message-ID"]))
    # then the answer is on the same case and interaction, and a second reply threads under
    # our first one (minted again from its id: no readable id was stored)
    assert len(all_cases()) == 1
    assert len(interactions("email")) == 1
    cases.message_send(case_number=case.number, principal=_agent(), text="Thanks!")
    second = smtp_sink.wait(2)[1]
    assert second["In-Reply-To"] == ours["Message-ID"]
    assert second["References"].split() == [ours["Message-ID"]]
    assert second["Subject"].startswith("Re: ")


def test_card_numbers_never_leave_in_a_reply(smtpd, smtp_sink):
    smtpd.send(mail())
    [case] = all_cases()
    cases.message_send(case_number=case.number, principal=_agent(),
                       text="We refunded card 4111 1111 1111 1111.")
    [sent] = smtp_sink.wait(1)
    assert "4111 1111 1111 1111" not in sent.as_string()
    assert "card ending 1111" in sent.get_content()  # plain words (issue 15, item 7)
    assert "[card" not in sent.as_string()


first_reply, last_reply = uuid4(), uuid4()


def _outbound(**overrides) -> OutboundMessage:
    values = {"message_id": uuid4(), "case_id": uuid4(), "case_number": 7,
              "customer_id": uuid4(), "channel": "email", "interaction_id": uuid4(),
              "thread_ref": "", "earlier_replies": (first_reply, last_reply),
              "continues_thread": True,
              "subject": "[#7] Refund", "text": "Done.", "author_name": "Sam"}
    values.update(overrides)
    return OutboundMessage(**values)


def test_automatic_messages_are_marked_auto_submitted(mail_routes):
    # given an automatic message (an acknowledgement)
    message = _outbound()
    # when it is built
    email = mail_out.build(message, to="alice@customer.example", automatic=True).message()
    # then it says so, so that auto-responders leave it alone
    assert email["Auto-Submitted"] == "auto-replied"
    assert email["X-Auto-Response-Suppress"] == "All"
    assert email["In-Reply-To"] == mail_out.message_id_for(last_reply)
    assert email["References"] == (f"{mail_out.message_id_for(first_reply)} "
                                   f"{mail_out.message_id_for(last_reply)}")


def test_replies_to_bounce_addresses_and_ourselves_are_suppressed(mail_routes, monkeypatch):
    for address in ("MAILER-DAEMON@relay.example", "postmaster@x.example",
                    "no-reply@shop.example", SUPPORT, ""):
        monkeypatch.setattr(mail_out, "_recipient", lambda customer_id, a=address: a)
        with pytest.raises(DeliverySuppressed):
            mail_out.email_send(_outbound())


def test_replies_per_recipient_are_rate_limited(mail_routes, smtp_sink, settings, monkeypatch):
    # given a limit of two replies an hour to one address
    settings.SAFEGUARD_EMAIL_REPLY_LIMIT = "2/h"
    monkeypatch.setattr(mail_out, "_recipient", lambda customer_id: "loop@customer.example")
    # when a third reply would go out within the hour
    mail_out.email_send(_outbound())
    mail_out.email_send(_outbound())
    with pytest.raises(DeliverySuppressed):
        mail_out.email_send(_outbound())
    # then only two were sent
    assert len(smtp_sink.wait(2)) == 2


def test_a_suppressed_reply_shows_as_failed_to_the_agent(smtpd, smtp_sink, settings):
    # given a loop brake of one reply per hour
    settings.SAFEGUARD_EMAIL_REPLY_LIMIT = "1/h"
    smtpd.send(mail())
    [case] = all_cases()
    agent = _agent()
    # when the agent replies twice
    cases.message_send(case_number=case.number, principal=agent, text="First.")
    cases.message_send(case_number=case.number, principal=agent, text="Second.")
    # then the second is kept as failed with the reason, never silently dropped
    replies = [m for m in case_messages(case.number) if m.author_kind == "agent"]
    assert [r.delivery_status for r in replies] == ["sent", "failed"]
    assert "DeliverySuppressed" in replies[1].delivery_error
    assert len(smtp_sink.wait(1)) == 1


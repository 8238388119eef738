"""E-mail in over real SMTP on loopback: `safeguard smtpd`'s server in a thread, smtplib as the
relay. The server thread writes through its own database connection, hence transactional_db."""

from __future__ import annotations

import smtplib

import pytest

from safeguard.audit.contracts import Actor
from safeguard.cases import services as cases
from tests.channels.conftest import (
    BILLING,
    SUPPORT,
    all_cases,
    all_messages,
    case_messages,
    interactions,
    mail,
    stored_counts,
)
from tests.factories import ref_hash

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_mail_becomes_a_case_with_its_text_screened(smtpd):
    # given a customer's mail with a card number in it
    msg = mail(body="Please refund, card 4111 1111 1111 1111 was charged twice.")
    # when it is delivered over SMTP
    refused = smtpd.send(msg)
    # then it is accepted and stored as the first message of a new e-mail case
    assert refused == {}
    [case] = all_cases()
    assert case.channel == "email"
    assert case.queue.slug == "general"
    [message] = case_messages(case.number)
    assert message.external_id == ref_hash("<m1@customer.example>")
    assert message.author_kind == "customer"
    assert "4111 1111 1111 1111" not in message.body
    assert "•••• 1111" in message.body  # tokenized by the screening in cases.services
    assert "Please refund" in message.body


def test_a_reply_with_in_reply_to_joins_the_same_interaction(smtpd):
    # given a first mail
    smtpd.send(mail())
    # when the customer writes again, answering it
    smtpd.send(mail(subject="Re: My order", body="Any news?", message_id="<m2@customer.example>",
                    In_Reply_To="<m1@customer.example>",
                    References="<m1@customer.example>"))
    # then both messages sit on one case, in one interaction
    [case] = all_cases()
    messages = case_messages(case.number)
    assert [m.external_id for m in messages] == [ref_hash("<m1@customer.example>"),
                                                  ref_hash("<m2@customer.example>")]
    assert len({m.interaction_id for m in messages}) == 1
    assert len(interactions("email")) == 1


def test_a_new_thread_from_the_same_customer_is_a_new_case(smtpd):
    smtpd.send(mail())
    smtpd.send(mail(subject="Another thing", message_id="<other@customer.example>"))
    assert len(all_cases()) == 2


def test_a_duplicate_message_id_stores_nothing_new(smtpd):
    # given a mail already received
    smtpd.send(mail())
    before = stored_counts()
    # when the relay delivers it again (a retry after a lost 250)
    refused = smtpd.send(mail())
    # then it is accepted (so the relay stops retrying) and nothing new is stored
    assert refused == {}
    assert stored_counts() == before


@pytest.mark.parametrize(("headers", "mail_from"), [
    ({"Auto_Submitted": "auto-replied"}, None),
    ({"Auto_Submitted": "auto-generated"}, None),
    ({"Precedence": "bulk"}, None),
    ({"Precedence": "junk"}, None),
    ({"Precedence": "list"}, None),
    ({"X_Auto_Response_Suppress": "All"}, None),
    ({"X_Autoreply": "yes"}, None),
    ({}, "<>"),  # the null sender: a delivery status notification
])
def test_auto_replies_and_bounces_are_accepted_and_dropped(smtpd, headers, mail_from):
    # given an automatic message (out-of-office, bulk, bounce)
    msg = mail(subject="Out of office", body="I am away.", message_id="<auto@customer.example>",
               **headers)
    # when it is delivered
    if mail_from == "<>":
        refused = smtpd.send(msg.as_bytes(), mail_from="", rcpt=[SUPPORT])
    else:
        refused = smtpd.send(msg)
    # then the server takes it (no bounce back) but stores nothing, so nothing answers it
    assert refused == {}
    assert stored_counts() == (0, 0, 0)


def test_mailer_daemon_reports_and_our_own_mail_are_dropped(smtpd):
    report = mail(frm="Mail Delivery System <MAILER-DAEMON@mx.customer.example>",
                  subject="Undelivered Mail Returned to Sender", message_id="<b1@mx.example>")
    own = mail(frm=f"Support <{SUPPORT}>", subject="Re: [#1] My order",
               message_id="<loop@mail.example.com>")
    looped = mail(subject="Re: something", message_id="<l2@customer.example>",
                  X_Safeguard_Loop="safeguard@mail.example.com")
    for msg in (report, own, looped):
        assert smtpd.send(msg) == {}
    assert stored_counts() == (0, 0, 0)


def test_multipart_report_bounce_is_dropped(smtpd):
    raw = (b"From: postmaster@relay.example\r\nTo: support@example.com\r\n"
           b"Subject: Delivery Status Notification (Failure)\r\nMessage-ID: <dsn@relay.example>\r\n"
           b"MIME-Version: 1.0\r\n"
           b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
           b"--b\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
           b"--b\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n--b--\r\n")
    assert smtpd.send(raw, mail_from="bounces@relay.example") == {}
    assert stored_counts() == (0, 0, 0)


def test_unknown_recipients_are_refused_at_rcpt_time(smtpd):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        smtpd.send(mail(to="nobody@example.com"), rcpt=["nobody@example.com"])
    assert refused.value.recipients["nobody@example.com"][0] == 550
    assert stored_counts() == (0, 0, 0)


def test_the_recipient_address_picks_the_queue(smtpd):
    # given a billing queue behind billing@
    cases.queue_create(actor=Actor.system("tests"), slug="billing", name="Billing")
    # when a mail arrives for billing@
    smtpd.send(mail(to=BILLING), rcpt=[BILLING])
    # then its case is in that queue
    [case] = all_cases()
    assert case.queue.slug == "billing"


def test_a_message_over_the_size_limit_is_refused(smtpd):
    big = mail(body="x" * 300_000)
    with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as refused:
        smtpd.send(big)
    assert refused.value.smtp_code == 552
    assert stored_counts() == (0, 0, 0)


def test_a_refused_attachment_is_named_and_the_mail_kept(smtpd):
    # given a mail with a PDF and an executable
    msg = mail(body="Invoice attached.")
    msg.add_attachment(b"%PDF-1.4 invoice", maintype="application", subtype="pdf",
                       filename="invoice.pdf")
    msg.add_attachment(b"MZ\x90\x00", maintype="application", subtype="x-msdownload",
                       filename="setup.exe")
    # when it is delivered
    assert smtpd.send(msg) == {}
    # then the PDF is stored, the executable is named in the text, not stored
    [message] = all_messages("email")
    assert [a.filename for a in message.attachments.all()] == ["invoice.pdf"]
    assert "setup.exe" in message.body
    assert "not stored" in message.body


def test_a_domain_refusal_is_a_permanent_550(smtpd, settings):
    # given a queue mapping that names a queue which does not exist
    settings.SAFEGUARD_EMAIL_QUEUES = {SUPPORT: "no-such-queue"}
    # when mail arrives for it
    with pytest.raises(smtplib.SMTPDataError) as refused:
        smtpd.send(mail())
    # then the relay gets a 550 (it bounces to the sender) and nothing is stored
    assert refused.value.smtp_code == 550
    assert stored_counts() == (0, 0, 0)


def test_a_subject_only_mail_is_kept(smtpd):
    msg = mail(subject="Please call me back", body="")
    assert smtpd.send(msg) == {}
    [message] = all_messages("email")
    assert message.body == "Please call me back"


def test_an_unexpected_failure_is_a_temporary_451_so_the_relay_retries(smtpd, monkeypatch):
    # given an outage inside the ingest (the database went away)
    from safeguard.channels import services as channel_services

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(channel_services, "email_receive", broken)
    # when mail arrives
    with pytest.raises(smtplib.SMTPDataError) as deferred:
        smtpd.send(mail())
    # then the relay is told to try again later, and keeps the message
    assert deferred.value.smtp_code == 451
    assert stored_counts() == (0, 0, 0)

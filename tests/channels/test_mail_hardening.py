"""Inbound e-mail hardening (issue 8 e-mail HTML, issue 17 item 8, issue 9 item 12; R-OPS-2):
every HTML part and encoded-word subject reaches screening as text, parsing is bounded and what
can never be parsed gets a permanent 5xx at once, long mails are kept (cut, with the full text
attached), NUL and ANSI escapes never reach storage, and the web form's own screening policy
applies."""

from __future__ import annotations

import base64
import re
import smtplib
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from django.test import Client

from safeguard.channels import mailparse, smtp
from safeguard.channels.mailparse import MailLimits, MailUnparseable, clean_text, html_to_text
from tests.channels.conftest import (
    SUPPORT,
    Smtpd,
    all_cases,
    all_messages,
    free_port,
    stored_counts,
)

CARD = "4111111111111111"


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _nested(depth: int) -> bytes:
    head = (b"From: Alice <alice@customer.example>\r\nTo: support@example.com\r\n"
            b"Subject: deep\r\nMessage-ID: <deep@customer.example>\r\nMIME-Version: 1.0\r\n")
    body = b""
    for i in range(depth):
        body += f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode()
    body += b"Content-Type: text/plain\r\n\r\nhello from the bottom\r\n"
    for i in reversed(range(depth)):
        body += f"--b{i}--\r\n".encode()
    return head + body


def _many_recipients(count: int) -> bytes:
    to = ",\r\n ".join(f"user{i}@example.test" for i in range(count))
    return (f"From: alice@customer.example\r\nTo: {to}\r\nSubject: hi\r\n"
            f"Message-ID: <wide@customer.example>\r\n\r\nhello\r\n").encode()


# --- HTML to text (pure) ------------------------------------------------------------------------

@pytest.mark.parametrize("html", [
    "<p>card 4111 1111<br>1111 1111 thanks</p>",
    "<div>card 4111 1111</div><div>1111 1111 thanks</div>",
    "<div>card 4111 1111</div>\n<div>1111 1111 thanks</div>",
    "<div><div>card 4111 1111</div></div><div><span>1111 1111 thanks</span></div>",
])
def test_a_card_split_by_br_or_div_becomes_groups_on_consecutive_lines(html):
    assert html_to_text(html) == "card 4111 1111\n1111 1111 thanks"


def test_paragraphs_and_explicit_blank_lines_are_kept():
    assert html_to_text("<p>one</p><p>two</p>") == "one\n\ntwo"
    assert html_to_text("a<br><br>b") == "a\n\nb"
    assert html_to_text("<ul><li>x</li><li>y</li></ul>") == "- x\n- y"


def test_every_html_part_becomes_text_html_attachments_included():
    # given a mail whose body is plain text, with an HTML file attached
    msg = EmailMessage()
    msg["From"] = "alice@customer.example"
    msg["To"] = SUPPORT
    msg["Subject"] = "invoice"
    msg.set_content("see attached")
    msg.add_attachment("<html><body><script>x()</script><div>total</div><div>42</div>"
                       "</body></html>", subtype="html", filename="invoice.html")
    # when it is parsed
    parsed = mailparse.parse_message(msg.as_bytes())
    # then the HTML file is kept as its visible text, no markup
    [attachment] = parsed.attachments
    assert (attachment.filename, attachment.content_type) == ("invoice.html.txt", "text/plain")
    assert attachment.data.decode() == "total\n42"


def test_subject_encoded_words_are_decoded_before_screening():
    raw = (b"From: alice@customer.example\r\nTo: support@example.com\r\n"
           b"Subject: =?utf-8?q?card_4111_1111?= =?utf-8?b?IDExMTEgMTExMQ==?=\r\n"
           b"Message-ID: <s@customer.example>\r\n\r\nbody\r\n")
    assert mailparse.parse_message(raw).subject == "card 4111 1111 1111 1111"


# --- hostile text (pure) ------------------------------------------------------------------------

def test_nul_ansi_and_control_characters_are_removed():
    text = "ok\x00 \x1b[31mred\x1b[0m \x1b]0;title\x07t\x9b2Jab\tc\r\nd\x08e\x7f"
    assert clean_text(text) == "ok red tab\tc\nde"


def test_a_parsed_mail_holds_no_nul_or_escape():
    raw = (b"From: Evil <evil@customer.example>\r\nTo: support@example.com\r\n"
           b"Subject: hi\x1b[31m there\r\nMessage-ID: <n@customer.example>\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n\r\nnul\x00here \x1b[1mbold\x1b[0m\r\n")
    parsed = mailparse.parse_message(raw)
    assert (parsed.subject, parsed.from_name, parsed.text) == ("hi there", "Evil", "nulhere bold")


# --- bounds (pure) ------------------------------------------------------------------------------

def test_a_1000_deep_multipart_is_unparseable_not_a_crash():
    with pytest.raises(MailUnparseable, match="MIME parts"):
        mailparse.parse_message(_nested(1000))


def test_nesting_beyond_the_depth_limit_is_refused_and_within_it_parses():
    with pytest.raises(MailUnparseable, match="nested deeper than 20 levels"):
        mailparse.parse_message(_nested(25))
    assert mailparse.parse_message(_nested(15)).text == "hello from the bottom"


def test_a_huge_folded_to_header_is_refused_and_a_long_list_is_capped():
    with pytest.raises(MailUnparseable, match="header larger than 131072 bytes"):
        mailparse.parse_message(_many_recipients(60_000))
    parsed = mailparse.parse_message(_many_recipients(3_000))
    assert parsed.to == tuple(f"user{i}@example.test" for i in range(100))
    capped = mailparse.parse_message(_many_recipients(3_000), limits=MailLimits(max_addresses=5))
    assert capped.to[-1] == "user4@example.test"
    assert mailparse.header_recipients(_many_recipients(60_000)) == ()


# --- over SMTP on loopback ----------------------------------------------------------------------

@pytest.fixture
def big_smtpd(mail_routes) -> Iterator[Smtpd]:
    """Our inbound server with a 5 MB size limit, so the header bound is what refuses."""
    port = free_port()
    server = smtp.controller(host="127.0.0.1", port=port, max_bytes=5_000_000)
    server.start()
    try:
        yield Smtpd(host="127.0.0.1", port=port)
    finally:
        server.stop()
        server.handler.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("raw", "reason"), [
    (_nested(1000), b"more than 200 MIME parts"),
    (_nested(30), b"MIME parts nested deeper than 20 levels"),
    (_many_recipients(60_000), b"header larger than 131072 bytes"),
])
def test_what_can_never_be_parsed_gets_a_permanent_5xx(big_smtpd, raw, reason):
    # when the relay delivers it
    with pytest.raises(smtplib.SMTPDataError) as refused:
        big_smtpd.send(raw, mail_from="alice@customer.example")
    # then it is refused for good (5xx, not 451), saying why, and nothing is stored
    assert refused.value.smtp_code == 554
    assert reason in refused.value.smtp_error
    assert stored_counts() == (0, 0, 0)


@pytest.mark.django_db(transaction=True)
def test_a_mail_longer_than_100000_characters_is_kept_cut_with_its_full_text_attached(smtpd):
    # given a 150,000-character mail (lines of 99 characters plus a newline)
    lines = [f"line {i:05d} " + "x" * 88 for i in range(1500)]
    msg = EmailMessage()
    msg["From"] = "alice@customer.example"
    msg["To"] = SUPPORT
    msg["Subject"] = "long"
    msg["Message-ID"] = "<long@customer.example>"
    msg.set_content("\n".join(lines))
    # when it is delivered
    assert smtpd.send(msg) == {}
    # then the body is cut at a line before the limit, with a note saying where the rest is
    [message] = all_messages("email")
    body = message.body
    assert len(body) <= 100_000
    assert body.startswith("line 00000 ")
    assert body.endswith("the full text is attached as message-full-text.txt.]")
    assert "line 00900 " in body
    assert "line 01499 " not in body
    # and the full text is stored as a screened text attachment
    [attachment] = list(message.attachments.all())
    assert attachment.filename == "message-full-text.txt"
    assert attachment.screened is True
    full = base64.b64decode(attachment.content).decode()
    assert full.splitlines() == lines


@pytest.mark.django_db(transaction=True)
def test_nul_bytes_and_ansi_escapes_never_reach_storage(smtpd):
    raw = (b"From: Alice <alice@customer.example>\r\nTo: support@example.com\r\n"
           b"Subject: \x1b[31mRefund\x1b[0m please\r\nMessage-ID: <nul@customer.example>\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
           b"my order\x00 \x1b]8;;http://evil.example\x07link\x1b]8;;\x07 is late\r\n")
    assert smtpd.send(raw, mail_from="alice@customer.example") == {}
    [case] = all_cases()
    [message] = all_messages("email")
    assert message.body == "my order link is late"
    assert case.subject == "Refund please"


@pytest.mark.django_db(transaction=True)
def test_an_html_only_mail_is_screened_as_its_text(smtpd):
    # given an HTML-only mail whose card number is broken up by inline markup and entities
    msg = EmailMessage()
    msg["From"] = "alice@customer.example"
    msg["To"] = SUPPORT
    msg["Subject"] = "=?utf-8?q?card_4111_1111_1111_1111?="
    msg["Message-ID"] = "<html@customer.example>"
    msg.set_content("<div>my card <b>4111</b> 1111 &#49;111 <span>1111</span> was charged"
                    "</div>", subtype="html")
    # when it is delivered
    assert smtpd.send(msg) == {}
    # then neither the body nor the subject holds the card number
    [case] = all_cases()
    [message] = all_messages("email")
    assert "my card" in message.body
    assert "was charged" in message.body
    assert "•••• 1111" in message.body
    assert CARD not in _digits(message.body)
    assert CARD not in _digits(case.subject)
    assert "<div>" not in message.body


@pytest.mark.django_db
def test_the_web_form_is_screened_with_the_webform_policy():
    # given a contact form message with an e-mail address and a phone number in its text
    Client().post("/contact/", {
        "name": "Bob Buyer", "email": "bob@customer.example", "subject": "Wrong size",
        "message": "Write to carol@other.example or call +44 20 7946 0958 please."})
    # then the web form's policy applied (hash), not the message-body policy (keep)
    [message] = all_messages("web")
    assert "carol@other.example" not in message.body
    assert "7946 0958" not in message.body
    assert re.search(r"\[EMAIL #[0-9a-f]{12}\]", message.body)
    assert re.search(r"\[PHONE #[0-9a-f]{12}\]", message.body)

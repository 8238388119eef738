"""E-mail attachments over SMTP on loopback (issue 8; R-OPS-2): a PDF, a picture or a Word file
with a card number is withheld, the mail itself is kept, and the customer is told by an
automatic reply through the real outbound path; files without one are stored as sent; a zip
declared as a PDF is quarantined, never read as a PDF."""

from __future__ import annotations

import pytest

from tests.cases import attachment_files as files
from tests.channels.conftest import all_messages, mail
from tests.factories import everything_stored

pytestmark = pytest.mark.django_db(transaction=True)

PAN = "5500 0055 5555 5559"  # Mastercard test number, Luhn-valid


def _with(*attachments: tuple[str, str, str, bytes]):
    msg = mail(body="Please see the attached files.")
    for name, maintype, subtype, data in attachments:
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


def _states() -> list[tuple[str, str]]:
    [message] = [m for m in all_messages("email") if m.author_kind == "customer"]
    return [(a.filename, a.state) for a in message.attachments.order_by("position")]


def test_a_mail_with_card_files_is_kept_the_files_withheld_and_the_customer_told(
        smtpd, smtp_sink):
    # given a mail carrying a PDF, a PNG and a docx that show a card number, and a clean docx
    msg = _with(("statement.pdf", "application", "pdf", files.pdf(f"Card {PAN}")),
                ("card.png", "image", "png", files.png(PAN)),
                ("form.docx", "application",
                 "vnd.openxmlformats-officedocument.wordprocessingml.document",
                 files.docx(("card 5500 0055", " 5555 5559"))),
                ("notes.docx", "application",
                 "vnd.openxmlformats-officedocument.wordprocessingml.document",
                 files.docx("The parcel never came.")))
    # when it is delivered over SMTP
    assert smtpd.send(msg) == {}
    # then the mail is kept, the three card files withheld and the clean one stored
    assert _states() == [("statement.pdf", "withheld"), ("card.png", "withheld"),
                         ("form.docx", "withheld"), ("notes.docx", "screened")]
    # and the customer gets one automatic reply naming the withheld files
    [notice] = smtp_sink.wait(1)
    assert notice["To"] == "alice@customer.example"
    assert notice["Auto-Submitted"] == "auto-replied"
    body = notice.get_content()
    assert '"statement.pdf", "card.png", "form.docx"' in body
    assert "contained a card number" in body
    # and no digit run of the card is anywhere in the database or the data directory
    stored = everything_stored()
    assert PAN.replace(" ", "") not in stored
    assert PAN not in stored


def test_a_zip_declared_as_a_pdf_or_as_text_is_quarantined_not_read_as_one(smtpd, smtp_sink):
    # given a mail whose "PDF" and "text" are zip archives
    archive = files.plain_zip(**{"card.txt": f"card {PAN}"})
    msg = _with(("invoice.pdf", "application", "pdf", archive))
    msg.add_attachment(archive, maintype="text", subtype="plain", filename="notes.txt")
    # when it is delivered
    assert smtpd.send(msg) == {}
    # then both are quarantined as sent (a zip stays a zip), and nobody is told anything
    assert _states() == [("invoice.pdf", "quarantined"), ("notes.txt", "quarantined")]
    [message] = all_messages("email")
    assert [a.content_type for a in message.attachments.order_by("position")] == [
        "application/zip", "application/zip"]
    assert smtp_sink.messages == []

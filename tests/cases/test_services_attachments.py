"""Attachment screening (issue 8 items 2–3, issue 17 item 8; R-OPS-2, R-DATA-1, R-DATA-2).

PDF, PNG (rendered here and read back by Tesseract), docx and xlsx files with and without a card
number: without one the file is stored as sent; with one it is withheld, nothing of it reaches
any column or file, and the customer is told on the channel. Files that cannot be screened
(encrypted PDF, unknown type, a type that disagrees with the content, OCR failure, over a limit)
are quarantined, and a quarantined file opens only with ``cases.attachment_quarantine`` and a
fresh second factor, every open and refusal audited.
"""

from __future__ import annotations

import base64
import io
import os
import zipfile

import pytest

from safeguard.audit.models import Event
from safeguard.cases import outbound, selectors, services
from safeguard.cases.contracts import (
    AttachmentIn,
    AttachmentUnavailable,
    QuarantineDenied,
)
from safeguard.cases.models import Attachment, Message
from tests.cases import attachment_files as files
from tests.cases.conftest import inbound, make_agent, make_queue, principal_for
from tests.factories import everything_stored

pytestmark = pytest.mark.django_db

PAN = "4111 1111 1111 1111"
PAN_DIGITS = PAN.replace(" ", "")
PDF = "application/pdf"
PNG = "image/png"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

WITH_CARD = {
    "pdf": ("invoice.pdf", PDF, lambda: files.pdf("Invoice 2291", f"Paid with card {PAN}",
                                                   "CVV 123")),
    "png": ("card.png", PNG, lambda: files.png(PAN)),
    "docx": ("letter.docx", DOCX, lambda: files.docx("Dear support,",
                                                      ("my card is 4111 1111", " 1111 1111"))),
    "xlsx": ("payments.xlsx", XLSX, lambda: files.xlsx("Payment", PAN_DIGITS)),
}
WITHOUT_CARD = {
    "pdf": ("invoice.pdf", PDF, lambda: files.pdf("Invoice 2291", "Total 45.00 EUR")),
    "png": ("receipt.png", PNG, lambda: files.png("RECEIPT PAID")),
    "docx": ("letter.docx", DOCX, lambda: files.docx("Dear support,", "the parcel is late.")),
    "xlsx": ("items.xlsx", XLSX, lambda: files.xlsx("Item", "Blue mug")),
}


@pytest.fixture
def queue():
    return make_queue("billing")


def _send(*attachments: tuple[str, str, bytes], text: str = "See attached.", **kwargs):
    return inbound(text, attachments=[AttachmentIn(filename=n, content_type=t, content=c)
                                      for n, t, c in attachments], **kwargs)


def _only_attachment() -> Attachment:
    [row] = Attachment.objects.all()
    return row


@pytest.mark.parametrize("kind", sorted(WITHOUT_CARD))
def test_a_file_without_a_card_number_is_screened_and_stored_as_sent(queue, kind):
    # given a customer's file with no card number in it
    name, declared, make = WITHOUT_CARD[kind]
    content = make()
    # when it arrives with a message
    result = _send((name, declared, content))
    # then it is stored (encrypted) byte for byte, marked screened, with its content's type
    row = _only_attachment()
    assert (row.state, row.screened, row.reason) == ("screened", True, "")
    assert row.content_type == declared
    assert base64.b64decode(row.content) == content
    assert result.attachments == ("screened",)
    # and an agent of the queue can download it
    agent = make_agent("billing")
    view, data = selectors.attachment_get(principal=principal_for(agent),
                                          number=result.case_number, attachment_id=row.id)
    assert data == content
    assert view.filename == name


@pytest.mark.parametrize("kind", sorted(WITH_CARD))
def test_a_file_with_a_card_number_is_withheld_and_nothing_of_it_is_stored(
        queue, kind, django_capture_on_commit_callbacks):
    # given a customer's file showing a card number (text, or a picture of it)
    name, declared, make = WITH_CARD[kind]
    # when it arrives with a message
    with django_capture_on_commit_callbacks(execute=False):
        result = _send((name, declared, make()))
    # then the message is kept but the file is withheld: a row saying so, no content at all
    row = _only_attachment()
    assert (row.state, row.reason, row.content) == ("withheld", "it contained a card number", "")
    assert row.size == len(make())  # only the size is kept, to tell the agent what it was
    assert result.attachments == ("withheld",)
    customer_message = Message.objects.get(id=result.message_id)
    assert "PAN" in customer_message.findings
    # and the customer is told on their channel: a system notice on the same thread
    notice = Message.objects.exclude(id=result.message_id).get()
    assert notice.author_kind == "system"
    assert notice.interaction_id == customer_message.interaction_id
    assert notice.delivery_status == "pending"
    assert f'"{name}"' in notice.body
    assert "contained a card number" in notice.body
    # and no digit run of the card is in any column of the database or file of the data dir
    stored = everything_stored()
    assert PAN_DIGITS not in stored
    assert PAN not in stored
    # and the agent cannot download anything, and the refusal is recorded
    agent = make_agent("billing")
    with pytest.raises(AttachmentUnavailable):
        selectors.attachment_get(principal=principal_for(agent), number=result.case_number,
                                 attachment_id=row.id)
    assert Event.objects.filter(action="attachment.download_refused", outcome="denied").exists()


def test_a_text_attachment_is_still_screened_and_stored_tokenized(queue):
    # given a text file with a card number (text attachments stay screened as before)
    _send(("note.txt", "text/plain", f"my card {PAN}".encode()))
    # then it is stored with the card tokenized, not withheld
    row = _only_attachment()
    assert row.state == "screened"
    stored_text = base64.b64decode(row.content).decode()
    assert PAN not in stored_text
    assert "1111" in stored_text


@pytest.mark.parametrize(("name", "declared", "make", "why"), [
    ("locked.pdf", PDF, lambda: files.encrypted_pdf(f"card {PAN}"), "encrypted"),
    ("carrier.pdf", PDF, lambda: files.pdf_with_embedded_file("card.txt", PAN.encode()),
     "embedded files"),
    ("blob.png", PNG, lambda: os.urandom(2048), "type that cannot be screened"),
    ("broken.png", PNG, lambda: files.png("HELLO")[:60] + b"\x00" * 200, "cannot be decoded"),
    ("archive.pdf", PDF, lambda: files.plain_zip(**{"card.txt": PAN}), "zip"),
    ("notes.txt", "text/plain", lambda: files.plain_zip(**{"card.txt": PAN}), "zip"),
    ("letter.pdf", PDF, lambda: files.docx("hello"), "declared as application/pdf"),
    ("photo.png", PNG, lambda: files.pdf("hello"), "declared as image/png"),
])
def test_a_file_that_cannot_be_screened_is_quarantined_as_sent(queue, name, declared, make,
                                                                why):
    # given a file that cannot be screened as what it claims (or at all)
    content = make()
    # when it arrives
    result = _send((name, declared, content))
    # then it is kept encrypted, flagged with the reason, and never "screened"
    row = _only_attachment()
    assert row.state == "quarantined"
    assert row.screened is False
    assert why in row.reason
    assert base64.b64decode(row.content) == content  # not mangled (a zip stays a zip)
    assert result.attachments == ("quarantined",)
    # and no notice is sent (nothing was withheld)
    assert Message.objects.count() == 1


def test_the_stored_quarantined_content_is_ciphertext(queue):
    # given a quarantined zip holding a card number in clear
    _send(("archive.pdf", PDF, files.plain_zip(**{"card.txt": f"card {PAN}"})))
    # then neither the card nor the file's bytes are readable in the database (encrypted field)
    stored = everything_stored()
    assert PAN not in stored
    assert base64.b64encode(files.plain_zip(**{"card.txt": f"card {PAN}"})).decode() not in stored


def test_limits_quarantine_what_they_bound(queue, settings):
    # given limits below what these files need
    settings.SAFEGUARD_ATTACHMENT_SCREEN_MAX_BYTES = 100
    _send(("big.pdf", PDF, files.pdf("x" * 200)))
    assert "screening limit of 100 bytes" in _only_attachment().reason
    Attachment.objects.all().delete()
    settings.SAFEGUARD_ATTACHMENT_SCREEN_MAX_BYTES = 8 * 1024 * 1024
    settings.SAFEGUARD_ATTACHMENT_MAX_PIXELS = 1000
    _send(("card.png", PNG, files.png(PAN)))
    assert "larger than 1000 pixels" in _only_attachment().reason


def test_an_ocr_failure_quarantines_the_image(queue, settings):
    # given OCR that cannot run (a language pack that is not installed)
    settings.SAFEGUARD_ATTACHMENT_OCR_LANG = "xx-not-installed"
    # when an image arrives
    _send(("card.png", PNG, files.png(PAN)))
    # then it is quarantined, never passed as screened
    row = _only_attachment()
    assert (row.state, row.reason) == ("quarantined", "text recognition failed")


def test_an_office_zip_bomb_is_quarantined_without_unpacking_it(queue):
    # given a docx whose one part unpacks to 40 MB of zeros (a few KB compressed)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"0" * 40_000_000)
    # when it arrives
    _send(("bomb.docx", DOCX, out.getvalue()))
    # then it is quarantined for its compression ratio
    assert "zip bomb" in _only_attachment().reason


def test_a_scanned_pdf_is_read_by_ocr_and_withheld(queue):
    # given a PDF that is only a picture of a card number (no text layer)
    _send(("scan.pdf", PDF, files.scanned_pdf(PAN)))
    # then its image was OCR'd and the file withheld
    assert _only_attachment().state == "withheld"


def test_a_pdf_whose_comment_holds_a_card_number_is_withheld(queue):
    # given a PDF whose page text is harmless but whose comment is not
    _send(("notes.pdf", PDF, files.pdf_with_comment("Meeting notes", f"card {PAN}")))
    # then the comment was read and the file withheld
    assert _only_attachment().state == "withheld"


def test_a_docx_with_a_picture_of_a_card_is_withheld(queue):
    # given a Word file whose text is harmless but which embeds a picture of a card
    content = files.docx("Please see the photo.", media={"image1.png": files.png(PAN)})
    # when it arrives
    _send(("photo.docx", DOCX, content))
    # then the picture was read and the file withheld
    assert _only_attachment().state == "withheld"


def test_quarantine_opens_only_with_the_permission_and_step_up_and_is_audited(queue):
    # given a quarantined file on a case
    content = files.encrypted_pdf(f"card {PAN}")
    result = _send(("locked.pdf", PDF, content))
    row = _only_attachment()
    agent = make_agent("billing")
    supervisor = make_agent("billing", roles=("supervisor",))
    # when an agent without the permission asks, even with a fresh second factor
    with pytest.raises(QuarantineDenied):
        selectors.attachment_quarantine_open(principal=principal_for(agent),
                                             number=result.case_number, attachment_id=row.id,
                                             step_up_fresh=True)
    # and the supervisor asks without a fresh second factor
    with pytest.raises(QuarantineDenied):
        selectors.attachment_quarantine_open(principal=principal_for(supervisor),
                                             number=result.case_number, attachment_id=row.id,
                                             step_up_fresh=False)
    # and the normal download path is asked for it
    with pytest.raises(AttachmentUnavailable):
        selectors.attachment_get(principal=principal_for(supervisor), number=result.case_number,
                                 attachment_id=row.id)
    # then every refusal is recorded, with why
    denied = list(Event.objects.filter(action="attachment.quarantine_denied")
                  .order_by("seq").values_list("actor_label", "outcome", "data"))
    assert [(label, outcome, data["why"]) for label, outcome, data in denied] == [
        (agent.email, "denied", "permission"), (supervisor.email, "denied", "step-up required")]
    assert Event.objects.filter(action="attachment.download_refused").count() == 1
    # when the supervisor asks with a fresh second factor
    view, data = selectors.attachment_quarantine_open(
        principal=principal_for(supervisor), number=result.case_number, attachment_id=row.id,
        step_up_fresh=True)
    # then the file comes back as sent, and the open is recorded with the reason
    assert data == content
    assert view.state == "quarantined"
    opened = Event.objects.get(action="attachment.quarantine_opened")
    assert opened.actor_label == supervisor.email
    assert opened.data["reason"] == row.reason


def test_quarantine_is_scoped_to_the_cases_the_user_may_see(queue):
    # given a quarantined file on a case of a queue the supervisor does not work
    make_queue("vip")
    result = _send(("locked.pdf", PDF, files.encrypted_pdf("x")), queue="vip")
    row = _only_attachment()
    supervisor = make_agent("billing", roles=("supervisor",))
    # when they try to open it
    from safeguard.cases.contracts import CaseNotFound

    with pytest.raises(CaseNotFound):
        selectors.attachment_quarantine_open(principal=principal_for(supervisor),
                                             number=result.case_number, attachment_id=row.id,
                                             step_up_fresh=True)
    # then the refusal is recorded too
    assert Event.objects.filter(action="attachment.quarantine_denied",
                                data__why="not found").count() == 1


def test_an_agents_files_are_screened_like_inbound_ones_and_only_screened_ones_leave(
        queue, django_capture_on_commit_callbacks):
    # given a case, an agent and a sender that records what it is handed (issue 15)
    result = inbound("Hello")
    agent = make_agent("billing")
    handed = []
    outbound.register("email", lambda out: handed.append(out) or "<id@x>")
    # when the agent replies with a file holding a card number, one that cannot be screened
    # and a clean text file
    with django_capture_on_commit_callbacks(execute=True):
        sent = services.reply_send(
            case_number=result.case_number, principal=principal_for(agent),
            text="See attached", attachments=[
                AttachmentIn("card.pdf", PDF, WITH_CARD["pdf"][2]()),
                AttachmentIn("locked.pdf", PDF, files.encrypted_pdf("x")),
                AttachmentIn("steps.txt", "text/plain", b"Restart the router.")])
    # then the reply is stored with each file screened as an inbound one would be
    assert sent.attachments == ("withheld", "quarantined", "screened")
    assert sent.withheld == ("card.pdf",)
    assert sent.held_back == 2
    rows = list(Attachment.objects.filter(message_id=sent.message_id).order_by("position"))
    assert (rows[0].state, rows[0].size > 0, rows[0].content) == ("withheld", True, "")
    assert rows[0].reason == "it contained a card number"
    assert "PAN" in Message.objects.get(id=sent.message_id).findings
    # and only the screened file went out with the reply
    assert [a.filename for a in handed[0].attachments] == ["steps.txt"]
    event = Event.objects.filter(action="message.sent").order_by("-seq").first()
    assert (event.data["withheld"], event.data["quarantined"]) == (1, 1)


def test_a_reader_that_crashes_quarantines_the_file_instead_of_losing_the_message(
        queue, monkeypatch):
    # given a PDF reader with a bug (any exception, not a known refusal)
    from safeguard.cases import attachments as reader

    def broken(content, kind, limits):
        raise ZeroDivisionError("a bug in a parser")

    monkeypatch.setattr(reader, "extract", broken)
    # when a PDF arrives
    result = _send(("invoice.pdf", PDF, files.pdf("hello")))
    # then the message is stored and the file quarantined, never passed as screened
    assert Message.objects.filter(id=result.message_id).exists()
    assert (_only_attachment().state, _only_attachment().reason) == (
        "quarantined", "the file could not be read")


def test_a_csv_keeps_its_declared_text_type(queue):
    _send(("orders.csv", "text/csv; charset=utf-8", b"id,total\n1,45.00\n"))
    assert (_only_attachment().content_type, _only_attachment().state) == ("text/csv",
                                                                           "screened")


def test_the_deploy_check_names_a_missing_ocr_and_bad_limits(settings, monkeypatch):
    from safeguard.cases import checks

    # given the installed Tesseract with English: nothing to report
    assert checks.attachment_screening() == []
    # given a language that is not installed and a zero limit
    settings.SAFEGUARD_ATTACHMENT_OCR_LANG = "eng+xx-none"
    settings.SAFEGUARD_ATTACHMENT_MAX_PAGES = 0
    assert sorted(e.id for e in checks.attachment_screening()) == ["safeguard.E211",
                                                                   "safeguard.E212"]
    # given no Tesseract on the machine while images are accepted
    monkeypatch.setattr(checks.shutil, "which", lambda name: None)
    assert "safeguard.E210" in [e.id for e in checks.attachment_screening()]
    # and no such complaint when no image or PDF type is accepted
    settings.SAFEGUARD_ATTACHMENT_TYPES = ["text/plain"]
    settings.SAFEGUARD_ATTACHMENT_MAX_PAGES = 50
    assert checks.attachment_screening() == []


def test_a_truncated_image_stays_quarantined_after_weasyprint_was_imported(queue):
    # given WeasyPrint loaded in this process (it sets Pillow's LOAD_TRUNCATED_IMAGES on import,
    # as any PDF rendered by the privacy, incidents or governance apps does)
    import weasyprint  # noqa: F401
    from PIL import ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = True
    # when a cut PNG arrives
    content = files.png("HELLO")[:60] + b"\x00" * 200
    _send(("broken.png", PNG, content))
    # then it is quarantined as undecodable, not half-read and passed as screened
    row = _only_attachment()
    assert (row.state, row.screened) == ("quarantined", False)
    assert "cannot be decoded" in row.reason

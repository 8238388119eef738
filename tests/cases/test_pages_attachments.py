"""The console's side of attachment screening (issue 8; R-OPS-2, R-DATA-2): the case shows a
withheld file as such, and the quarantine download needs the permission and a fresh second
factor (the page re-asks for it), every open and denial audited."""

from __future__ import annotations

import time

import pytest

from safeguard.audit.models import Event
from safeguard.cases.contracts import AttachmentIn
from safeguard.cases.models import Attachment
from tests.cases import attachment_files as files
from tests.cases.conftest import inbound, make_agent, make_queue
from tests.factories import signed_in_client

pytestmark = pytest.mark.django_db

PAN = "4111 1111 1111 1111"


@pytest.fixture
def case_with_files():
    make_queue("billing")
    locked = files.encrypted_pdf(f"card {PAN}")
    result = inbound("Two files", attachments=[
        AttachmentIn("card.pdf", "application/pdf", files.pdf(f"card {PAN}")),
        AttachmentIn("locked.pdf", "application/pdf", locked)])
    withheld = Attachment.objects.get(state="withheld")
    quarantined = Attachment.objects.get(state="quarantined")
    return result.case_number, withheld, quarantined, locked


def test_the_case_page_shows_a_withheld_file_and_flags_the_quarantined_one(case_with_files):
    number, withheld, quarantined, _ = case_with_files
    # when an agent (no quarantine permission) opens the case
    body = signed_in_client(make_agent("billing")).get(f"/cases/{number}/").content.decode()
    # then the withheld file is named with the reason and has no link
    assert "attachment withheld: it contained a card number" in body
    assert f"/attachments/{withheld.id}/" not in body
    # and the quarantined one is flagged, without a link for this agent
    assert "quarantined: the PDF is encrypted" in body
    assert f"/attachments/{quarantined.id}/quarantine/" not in body
    assert PAN not in body


def test_the_quarantine_download_needs_the_permission(case_with_files):
    number, _, quarantined, _ = case_with_files
    agent = make_agent("billing")
    # when an agent without cases.attachment_quarantine asks for it
    response = signed_in_client(agent).get(
        f"/cases/{number}/attachments/{quarantined.id}/quarantine/")
    # then it is forbidden and the denial recorded
    assert response.status_code == 403
    denial = Event.objects.filter(action="access.denied", actor_label=agent.email).get()
    assert denial.data["permission"] == "cases.attachment_quarantine"


def test_the_quarantine_download_asks_for_a_fresh_second_factor_then_serves_it(case_with_files):
    number, _, quarantined, locked = case_with_files
    supervisor = make_agent("billing", roles=("supervisor",))
    url = f"/cases/{number}/attachments/{quarantined.id}/quarantine/"
    # given a supervisor whose second factor is an hour old: the link is shown
    stale = signed_in_client(supervisor, mfa_at=time.time() - 3600)
    assert url in stale.get(f"/cases/{number}/").content.decode()
    # when they follow it, they are sent to re-authenticate, and nothing is opened
    response = stale.get(url)
    assert response.status_code == 302
    assert "/reauthenticate" in response["Location"]
    assert not Event.objects.filter(action="attachment.quarantine_opened").exists()
    # when they have just passed the second factor
    response = signed_in_client(supervisor).get(url)
    # then the file comes as a download of the bytes as sent, and the open is recorded
    assert response.status_code == 200
    assert response.content == locked
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="locked.pdf"'
    assert Event.objects.get(action="attachment.quarantine_opened").actor_label == (
        supervisor.email)


def test_the_normal_download_of_a_quarantined_file_is_refused(case_with_files):
    number, _, quarantined, _ = case_with_files
    supervisor = make_agent("billing", roles=("supervisor",))
    response = signed_in_client(supervisor).get(f"/cases/{number}/attachments/{quarantined.id}/")
    assert response.status_code == 409
    assert Event.objects.filter(action="attachment.download_refused").count() == 1

"""The public privacy notice (versioned, R-DATA-5, the DPO from the organisation settings,
R-ORG-1) and the public subprocessor register with its CSV (R-DATA-6): both render without a
login from live data; publishing and editing belong to the privacy officer, are audited, and
bad input changes nothing."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
import time_machine
from django.test import Client

from safeguard.accounts import services as account_services
from safeguard.audit.models import Event
from safeguard.privacy import matrix_edit, publications
from safeguard.privacy.matrix import matrix_version_number
from safeguard.privacy.models import NoticeVersion, Subprocessor
from safeguard.privacy.publications import PublicationError
from tests.factories import SYSTEM, make_user, signed_in_client
from tests.privacy.conftest import principal_for

pytestmark = pytest.mark.django_db
TODAY = date(2026, 3, 2)
CARD = "4111111111111111"


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(f"{TODAY.isoformat()} 10:00Z", tick=False):
        yield


@pytest.fixture
def officer():
    return make_user(roles=("privacy_officer",))


@pytest.fixture
def org():
    return account_services.organisation_update(
        actor=SYSTEM, name="Acme Support Ltd", dpo_name="Dana Prior",
        dpo_email="dpo@acme.example", security_hotline="+44 20 7946 0000",
        security_email="security@acme.example")


def _sub(**over):
    values = {"vendor": "Mailgun Technologies", "service": "Outbound e-mail delivery",
              "data_categories": ["user.contact.email", "user.content.message"],
              "location": "EU (Germany)", "dpa_signed_on": date(2025, 1, 10),
              "transfer_mechanism": "none", "last_verified_on": date(2026, 1, 5),
              "evidence_ref": "SOC 2 Type II report 2025, ticket SEC-112"}
    return {**values, **over}


def test_the_public_notice_shows_the_version_in_force_the_dpo_and_live_figures(officer, org):
    p = principal_for(officer)
    publications.notice_publish(principal=p, body="We process your data to answer you.",
                                summary="First version", effective_on=TODAY)
    publications.notice_publish(principal=p, body="We answer you.\n\nWe keep calls 90 days.",
                                summary="Shorter text; call recordings", effective_on=TODAY)
    publications.notice_publish(principal=p, body="Future text", summary="Scheduled",
                                effective_on=TODAY + timedelta(days=30))
    publications.subprocessor_add(principal=p, values=_sub())
    publications.subprocessor_add(principal=p, values=_sub(vendor="Twilio", service="Voice"))
    # when anyone (no login) opens the notice
    anonymous = Client()
    response = anonymous.get("/privacy/notice/")
    page = response.content.decode()
    # then version 2 is in force (3 is scheduled, not public), with the DPO from the settings
    assert response.status_code == 200
    assert "Version 2, in effect from 2 March 2026" in page
    assert "We keep calls 90 days." in page
    assert "Future text" not in page
    assert "Dana Prior" in page
    assert "mailto:dpo@acme.example" in page
    # and figures from live data: the retention periods of the matrix in force, the register
    assert "Call recordings kept for quality assurance</td><td>90 days after the call ends" in page
    assert "7 years after the case is closed" in page
    assert "2 subprocessors: Mailgun Technologies, Twilio." in page
    assert 'href="/privacy/notice/v1/"' in page
    assert 'href="/privacy/notice/v3/"' not in page
    # the earlier version is viewable, marked as earlier; the scheduled one is not public
    old = anonymous.get("/privacy/notice/v1/").content.decode()
    assert "We process your data to answer you." in old
    assert "an earlier version" in old
    assert anonymous.get("/privacy/notice/v3/").status_code == 404
    # a change to the matrix shows on the public page at once
    matrix_edit.matrix_row_update(principal=p, key="call_recording_qa", values={"period": "P60D"},
                                  reason="Shorter QA window",
                                  base_version=matrix_version_number())
    assert "60 days after the call ends" in anonymous.get("/privacy/notice/").content.decode()
    # and on the day version 3 takes effect, it is the one in force
    with time_machine.travel(f"{(TODAY + timedelta(days=30)).isoformat()} 10:00Z", tick=False):
        assert "Future text" in anonymous.get("/privacy/notice/").content.decode()


def test_without_a_published_notice_the_page_says_so():
    response = Client().get("/privacy/notice/")
    assert response.status_code == 404
    assert "No privacy notice has been published yet." in response.content.decode()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"effective_on": TODAY - timedelta(days=1)}, "cannot be in the past"),
    ({"effective_on": TODAY + timedelta(days=91)}, "more than 90 days ahead"),
    ({"body": "   "}, "notice text"),
    ({"summary": ""}, "summary of changes"),
])
def test_a_bad_notice_is_refused_and_nothing_is_published(officer, kwargs, message):
    values = {"body": "Text", "summary": "Why", "effective_on": TODAY, **kwargs}
    with pytest.raises(PublicationError, match=message):
        publications.notice_publish(principal=principal_for(officer), **values)
    assert NoticeVersion.objects.count() == 0
    assert not Event.objects.filter(action="privacy_notice.published").exists()


def test_a_version_cannot_take_effect_before_the_one_it_follows(officer):
    p = principal_for(officer)
    publications.notice_publish(principal=p, body="A", summary="a",
                                effective_on=TODAY + timedelta(days=10))
    with pytest.raises(PublicationError, match="cannot take effect before it"):
        publications.notice_publish(principal=p, body="B", summary="b", effective_on=TODAY)
    assert NoticeVersion.objects.count() == 1


def test_publishing_through_the_page_is_audited_and_screened(officer):
    client = signed_in_client(officer)
    response = client.post("/privacy/publish/notice/", {
        "effective_on": TODAY.isoformat(), "summary": f"Fixed typo, card {CARD}",
        "body": "We answer you."})
    assert response.status_code == 302
    row = NoticeVersion.objects.get()
    assert (row.number, row.published_by_id) == (1, officer.pk)
    assert CARD not in row.summary
    [event] = Event.objects.filter(action="privacy_notice.published")
    assert event.data == {"version": 1, "effective_on": "2026-03-02"}
    bad = client.post("/privacy/publish/notice/", {"effective_on": "2020-01-01",
                                                   "summary": "x", "body": "y"})
    assert bad.status_code == 400
    assert "cannot be in the past" in bad.content.decode()
    assert NoticeVersion.objects.count() == 1
    # an agent may not publish; an anonymous visitor is sent to sign in
    agent = signed_in_client(make_user(roles=("agent",)))
    assert agent.post("/privacy/publish/notice/", {}).status_code == 403
    assert Client().get("/privacy/publish/notice/").status_code == 302


def test_the_register_public_page_and_csv_list_current_entries_only(officer, org):
    p = principal_for(officer)
    mailgun = publications.subprocessor_add(principal=p, values=_sub())
    gone = publications.subprocessor_add(principal=p, values=_sub(
        vendor="=HYPERLINK(evil)", service="Chat", transfer_mechanism="scc",
        location="United States"))
    publications.subprocessor_update(principal=p, subprocessor_id=mailgun.id, values=_sub(
        last_verified_on=date(2026, 3, 1), evidence_ref="Annual review 2026, ticket SEC-140"))
    anonymous = Client()
    page = anonymous.get("/privacy/subprocessors/").content.decode()
    assert "2 companies process personal data for us." in page
    assert "Standard contractual clauses (Art. 46(2)(c))" in page
    assert "2026-03-01" in page
    assert "Annual review 2026, ticket SEC-140" in page
    assert "dpo@acme.example" in page
    rows = list(csv.reader(io.StringIO(anonymous.get("/privacy/subprocessors.csv")
                                       .content.decode())))
    assert rows[0][:3] == ["vendor", "service", "data_categories"]
    assert rows[1][0] == "'=HYPERLINK(evil)"  # a formula cell is defused
    assert rows[2] == ["Mailgun Technologies", "Outbound e-mail delivery",
                       "user.contact.email;user.content.message", "EU (Germany)",
                       "2025-01-10", "None needed (processed in the EEA/UK)", "2026-03-01",
                       "Annual review 2026, ticket SEC-140"]
    # removing an entry takes it off both, and the audit trail says who did what
    publications.subprocessor_remove(principal=p, subprocessor_id=gone.id)
    page = anonymous.get("/privacy/subprocessors/").content.decode()
    assert "1 company process" in page
    assert "HYPERLINK" not in page
    assert len(list(csv.reader(io.StringIO(anonymous.get("/privacy/subprocessors.csv")
                                           .content.decode())))) == 2
    assert list(Event.objects.filter(action__startswith="subprocessor.").order_by("seq")
                .values_list("action", flat=True)) == [
        "subprocessor.added", "subprocessor.added", "subprocessor.updated",
        "subprocessor.removed"]
    update = Event.objects.get(action="subprocessor.updated")
    assert update.data["changes"]["last_verified_on"] == ["2026-01-05", "2026-03-01"]


@pytest.mark.parametrize(("over", "message"), [
    ({"data_categories": ["user.shoe_size"]}, "Unknown data categories: user.shoe_size"),
    ({"dpa_signed_on": TODAY + timedelta(days=1)}, "dpa_signed_on cannot be in the future"),
    ({"last_verified_on": date(2024, 1, 1)}, "cannot predate the signed DPA"),
    ({"transfer_mechanism": "handshake"}, "Transfer mechanism must be one of"),
    ({"vendor": ""}, "Required: vendor"),
    ({"evidence_ref": "x" * 301}, "evidence_ref: 1 to 300"),
])
def test_a_bad_entry_is_refused_and_changes_nothing(officer, over, message):
    p = principal_for(officer)
    with pytest.raises(PublicationError, match=message):
        publications.subprocessor_add(principal=p, values=_sub(**over))
    assert Subprocessor.objects.count() == 0
    entry = publications.subprocessor_add(principal=p, values=_sub())
    with pytest.raises(PublicationError, match=message):
        publications.subprocessor_update(principal=p, subprocessor_id=entry.id,
                                         values=_sub(**over))
    assert publications.subprocessor_get(subprocessor_id=entry.id) == entry
    assert not Event.objects.filter(action="subprocessor.updated").exists()


def test_the_register_is_kept_through_the_officer_pages(officer):
    client = signed_in_client(officer)
    form = {"vendor": "Hetzner", "service": "Hosting", "data_categories": ["user.contact.email"],
            "location": "Germany", "dpa_signed_on": "2025-02-01", "transfer_mechanism": "none",
            "last_verified_on": "2026-02-01", "evidence_ref": "ISO 27001 certificate"}
    assert client.post("/privacy/publish/subprocessors/", form).status_code == 302
    entry = Subprocessor.objects.get()
    bad = client.post(f"/privacy/publish/subprocessors/{entry.id}/",
                      {**form, "last_verified_on": "2025-01-01"})
    assert bad.status_code == 400
    assert "cannot predate the signed DPA" in bad.content.decode()
    entry.refresh_from_db()
    assert entry.last_verified_on == date(2026, 2, 1)
    assert "Hetzner" in Client().get("/privacy/subprocessors/").content.decode()
    assert signed_in_client(make_user(roles=("auditor",))).get(
        "/privacy/publish/subprocessors/").status_code == 403

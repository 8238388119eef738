"""Incident communications (R-IR-6, R-REG-3, R-ORG-1): customer jurisdictions and the notices
they make owed, letters per affected customer with the right contents and no card number, the
sent log with SHA-256, sending over a real loopback SMTP peer, regulator notices recorded as
submitted, internal updates, public notices and the ``incidents.published_notices`` provider;
bad input changes nothing."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from pypdf import PdfReader

from safeguard.accounts import services as accounts
from safeguard.audit import selectors as audit_selectors
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.customers import selectors as customer_selectors
from safeguard.customers import services as customers
from safeguard.customers.contracts import Addressee
from safeguard.incidents import communications, residence, selectors, services
from safeguard.incidents.contracts import IncidentError
from safeguard.incidents.models import Communication, CommunicationPlan, PublicNotice
from safeguard.incidents.selectors import Suspect
from safeguard.protection import services as protection
from safeguard.web import providers
from tests.channels.conftest import smtp_sink  # noqa: F401 - the loopback SMTP peer fixture
from tests.factories import SYSTEM, make_user, signed_in_client

pytestmark = pytest.mark.django_db

ANALYST = Actor(kind="user", id="1", label="analyst@example.test")
SUSPECT = Actor(kind="user", id="77", label="suspect@example.test")
PAN = "4111 1111 1111 1111"


def _text(pdf: bytes) -> str:
    return " ".join(" ".join((p.extract_text() or "").split())
                    for p in PdfReader(io.BytesIO(pdf)).pages)


def _no_pan(text: str) -> bool:
    return "4111111111111111" not in "".join(ch for ch in text if ch.isdigit())


def _customer(name: str, email: str, country: str, region: str = "") -> str:
    address = {"line1": "1 High Street", "postcode": "10115", "city": "Town", "country": country}
    if region:
        address["region"] = region
    view = customers.customer_create(actor=SYSTEM, name=name, email=email, address=address)
    return str(view.id)


def _read(customer_id: str, at) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(at, tick=False):
        audit.record(action="customer.viewed", actor=SUSPECT, subject=("customer", customer_id),
                     data={"what": "profile", "revealed": ["phone"]})


@pytest.fixture
def org() -> None:
    accounts.organisation_update(actor=SYSTEM, name="Example Ltd", dpo_name="Dana Officer",
                                 dpo_email="dpo@example.test",
                                 security_hotline="+44 20 7946 0000",
                                 security_email="security@example.test")


@pytest.fixture
def incident() -> int:
    view = services.incident_open(actor=ANALYST, title="Insider read customer records",
                                  severity="sev2", category="insider_misuse",
                                  aware_at=timezone.now() - timedelta(hours=2))
    return view.id


def _plan(incident_id: int) -> None:
    communications.plan_save(
        actor=ANALYST, incident_id=incident_id,
        what_happened="A member of staff opened customer records without a business reason.",
        what_we_did="We disabled the account and reviewed every record it opened.",
        what_you_can_do="Watch for unexpected e-mails or calls claiming to be from us.",
        mitigation="12 months of credit monitoring, free of charge: call the hotline.")


def _affected(since, until):  # type: ignore[no-untyped-def]
    return selectors.affected_customers(actor=ANALYST, suspect=Suspect("user", "77"),
                                        since=since, until=until)


# --- jurisdictions --------------------------------------------------------------------------

@pytest.mark.parametrize(("country", "region", "code"), [
    ("DE", "", "EU-GDPR"), ("fr", "Ile-de-France", "EU-GDPR"), ("NO", "", "EU-GDPR"),
    ("EL", "", "EU-GDPR"), ("GB", "", "UK-GDPR"), ("UK", "Wales", "UK-GDPR"),
    ("US", "CA", "US-CA"), ("US", "new york", "US-NY"), ("US", "Tex.", "unknown"),
    ("US", "Illinois", "US-IL"), ("US", "", "unknown"), ("CH", "", "unknown"),
    ("", "", "unknown"), ("CA", "Ontario", "unknown"),
])
def test_residence_maps_to_jurisdiction_codes_and_never_guesses(country: str, region: str,
                                                                code: str) -> None:
    assert residence.jurisdiction_for(country, region) == code


def test_affected_list_and_csv_carry_each_customers_jurisdiction_and_notices_owed() -> None:
    start = timezone.now() - timedelta(hours=3)
    de = _customer("Anna Schmidt", "anna@example.test", "DE")
    ca = _customer("Bob Jones", "bob@example.test", "US", "CA")
    il = _customer("Cleo Park", "cleo@example.test", "US", "IL")
    nowhere = _customer("Dev Rao", "dev@example.test", "")
    for n, cid in enumerate((de, ca, il, nowhere)):
        _read(cid, start + timedelta(minutes=n))
    rows = _affected(start - timedelta(minutes=1), start + timedelta(hours=1))
    got = {r.customer: r.jurisdictions for r in rows}
    assert got == {de: ("EU-GDPR",), ca: ("US-CA",), il: ("US-IL",), nowhere: ("unknown",)}
    csv_lines = selectors.affected_csv(rows).splitlines()
    assert csv_lines[0].endswith(",jurisdictions")
    assert any(line.startswith(de) and line.endswith(",EU-GDPR") for line in csv_lines)
    aware = timezone.now()
    owed = communications.notices_owed_for(
        residents={"EU-GDPR": 1, "US-CA": 1, "US-IL": 1, "unknown": 1}, aware_at=aware)
    assert owed.not_in_table == ("US-IL", "unknown")
    regulator = [n for n in owed.notices if n.regulator]
    assert {n.jurisdiction for n in regulator} == {"EU-GDPR", "US-CA"}
    gdpr = next(n for n in regulator if n.jurisdiction == "EU-GDPR")
    assert gdpr.due == aware + timedelta(hours=72)
    assert owed.notices[0].jurisdiction == "EU-GDPR"  # earliest deadline first


# --- letters --------------------------------------------------------------------------------

def test_letters_go_to_exactly_the_affected_customers_with_their_data_and_contacts(
        org: None, incident: int) -> None:
    start = timezone.now() - timedelta(hours=3)
    anna = _customer("Anna Schmidt", "anna@example.test", "DE")
    bob = _customer("Bob Jones", "bob@example.test", "US", "CA")
    bystander = _customer("Zed Other", "zed@example.test", "GB")
    _read(anna, start)
    _read(bob, start + timedelta(minutes=5))
    _read(anna, start + timedelta(minutes=9))
    with time_machine.travel(start + timedelta(minutes=3), tick=False):
        audit.record(action="customer.viewed", actor=Actor(kind="user", id="5", label="x"),
                     subject=("customer", bystander), data={"what": "profile"})
    _plan(incident)
    batch = communications.letters_generate(
        actor=ANALYST, incident_id=incident,
        customers=_affected(start - timedelta(minutes=1), start + timedelta(hours=1)))
    assert len(batch.generated) == 2
    assert batch.withheld == ()
    assert batch.not_addressable == ()
    log = communications.communication_list(incident_id=incident)
    assert {c.recipient_ref for c in log} == {anna, bob}
    assert {c.recipient_ref: c.jurisdictions for c in log} == {anna: ("EU-GDPR",),
                                                              bob: ("US-CA",)}
    by_ref = {c.recipient_ref: c for c in log}
    pdf = communications.communication_pdf(actor=ANALYST, incident_id=incident,
                                           communication_id=by_ref[anna].id)
    assert hashlib.sha256(pdf).hexdigest() == by_ref[anna].pdf_sha256
    text = _text(pdf)
    for expected in ("Dear Anna Schmidt", "What happened", "opened customer records",
                     "your name", "your e-mail address", "Details shown in full: phone",
                     "We disabled the account", "Watch for unexpected",
                     "12 months of credit monitoring", "Dana Officer", "dpo@example.test",
                     "+44 20 7946 0000", "supervisory authority", "We became aware"):
        assert expected in text, expected
    assert "Bob Jones" not in text
    assert "Zed Other" not in text
    assert "Dear Bob Jones" in _text(communications.communication_pdf(
        actor=ANALYST, incident_id=incident, communication_id=by_ref[bob].id))
    # Generating again writes no second letter to the same customer.
    again = communications.letters_generate(
        actor=ANALYST, incident_id=incident,
        customers=_affected(start - timedelta(minutes=1), start + timedelta(hours=1)))
    assert again.generated == ()
    assert Communication.objects.filter(incident_id=incident).count() == 2
    owed = communications.incident_owed(incident_id=incident)
    assert owed.residents == {"EU-GDPR": 1, "US-CA": 1}
    events = audit_selectors.event_list(action="incident.communication_generated")
    assert {e.data["sha256"] for e in events} == {c.pdf_sha256 for c in log}


def test_a_card_number_never_reaches_a_letter(org: None, incident: int,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    start = timezone.now() - timedelta(hours=3)
    clean = _customer("Anna Schmidt", "anna@example.test", "DE")
    dirty = _customer("Placeholder", "pan@example.test", "DE")
    _read(clean, start)
    _read(dirty, start + timedelta(minutes=1))
    # The no-PAN guard refuses to store a card number in a profile, so a name holding one can
    # only come from data the guard never saw (an import before it, a restore): simulate that.
    real = customer_selectors.customer_addressees_system

    def with_pan(*, customer_ids):  # type: ignore[no-untyped-def]
        out = real(customer_ids=customer_ids)
        row = out[dirty]
        out[dirty] = Addressee(id=row.id, name=f"Card {PAN}", country=row.country,
                               region=row.region)
        return out

    monkeypatch.setattr(customer_selectors, "customer_addressees_system", with_pan)
    communications.plan_save(  # a PAN typed into the letter content is screened away
        actor=ANALYST, incident_id=incident, what_happened=f"Card {PAN} was not exposed.",
        what_we_did="Disabled the account.", what_you_can_do="Nothing.", mitigation="")
    assert _no_pan(CommunicationPlan.objects.get(incident_id=incident).what_happened)
    batch = communications.letters_generate(
        actor=ANALYST, incident_id=incident,
        customers=_affected(start - timedelta(minutes=1), start + timedelta(hours=1)))
    assert len(batch.generated) == 1
    assert len(batch.withheld) == 1
    withheld = Communication.objects.get(id=batch.withheld[0])
    assert withheld.recipient_ref == dirty
    assert withheld.status == "withheld"
    assert withheld.sealed == ""
    assert withheld.pdf_sha256 == ""
    good = communications.communication_pdf(actor=ANALYST, incident_id=incident,
                                            communication_id=batch.generated[0])
    text = _text(good)
    assert "card ending 1111" in text.lower()
    assert _no_pan(text)
    event = audit_selectors.event_list(action="incident.communication_withheld")[0]
    assert event.outcome == "failure"
    assert event.data["reason"] == "card_number"
    with pytest.raises(IncidentError, match="withheld"):
        communications.communication_send(actor=ANALYST, incident_id=incident,
                                          communication_id=withheld.id)


def test_letters_need_their_content_first_and_bad_input_changes_nothing(incident: int) -> None:
    before = audit_selectors.last_seq()
    with pytest.raises(IncidentError, match="Write what the letters say"):
        communications.letters_generate(actor=ANALYST, incident_id=incident, customers=[])
    with pytest.raises(IncidentError, match="What we did is required"):
        communications.plan_save(actor=ANALYST, incident_id=incident, what_happened="x",
                                 what_we_did=" ", what_you_can_do="y", mitigation="")
    with pytest.raises(IncidentError, match="longer than 2000"):
        communications.plan_save(actor=ANALYST, incident_id=incident, what_happened="x",
                                 what_we_did="y", what_you_can_do="z", mitigation="m" * 2001)
    with pytest.raises(IncidentError, match="Title is required"):
        communications.public_notice_publish(actor=ANALYST, incident_id=incident, title="",
                                             summary="s")
    assert audit_selectors.last_seq() == before
    assert not CommunicationPlan.objects.exists()
    assert not PublicNotice.objects.exists()
    assert not Communication.objects.exists()


def test_a_stored_letter_altered_in_the_database_is_refused(org: None, incident: int) -> None:
    start = timezone.now() - timedelta(hours=3)
    anna = _customer("Anna Schmidt", "anna@example.test", "DE")
    _read(anna, start)
    _plan(incident)
    batch = communications.letters_generate(
        actor=ANALYST, incident_id=incident,
        customers=_affected(start - timedelta(minutes=1), start + timedelta(hours=1)))
    Communication.objects.filter(id=batch.generated[0]).update(pdf_sha256="0" * 64)
    with pytest.raises(IncidentError, match="does not match"):
        communications.communication_pdf(actor=ANALYST, incident_id=incident,
                                         communication_id=batch.generated[0])


# --- sending --------------------------------------------------------------------------------

def test_a_letter_is_sent_over_smtp_with_the_pdf_and_logged(
        org: None, incident: int, smtp_sink, settings) -> None:  # noqa: F811
    settings.SAFEGUARD_EMAIL_FROM = "Example <notices@mail.example.com>"
    settings.SAFEGUARD_EMAIL_DOMAIN = "mail.example.com"
    start = timezone.now() - timedelta(hours=3)
    anna = _customer("Anna Schmidt", "anna@example.test", "DE")
    _read(anna, start)
    _plan(incident)
    batch = communications.letters_generate(
        actor=ANALYST, incident_id=incident,
        customers=_affected(start - timedelta(minutes=1), start + timedelta(hours=1)))
    row = communications.communication_send(actor=ANALYST, incident_id=incident,
                                            communication_id=batch.generated[0])
    assert row.status == "sent"
    assert row.channel == "email"
    assert row.sent_at is not None
    messages = smtp_sink.wait(1)
    assert len(messages) == 1
    msg = messages[0]
    assert msg["To"] == "anna@example.test"
    attachment = next(iter(msg.iter_attachments()))
    body = attachment.get_content()
    assert hashlib.sha256(body).hexdigest() == row.pdf_sha256
    assert "Dear Anna Schmidt" in _text(body)
    event = audit_selectors.event_list(action="incident.communication_sent")[0]
    assert event.data["sha256"] == row.pdf_sha256
    assert event.data["recipients"] == 1
    with pytest.raises(IncidentError, match="only a generated or failed"):
        communications.communication_send(actor=ANALYST, incident_id=incident,
                                          communication_id=row.id)


def test_a_send_that_fails_is_logged_as_failed(org: None, incident: int, settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens: refused
    settings.EMAIL_TIMEOUT = 2
    start = timezone.now() - timedelta(hours=3)
    anna = _customer("Anna Schmidt", "anna@example.test", "DE")
    _read(anna, start)
    _plan(incident)
    batch = communications.letters_generate(
        actor=ANALYST, incident_id=incident,
        customers=_affected(start - timedelta(minutes=1), start + timedelta(hours=1)))
    row = communications.communication_send(actor=ANALYST, incident_id=incident,
                                            communication_id=batch.generated[0])
    assert row.status == "failed"
    assert row.sent_at is None
    assert row.detail
    event = audit_selectors.event_list(action="incident.communication_failed")[0]
    assert event.outcome == "failure"


# --- regulator notice, internal update, public notices ---------------------------------------

def test_regulator_notice_is_logged_and_submitted_by_hand_with_a_reference(
        org: None) -> None:
    view = services.incident_open(actor=ANALYST, title="Breach", severity="sev2",
                                  category="data_breach", jurisdictions=["EU-GDPR"],
                                  aware_at=timezone.now() - timedelta(hours=2))
    log_id, pdf = communications.regulator_notice_file(
        actor=ANALYST, incident_id=view.id, jurisdiction="EU-GDPR", approx_subjects=2,
        approx_records=2, data_categories="names", likely_consequences="phishing")
    row = Communication.objects.get(id=log_id)
    assert row.kind == "regulator_notice"
    assert row.recipient_ref == "EU-GDPR"
    assert row.pdf_sha256 == hashlib.sha256(pdf).hexdigest()
    assert row.status == "generated"
    with pytest.raises(IncidentError, match="submitted through the regulator"):
        communications.communication_send(actor=ANALYST, incident_id=view.id,
                                          communication_id=log_id)
    before = audit_selectors.last_seq()
    with pytest.raises(IncidentError, match="future"):
        communications.mark_submitted(actor=ANALYST, incident_id=view.id,
                                      communication_id=log_id, reference="R-1",
                                      submitted_at=timezone.now() + timedelta(days=1))
    with pytest.raises(IncidentError, match="reference is required"):
        communications.mark_submitted(actor=ANALYST, incident_id=view.id,
                                      communication_id=log_id, reference=" ",
                                      submitted_at=timezone.now())
    assert audit_selectors.last_seq() == before
    assert Communication.objects.get(id=log_id).status == "generated"
    at = timezone.now() - timedelta(minutes=5)
    done = communications.mark_submitted(actor=ANALYST, incident_id=view.id,
                                         communication_id=log_id, reference="DPA-2026-118",
                                         submitted_at=at)
    assert (done.status, done.channel, done.reference, done.sent_at) == (
        "submitted", "manual", "DPA-2026-118", at)
    event = audit_selectors.event_list(action="incident.communication_submitted")[0]
    assert event.data["reference"] == "DPA-2026-118"


def test_internal_update_lists_state_and_owed_notices(org: None) -> None:
    view = services.incident_open(actor=ANALYST, title="Breach", severity="sev2",
                                  category="data_breach", jurisdictions=["EU-GDPR"],
                                  aware_at=timezone.now() - timedelta(hours=2))
    log_id = communications.internal_update_create(actor=ANALYST, incident_id=view.id,
                                                   text=f"Card {PAN} seen in a ticket; masked.")
    pdf = communications.communication_pdf(actor=ANALYST, incident_id=view.id,
                                           communication_id=log_id)
    text = _text(pdf)
    assert "Incident" in text
    assert "Lead supervisory authority" in text
    assert "card ending 1111" in text.lower()
    assert _no_pan(text)


def test_public_notices_provider_has_the_agreed_shape(incident: int) -> None:
    with time_machine.travel(timezone.now() - timedelta(days=1), tick=False):
        communications.public_notice_publish(actor=ANALYST, incident_id=incident,
                                             title="Older", summary="First notice.")
    communications.public_notice_publish(actor=ANALYST, incident_id=incident,
                                         title="Service notice", summary="We contained it.")
    provider = providers.get("incidents.published_notices")
    assert provider is not None
    rows = provider(limit=5)
    assert [r["title"] for r in rows] == ["Service notice", "Older"]
    first = rows[0]
    assert set(first) == {"title", "summary", "published_at", "incident_ref"}
    assert first["summary"] == "We contained it."
    assert timezone.is_aware(first["published_at"])
    assert first["incident_ref"].startswith("SN-")
    assert str(incident) not in first["incident_ref"]
    assert provider(limit=1) == rows[:1]
    assert provider() == rows


# --- pages ----------------------------------------------------------------------------------

def test_pages_permissions_and_step_up(org: None, incident: int) -> None:
    analyst = make_user(roles=("security_analyst",))
    client = signed_in_client(analyst)
    page = client.get(f"/incidents/{incident}/communications/")
    assert page.status_code == 200
    assert "Sent log" in page.content.decode()
    response = client.post(f"/incidents/{incident}/communications/plan/", {
        "what_happened": "x", "what_we_did": "y", "what_you_can_do": "z", "mitigation": ""})
    assert response.status_code == 302
    assert CommunicationPlan.objects.get(incident_id=incident).what_we_did == "y"
    stale = signed_in_client(analyst, mfa_at=0)
    letters = {"kind": "user", "value": "77", "since": "2026-01-01T00:00",
               "until": "2026-01-02T00:00"}
    assert stale.post(f"/incidents/{incident}/communications/letters/",
                      letters).status_code == 302
    assert not Communication.objects.exists()
    auditor = signed_in_client(make_user(roles=("auditor",)))
    assert auditor.get(f"/incidents/{incident}/communications/").status_code == 200
    assert auditor.post(f"/incidents/{incident}/communications/letters/",
                        letters).status_code == 403
    assert auditor.post(f"/incidents/{incident}/communications/public/",
                        {"title": "t", "summary": "s"}).status_code == 403
    agent = signed_in_client(make_user(roles=("agent",)))
    assert agent.get(f"/incidents/{incident}/communications/").status_code == 403
    assert not PublicNotice.objects.exists()


def test_the_document_scan_finds_card_numbers_but_not_a_phone_next_to_a_heading() -> None:
    html = "<p>Hotline +44 20 7946 0000</p><h2>3. Likely consequences</h2>"
    assert communications.rendered_text(html) == (
        "Hotline +44 20 7946 0000 | 3. Likely consequences | ")
    assert protection.card_numbers_in(communications.rendered_text(html)) == 0
    wrapped = "<p>Your card 4111 1111\n 1111 <b>1111</b> was seen.</p>"
    assert protection.card_numbers_in(communications.rendered_text(wrapped)) == 1


@pytest.mark.parametrize(("value", "ids"), [(500, []), (1, []), (100_000, []),
                                             (0, ["safeguard.E530"]),
                                             (100_001, ["safeguard.E530"])])
def test_check_e530_letters_limit(settings, value: int, ids: list[str]) -> None:  # type: ignore[no-untyped-def]
    from safeguard.incidents import checks

    settings.SAFEGUARD_INCIDENTS_LETTERS_MAX = value
    assert [m.id for m in checks.letters_limit()] == ids


def test_a_batch_larger_than_the_limit_is_refused(incident: int, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SAFEGUARD_INCIDENTS_LETTERS_MAX = 1
    _plan(incident)
    start = timezone.now() - timedelta(hours=3)
    for n, name in enumerate(("Anna One", "Bob Two")):
        _read(_customer(name, f"p{n}@example.test", "DE"), start + timedelta(minutes=n))
    rows = _affected(start - timedelta(minutes=1), start + timedelta(hours=1))
    with pytest.raises(IncidentError, match="At most 1 letters"):
        communications.letters_generate(actor=ANALYST, incident_id=incident, customers=rows)
    assert not Communication.objects.exists()


def test_the_page_records_a_regulator_notice_as_submitted(org: None) -> None:
    view = services.incident_open(actor=ANALYST, title="Breach", severity="sev2",
                                  category="data_breach", jurisdictions=["EU-GDPR"],
                                  aware_at=timezone.now() - timedelta(hours=2))
    client = signed_in_client(make_user(roles=("security_analyst",)))
    response = client.post(f"/incidents/{view.id}/notice.pdf", {
        "jurisdiction": "EU-GDPR", "approx_subjects": 3, "approx_records": 3,
        "data_categories": "names", "likely_consequences": "phishing"})
    assert response.status_code == 200
    row = Communication.objects.get(incident_id=view.id)
    assert row.pdf_sha256 == hashlib.sha256(response.content).hexdigest()
    page = client.get(f"/incidents/{view.id}/communications/").content.decode()
    assert f'id="sub{row.id}_reference"' in page
    bad = client.post(f"/incidents/{view.id}/communications/{row.id}/submitted/",
                      {"reference": "", "submitted_at": "2026-01-01T00:00"})
    assert bad.status_code == 302
    assert Communication.objects.get(id=row.id).status == "generated"
    at = timezone.localtime() - timedelta(minutes=3)
    client.post(f"/incidents/{view.id}/communications/{row.id}/submitted/",
                {"reference": "DPA-7", "submitted_at": at.strftime("%Y-%m-%dT%H:%M")})
    row.refresh_from_db()
    assert (row.status, row.reference) == ("submitted", "DPA-7")
    page = client.get(f"/incidents/{view.id}/communications/").content.decode()
    assert "submitted, ref. DPA-7" in page

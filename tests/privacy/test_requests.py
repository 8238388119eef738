"""Data-subject requests (R-DATA-7, R-ORG-1): intake with the legal clock, verification by the
customer's identity-verification record, one extension, erasure that keeps what a statutory
period or a legal hold requires and says why, with the DPO in the reply; the on-time KPI."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from pypdf import PdfReader

from safeguard.accounts import services as accounts
from safeguard.audit.models import Event
from safeguard.cases.models import Interaction, Message
from safeguard.customers import services as customers
from safeguard.privacy import requests as dsr
from safeguard.privacy import selectors, services
from safeguard.privacy.contracts import RequestError
from safeguard.privacy.deadlines import response_due
from safeguard.privacy.enums import KIND_ACTION
from safeguard.privacy.models import DataSubjectRequest, ProcessingRestriction
from safeguard.web.errors import NotFound
from tests.factories import SYSTEM, make_user, signed_in_client
from tests.privacy.conftest import T0, closed_call_case, make_agent, make_queue, principal_for

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 5, 10, 0, tzinfo=UTC)  # a year after the calls of T0


@pytest.fixture
def world():
    make_queue("billing")
    agent = make_agent("billing")
    fin = closed_call_case(agent, call_id="fin-1", category="financial_record")
    qa = closed_call_case(agent, call_id="qa-1", category="qa_recording",
                          at=T0 + timedelta(days=1))
    assert fin.customer_id == qa.customer_id  # one caller, one contact
    officer = make_user(roles=("privacy_officer",))
    accounts.organisation_update(actor=SYSTEM, name="Northwind Ltd", dpo_name="Dana Park",
                                 dpo_email="dpo@northwind.example",
                                 security_hotline="+44 20 7946 0999",
                                 security_email="security@northwind.example")
    return {"agent": agent, "fin": fin, "qa": qa, "officer": principal_for(officer),
            "customer": str(fin.customer_id)}


def _verify_identity(world, at):
    with time_machine.travel(at, tick=False):
        customers.identity_verify(viewer=principal_for(world["agent"]),
                                  customer_id=world["customer"], method="otp_email",
                                  interaction_ref="call:qa-1")


def test_the_jurisdiction_table_agrees_with_the_clock():
    table = dsr.jurisdictions()
    received = date(2026, 1, 15)  # a Thursday; ends 15 Feb (Sun) / 15 Apr (Wed)
    assert response_due("ccpa", received) == received + timedelta(days=table["ccpa"]["days"])
    assert response_due("ccpa", received, extended=True) == \
        received + timedelta(days=table["ccpa"]["extended_days"])
    assert response_due("gdpr", received, extended=True) == date(2026, 4, 15)
    assert table["gdpr"]["extended_months"] == 3
    assert table["gdpr"]["months"] == 1
    assert set(table["gdpr"]["kinds"]) == {"access", "rectification", "erasure",
                                           "restriction", "portability", "objection"}
    assert set(table["ccpa"]["kinds"]) == {"know", "delete", "correct", "opt_out",
                                           "limit_sensitive"}
    # every kind of every regime has a fulfilment action (KIND_ACTION) and a regime of its own
    for key, regime in table.items():
        for kind in regime["kinds"]:
            assert kind in KIND_ACTION
            assert dsr.regime_of(kind) == key


def test_intake_computes_the_due_date_and_extension_moves_it_once(world):
    with time_machine.travel(NOW, tick=False):
        view = dsr.dsr_create(principal=world["officer"], customer_id=world["customer"],
                              kind="erasure", regime="gdpr", received_on=date(2026, 5, 31))
        assert view.due_on == date(2026, 6, 30)
        assert view.kind_citation == "Art. 17 (right to erasure)"
        extended = dsr.dsr_extend(principal=world["officer"], request_id=view.id)
        assert extended.due_on == date(2026, 8, 31)
        assert extended.extended
        with pytest.raises(RequestError, match="one extension"):
            dsr.dsr_extend(principal=world["officer"], request_id=view.id)
    assert [e.action for e in Event.objects.filter(subject_type="dsr").order_by("seq")] == [
        "dsr.received", "dsr.extended"]


def test_a_late_extension_is_refused(world):
    with time_machine.travel(NOW, tick=False):
        view = dsr.dsr_create(principal=world["officer"], customer_id=world["customer"],
                              kind="know", regime="ccpa", received_on=date(2026, 4, 1))
    assert view.due_on == date(2026, 5, 16)
    with time_machine.travel(NOW, tick=False), pytest.raises(RequestError, match="past its due"):
        dsr.dsr_extend(principal=world["officer"], request_id=view.id)
    assert DataSubjectRequest.objects.get(id=view.id).due_on == date(2026, 5, 16)


@pytest.mark.parametrize(("changes", "error"), [
    ({"kind": "forget-me"}, RequestError),
    ({"regime": "lgpd"}, RequestError),
    ({"received_on": date(2026, 6, 6)}, RequestError),   # tomorrow
    ({"received_on": date(2025, 6, 1)}, RequestError),   # more than a year ago
    ({"customer_id": "00000000-0000-0000-0000-000000000000"}, NotFound),
    ({"customer_id": "not-an-id"}, NotFound),
])
def test_bad_intake_is_refused_and_changes_nothing(world, changes, error):
    args = {"customer_id": world["customer"], "kind": "access", "regime": "gdpr",
            "received_on": date(2026, 6, 1), **changes}
    with time_machine.travel(NOW, tick=False), pytest.raises(error):
        dsr.dsr_create(principal=world["officer"], **args)
    assert DataSubjectRequest.objects.count() == 0


def test_verification_needs_a_recent_identity_verification_record(world):
    with time_machine.travel(NOW, tick=False):
        view = dsr.dsr_create(principal=world["officer"], customer_id=world["customer"],
                              kind="erasure", regime="gdpr", received_on=date(2026, 6, 1))
    _verify_identity(world, NOW - timedelta(days=60))  # too old for a request of 1 June
    with time_machine.travel(NOW, tick=False), \
            pytest.raises(RequestError, match="since 2026-05-02"):
        dsr.dsr_verify(principal=world["officer"], request_id=view.id)
    assert DataSubjectRequest.objects.get(id=view.id).status == "received"
    assert Event.objects.filter(action="dsr.verification_missing", outcome="failure").count() == 1
    _verify_identity(world, NOW)
    with time_machine.travel(NOW, tick=False):
        verified = dsr.dsr_verify(principal=world["officer"], request_id=view.id)
    assert verified.status == "verified"
    assert verified.verified_at == NOW


def test_erasure_keeps_the_seven_year_financial_record_and_says_why(world):
    with time_machine.travel(NOW, tick=False):
        view = dsr.dsr_create(principal=world["officer"], customer_id=world["customer"],
                              kind="erasure", regime="gdpr", received_on=date(2026, 6, 1))
    _verify_identity(world, NOW)
    with time_machine.travel(NOW, tick=False):
        dsr.dsr_verify(principal=world["officer"], request_id=view.id)
        erase, kept = dsr.erasure_plan(customer_id=world["customer"], as_of=NOW.date())
        assert erase == [str(world["qa"].id)]
        assert [(k.case_id, k.record_class, k.until) for k in kept] == [
            (str(world["fin"].id), "financial_record", date(2032, 6, 2))]
        done = dsr.dsr_fulfil_erasure(principal=world["officer"], request_id=view.id)
    # then the QA case is anonymised although its own 2-year period has not passed, and the
    # financial case is kept whole (restricted), with the reason in the reply
    assert Interaction.objects.get(case=world["qa"]).recording is None
    assert {m.body for m in Message.objects.filter(case=world["qa"])} <= {""}
    assert Interaction.objects.get(case=world["fin"]).transcript == "I would like a refund please"
    assert done.status == "fulfilled"
    assert done.closed_on == NOW.date()
    assert "Kept until 2032-06-02 because the law requires it (26 U.S.C. § 6501" in done.reply
    assert "GDPR Art. 17(3)(b)" in done.reply
    assert "Data Protection Officer: Dana Park, dpo@northwind.example" in done.reply
    assert "erased the content of 1 case(s)" in done.reply
    fulfilled = Event.objects.get(action="dsr.fulfilled")
    assert fulfilled.data["kept_classes"] == ["financial_record"]
    assert fulfilled.data["on_time"]
    with pytest.raises(RequestError, match="closed"):
        dsr.dsr_fulfil_erasure(principal=world["officer"], request_id=view.id)


def test_a_legal_hold_keeps_every_case_of_the_customer(world):
    services.legal_hold_place(principal=world["officer"], scope="customer",
                              target_id=world["customer"], reason="Litigation")
    erase, kept = dsr.erasure_plan(customer_id=world["customer"], as_of=NOW.date())
    assert erase == []
    assert {k.record_class for k in kept} == {"legal_hold"}
    assert all("legal hold" in k.reason and k.until is None for k in kept)


def test_unverified_or_non_erasure_requests_are_not_fulfilled(world):
    with time_machine.travel(NOW, tick=False):
        erasure = dsr.dsr_create(principal=world["officer"], customer_id=world["customer"],
                                 kind="erasure", regime="gdpr", received_on=date(2026, 6, 1))
        access = dsr.dsr_create(principal=world["officer"], customer_id=world["customer"],
                                kind="access", regime="gdpr", received_on=date(2026, 6, 1))
        with pytest.raises(RequestError, match="Verify"):
            dsr.dsr_fulfil_erasure(principal=world["officer"], request_id=erasure.id)
        with pytest.raises(RequestError, match="Only erasure"):
            dsr.dsr_fulfil_erasure(principal=world["officer"], request_id=access.id)
    # content untouched
    assert Interaction.objects.get(case=world["qa"]).recording is not None
    assert Event.objects.filter(action="case.anonymised").count() == 0


def test_on_time_kpi_for_the_metrics_app(world):
    rows = [(date(2026, 1, 5), date(2026, 2, 1)), (date(2026, 1, 10), date(2026, 3, 1)),
            (date(2026, 3, 1), None)]
    for received, closed in rows:
        with time_machine.travel(datetime.combine(received, datetime.min.time(), UTC),
                                 tick=False):
            view = dsr.dsr_create(principal=world["officer"], customer_id=world["customer"],
                                  kind="access", regime="gdpr", received_on=received)
        if closed:
            DataSubjectRequest.objects.filter(id=view.id).update(closed_on=closed,
                                                                 status="fulfilled")
    # due: 5 Feb (on time), 10 Feb (closed 1 Mar: late), 1 Apr (open; overdue by 30 Apr)
    kpi = selectors.dsr_on_time(start=date(2026, 1, 1), end=date(2026, 4, 30))
    assert (kpi.closed, kpi.on_time, kpi.overdue_open) == (2, 1, 1)
    assert kpi.ratio == 0.5
    assert selectors.dsr_on_time(start=date(2025, 1, 1), end=date(2025, 12, 31)).ratio is None


def test_request_pages_journey(world):
    client = signed_in_client(make_user(roles=("privacy_officer",)))
    with time_machine.travel(NOW, tick=True):
        bad = client.post("/privacy/requests/", {"kind": "erasure", "regime": "gdpr",
                                                 "customer_id": "nope",
                                                 "received_on": "2026-06-01"})
        assert bad.status_code == 400
        assert DataSubjectRequest.objects.count() == 0
        created = client.post("/privacy/requests/", {"kind": "erasure", "regime": "gdpr",
                                                     "customer_id": world["customer"],
                                                     "received_on": "2026-06-01"})
        row = DataSubjectRequest.objects.get()
        assert created["Location"] == f"/privacy/requests/{row.id}/"
        page = client.get(created["Location"]).content.decode()
        assert "2026-07-01" in page
        assert "Erasure plan" in page
        assert "Kept until 2032-06-02" in page
        client.post(f"/privacy/requests/{row.id}/verify/")
        assert DataSubjectRequest.objects.get().status == "received"  # no verification record
        customers.identity_verify(viewer=principal_for(world["agent"]),
                                  customer_id=world["customer"], method="otp_email")
        client.post(f"/privacy/requests/{row.id}/verify/")
        client.post(f"/privacy/requests/{row.id}/fulfil/")
        assert client.post(f"/privacy/requests/{row.id}/shred/").status_code == 404
        page = client.get(f"/privacy/requests/{row.id}/").content.decode()
        letter = client.get(f"/privacy/requests/{row.id}/letter.pdf")
    assert "Data Protection Officer: Dana Park" in page
    assert DataSubjectRequest.objects.get().status == "fulfilled"
    assert letter.status_code == 200, letter.content[:300]
    assert letter["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(letter.content)).pages)
    assert "Data Protection Officer: Dana Park, dpo@northwind.example" in text
    assert "Kept until 2032-06-02" in text
    # erasure became restriction: the 7-year financial record stays, restricted, and says so
    flat = " ".join(text.split())
    assert "Its processing is restricted instead (GDPR Art. 18)" in flat
    assert "Art. 17(3)(b)" in flat
    assert ProcessingRestriction.objects.filter(customer_id=world["customer"],
                                                scope="all").count() == 1
    agent = signed_in_client(world["agent"])
    assert agent.get("/privacy/requests/").status_code == 403


def test_access_bundle_holds_every_app_s_data_for_that_customer_and_nobody_else_s(world):
    from tests.privacy.conftest import closed_mail_case

    other = closed_mail_case(world["agent"], email="zed@example.com", csat=3)
    with time_machine.travel(NOW, tick=False):
        view = dsr.dsr_create(principal=world["officer"], customer_id=world["customer"],
                              kind="know", regime="ccpa", received_on=date(2026, 6, 1))
    _verify_identity(world, NOW)
    client = signed_in_client(make_user(roles=("privacy_officer",)))
    with time_machine.travel(NOW, tick=True):
        dsr.dsr_verify(principal=world["officer"], request_id=view.id)
        assert client.get(f"/privacy/requests/{view.id}/export.zip").status_code == 404
        done = dsr.dsr_fulfil_access(principal=world["officer"], request_id=view.id)
        response = client.get(f"/privacy/requests/{view.id}/export.zip")
    assert done.status == "fulfilled"
    assert "2 case(s)" in done.reply
    assert "Data Protection Officer: Dana Park" in done.reply
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    bundle = json.loads(archive.read("personal-data.json"))
    # every app that registered an export handler is in the bundle, one CSV per table
    assert sorted(bundle["tables"]) == ["cases", "customers", "privacy"]
    names = set(archive.namelist())
    for app, tables in bundle["tables"].items():
        for table, rows in tables.items():
            assert f"{app}/{table}.csv" in names
            parsed = list(csv.DictReader(io.StringIO(archive.read(f"{app}/{table}.csv")
                                                     .decode())))
            assert len(parsed) == len(rows)
    assert {"access-log.csv", "README.txt"} <= names
    # the customer's own profile, verifications, cases, calls and requests
    profile = bundle["tables"]["customers"]["profile"]
    assert [p["id"] for p in profile] == [world["customer"]]
    assert profile[0]["phone"] == "+442079460018"
    assert [v["method"] for v in bundle["tables"]["customers"]["identity_verifications"]] == [
        "otp_email"]
    case_numbers = sorted([world["fin"].number, world["qa"].number])
    cases_t = bundle["tables"]["cases"]
    assert sorted(c["number"] for c in cases_t["cases"]) == case_numbers
    assert {m["case"] for m in cases_t["messages"]} <= set(case_numbers)
    assert {c["case"] for c in cases_t["calls_and_chats"]} == set(case_numbers)
    call = cases_t["calls_and_chats"][0]
    assert call["transcript"] == "I would like a refund please"
    assert call["recording"]["uri"].startswith("s3://rec/")
    assert [r["kind"] for r in bundle["tables"]["privacy"]["data_subject_requests"]] == ["know"]
    assert any(e["action"] == "customer.verified" for e in bundle["access_log"])
    # the log covers the customer's cases too, and only theirs
    about_cases = {e["about"] for e in bundle["access_log"] if e["about"].startswith("case ")}
    assert about_cases
    assert about_cases <= {f"case {n}" for n in case_numbers}
    csv_log = archive.read("access-log.csv").decode()
    assert "customer.verified" in csv_log
    # and nothing of the other customer's, in any file of the zip
    for name in names:
        text = archive.read(name).decode()
        assert "zed@example.com" not in text
        assert str(other.customer_id) not in text
    assert other.number not in case_numbers
    assert Event.objects.filter(action="dsr.access_exported",
                                data__customer=world["customer"]).count() == 1


def test_only_access_and_portability_are_fulfilled_by_an_export(world):
    with time_machine.travel(NOW, tick=False):
        view = dsr.dsr_create(principal=world["officer"], customer_id=world["customer"],
                              kind="objection", regime="gdpr", received_on=date(2026, 6, 1))
        with pytest.raises(RequestError, match="Only access, portability and right-to-know"):
            dsr.dsr_fulfil_access(principal=world["officer"], request_id=view.id)
        access = dsr.dsr_create(principal=world["officer"], customer_id=world["customer"],
                                kind="portability", regime="gdpr",
                                received_on=date(2026, 6, 1))
        with pytest.raises(RequestError, match="Verify"):
            dsr.dsr_fulfil_access(principal=world["officer"], request_id=access.id)
    assert DataSubjectRequest.objects.filter(closed_on__isnull=False).count() == 0


def test_the_bundle_shows_text_screened_card_numbers_as_references_without_tokens():
    from safeguard.cases.models import Case
    from safeguard.privacy import fulfil
    from tests.cases.conftest import inbound

    make_queue("billing")
    pan = "4111111111111111"
    case = Case.objects.get(id=inbound(f"my card is {pan}", subject=f"card {pan}",
                                       queue="billing").case_id)
    tables = fulfil.export_cases(customer_id=str(case.customer_id))
    text = json.dumps(tables, ensure_ascii=False)
    assert "[card visa •••• 1111]" in tables["messages"][0]["text"]
    assert "[card visa •••• 1111]" in tables["cases"][0]["subject"]
    assert pan not in text
    assert "tok_" not in text


def test_the_bundle_carries_the_customer_s_screened_attachment_files(world):
    """R-DATA-7: the files are data too. A screened file is in the zip byte for byte, named in
    the attachments table; a file that held a card number was never stored, so it has none;
    another customer's file is not there."""
    from safeguard.cases.contracts import AttachmentIn
    from safeguard.cases.models import Case
    from tests.cases import attachment_files as files
    from tests.cases.conftest import inbound

    pan = "4111 1111 1111 1111"
    note = b"Order 5531: the parcel arrived damaged, photos follow.\n"
    with time_machine.travel(T0, tick=False):
        mine = inbound("See attached.", email="ivy@example.com", attachments=[
            AttachmentIn("damage note.txt", "text/plain", note),
            AttachmentIn("card.pdf", "application/pdf", files.pdf(f"card {pan}"))])
        inbound("Mine too.", email="zed@example.com", attachments=[
            AttachmentIn("other.txt", "text/plain", b"Zed's own file\n")])
    customer = str(Case.objects.get(id=mine.case_id).customer_id)
    with time_machine.travel(NOW, tick=False):
        customers.identity_verify(viewer=principal_for(world["agent"]), customer_id=customer,
                                  method="otp_email", interaction_ref="email:ivy")
        view = dsr.dsr_create(principal=world["officer"], customer_id=customer,
                              kind="access", regime="gdpr", received_on=date(2026, 6, 1))
        dsr.dsr_verify(principal=world["officer"], request_id=view.id)
        dsr.dsr_fulfil_access(principal=world["officer"], request_id=view.id)
        response = signed_in_client(make_user(roles=("privacy_officer",))).get(
            f"/privacy/requests/{view.id}/export.zip")
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    table = json.loads(archive.read("personal-data.json"))["tables"]["cases"]["attachments"]
    by_name = {a["filename"]: a for a in table}
    assert set(by_name) == {"damage note.txt", "card.pdf"}
    assert by_name["card.pdf"]["state"] == "withheld"
    assert by_name["card.pdf"]["file"] == ""
    path = by_name["damage note.txt"]["file"]
    assert path.startswith("attachments/")
    assert path.endswith("-damage_note.txt")
    assert archive.read(path) == note
    assert [n for n in archive.namelist() if n.startswith("attachments/")] == [path]
    assert not any(b"Zed's own file" in archive.read(n) for n in archive.namelist())
    assert b"4111" not in response.content

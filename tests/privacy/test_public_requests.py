"""Public data-subject requests (R-DATA-7; decision 0117): the page and the intake API refuse
bad input without changing anything, answer the same for a customer's address and a stranger's
(no existence oracle), go ahead only once the e-mailed code is entered with the reference,
lock after too many wrong codes, are rate-limited, and close as unverifiable with a letter when
the code is never entered. The clock's notifications reach the privacy officers once."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client

from safeguard.accounts import services as accounts
from safeguard.audit.models import Event
from safeguard.customers import services as customers
from safeguard.privacy import fulfil, intake
from safeguard.privacy.contracts import RequestError, RequestThrottled
from safeguard.privacy.models import DataSubjectRequest, ProcessingRestriction
from tests.factories import SYSTEM, make_user, signed_in_client
from tests.privacy.conftest import principal_for

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday
ANN = "ann.lee@example.com"


@pytest.fixture
def ann():
    accounts.organisation_update(actor=SYSTEM, name="Northwind Ltd", dpo_name="Dana Park",
                                 dpo_email="dpo@northwind.example",
                                 security_hotline="+44 20 7946 0999",
                                 security_email="security@northwind.example")
    return str(customers.customer_create(actor=SYSTEM, name="Ann Lee", email=ANN).id)


def _code(to: str) -> tuple[str, str]:
    body = [m for m in mail.outbox if m.to == [to]][-1].body
    return (re.search(r"Your reference: ([A-Z]+)", body).group(1),
            re.search(r"Your code: ([0-9]+)", body).group(1))


def _state():
    return (DataSubjectRequest.objects.count(), len(mail.outbox),
            Event.objects.filter(action__startswith="dsr.").count())


@pytest.mark.parametrize("post", [
    {"kind": "erasure", "email": "not-an-address"},
    {"kind": "delete-everything", "email": ANN},
    {"kind": "", "email": ANN},
    {"kind": "access", "email": ANN, "details": "x" * 2001},
    {"kind": "access", "email": ANN + "\x00"},
])
def test_bad_input_on_the_page_changes_nothing(client, ann, post):
    before = _state()
    response = client.post("/data-request/", post)
    assert response.status_code == 400
    assert _state() == before


def test_bad_input_on_the_api_is_a_problem_and_changes_nothing(client, ann):
    before = _state()
    for body in ('{"regime": "ccpa", "kind": "access", "email": "a@example.com"}',  # GDPR kind
                 '{"regime": "gdpr", "kind": "access", "email": "nope"}',
                 '["not", "an", "object"]', "{not json", '{"regime": 5}'):
        response = client.post("/data-request/api/requests", body,
                               content_type="application/json")
        assert response.status_code in (400, 409), body
        assert response["Content-Type"].startswith("application/problem+json")
    assert _state() == before


def test_the_answer_is_the_same_for_a_customer_and_a_stranger(client, ann):
    with time_machine.travel(NOW, tick=False):
        known = client.post("/data-request/", {"kind": "access", "email": ANN})
        unknown = client.post("/data-request/", {"kind": "access",
                                                 "email": "stranger@example.com"})
    assert known.status_code == unknown.status_code == 200

    def shape(html: bytes) -> str:
        return re.sub(r"[A-Z]{20}", "REF", html.decode())
    assert shape(known.content) == shape(unknown.content)
    mails = {m.to[0]: m for m in mail.outbox}
    assert re.sub(r"[A-Z]{20}|[0-9]{8}", "X", mails[ANN].body) == \
        re.sub(r"[A-Z]{20}|[0-9]{8}", "X", mails["stranger@example.com"].body)
    assert mails[ANN].subject == mails["stranger@example.com"].subject
    # only staff learn which it was
    rows = {r.contact_email: r for r in DataSubjectRequest.objects.all()}
    assert str(rows[ANN].customer_id) == ann
    assert rows["stranger@example.com"].customer_id is None
    # GDPR: one month, 2 Apr 2026 is a Thursday; received and acknowledged the same day
    assert rows[ANN].due_on == date(2026, 4, 2)
    assert rows[ANN].acknowledged_on == date(2026, 3, 2)


def test_an_unverified_request_is_refused_until_the_code_is_entered(ann):
    officer = principal_for(make_user(roles=("privacy_officer",)))
    with time_machine.travel(NOW, tick=False):
        receipt = intake.dsr_public_submit(regime="gdpr", kind="access", email=ANN,
                                           details="", client="203.0.113.9")
        row = DataSubjectRequest.objects.get()
        # staff cannot fulfil it: the requester has not proved they hold the address
        with pytest.raises(RequestError, match="Verify"):
            fulfil.dsr_fulfil(principal=officer, request_id=str(row.id))
        reference, code = _code(ANN)
        assert reference == receipt.reference
        # the reference alone, or a wrong code, shows nothing and verifies nothing
        with pytest.raises(RequestError, match="not recognised"):
            intake.dsr_public_status(reference=reference, code="00000000", client="x")
        with pytest.raises(RequestError, match="not recognised"):
            intake.dsr_public_status(reference="A" * 20, code=code, client="x")
        assert DataSubjectRequest.objects.get().status == "received"
        status = intake.dsr_public_status(reference=reference.lower(), code=code, client="x")
    assert status.status == "verified"
    row.refresh_from_db()
    assert (row.status, row.code_failures) == ("verified", 1)
    assert Event.objects.filter(action="dsr.verified", data__method="otp_email").count() == 1
    # neither the reference nor the code is stored in clear
    assert reference not in str(row.reference_hash)
    assert code not in row.code_hash


def test_too_many_wrong_codes_lock_the_request(ann, settings):
    settings.SAFEGUARD_DSR_CODE_ATTEMPTS = 3
    intake.dsr_public_submit(regime="gdpr", kind="erasure", email=ANN, details="", client="c")
    reference, code = _code(ANN)
    for _ in range(3):
        with pytest.raises(RequestError):
            intake.dsr_public_status(reference=reference, code="12345678", client="c")
    with pytest.raises(RequestError, match="not recognised"):  # the right code, too late
        intake.dsr_public_status(reference=reference, code=code, client="c")
    assert DataSubjectRequest.objects.get().status == "received"


def test_the_page_is_rate_limited_per_client(ann, settings):
    settings.SAFEGUARD_DSR_PUBLIC_LIMIT = "2/h"
    for i in range(2):
        intake.dsr_public_submit(regime="ccpa", kind="know", email=f"p{i}@example.com",
                                 details="", client="198.51.100.7")
    with pytest.raises(RequestThrottled):
        intake.dsr_public_submit(regime="ccpa", kind="know", email="p9@example.com",
                                 details="", client="198.51.100.7")
    assert DataSubjectRequest.objects.count() == 2
    page = Client(REMOTE_ADDR="198.51.100.7").post("/data-request/",
                                                   {"kind": "know", "email": "q@example.com"})
    assert page.status_code == 429
    assert DataSubjectRequest.objects.count() == 2


def test_an_unconfirmed_request_closes_as_unverifiable_with_a_letter(ann):
    with time_machine.travel(NOW, tick=False):
        intake.dsr_public_submit(regime="ccpa", kind="delete", email=ANN, details="",
                                 client="c")
    reference, code = _code(ANN)
    with time_machine.travel(NOW + timedelta(days=15), tick=False):
        counts = fulfil.dsr_clock_run()
    row = DataSubjectRequest.objects.get()
    assert counts["unverifiable"] == 1
    assert row.status == "unverifiable"
    assert "could not verify your identity" in row.reply
    assert "Data Protection Officer: Dana Park" in row.reply
    # the requester can still read why, with their reference and code
    status = intake.dsr_public_status(reference=reference, code=code, client="c")
    assert status.status == "unverifiable"
    assert "not entered in time" in status.reply


def test_a_stranger_who_proves_the_address_is_told_we_hold_nothing(ann):
    officer = principal_for(make_user(roles=("privacy_officer",)))
    intake.dsr_public_submit(regime="gdpr", kind="access", email="s@example.com", details="",
                             client="c")
    reference, code = _code("s@example.com")
    intake.dsr_public_status(reference=reference, code=code, client="c")
    view = fulfil.dsr_fulfil(principal=officer,
                             request_id=str(DataSubjectRequest.objects.get().id))
    assert view.status == "fulfilled"
    assert "We hold no personal data linked to the address you gave" in view.reply


def test_restriction_and_opt_out_are_recorded_and_replied(ann,
                                                          django_capture_on_commit_callbacks):
    officer = principal_for(make_user(roles=("privacy_officer",)))
    for kind, regime, scope in (("restriction", "gdpr", "all"),
                                ("opt_out", "ccpa", "sale_sharing")):
        intake.dsr_public_submit(regime=regime, kind=kind, email=ANN, details="", client="c")
        reference, code = _code(ANN)
        intake.dsr_public_status(reference=reference, code=code, client="c")
        row = DataSubjectRequest.objects.get(kind=kind)
        with django_capture_on_commit_callbacks(execute=True):
            view = fulfil.dsr_fulfil_restrict(principal=officer, request_id=str(row.id),
                                              note="Marketing e-mails stopped too.")
        assert view.status == "fulfilled"
        assert "we have stopped" in view.reply
        assert "Marketing e-mails" in view.reply
        assert ProcessingRestriction.objects.filter(customer_id=ann, scope=scope).exists()
    from safeguard.web import providers

    assert providers.get("privacy.customer_restrictions")(customer_id=ann) == \
        frozenset({"all", "sale_sharing"})
    # the reply reached the requester's own address
    assert any("we have stopped" in m.body for m in mail.outbox if m.to == [ANN])


def test_rectification_corrects_through_the_customers_app(ann):
    officer = principal_for(make_user(roles=("privacy_officer", "supervisor")))
    intake.dsr_public_submit(regime="gdpr", kind="rectification", email=ANN,
                             details="My name is Anne, not Ann", client="c")
    reference, code = _code(ANN)
    intake.dsr_public_status(reference=reference, code=code, client="c")
    row = DataSubjectRequest.objects.get()
    with pytest.raises(RequestError, match="Cannot correct"):
        fulfil.dsr_fulfil_rectify(principal=officer, request_id=str(row.id),
                                  corrections={"password": "x"})
    view = fulfil.dsr_fulfil_rectify(principal=officer, request_id=str(row.id),
                                     corrections={"name": "Anne Lee",
                                                  "phone": "+44 20 7946 0011"})
    assert "- name corrected" in view.reply
    assert "phone correction sent for a supervisor's approval" in view.reply
    from safeguard.customers import selectors as cs

    assert cs.customer_export_system(customer_id=ann)["name"] == "Anne Lee"
    assert Event.objects.filter(action="customer.approval_requested").count() == 1


def test_the_clock_notifies_the_officers_once_per_state(ann, settings,
                                                       django_capture_on_commit_callbacks):
    settings.SAFEGUARD_DSR_DUE_SOON_DAYS = 5
    make_user(email="po@northwind.example", roles=("privacy_officer",))
    officer = principal_for(make_user(roles=("privacy_officer",)))
    with time_machine.travel(NOW, tick=False):
        from safeguard.privacy import requests as dsr

        view = dsr.dsr_create(principal=officer, customer_id=ann, kind="know", regime="ccpa",
                              received_on=date(2026, 3, 2))
    assert view.due_on == date(2026, 4, 16)  # 45 days
    assert view.acknowledge_by == date(2026, 3, 16)  # ten business days
    mail.outbox.clear()

    def officers_mail():
        return [m.subject for m in mail.outbox if "po@northwind.example" in m.to]

    with time_machine.travel(datetime(2026, 3, 17, 9, tzinfo=UTC), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        fulfil.dsr_clock_run()
        fulfil.dsr_clock_run()  # again: nothing new
    assert officers_mail() == [("Data-subject request has not been acknowledged within ten "
                                "business days (CCPA)")]
    with time_machine.travel(datetime(2026, 4, 12, 9, tzinfo=UTC), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        fulfil.dsr_clock_run()
    with time_machine.travel(datetime(2026, 4, 17, 9, tzinfo=UTC), tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        fulfil.dsr_clock_run()
        fulfil.dsr_clock_run()
    assert officers_mail()[1:] == ["Data-subject request is due soon",
                                   "Data-subject request is OVERDUE"]
    assert Event.objects.filter(action="dsr.clock_notified").count() == 3


def _fulfilled_access(ann, officer):
    intake.dsr_public_submit(regime="gdpr", kind="access", email=ANN, details="", client="c")
    reference, code = _code(ANN)
    intake.dsr_public_status(reference=reference, code=code, client="c")
    row = DataSubjectRequest.objects.get()
    fulfil.dsr_fulfil(principal=officer, request_id=str(row.id), origin="https://sg.example")
    return row, reference, code


def test_the_bundle_link_is_signed_expiring_and_audited(ann, client, settings):
    settings.SAFEGUARD_DSR_LINK_HOURS = 2
    officer = principal_for(make_user(roles=("privacy_officer",)))
    with time_machine.travel(NOW, tick=False):
        row, reference, code = _fulfilled_access(ann, officer)
        link = intake.dsr_public_status(reference=reference, code=code, client="c").bundle_url
        assert link.startswith("/data-request/bundle/")
        ok = client.get(link)
        assert ok.status_code == 200
        assert ok["Content-Type"] == "application/zip"
        # a tampered token is refused
        tampered = link[:-3] + ("A" if link[-3] != "A" else "B") + link[-2:]
        assert client.get(tampered).status_code == 404
    with time_machine.travel(NOW + timedelta(hours=2, minutes=1), tick=False):
        expired = client.get(link)
    assert expired.status_code == 404
    assert b"has expired" in expired.content
    assert Event.objects.filter(action="dsr.bundle_downloaded").count() == 1
    assert [e.data["expired"] for e in Event.objects.filter(
        action="dsr.bundle_link_refused").order_by("seq")] == [False, True]
    # the status page's letter is only for the session that opened the status
    assert client.get(f"/data-request/letter/{row.id}.pdf").status_code == 404


def test_the_status_page_shows_the_reply_and_serves_the_letter(ann, client):
    officer = principal_for(make_user(roles=("privacy_officer",)))
    row, reference, code = _fulfilled_access(ann, officer)
    page = client.post("/data-request/status/", {"reference": reference, "code": code})
    html = page.content.decode()
    assert page.status_code == 200
    assert "Data Protection Officer: Dana Park" in html
    assert "/data-request/bundle/" in html
    assert page["Cache-Control"].startswith("max-age=0") or "no-cache" in page["Cache-Control"]
    letter = client.get(f"/data-request/letter/{row.id}.pdf")
    assert letter.status_code == 200
    assert letter["Content-Type"] == "application/pdf"
    wrong = client.post("/data-request/status/", {"reference": reference, "code": "99999999"})
    assert wrong.status_code == 400
    assert "Data Protection Officer" not in wrong.content.decode()


def test_staff_close_an_unverifiable_request_from_the_page(ann):
    officer = make_user(roles=("privacy_officer",))
    staff = signed_in_client(officer)
    intake.dsr_public_submit(regime="ccpa", kind="know", email=ANN, details="", client="c")
    row = DataSubjectRequest.objects.get()
    page = staff.get(f"/privacy/requests/{row.id}/").content.decode()
    assert "Close with a letter" in page
    assert "Fulfil with an export" not in page  # not verified
    staff.post(f"/privacy/requests/{row.id}/unverifiable/", {"reason": "bogus"})
    assert DataSubjectRequest.objects.get().status == "received"  # bad reason: unchanged
    staff.post(f"/privacy/requests/{row.id}/unverifiable/", {"reason": "no_proof"})
    row.refresh_from_db()
    assert row.status == "unverifiable"
    assert "you did not provide the proof of identity" in row.reply
    assert row.closed_on is not None


def test_a_refused_address_gets_an_error_and_a_closed_request(ann):
    with pytest.raises(RequestError, match="could not send a code"):
        intake.dsr_public_submit(regime="gdpr", kind="access", email="noreply@example.com",
                                 details="", client="c")
    row = DataSubjectRequest.objects.get()
    assert (row.status, row.closed_on is not None) == ("unverifiable", True)
    assert mail.outbox == []


def test_the_clock_command_closes_expired_requests(ann):
    from io import StringIO

    from django.core.management import call_command

    with time_machine.travel(NOW, tick=False):
        intake.dsr_public_submit(regime="gdpr", kind="access", email=ANN, details="", client="c")
    out = StringIO()
    with time_machine.travel(NOW + timedelta(days=30), tick=False):
        call_command("privacy", "clock", stdout=out)
    assert "closed as unverifiable: 1" in out.getvalue()
    assert DataSubjectRequest.objects.get().status == "unverifiable"


def test_the_intake_api_files_and_answers_by_reference_and_code(client, ann):
    created = client.post("/data-request/api/requests",
                          {"regime": "ccpa", "kind": "know", "email": ANN},
                          content_type="application/json")
    assert created.status_code == 201
    body = created.json()
    assert body["due_on"] == (DataSubjectRequest.objects.get().received_on
                              + timedelta(days=45)).isoformat()
    assert body["status_url"].endswith("/data-request/status/")
    reference, code = _code(ANN)
    assert body["reference"] == reference
    wrong = client.post("/data-request/api/status",
                        {"reference": reference, "code": "12345678"},
                        content_type="application/json")
    assert wrong.status_code == 409
    assert wrong.json()["detail"] == "That reference and code are not recognised."
    status = client.post("/data-request/api/status", {"reference": reference, "code": code},
                         content_type="application/json").json()
    assert (status["status"], status["kind"], status["bundle_url"]) == ("verified", "know", None)

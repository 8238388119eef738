"""Password reset as an attacker sees it (issue 9 items 7 and 9; R-OPS-2, R-IR-5): every
request is audited — refused by the rate limit too — without the typed address in clear, and a
known and an unknown address make the request do the same work (one queued job each), so its
time is no existence oracle. The mail itself goes out from the job, after the commit."""

from __future__ import annotations

import json
import re

import pytest
from django.core import mail
from django.test import Client
from huey.contrib.djhuey import HUEY
from huey.signals import SIGNAL_ENQUEUED

from safeguard.accounts import services
from safeguard.audit import selectors as audit
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

URL = "/account/password/reset/"


@pytest.fixture
def enqueued():
    """The names of the Huey jobs enqueued while the test runs (the real queue's signal)."""
    names: list[str] = []

    def on_enqueue(signal, task, *args):  # type: ignore[no-untyped-def]
        names.append(task.name)

    HUEY.signal(SIGNAL_ENQUEUED)(on_enqueue)
    yield names
    HUEY.disconnect_signal(on_enqueue, SIGNAL_ENQUEUED)


def test_known_and_unknown_addresses_do_the_same_work_in_the_request(
        enqueued, django_capture_on_commit_callbacks):
    # given a staff user
    known = make_user()
    mail.outbox.clear()
    per_request = []
    for email in (known.email, "nobody-here@example.test"):
        # when a reset is requested for the known and for an unknown address
        mailed = len(mail.outbox)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = Client().post(URL, {"email": email})
        # then nothing is mailed while the request runs (the page never waits on SMTP)
        assert len(mail.outbox) == mailed
        before = len(enqueued)
        for callback in callbacks:
            callback()
        per_request.append((response.status_code, response["Location"], enqueued[before:]))
    # and both requests queued exactly one and the same job, and answered the same
    assert per_request == [
        (302, "/account/password/reset/done/", ["accounts.password_reset_mail_send"]),
        (302, "/account/password/reset/done/", ["accounts.password_reset_mail_send"])]
    # and only the known address got a mail, whose link resets the password
    assert [m.to for m in mail.outbox] == [[known.email]]
    link = re.search(r"https?://\S+/account/password/reset/key/\S+", mail.outbox[0].body)
    assert link is not None
    client = Client()
    page = client.get(link.group(0).split("testserver", 1)[1], follow=True)
    assert page.status_code == 200
    done = client.post(page.redirect_chain[-1][0] if page.redirect_chain else link.group(0),
                       {"password1": "a new long passphrase 42", "password2":
                        "a new long passphrase 42"})
    assert done.status_code == 302
    known.refresh_from_db()
    assert known.check_password("a new long passphrase 42")
    assert not known.check_password(PASSWORD)


def test_the_mail_job_sends_nothing_to_a_service_account_or_a_leaver():
    # given a service account and a disabled person
    robot = make_user(email="robot@example.test", is_service_account=True, password="", mfa=False)
    mail.outbox.clear()
    # when the job runs for them
    sent = services.password_reset_mail_send(user_ids=[robot.id, 999_999],
                                             base_url="https://sg.example.test")
    # then nothing is sent
    assert (sent, mail.outbox) == (0, [])


def test_a_reset_refused_by_the_rate_limit_is_audited_without_the_address(
        django_capture_on_commit_callbacks):
    # given a known address
    known = make_user()
    client = Client()
    # when the same address is asked for more often than the per-address limit (3 a minute)
    with django_capture_on_commit_callbacks(execute=True):
        statuses = [client.post(URL, {"email": known.email}).status_code for _ in range(5)]
    # then the extra requests are refused by allauth with 429
    assert statuses == [302, 302, 302, 429, 429]
    # and every one of them is on record, the refused ones as denied
    events = audit.event_list(action="auth.password_reset_requested")
    assert sorted((e.outcome, e.data.get("why", "")) for e in events) == [
        ("denied", "rate limited"), ("denied", "rate limited"),
        ("success", ""), ("success", ""), ("success", "")]
    assert {e.subject_id for e in events} == {str(known.id)}
    assert {e.data["identifier"] for e in events} == {
        services.identifier_fingerprint(known.email)}
    assert known.email not in json.dumps([e.data for e in events])
    # and only the allowed ones mailed
    assert len([m for m in mail.outbox if m.to == [known.email]]) == 3


def test_a_malformed_reset_request_is_audited_and_answers_a_form_error():
    # when an address that is not one (attacker-chosen text with a control character) is sent
    typed = "not-an-address\x1b[31m<script>"
    response = Client().post(URL, {"email": typed})
    # then the page answers with the form again (no 500)
    assert response.status_code == 200
    # and the request is recorded, only as a fingerprint
    [event] = audit.event_list(action="auth.password_reset_requested")
    assert (event.outcome, event.data["why"], event.data["known_account"]) == (
        "denied", "invalid address", False)
    assert event.data["identifier"] == services.identifier_fingerprint(typed)
    assert "script" not in json.dumps(event.data)

"""The public contact form (/contact/): a message becomes a web case; CSRF, limits, honeypot."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.channels.conftest import all_cases, all_messages, stored_counts

pytestmark = pytest.mark.django_db

FORM = {"name": "Bob Buyer", "email": "bob@customer.example", "subject": "Wrong size",
        "message": "The shoes are too small; my IBAN is GB82 WEST 1234 5698 7654 32."}


def test_the_form_is_public():
    response = Client().get("/contact/")
    assert response.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in response.content.decode()


def test_a_submission_opens_a_web_case_with_screened_text():
    client = Client(enforce_csrf_checks=True)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"',
                      client.get("/contact/").content.decode())[1]
    response = client.post("/contact/", {**FORM, "csrfmiddlewaretoken": token})
    assert response.status_code == 200
    [case] = all_cases()
    assert case.channel == "web"
    assert f"#{case.number}" in response.content.decode()
    [message] = all_messages("web")
    assert "too small" in message.body
    assert "GB82 WEST 1234 5698 7654 32" not in message.body


def test_without_csrf_token_nothing_is_stored():
    response = Client(enforce_csrf_checks=True).post("/contact/", FORM)
    assert response.status_code == 403
    assert stored_counts() == (0, 0, 0)


def test_invalid_input_shows_errors_and_stores_nothing():
    response = Client().post("/contact/", {**FORM, "email": "nope", "message": ""})
    assert response.status_code == 400
    assert "errorlist" in response.content.decode()
    assert stored_counts() == (0, 0, 0)


def test_the_honeypot_pretends_success_and_stores_nothing():
    response = Client().post("/contact/", {**FORM, "website": "http://spam.example"})
    assert response.status_code == 200
    assert stored_counts() == (0, 0, 0)


def test_submissions_are_rate_limited_per_address(settings):
    settings.SAFEGUARD_CONTACT_LIMIT = "2/h"
    client = Client()
    assert client.post("/contact/", FORM).status_code == 200
    assert client.post("/contact/", FORM).status_code == 200
    third = client.post("/contact/", FORM)
    assert third.status_code == 429
    assert len(all_cases()) == 2
    # another address is not affected
    assert Client(REMOTE_ADDR="192.0.2.9").post("/contact/", FORM).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_an_agent_reply_to_a_web_case_goes_out_by_email(smtp_sink, mail_routes):
    from safeguard.accounts import services as accounts
    from safeguard.accounts.contracts import Principal
    from safeguard.cases import services as cases
    from tests.factories import make_user

    accounts.roles_ensure_builtin()
    Client().post("/contact/", FORM)
    [case] = all_cases()
    agent = make_user(roles=("supervisor",))
    principal = Principal(user_id=agent.id, email=agent.email, via="session",
                          permissions=frozenset({"cases.view", "cases.view_all", "cases.reply"}))
    cases.message_send(case_number=case.number, principal=principal, text="A new pair is sent.")
    [sent] = smtp_sink.wait(1)
    assert smtp_sink.messages[0][1] == ["bob@customer.example"]
    assert "A new pair is sent." in sent.get_content()

"""Pages: the customer panel (masked, reveal through step-up), scope on pages, approvals inbox
and decisions, request forms. Keyboard-friendly markup, no inline script or style (CSP)."""

from __future__ import annotations

import re
import time

import pytest

from safeguard.audit import selectors as audit
from safeguard.customers.models import Approval, Customer, RevealGrant
from tests.customers.factories import grant_scope, make_customer
from tests.factories import make_user, signed_in_client, totp_code

pytestmark = pytest.mark.django_db


def _html(response) -> str:
    return response.content.decode()


def test_the_customer_page_shows_masked_values_and_no_clear_ones():
    # given an agent with Maria in scope
    agent = make_user(roles=("agent",))
    maria = make_customer()
    grant_scope(agent, maria.id)
    # when the agent opens her page
    response = signed_in_client(agent).get(f"/customers/{maria.id}/")
    html = _html(response)
    # then the values are masked, no clear value appears, and agents get no reveal button
    assert response.status_code == 200
    for masked in ("M. L•••", "m•••@e•••.com", "•••• 0132", "Leeds, GB", "GB•• •••• 6819"):
        assert masked in html
    for clear in ("maria.lopez@example.com", "Maria Lopez", "Station Road", "1984-03-12",
                  "NWBK"):
        assert clear not in html
    assert "Reveal</a>" not in html
    assert "<script>" not in html
    assert " style=" not in html
    assert audit.event_list(action="customer.viewed")[0].data["what"] == "panel"


def test_a_customer_out_of_scope_is_a_404_page_like_an_absent_one():
    agent = make_user(roles=("agent",))
    maria = make_customer()
    client = signed_in_client(agent)
    assert client.get(f"/customers/{maria.id}/").status_code == 404
    assert client.get(f"/customers/{maria.id}/panel/").status_code == 404
    assert client.get("/customers/00000000-0000-4000-8000-000000000000/").status_code == 404
    assert "maria" not in _html(client.get(f"/customers/{maria.id}/")).lower()


def test_reveal_through_the_page_asks_for_step_up_then_shows_the_value_with_a_countdown():
    # given a supervisor whose second factor is 10 minutes old
    supervisor = make_user(roles=("supervisor",))
    maria = make_customer()
    client = signed_in_client(supervisor, mfa_at=time.time() - 600)
    page = _html(client.get(f"/customers/{maria.id}/"))
    assert f'href="/customers/{maria.id}/reveal/email/' in page  # a Reveal link per field
    # when they open the reason form (htmx partial) and submit it
    form = client.get(f"/customers/{maria.id}/reveal/email/", HTTP_HX_REQUEST="true")
    assert form.status_code == 200
    assert 'name="reason"' in _html(form)
    assert "<html" not in _html(form)
    response = client.post(f"/customers/{maria.id}/reveal/",
                           {"field": "email", "reason": "Confirm address for a bounce"})
    # then they are sent to re-authenticate first, and nothing is revealed yet
    assert response.status_code == 302
    assert response["Location"].startswith("/account/mfa/reauthenticate/")
    assert RevealGrant.objects.count() == 0
    # when they pass the second factor, the reveal resumes and lands back on the page
    resumed = client.post(response["Location"], {"code": totp_code(supervisor.email)},
                          follow=True)
    html = _html(resumed)
    assert RevealGrant.objects.filter(field="email", user=supervisor).count() == 1
    assert "maria.lopez@example.com" in html
    assert re.search(r'data-countdown="(29\d|300)"', html)
    assert 'hx-trigger="load delay:' in html  # re-masks itself after expiry


def test_reveal_form_without_a_reason_is_refused_and_reveals_nothing():
    supervisor = make_user(roles=("supervisor",))
    maria = make_customer()
    client = signed_in_client(supervisor)
    response = client.post(f"/customers/{maria.id}/reveal/", {"field": "email", "reason": ""})
    assert response.status_code == 422
    assert "is required" in _html(response)
    assert RevealGrant.objects.count() == 0
    assert "maria.lopez" not in _html(response)
    assert audit.event_list(action="customer.reveal_denied")[0].data["why"] == "no reason"


def test_agents_cannot_reach_the_reveal_pages():
    agent = make_user(roles=("agent",))
    maria = make_customer()
    grant_scope(agent, maria.id)
    client = signed_in_client(agent)
    assert client.get(f"/customers/{maria.id}/reveal/email/").status_code == 403
    assert client.post(f"/customers/{maria.id}/reveal/",
                       {"field": "email", "reason": "curious"}).status_code == 403
    assert RevealGrant.objects.count() == 0


def test_agent_requests_a_change_and_a_supervisor_grants_it_after_step_up():
    # given an agent with Maria in scope, and a supervisor with a stale second factor
    agent = make_user(roles=("agent",))
    supervisor = make_user(roles=("supervisor",))
    maria = make_customer()
    grant_scope(agent, maria.id)
    agent_client = signed_in_client(agent)
    # when the agent asks for a new phone number
    form = agent_client.get(f"/customers/{maria.id}/request/phone_change/")
    assert form.status_code == 200
    sent = agent_client.post(f"/customers/{maria.id}/request/phone_change/",
                             {"phone": "+44 20 7946 0999", "reason": "New mobile"})
    assert sent.status_code == 302
    approval = Approval.objects.get()
    assert Customer.objects.get(id=maria.id).phone == "+442079460132"
    # then the supervisor sees it in the inbox, masked
    sup_client = signed_in_client(supervisor, mfa_at=time.time() - 600)
    inbox = _html(sup_client.get("/customers/approvals/"))
    assert "Change phone" in inbox
    assert "•••• 0999" in inbox
    assert "7946 0999" not in inbox
    assert "Decide" in inbox
    # when the supervisor grants it, step-up comes first, then the change applies
    decide = sup_client.post(f"/customers/approvals/{approval.id}/decide/",
                             {"decision": "grant", "note": "ok"})
    assert decide["Location"].startswith("/account/mfa/reauthenticate/")
    assert Customer.objects.get(id=maria.id).phone == "+442079460132"
    sup_client.post(decide["Location"], {"code": totp_code(supervisor.email)}, follow=True)
    assert Approval.objects.get().status == "granted"
    assert Customer.objects.get(id=maria.id).phone == "+442079460999"


def test_the_requester_sees_no_decision_buttons_on_their_own_request():
    supervisor = make_user(roles=("supervisor",))
    maria = make_customer()
    client = signed_in_client(supervisor)
    client.post(f"/customers/{maria.id}/request/account_closure/", {"reason": "Asked"})
    approval = Approval.objects.get()
    page = _html(client.get(f"/customers/approvals/{approval.id}/"))
    assert "another supervisor must decide" in page
    assert "Grant and apply" not in page
    client.post(f"/customers/approvals/{approval.id}/decide/", {"decision": "grant"})
    assert Approval.objects.get().status == "pending"
    assert Customer.objects.get(id=maria.id).status == "active"


def test_bad_input_on_a_request_form_is_a_422_and_changes_nothing():
    agent = make_user(roles=("agent",))
    maria = make_customer()
    grant_scope(agent, maria.id)
    response = signed_in_client(agent).post(f"/customers/{maria.id}/request/email_change/",
                                            {"email": "not-an-address", "reason": "x"})
    assert response.status_code == 422
    assert Approval.objects.count() == 0


def test_agents_do_not_see_the_approvals_inbox():
    agent = make_user(roles=("agent",))
    client = signed_in_client(agent)
    assert client.get("/customers/approvals/").status_code == 403
    nav = _html(client.get("/customers/"))
    assert 'href="/customers/approvals/"' not in nav
    assert 'href="/customers/"' in nav


def test_search_page_finds_by_exact_email_within_scope():
    agent = make_user(roles=("agent",))
    maria = make_customer()
    grant_scope(agent, maria.id)
    html = _html(signed_in_client(agent).get("/customers/",
                                             {"email": "maria.lopez@example.com"}))
    assert f"/customers/{maria.id}/" in html
    assert "maria.lopez@example.com" not in html.split("<table")[1]


def test_create_page_creates_a_customer():
    supervisor = make_user(roles=("supervisor",))
    response = signed_in_client(supervisor).post("/customers/new/", {
        "name": "Ana Silva", "email": "ana@example.net", "phone": "+1 415 555 0111",
        "city": "Austin", "line1": "1 Main St", "country": "US"})
    row = Customer.objects.get()
    assert response["Location"] == f"/customers/{row.id}/"
    assert (row.name, row.address["city"]) == ("Ana Silva", "Austin")


def test_identity_verification_from_the_page():
    agent = make_user(roles=("agent",))
    maria = make_customer()
    grant_scope(agent, maria.id)
    client = signed_in_client(agent)
    client.post(f"/customers/{maria.id}/verify/", {"method": "callback",
                                                  "interaction_ref": "call:77"})
    assert "Call back on the number on file" in _html(client.get(f"/customers/{maria.id}/"))

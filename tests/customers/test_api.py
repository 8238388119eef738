"""API /api/v1/customers: masked reads, scope (404 like absent), create, reveal with step-up
(403 step-up-required problem), tokens, approvals; bad input is a 4xx problem, nothing stored."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from safeguard.accounts import services as accounts
from safeguard.customers.models import Approval, Customer, RevealGrant
from tests.customers.factories import grant_scope, make_customer
from tests.factories import SYSTEM, make_user, signed_in_client

pytestmark = pytest.mark.django_db


def _bearer(user, scopes):
    issued = accounts.token_issue(actor=SYSTEM, user_id=user.id, name="integration",
                                  scopes=scopes, expires_in_days=30)
    return Client(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")


def _csrf_client(user, **kw):
    client = signed_in_client(user, **kw)
    client.handler.enforce_csrf_checks = False
    return client


def test_get_returns_the_masked_customer_in_scope():
    agent = make_user(roles=("agent",))
    maria = make_customer()
    grant_scope(agent, maria.id)
    response = signed_in_client(agent).get(f"/api/v1/customers/{maria.id}")
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["email"], body["phone"], body["address"], body["payout"]) == (
        "M. L•••", "m•••@e•••.com", "•••• 0132", "Leeds, GB", "GB•• •••• 6819")
    assert "maria.lopez" not in response.content.decode()


def test_out_of_scope_and_absent_customers_get_the_same_404_problem():
    agent = make_user(roles=("agent",))
    maria = make_customer()
    client = signed_in_client(agent)
    out_of_scope = client.get(f"/api/v1/customers/{maria.id}")
    absent = client.get("/api/v1/customers/00000000-0000-4000-8000-000000000000")
    assert out_of_scope.status_code == absent.status_code == 404
    assert out_of_scope["Content-Type"] == "application/problem+json"
    assert out_of_scope.json()["type"] == absent.json()["type"]
    assert out_of_scope.json()["detail"] == absent.json()["detail"]


def test_create_returns_201_masked_and_refuses_bad_input_and_duplicates():
    agent = make_user(roles=("agent",))
    client = _csrf_client(agent)
    created = client.post("/api/v1/customers", {"name": "Ana Silva", "email": "ana@example.net",
                                                "address": {"line1": "1 Main St",
                                                            "city": "Austin"}},
                          content_type="application/json")
    assert created.status_code == 201
    assert created.json()["email"] == "a•••@e•••.net"
    bad = client.post("/api/v1/customers", {"email": "ana@@example"},
                      content_type="application/json")
    assert (bad.status_code, bad.json()["type"].rsplit("/", 1)[1]) == (422, "customer-invalid")
    assert bad.json()["errors"] == {"email": "is not a valid e-mail address"}
    again = client.post("/api/v1/customers", {"email": "ana@EXAMPLE.net"},
                        content_type="application/json")
    # a scoped agent's duplicate is answered like a creation (no existence oracle, issue 9 §6)
    assert (again.status_code, again.json()["id"]) == (201, created.json()["id"])
    malformed = client.post("/api/v1/customers", "{not json", content_type="application/json")
    assert malformed.status_code in (400, 422)
    assert Customer.objects.count() == 1


def test_reveal_needs_a_fresh_step_up_in_a_session():
    # given a supervisor whose second factor is 10 minutes old
    supervisor = make_user(roles=("supervisor",))
    maria = make_customer()
    stale = _csrf_client(supervisor, mfa_at=time.time() - 600)
    # when they ask to reveal through the API
    refused = stale.post(f"/api/v1/customers/{maria.id}/reveal",
                         {"field": "email", "reason": "bounce"}, content_type="application/json")
    # then a 403 step-up-required problem tells them where to re-authenticate
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/step-up-required")
    assert refused.json()["reauthenticate"] == "/account/mfa/reauthenticate/"
    assert RevealGrant.objects.count() == 0
    # and with a fresh second factor it reveals, uncached
    fresh = _csrf_client(supervisor)
    ok = fresh.post(f"/api/v1/customers/{maria.id}/reveal",
                    {"field": "email", "reason": "bounce"}, content_type="application/json")
    assert ok.status_code == 200
    assert ok.json()["value"] == "maria.lopez@example.com"
    assert ok["Cache-Control"] == "no-store"


def test_reveal_without_a_reason_is_a_422_problem():
    supervisor = make_user(roles=("supervisor",))
    maria = make_customer()
    response = _csrf_client(supervisor).post(f"/api/v1/customers/{maria.id}/reveal",
                                             {"field": "email"}, content_type="application/json")
    assert (response.status_code, response.json()["type"].rsplit("/", 1)[1]) == (
        422, "reason-required")


def test_agent_reveal_is_forbidden_by_the_operation_permission():
    agent = make_user(roles=("agent",))
    maria = make_customer()
    grant_scope(agent, maria.id)
    response = _csrf_client(agent).post(f"/api/v1/customers/{maria.id}/reveal",
                                        {"field": "email", "reason": "x"},
                                        content_type="application/json")
    assert response.status_code == 403
    assert response.json()["type"].endswith("/permission-denied")


def test_tokens_reveal_only_for_service_accounts():
    # A token's permissions are its scopes: it sees customers through customers.view_all (or
    # the scope provider), and reveals only for a service account.
    supervisor = make_user(roles=("supervisor",))
    integration = make_user(roles=("supervisor",), is_service_account=True, mfa=False,
                            password=None)
    maria = make_customer()
    body = {"field": "email", "reason": "send the statement"}
    personal = _bearer(supervisor, ["customers.reveal", "customers.view_all"]).post(
        f"/api/v1/customers/{maria.id}/reveal", body, content_type="application/json")
    service = _bearer(integration, ["customers.reveal", "customers.view_all"]).post(
        f"/api/v1/customers/{maria.id}/reveal", body, content_type="application/json")
    unscoped = _bearer(integration, ["customers.view"]).post(
        f"/api/v1/customers/{maria.id}/reveal", body, content_type="application/json")
    assert (personal.status_code, personal.json()["type"].rsplit("/", 1)[1]) == (
        403, "reveal-denied")
    assert (service.status_code, service.json()["value"]) == (200, "maria.lopez@example.com")
    assert unscoped.status_code == 403


def test_approvals_through_the_api_request_list_and_decide():
    # given an agent and a supervisor
    agent = make_user(roles=("agent",))
    supervisor = make_user(roles=("supervisor",))
    maria = make_customer()
    grant_scope(agent, maria.id)
    # when the agent requests an address change
    created = _csrf_client(agent).post(
        f"/api/v1/customers/{maria.id}/approvals",
        {"kind": "address_change", "reason": "Moved house",
         "change": {"address": {"line1": "9 Mill Road", "city": "Bristol", "country": "GB"}}},
        content_type="application/json")
    assert created.status_code == 201
    approval_id = created.json()["id"]
    assert created.json()["change"] == {"address": "Bristol, GB"}
    # then the supervisor lists it, a stale session is refused, a fresh one grants it
    listed = signed_in_client(supervisor).get("/api/v1/customers/approvals")
    assert [a["id"] for a in listed.json()["items"]] == [approval_id]
    stale = _csrf_client(supervisor, mfa_at=time.time() - 600).post(
        f"/api/v1/customers/approvals/{approval_id}/decide", {"decision": "grant"},
        content_type="application/json")
    assert stale.json()["type"].endswith("/step-up-required")
    granted = _csrf_client(supervisor).post(
        f"/api/v1/customers/approvals/{approval_id}/decide", {"decision": "grant"},
        content_type="application/json")
    assert (granted.status_code, granted.json()["status"]) == (200, "granted")
    assert Customer.objects.get(id=maria.id).address["line1"] == "9 Mill Road"


def test_a_token_cannot_decide_approvals():
    agent = make_user(roles=("agent",))
    supervisor = make_user(roles=("supervisor",))
    maria = make_customer()
    grant_scope(agent, maria.id)
    created = _csrf_client(agent).post(
        f"/api/v1/customers/{maria.id}/approvals",
        {"kind": "account_closure", "reason": "Customer asked"}, content_type="application/json")
    response = _bearer(supervisor, ["customers.approve"]).post(
        f"/api/v1/customers/approvals/{created.json()['id']}/decide", {"decision": "grant"},
        content_type="application/json")
    assert response.status_code == 403
    assert Approval.objects.get().status == "pending"


def test_bad_decision_values_are_422_and_change_nothing():
    supervisor = make_user(roles=("supervisor",))
    maria = make_customer()
    approval = Approval.objects.create(customer_id=maria.id, kind="account_closure",
                                       requested_by=make_user(roles=("agent",)),
                                       requested_at=maria.created_at)
    response = _csrf_client(supervisor).post(
        f"/api/v1/customers/approvals/{approval.id}/decide", {"decision": "maybe"},
        content_type="application/json")
    assert response.status_code == 422
    assert Approval.objects.get().status == "pending"

"""No existence oracle (issue 9 §6, R-WORK-4, decision 0104): what a scoped agent learns from a
create or a change request is what a search would tell them — nothing about customers out of
their scope. Duplicates are answered like creations; the match is audited."""

from __future__ import annotations

import pytest

from safeguard.audit.models import Event
from safeguard.customers import services
from safeguard.customers.contracts import CustomerExists
from safeguard.customers.models import Approval, Customer
from tests.customers.factories import grant_scope, make_customer, principal
from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db

NEW = {"name": "Ana Silva", "email": "ana@example.net", "phone": "+44 20 7946 0999"}


def _api_create(client, body):
    return client.post("/api/v1/customers", body, content_type="application/json")


def _shape(response):
    """Everything about an answer except the values that differ by nature (id, times)."""
    body = response.json()
    return (response.status_code, response["Content-Type"], sorted(body),
            {k: v for k, v in body.items() if k not in ("id", "created_at", "updated_at")})


def test_api_create_with_an_out_of_scope_email_is_answered_like_a_new_customer():
    # given a customer outside the agent's scope, and an agent who finds nothing by search
    make_customer(email="ana@example.net", name="Someone Else", phone="")
    agent = make_user(roles=("agent",))
    client = signed_in_client(agent)
    assert client.get("/api/v1/customers", {"email": "ana@example.net"}).json() == []
    # when the agent creates a customer with that e-mail, and another with a fresh one
    taken = _api_create(client, NEW)
    fresh = _api_create(client, {**NEW, "email": "ana.two@example.net"})
    # then both answers look alike: 201, same fields, the submitted values masked
    assert _shape(taken) == _shape(fresh)
    assert (taken.status_code, fresh.status_code) == (201, 201)
    assert sorted(taken.json()) == sorted(fresh.json())
    assert (taken.json()["name"], taken.json()["phone"], taken.json()["status"]) == (
        fresh.json()["name"], fresh.json()["phone"], fresh.json()["status"])
    assert taken.json()["email"] == "a•••@e•••.net"
    # and both ids answer the same 404 as an absent customer
    for answer in (taken, fresh):
        got = client.get(f"/api/v1/customers/{answer.json()['id']}")
        assert (got.status_code, got.json()["detail"]) == (404, "No such customer.")
    # nothing was changed on the existing profile, and the match is in the audit log
    existing = Customer.objects.get(id=taken.json()["id"])
    assert (existing.name, existing.phone or "") == ("Someone Else", "")
    matched = Event.objects.get(action="customer.create_matched")
    assert (matched.actor_id, matched.subject_id, matched.data["in_scope"]) == (
        str(agent.id), str(existing.id), False)
    assert Customer.objects.count() == 2


def test_api_in_scope_duplicate_is_answered_the_same_way_for_a_scoped_agent():
    maria = make_customer()
    agent = make_user(roles=("agent",))
    grant_scope(agent, maria.id)
    # the same address (domains compare case-insensitively; the local part is compared exactly
    # at providers not known to fold it, decision 0101)
    again = _api_create(signed_in_client(agent), {"email": "maria.lopez@EXAMPLE.com"})
    assert (again.status_code, again.json()["id"]) == (201, str(maria.id))
    assert Event.objects.get(action="customer.create_matched").data["in_scope"] is True


def test_a_viewer_who_may_search_everyone_gets_the_honest_409():
    make_customer(email="ana@example.net")
    supervisor = make_user(roles=("supervisor",))  # holds customers.view_all
    again = _api_create(signed_in_client(supervisor), NEW)
    assert (again.status_code, again.json()["type"].rsplit("/", 1)[1]) == (409,
                                                                           "customer-exists")


def test_create_page_with_an_out_of_scope_email_behaves_like_a_new_customer():
    make_customer(email="ana@example.net", name="Someone Else")
    client = signed_in_client(make_user(roles=("agent",)))
    form = {"name": "Ana Silva", "phone": "", "city": "", "line1": "", "country": ""}
    taken = client.post("/customers/new/", {**form, "email": "ana@example.net"})
    fresh = client.post("/customers/new/", {**form, "email": "ana.two@example.net"})
    assert (taken.status_code, taken["Location"]) == (fresh.status_code, fresh["Location"])
    assert taken["Location"] == "/customers/"
    # the flash messages on the next page say the same for both
    page = client.get("/customers/").content.decode()
    assert page.count("Customer A. S••• created.") == 2
    assert "already" not in page


def test_change_request_to_an_out_of_scope_email_waits_for_the_approver():
    # given Maria in the agent's scope and another customer (out of scope) owning an address
    maria = make_customer()
    make_customer(email="taken@example.org", name="Other Person", phone="")
    agent = make_user(roles=("agent",))
    grant_scope(agent, maria.id)
    # when the agent asks to change Maria's e-mail to the taken address, and to a free one
    taken = services.approval_request(viewer=principal(agent), customer_id=maria.id,
                                      kind="email_change", change={"email": "taken@example.org"},
                                      reason="customer asked on the phone")
    # then it is accepted like any request (no 409 telling the address exists)
    assert taken.status == "pending"
    # and the approver, who may see everyone, meets the clash when deciding
    supervisor = make_user(roles=("supervisor",))
    with pytest.raises(CustomerExists):
        services.approval_decide(approver=principal(supervisor), approval_id=taken.id,
                                 grant=True, step_up_fresh=True)
    assert Approval.objects.get(id=taken.id).status == "pending"


def test_a_viewer_who_may_search_everyone_is_told_at_request_time():
    maria = make_customer()
    make_customer(email="taken@example.org", name="Other Person", phone="")
    supervisor = make_user(roles=("supervisor",))
    with pytest.raises(CustomerExists):
        services.approval_request(viewer=principal(supervisor), customer_id=maria.id,
                                  kind="email_change", change={"email": "taken@example.org"},
                                  reason="customer asked on the phone")

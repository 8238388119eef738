"""Scope (R-WORK-4, decision 0006) and audited reads (R-DATA-2).

An agent sees only the customers the scope provider names; out of scope is the same answer as
absent; a missing provider means nothing is visible; customers.view_all sees everything. Every
read by a person leaves an audit event that names the customer by id only.
"""

from __future__ import annotations

import uuid

import pytest
from django.test import override_settings

from safeguard.audit import selectors as audit
from safeguard.customers import selectors
from safeguard.customers.contracts import CustomerNotFound, CustomerScope
from tests.customers.factories import grant_scope, make_customer, principal
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_agent_sees_a_customer_in_scope_masked_and_the_read_is_audited():
    # given an agent whose queues hold Maria's case
    agent = make_user(roles=("agent",))
    maria = make_customer()
    grant_scope(agent, maria.id)
    # when the agent opens her profile
    view = selectors.customer_get(viewer=principal(agent), customer_id=maria.id)
    # then it is masked, and the read is in the audit log without any value
    assert (view.name, view.email) == ("M. L•••", "m•••@e•••.com")
    event = audit.event_list(action="customer.viewed")[0]
    assert (event.actor.id, event.subject_id) == (str(agent.id), str(maria.id))
    assert event.data == {"what": "profile", "via": "session", "revealed": []}


def test_out_of_scope_is_the_same_answer_as_absent_and_is_audited_as_denied():
    # given an agent with an empty scope and an existing customer
    agent = make_user(roles=("agent",))
    maria = make_customer()
    # when the agent asks for that customer, and for one that does not exist
    with pytest.raises(CustomerNotFound) as out_of_scope:
        selectors.customer_get(viewer=principal(agent), customer_id=maria.id)
    with pytest.raises(CustomerNotFound) as absent:
        selectors.customer_get(viewer=principal(agent), customer_id=uuid.uuid4())
    # then both answers are identical
    assert (out_of_scope.value.status, out_of_scope.value.detail) == (
        absent.value.status, absent.value.detail)
    # and the attempt is recorded for the security team, with no view event
    denied = audit.event_list(action="customer.view_denied")
    assert [e.outcome for e in denied] == ["denied", "denied"]
    assert audit.event_list(action="customer.viewed") == []


def test_a_malformed_id_is_simply_not_found():
    supervisor = make_user(roles=("supervisor",))
    with pytest.raises(CustomerNotFound):
        selectors.customer_get(viewer=principal(supervisor), customer_id="'; DROP TABLE x")


def test_view_all_sees_every_customer_without_asking_the_provider():
    # given a supervisor (customers.view_all) and no scope entries at all
    supervisor = make_user(roles=("supervisor",))
    privacy = make_user(roles=("privacy_officer",))
    maria = make_customer()
    # then both see her
    assert selectors.customer_get(viewer=principal(supervisor), customer_id=maria.id).id == (
        maria.id)
    assert selectors.customer_scope_for(viewer=principal(privacy)) == CustomerScope.everything()


@override_settings(SAFEGUARD_CUSTOMER_SCOPE="safeguard.nowhere.selectors.customer_scope")
def test_a_missing_scope_provider_means_an_empty_scope():
    agent = make_user(roles=("agent",))
    maria = make_customer()
    grant_scope(agent, maria.id)  # would allow it, but the provider is not installed
    assert selectors.customer_scope_for(viewer=principal(agent)) == CustomerScope.nothing()
    with pytest.raises(CustomerNotFound):
        selectors.customer_get(viewer=principal(agent), customer_id=maria.id)


def test_search_by_exact_contact_is_scoped_masked_and_audited_without_the_term():
    # given two customers, one in the agent's scope
    agent = make_user(roles=("agent",))
    maria = make_customer()
    john = make_customer(name="John Smith", email="john@example.org", phone="+1 415 555 0100")
    grant_scope(agent, maria.id)
    # when the agent searches for each
    found = selectors.customer_search(viewer=principal(agent), email="maria.lopez@example.com")
    hidden = selectors.customer_search(viewer=principal(agent), email="john@example.org")
    # then only the one in scope is listed, masked
    assert [(c.id, c.email) for c in found] == [(maria.id, "m•••@e•••.com")]
    assert hidden == []
    events = audit.event_list(action="customer.searched")
    assert [e.data["count"] for e in events] == [0, 1]
    assert "john" not in str(events[0].data)
    assert "maria" not in str(events[1].data)
    assert john.id not in {c.id for c in found}
    # and a full-width look-alike of her address finds nothing (exact identity, decision 0101)
    assert selectors.customer_search(viewer=principal(agent),
                                     email="maria.lopez@\uff45xample.com") == []


def test_summaries_for_a_list_leave_out_customers_out_of_scope():
    agent = make_user(roles=("agent",))
    maria = make_customer()
    john = make_customer(name="John Smith", email="john@example.org", phone="")
    grant_scope(agent, maria.id)
    summaries = selectors.customer_summaries(viewer=principal(agent),
                                             customer_ids=[maria.id, john.id, "junk"])
    assert list(summaries) == [maria.id]
    assert summaries[maria.id].name == "M. L•••"
    assert audit.event_list(action="customer.listed")[0].data == {
        "count": 1, "customer_ids": [str(maria.id)]}


def test_panel_lists_recent_verifications_and_pending_approvals():
    from safeguard.customers import services

    agent = make_user(roles=("agent",))
    maria = make_customer()
    grant_scope(agent, maria.id)
    services.identity_verify(viewer=principal(agent), customer_id=maria.id, method="otp_sms")
    services.approval_request(viewer=principal(agent), customer_id=maria.id,
                              kind="phone_change", change={"phone": "+44 20 7946 0999"},
                              reason="Customer has a new number")
    panel = selectors.customer_panel(viewer=principal(agent), customer_id=maria.id)
    assert [v.method for v in panel.verifications] == ["otp_sms"]
    assert panel.pending_approvals == 1
    assert panel.revealed == ()

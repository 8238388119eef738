"""The approvals inbox and decision page of issue 15 item 6: the supervisor sees the proposed
value (audited as a view), the inbox names the customer (masked), the case by number and the
age, refunds as amount and currency; the requester is notified of the decision."""

from __future__ import annotations

from decimal import Decimal

import pytest

from safeguard.accounts import selectors as accounts
from safeguard.audit import selectors as audit
from safeguard.customers import selectors, services
from safeguard.customers.contracts import ApprovalNotFound
from tests.customers.factories import grant_scope, make_customer, principal
from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    agent = make_user(roles=("agent",))
    maria = make_customer()
    grant_scope(agent, maria.id)
    return agent, make_user(roles=("supervisor",)), maria


def test_the_decision_page_shows_the_proposed_value_and_records_the_view(team):
    agent, supervisor, maria = team
    approval = services.approval_request(viewer=principal(agent), customer_id=maria.id,
                                         kind="email_change",
                                         change={"email": "maria.new@example.net"},
                                         reason="Lost the old mailbox")
    html = signed_in_client(supervisor).get(
        f"/customers/approvals/{approval.id}/").content.decode()
    assert '<dd class="mono proposed-value">maria.new@example.net</dd>' in html
    assert "New e-mail (what you approve" in html
    viewed = [e for e in audit.event_list(action="customer.viewed")
              if e.data.get("what") == "approval_change"]
    assert len(viewed) == 1
    assert viewed[0].data["revealed"] == ["email"]
    assert viewed[0].subject_id == str(maria.id)
    assert "maria.new" not in str(viewed[0].data)


def test_the_proposed_value_is_refused_to_an_agent_and_empty_once_decided(team):
    agent, supervisor, maria = team
    approval = services.approval_request(viewer=principal(agent), customer_id=maria.id,
                                         kind="phone_change",
                                         change={"phone": "+44 20 7946 0999"}, reason="New")
    with pytest.raises(ApprovalNotFound):
        selectors.approval_proposed_value(viewer=principal(agent), approval_id=approval.id)
    assert selectors.approval_proposed_value(viewer=principal(supervisor),
                                             approval_id=approval.id) == {
        "New phone": "+442079460999"}
    services.approval_decide(approver=principal(supervisor), approval_id=approval.id,
                             grant=False, step_up_fresh=True)
    assert selectors.approval_proposed_value(viewer=principal(supervisor),
                                             approval_id=approval.id) == {}


def test_the_inbox_names_customer_masked_refund_amount_and_age(team):
    agent, supervisor, maria = team
    refund = services.refund_request(viewer=principal(agent), customer_id=maria.id,
                                     amount=Decimal("120.50"), currency="EUR",
                                     case_id="7f8e4a52-0000-4000-8000-000000000001",
                                     reason="Double charge")
    html = signed_in_client(supervisor).get("/customers/approvals/?status=all").content.decode()
    assert "M. L•••" in html
    assert "Maria Lopez" not in html
    assert "120.50 EUR" in html
    assert refund.status == "pending"
    assert " ago</span>" in html
    # an unknown case reference is shown as a short reference, never as the change
    assert "ref 7f8e4a52-0000-" in html


def test_the_requester_is_notified_of_the_decision_without_the_value(team):
    agent, supervisor, maria = team
    approval = services.approval_request(viewer=principal(agent), customer_id=maria.id,
                                         kind="email_change",
                                         change={"email": "maria.new@example.net"},
                                         reason="Lost the old mailbox")
    assert accounts.notification_unread_count(user_id=agent.pk) == 0
    services.approval_decide(approver=principal(supervisor), approval_id=approval.id,
                             grant=True, step_up_fresh=True)
    page = accounts.notification_page(user_id=agent.pk)
    assert len(page.items) == 1
    note = page.items[0]
    assert note.kind == "approval_decided"
    assert note.title == f"Change e-mail for M. L•••: granted by {supervisor.email.split('@')[0]}"
    assert note.url == f"/customers/{maria.id}/"
    assert "maria.new" not in note.title
    assert "Maria" not in note.title


def test_the_api_keeps_oldest_first_and_sorts_newest_on_request(team):
    agent, supervisor, maria = team
    first = services.approval_request(viewer=principal(agent), customer_id=maria.id,
                                      kind="email_change",
                                      change={"email": "maria.new@example.net"}, reason="One")
    second = services.approval_request(viewer=principal(agent), customer_id=maria.id,
                                       kind="phone_change",
                                       change={"phone": "+44 20 7946 0999"}, reason="Two")
    client = signed_in_client(supervisor)
    oldest = client.get("/api/v1/customers/approvals").json()["items"]
    newest = client.get("/api/v1/customers/approvals?sort=newest").json()["items"]
    assert [a["id"] for a in oldest] == [str(first.id), str(second.id)]
    assert [a["id"] for a in newest] == [str(second.id), str(first.id)]
    bad = client.get("/api/v1/customers/approvals?sort=random")
    assert bad.status_code == 422

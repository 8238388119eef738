"""Supervisor approvals (R-WORK-4, decision 0006 §4): a sensitive change waits, encrypted,
until another person with customers.approve grants it after step-up; both sides audited."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings

from safeguard.audit import selectors as audit
from safeguard.customers import selectors, services
from safeguard.customers.contracts import (
    ApprovalNotFound,
    ApprovalNotPending,
    CustomerClosed,
    CustomerInvalid,
    SelfApproval,
    StepUpRequired,
)
from safeguard.customers.models import Approval, Customer
from safeguard.web.errors import PermissionDenied
from tests.customers.factories import grant_scope, make_customer, principal
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    """An agent with Maria in scope, and two supervisors."""
    agent = make_user(roles=("agent",))
    maria = make_customer()
    grant_scope(agent, maria.id)
    return agent, make_user(roles=("supervisor",)), make_user(roles=("supervisor",)), maria


def _request_email(agent, maria, email="maria.new@example.net"):
    return services.approval_request(viewer=principal(agent), customer_id=maria.id,
                                     kind="email_change", change={"email": email},
                                     reason="Customer lost access to the old mailbox")


def test_a_request_waits_pending_and_changes_nothing(team):
    agent, _, _, maria = team
    # when the agent requests an e-mail change
    approval = _request_email(agent, maria)
    # then it is pending, described masked, and the customer is unchanged
    assert (approval.status, approval.kind, approval.change) == (
        "pending", "email_change", {"email": "m•••@e•••.net"})
    assert Customer.objects.get(id=maria.id).email == "maria.lopez@example.com"
    event = audit.event_list(action="customer.approval_requested")[0]
    assert event.data == {"approval_id": str(approval.id), "kind": "email_change"}
    assert "maria.new" not in str(event.data)


def test_the_pending_payload_is_encrypted_at_rest(team):
    agent, _, _, maria = team
    approval = _request_email(agent, maria)
    with connection.cursor() as cursor:
        cursor.execute("SELECT payload, reason FROM customers_approval WHERE id = %s",
                       [Approval._meta.pk.get_db_prep_value(approval.id, connection)])
        payload, reason = (bytes(v) for v in cursor.fetchone())
    assert b"maria.new" not in payload
    assert b"mailbox" not in reason
    assert payload[0] == 0x01


def test_supervisor_grant_with_step_up_applies_the_change_and_both_sides_are_audited(team):
    agent, supervisor, _, maria = team
    approval = _request_email(agent, maria)
    # when a supervisor grants it with a fresh second factor
    decided = services.approval_decide(approver=principal(supervisor), approval_id=approval.id,
                                       grant=True, note="Verified by callback",
                                       step_up_fresh=True)
    # then the change is applied, the blind index follows, and the decision is recorded
    assert (decided.status, decided.decided_by_id) == ("granted", supervisor.id)
    assert Customer.objects.get(id=maria.id).email == "maria.new@example.net"
    assert selectors.customer_ids_matching(email="maria.new@example.net") == [maria.id]
    assert selectors.customer_ids_matching(email="maria.lopez@example.com") == []
    granted = audit.event_list(action="customer.approval_granted")[0]
    assert (granted.actor.id, granted.data["requested_by"]) == (str(supervisor.id),
                                                                str(agent.id))
    assert audit.event_list(action="customer.changed")[0].data == {
        "fields": ["email"], "approval_id": str(approval.id)}


def test_refuse_leaves_the_data_unchanged(team):
    agent, supervisor, _, maria = team
    approval = services.approval_request(
        viewer=principal(agent), customer_id=maria.id, kind="payout_change",
        change={"payout": {"iban": "DE89 3704 0044 0532 0130 00", "holder": "M Lopez"}},
        reason="New bank account")
    decided = services.approval_decide(approver=principal(supervisor), approval_id=approval.id,
                                       grant=False, note="Caller failed verification",
                                       step_up_fresh=True)
    assert decided.status == "refused"
    assert Customer.objects.get(id=maria.id).payout["iban"] == "GB29NWBK60161331926819"
    assert audit.event_list(action="customer.approval_refused")[0].data["kind"] == (
        "payout_change")
    assert audit.event_list(action="customer.changed") == []


def test_the_requester_cannot_approve_their_own_request(team):
    # given a supervisor who requested a change themselves
    _, supervisor, _, maria = team
    approval = _request_email(supervisor, maria)
    # when they try to grant it
    with pytest.raises(SelfApproval):
        services.approval_decide(approver=principal(supervisor), approval_id=approval.id,
                                 grant=True, step_up_fresh=True)
    # then nothing changed, and the attempt is audited
    assert Approval.objects.get(id=approval.id).status == "pending"
    assert Customer.objects.get(id=maria.id).email == "maria.lopez@example.com"
    assert audit.event_list(action="customer.approval_denied")[0].data["why"] == "own request"


def test_deciding_needs_a_fresh_step_up_the_permission_and_a_person(team):
    agent, supervisor, _, maria = team
    approval = _request_email(agent, maria)
    with pytest.raises(StepUpRequired):
        services.approval_decide(approver=principal(supervisor), approval_id=approval.id,
                                 grant=True, step_up_fresh=False)
    with pytest.raises(PermissionDenied):
        services.approval_decide(approver=principal(agent), approval_id=approval.id,
                                 grant=True, step_up_fresh=True)
    with pytest.raises(PermissionDenied):
        services.approval_decide(approver=principal(supervisor, via="token", token_id=9),
                                 approval_id=approval.id, grant=True, step_up_fresh=False)
    assert Approval.objects.get(id=approval.id).status == "pending"
    assert [e.data["why"] for e in audit.event_list(action="customer.approval_denied")] == [
        "token", "permission", "step-up required"]


def test_a_decided_request_cannot_be_decided_again(team):
    agent, supervisor, other, maria = team
    approval = _request_email(agent, maria)
    services.approval_decide(approver=principal(supervisor), approval_id=approval.id,
                             grant=False, step_up_fresh=True)
    with pytest.raises(ApprovalNotPending):
        services.approval_decide(approver=principal(other), approval_id=approval.id,
                                 grant=True, step_up_fresh=True)
    assert Customer.objects.get(id=maria.id).email == "maria.lopez@example.com"


def test_requests_are_validated_before_they_wait(team):
    agent, _, _, maria = team
    other = make_customer(name="John Smith", email="john@example.org", phone="")
    with pytest.raises(CustomerInvalid):
        _request_email(agent, maria, email="nonsense")
    # an e-mail taken by a customer out of the agent's scope is not an error at request time
    # (no existence oracle): tests/customers/test_existence_oracle.py
    with pytest.raises(CustomerInvalid):
        services.approval_request(viewer=principal(agent), customer_id=maria.id,
                                  kind="email_change", change={"email": "a@example.com"},
                                  reason="   ")
    with pytest.raises(CustomerInvalid):
        services.approval_request(viewer=principal(agent), customer_id=maria.id,
                                  kind="make_me_admin", change={}, reason="please")
    assert Approval.objects.count() == 0
    assert other.id != maria.id


def test_only_one_pending_request_of_a_kind(team):
    agent, _, _, maria = team
    _request_email(agent, maria)
    with pytest.raises(ApprovalNotPending):
        _request_email(agent, maria, email="third@example.com")


@override_settings(SAFEGUARD_REFUND_APPROVAL_THRESHOLD="100.00")
def test_a_refund_at_or_under_the_threshold_is_granted_at_once_and_above_it_waits(team):
    agent, supervisor, _, maria = team
    small = services.refund_request(viewer=principal(agent), customer_id=maria.id,
                                    amount="100.00", currency="eur", case_id="CS-1042",
                                    reason="Double charge")
    large = services.refund_request(viewer=principal(agent), customer_id=maria.id,
                                    amount=Decimal("100.01"), currency="EUR",
                                    case_id="CS-1042", reason="Goodwill")
    assert (small.status, small.auto_granted, small.amount, small.case_id) == (
        "granted", True, Decimal("100.00"), "CS-1042")
    assert (large.status, large.auto_granted) == ("pending", False)
    assert audit.event_list(action="customer.refund_granted")[0].data["amount"] == "100.00"
    # when a supervisor grants the large one, the refund is recorded as granted
    services.approval_decide(approver=principal(supervisor), approval_id=large.id, grant=True,
                             step_up_fresh=True)
    assert [e.data["amount"] for e in audit.event_list(action="customer.refund_granted")] == [
        "100.01", "100.00"]


def test_account_closure_applies_on_grant_and_closes_further_requests(team):
    agent, supervisor, _, maria = team
    approval = services.approval_request(viewer=principal(agent), customer_id=maria.id,
                                         kind="account_closure", reason="Customer asked")
    services.approval_decide(approver=principal(supervisor), approval_id=approval.id,
                             grant=True, step_up_fresh=True)
    row = Customer.objects.get(id=maria.id)
    assert (row.status, row.closed_at is not None) == ("closed", True)
    with pytest.raises(CustomerClosed):
        _request_email(agent, maria)


def test_approvals_of_customers_out_of_scope_are_not_found(team):
    agent, _, _, maria = team
    approval = _request_email(agent, maria)
    outsider = make_user(roles=("agent",))
    with pytest.raises(ApprovalNotFound):
        selectors.approval_get(viewer=principal(outsider), approval_id=approval.id)


def test_inbox_lists_pending_requests_newest_or_oldest_first_with_a_cursor(team):
    agent, supervisor, _, maria = team
    first = _request_email(agent, maria)
    second = services.approval_request(viewer=principal(agent), customer_id=maria.id,
                                       kind="phone_change",
                                       change={"phone": "+44 20 7946 0999"}, reason="New phone")
    # newest first by default (issue 15 item 6)
    page = selectors.approval_page(viewer=principal(supervisor), limit=1)
    assert [a.id for a in page.items] == [second.id]
    rest = selectors.approval_page(viewer=principal(supervisor), limit=1,
                                   cursor=page.next_cursor)
    assert ([a.id for a in rest.items], rest.next_cursor) == ([first.id], None)
    # oldest first on request
    page = selectors.approval_page(viewer=principal(supervisor), limit=1, newest_first=False)
    assert [a.id for a in page.items] == [first.id]
    rest = selectors.approval_page(viewer=principal(supervisor), limit=1, newest_first=False,
                                   cursor=page.next_cursor)
    assert ([a.id for a in rest.items], rest.next_cursor) == ([second.id], None)

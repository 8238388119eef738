"""Agents' actions: reply with outbound delivery, notes, assign, move, reopen, merge, tags."""

from __future__ import annotations

import pytest

from safeguard.audit.models import Event
from safeguard.cases import outbound, services
from safeguard.cases.contracts import (
    AssignmentRefused,
    CaseNotFound,
    CaseStateError,
    ManageRefused,
    MergeRefused,
    OutboundMessage,
)
from safeguard.cases.models import Case, CaseHistory, Message
from tests.cases.conftest import PAN_VISA, inbound, make_agent, make_queue, principal_for
from tests.factories import ref_hash

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    make_queue("billing")
    agent = make_agent("billing")
    result = inbound("My order is late", external_id="<first@example.com>")
    return agent, Case.objects.get(id=result.case_id)


def test_reply_is_delivered_after_commit_through_the_registered_sender(setup,
                                                                     django_capture_on_commit_callbacks):
    agent, case = setup
    sent: list[OutboundMessage] = []

    def fake_email(message: OutboundMessage) -> str:
        sent.append(message)
        return "<reply-1@safeguard.test>"

    outbound.register("email", fake_email)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message_id = services.message_send(case_number=case.number,
                                           principal=principal_for(agent),
                                           text="It ships today.")
        assert sent == []  # nothing leaves before the transaction commits
    assert len(callbacks) == 1
    assert len(sent) == 1
    assert sent[0].text == "It ships today."
    assert sent[0].customer_id == case.customer_id
    # the thread is named by its hash only; there is no earlier reply of ours to reference
    assert sent[0].thread_ref == ref_hash("<first@example.com>")
    assert (sent[0].earlier_replies, sent[0].continues_thread) == ((), True)
    row = Message.objects.get(id=message_id)
    assert (row.delivery_status, row.external_id) == ("sent", ref_hash("<reply-1@safeguard.test>"))
    case.refresh_from_db()
    assert case.status == "open"
    assert case.first_response_at is not None
    # and the customer's answer to our Message-ID threads back to the same case
    again = inbound("Thanks!", thread_ref="<reply-1@safeguard.test>")
    assert again.case_id == case.id
    assert not again.created_case


def test_a_channel_without_a_sender_keeps_the_reply_visible_as_not_delivered(
        setup, django_capture_on_commit_callbacks):
    agent, case = setup
    with django_capture_on_commit_callbacks(execute=True):
        message_id = services.message_send(case_number=case.number,
                                           principal=principal_for(agent), text="Hello")
    row = Message.objects.get(id=message_id)
    assert row.delivery_status == "not_delivered"
    assert "No sender" in row.delivery_error


def test_a_failing_sender_marks_the_reply_failed_and_retry_sends_it_once(
        setup, django_capture_on_commit_callbacks):
    agent, case = setup
    calls = []

    def flaky(message: OutboundMessage) -> str:
        calls.append(message.message_id)
        if len(calls) == 1:
            raise ConnectionError("smtp down")
        return "<ok@safeguard.test>"

    outbound.register("email", flaky)
    with django_capture_on_commit_callbacks(execute=True):
        message_id = services.message_send(case_number=case.number,
                                           principal=principal_for(agent), text="Hello")
    assert Message.objects.get(id=message_id).delivery_status == "failed"
    with django_capture_on_commit_callbacks(execute=True):
        services.message_retry(case_number=case.number, principal=principal_for(agent),
                               message_id=message_id)
    assert Message.objects.get(id=message_id).delivery_status == "sent"
    # delivering again changes nothing: never sent twice
    assert services.message_deliver(message_id=message_id) == "sent"
    assert len(calls) == 2


def test_a_reply_with_a_card_number_is_screened_before_storage(setup):
    agent, case = setup
    message_id = services.message_send(case_number=case.number, principal=principal_for(agent),
                                       text=f"We charged {PAN_VISA}")
    assert PAN_VISA not in Message.objects.get(id=message_id).body


def test_notes_are_internal_and_never_sent(setup, django_capture_on_commit_callbacks):
    agent, case = setup
    outbound.register("email", lambda m: pytest.fail("a note was sent"))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        note_id = services.note_add(case_number=case.number, principal=principal_for(agent),
                                    text="Customer sounded upset")
    assert callbacks == []
    note = Message.objects.get(id=note_id)
    assert note.is_internal
    assert note.delivery_status == "none"
    assert note.interaction_id is None


def test_an_illegal_move_names_the_current_state(setup):
    agent, case = setup
    p = principal_for(agent)
    services.case_assign(case_number=case.number, principal=p, assignee_id=agent.pk)
    services.case_move(case_number=case.number, principal=p, status="resolved")
    services.case_move(case_number=case.number, principal=p, status="closed")
    with pytest.raises(CaseStateError) as refused:
        services.case_move(case_number=case.number, principal=p, status="pending")
    assert "is closed" in refused.value.detail
    assert refused.value.extra["current"] == "closed"
    assert refused.value.status == 409


def test_agents_manage_only_their_own_cases(setup):
    agent, case = setup
    other = make_agent("billing")
    p = principal_for(agent)
    # an agent cannot change a case that is not theirs
    with pytest.raises(ManageRefused):
        services.case_move(case_number=case.number, principal=p, status="pending")
    # taking an unassigned case is allowed, then it is theirs
    services.case_assign(case_number=case.number, principal=p, assignee_id=agent.pk)
    services.case_move(case_number=case.number, principal=p, status="pending")
    # a colleague can neither take it over nor hand it to someone else
    with pytest.raises(AssignmentRefused):
        services.case_assign(case_number=case.number, principal=principal_for(other),
                             assignee_id=other.pk)


def test_supervisors_assign_cases_of_their_queues_to_members_only(setup):
    agent, case = setup
    supervisor = make_agent("billing", roles=("supervisor",))
    outsider = make_agent()
    p = principal_for(supervisor)
    services.case_assign(case_number=case.number, principal=p, assignee_id=agent.pk)
    case.refresh_from_db()
    assert case.assignee_id == agent.pk
    with pytest.raises(AssignmentRefused):
        services.case_assign(case_number=case.number, principal=p, assignee_id=outsider.pk)
    history = list(CaseHistory.objects.filter(case=case, kind="assigned").values_list("data",
                                                                                      flat=True))
    assert history == [{"to": agent.pk, "previous": None}]


def test_reopen_records_the_reopen_and_counts_it(setup):
    agent, case = setup
    p = principal_for(agent)
    services.case_assign(case_number=case.number, principal=p, assignee_id=agent.pk)
    services.case_move(case_number=case.number, principal=p, status="resolved")
    services.case_reopen(case_number=case.number, principal=p)
    case.refresh_from_db()
    assert case.status == "open"
    assert case.reopen_count == 1
    assert case.reopened_at is not None
    assert case.first_resolved_at is not None
    assert case.resolved_at is None
    assert Event.objects.filter(action="case.reopened", subject_id=str(case.number)).count() == 1
    with pytest.raises(CaseStateError):
        services.case_reopen(case_number=case.number, principal=p)


def test_merge_moves_messages_and_closes_the_duplicate_with_a_pointer(setup):
    _agent, target = setup
    supervisor = make_agent("billing", roles=("supervisor",))
    dup = Case.objects.get(id=inbound("Order late (again)").case_id)
    assert dup.id != target.id
    services.case_merge(case_number=dup.number, into_number=target.number,
                        principal=principal_for(supervisor))
    dup.refresh_from_db()
    assert dup.status == "closed"
    assert dup.merged_into_id == target.id
    assert Message.objects.filter(case=dup).count() == 0
    assert Message.objects.filter(case=target).count() == 2
    assert CaseHistory.objects.filter(case=dup, kind="merged").exists()
    assert CaseHistory.objects.filter(case=target, kind="merged").exists()
    # a merged case cannot be merged again, nor moved
    with pytest.raises(MergeRefused):
        services.case_merge(case_number=dup.number, into_number=target.number,
                            principal=principal_for(supervisor))


def test_merge_refuses_cases_of_different_customers(setup):
    _agent, case = setup
    supervisor = make_agent("billing", roles=("supervisor",))
    other = Case.objects.get(id=inbound("Hi", email="bob@example.com").case_id)
    with pytest.raises(MergeRefused):
        services.case_merge(case_number=other.number, into_number=case.number,
                            principal=principal_for(supervisor))


def test_tags_are_set_and_validated(setup):
    agent, case = setup
    p = principal_for(agent)
    services.case_assign(case_number=case.number, principal=p, assignee_id=agent.pk)
    assert services.case_tag(case_number=case.number, principal=p,
                             tags=["Refund", " billing ", ""]) == ("billing", "refund")
    from safeguard.cases.contracts import InvalidInput

    with pytest.raises(InvalidInput):
        services.case_tag(case_number=case.number, principal=p, tags=["no spaces allowed"])


def test_an_agent_cannot_act_on_a_case_outside_their_queues(setup):
    _, case = setup
    make_queue("vip")
    stranger = make_agent("vip")
    with pytest.raises(CaseNotFound):
        services.message_send(case_number=case.number, principal=principal_for(stranger),
                              text="hi")
    with pytest.raises(CaseNotFound):
        services.note_add(case_number=case.number, principal=principal_for(stranger),
                          text="hi")

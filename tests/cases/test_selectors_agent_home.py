"""The agent's home (issue 15, R-WORK-4): my open cases, SLA at risk, recent, my queues — the
figures computed from the agent's split-access scope only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from safeguard.cases import selectors, services
from safeguard.cases.models import Case
from tests.cases.conftest import inbound, make_agent, make_queue, principal_for

pytestmark = pytest.mark.django_db
T0 = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


def _number(result) -> int:
    return Case.objects.get(id=result.case_id).number


def test_home_lists_my_cases_clocks_due_and_queue_depth_within_scope():
    # given two queues with SLA targets; the agent works billing only
    make_queue("billing", first_response_minutes=60, resolution_minutes=600)
    make_queue("fraud", first_response_minutes=10)
    agent = make_agent("billing")
    me = principal_for(agent)
    with time_machine.travel(T0, tick=False):
        first = _number(inbound("Parcel late", email="a@example.com"))
    with time_machine.travel(T0 + timedelta(minutes=40), tick=False):
        second = _number(inbound("Refund please", email="b@example.com"))
        third = _number(inbound("Wrong size", email="c@example.com"))
        _number(inbound("Someone used my card", email="d@example.com", queue="fraud"))
    with time_machine.travel(T0 + timedelta(minutes=42), tick=False):
        services.case_assign(case_number=second, principal=me, assignee_id=agent.pk)
    # when the agent opens their home 45 minutes after the first contact
    with time_machine.travel(T0 + timedelta(minutes=45), tick=False):
        home = selectors.agent_home(principal=me)
    # then: one case is mine; the first contact's first-response clock (due 10:00) is within the
    # 30-minute warning window, the others (due 10:40) are not; nothing has breached yet
    assert [c.number for c in home.my_open] == [second]
    assert home.my_open_count == 1
    assert [c.number for c in home.at_risk] == [first]
    assert home.at_risk[0].sla == "due-soon"
    assert home.at_risk_count == 1
    assert home.breached_count == 0
    # recent: newest update first; the fraud case is outside the agent's scope
    assert [c.number for c in home.recent][:1] == [second]
    assert sorted(c.number for c in home.recent) == sorted([first, second, third])
    assert [(q.slug, q.open_cases) for q in home.queues] == [("billing", 3)]
    # an hour later the first clock has run out: at risk and breached both count it
    with time_machine.travel(T0 + timedelta(minutes=61), tick=False):
        later = selectors.agent_home(principal=me)
    assert later.at_risk[0].number == first
    assert later.at_risk[0].sla == "breached"
    assert later.breached_count == 1


def test_home_of_an_agent_without_queues_is_empty():
    make_queue("billing", first_response_minutes=60)
    inbound("Hello")
    loner = make_agent()
    home = selectors.agent_home(principal=principal_for(loner))
    assert (home.my_open, home.at_risk, home.recent, home.queues) == ((), (), (), ())
    assert (home.my_open_count, home.at_risk_count, home.breached_count) == (0, 0, 0)

"""SLA breach flags (time-machine), CSAT links, voice events and the KPIs computed from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import signing

from safeguard.audit.models import Event
from safeguard.cases import selectors, services
from safeguard.cases.contracts import (
    CaseStateError,
    CsatAlreadyAnswered,
    CsatLinkInvalid,
    InvalidInput,
    Period,
    RecordingIn,
)
from safeguard.cases.models import Case, CaseHistory, Interaction
from safeguard.cases.services.csat import _SALT
from tests.cases.conftest import PAN_VISA, inbound, make_agent, make_queue, principal_for
from tests.factories import ref_hash

pytestmark = pytest.mark.django_db
T0 = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
PERIOD = Period(start=T0 - timedelta(days=1), end=T0 + timedelta(days=40))


def test_sla_sweep_flags_a_late_first_response_once():
    make_queue("billing", first_response_minutes=30, resolution_minutes=240)
    with time_machine.travel(T0, tick=False):
        case_id = inbound("Help").case_id
    # before the due time nothing is flagged
    with time_machine.travel(T0 + timedelta(minutes=29), tick=False):
        assert services.sla_check() == 0
    # after it the case is flagged, with the due time as the moment of breach
    with time_machine.travel(T0 + timedelta(minutes=31), tick=False):
        assert services.sla_check() == 1
        assert services.sla_check() == 0  # idempotent
    case = Case.objects.get(id=case_id)
    assert case.first_response_breached_at == T0 + timedelta(minutes=30)
    assert case.resolution_breached_at is None
    with time_machine.travel(T0 + timedelta(hours=5), tick=False):
        assert services.sla_check() == 1  # now the resolution clock
    assert CaseHistory.objects.filter(case_id=case_id, kind="sla_breach").count() == 2
    assert Event.objects.filter(action="case.sla_breached").count() == 2


def test_a_reply_in_time_stops_the_first_response_clock():
    make_queue("billing", first_response_minutes=30)
    agent = make_agent("billing")
    with time_machine.travel(T0, tick=False):
        case = Case.objects.get(id=inbound("Help").case_id)
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        services.message_send(case_number=case.number, principal=principal_for(agent),
                              text="On it")
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        assert services.sla_check() == 0
        page = selectors.case_list_for_agent(principal=principal_for(agent))
    assert page.items[0].sla == "ok"


def test_the_queue_shows_breached_and_due_soon_badges():
    make_queue("billing", first_response_minutes=60)
    agent = make_agent("billing")
    with time_machine.travel(T0, tick=False):
        inbound("first")
    with time_machine.travel(T0 + timedelta(minutes=45), tick=False):
        inbound("second", email="bob@example.com")
        badges = [c.sla for c in selectors.case_list_for_agent(
            principal=principal_for(agent)).items]
    assert badges == ["due-soon", "ok"]
    with time_machine.travel(T0 + timedelta(minutes=61), tick=False):
        badges = [c.sla for c in selectors.case_list_for_agent(
            principal=principal_for(agent)).items]
    assert badges == ["breached", "ok"]


def _resolved_case(agent):
    p = principal_for(agent)
    case = Case.objects.get(id=inbound("Help").case_id)
    services.case_assign(case_number=case.number, principal=p, assignee_id=agent.pk)
    services.case_move(case_number=case.number, principal=p, status="resolved")
    return case


def test_csat_link_answered_once_then_refused():
    make_queue()
    agent = make_agent("billing")
    case = _resolved_case(agent)
    link = services.csat_link(case_number=case.number, principal=principal_for(agent))
    services.csat_submit(token=link.token, score=5, comment=f"great, card {PAN_VISA}")
    with pytest.raises(CsatAlreadyAnswered):
        services.csat_submit(token=link.token, score=1)
    assert selectors.csat(period=Period(T0 - timedelta(days=3650),
                                        T0 + timedelta(days=3650))).total == 1
    from safeguard.cases.models import CsatResponse

    assert PAN_VISA not in CsatResponse.objects.get(case=case).comment


def test_csat_link_is_refused_before_resolution_and_when_forged_or_expired(settings):
    make_queue()
    agent = make_agent("billing")
    case = Case.objects.get(id=inbound("Help").case_id)
    with pytest.raises(CaseStateError):
        services.csat_link(case_number=case.number, principal=principal_for(agent))
    forged = signing.dumps({"c": str(case.id)}, salt="something-else")
    with pytest.raises(CsatLinkInvalid):
        services.csat_submit(token=forged, score=5)
    case = _resolved_case(agent)
    with time_machine.travel(T0, tick=False):
        link = services.csat_link(case_number=case.number, principal=principal_for(agent))
    later = T0 + timedelta(days=settings.SAFEGUARD_CSAT_LINK_DAYS + 1)
    with time_machine.travel(later), pytest.raises(CsatLinkInvalid):
        services.csat_submit(token=link.token, score=5)
    with pytest.raises(InvalidInput):
        services.csat_submit(token=signing.dumps({"c": str(case.id)}, salt=_SALT,
                                                 compress=True), score=6)


def test_csat_kpi_counts_fours_and_fives(settings):
    make_queue()
    agent = make_agent("billing")
    for score in (5, 4, 2, 1):
        case = _resolved_case(agent)
        link = services.csat_link(case_number=case.number, principal=principal_for(agent))
        services.csat_submit(token=link.token, score=score)
    kpi = selectors.csat(period=Period(datetime(2000, 1, 1, tzinfo=UTC),
                                       datetime(2100, 1, 1, tzinfo=UTC)))
    assert (kpi.value, kpi.hits, kpi.total) == (0.5, 2, 4)


def test_a_reopen_within_the_window_breaks_fcr():
    make_queue()
    agent = make_agent("billing")
    p = principal_for(agent)
    with time_machine.travel(T0, tick=False):
        kept = _resolved_case(agent)
        reopened = Case.objects.get(id=inbound("Other", email="bob@example.com").case_id)
        services.case_assign(case_number=reopened.number, principal=p, assignee_id=agent.pk)
        services.case_move(case_number=reopened.number, principal=p, status="resolved")
        late = Case.objects.get(id=inbound("Third", email="cy@example.com").case_id)
        services.case_assign(case_number=late.number, principal=p, assignee_id=agent.pk)
        services.case_move(case_number=late.number, principal=p, status="resolved")
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        services.case_reopen(case_number=reopened.number, principal=p)
    with time_machine.travel(T0 + timedelta(days=10), tick=False):
        services.case_reopen(case_number=late.number, principal=p)
    kpi = selectors.fcr(period=PERIOD)
    assert (kpi.hits, kpi.total) == (2, 3)
    assert kept.number
    # a shorter window makes the late reopen count too
    assert selectors.fcr(period=PERIOD, reopen_window_days=30).hits == 1


def test_a_case_resolved_after_a_second_interaction_is_not_fcr():
    # given a case that gained a second interaction (a duplicate merged into it)
    make_queue()
    agent = make_agent("billing")
    supervisor = make_agent("billing", roles=("supervisor",))
    with time_machine.travel(T0, tick=False):
        case = Case.objects.get(id=inbound("Help", external_id="<x@example.com>").case_id)
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        dup = Case.objects.get(id=inbound("Help?", external_id="<y@example.com>").case_id)
        services.case_merge(case_number=dup.number, into_number=case.number,
                            principal=principal_for(supervisor))
    # when it is resolved
    p = principal_for(agent)
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        services.case_assign(case_number=case.number, principal=p, assignee_id=agent.pk)
        services.case_move(case_number=case.number, principal=p, status="resolved")
    # then it is not a first-contact resolution, and the merged duplicate is not counted
    kpi = selectors.fcr(period=PERIOD)
    assert (kpi.hits, kpi.total) == (0, 1)


def test_asa_from_call_events_per_queue():
    make_queue("billing")
    make_queue("sales")
    agent = make_agent("billing", "sales")
    # given two answered calls (20 s and 40 s) and one abandoned, in two queues
    for call, queue, wait in (("c1", "billing", 20), ("c2", "billing", 40), ("c3", "sales", None)):
        services.call_event(call_id=call, event="queued", at=T0, queue=queue,
                            caller_phone="+44 20 7946 0018")
        if wait is not None:
            view = services.call_event(call_id=call, event="answered",
                                       at=T0 + timedelta(seconds=wait), queue=queue,
                                       agent_email=agent.email)
            assert view.speed_to_answer_seconds == wait
        services.call_event(call_id=call, event="ended", at=T0 + timedelta(minutes=5),
                            queue=queue)
    # a repeated webhook changes nothing
    again = services.call_event(call_id="c1", event="answered", at=T0 + timedelta(minutes=1),
                                queue="billing")
    assert again.speed_to_answer_seconds == 20
    total = selectors.asa(period=PERIOD)
    assert (total.value_seconds, total.answered, total.abandoned) == (30.0, 2, 1)
    by_queue = {a.queue: a for a in selectors.asa_by_queue(period=PERIOD)}
    assert by_queue["billing"].value_seconds == 30.0
    assert by_queue["sales"].value_seconds is None
    assert by_queue["sales"].abandoned == 1
    # answering was the first response, by the agent who took the call
    case = Case.objects.get(id=again.case_id)
    assert case.assignee_id == agent.pk
    assert case.first_response_at == T0 + timedelta(seconds=20)


def test_call_transcript_is_screened_and_payment_pause_spans_are_kept():
    make_queue("billing")
    services.call_event(call_id="c9", event="queued", at=T0, queue="billing",
                        caller_phone="+44 20 7946 0018")
    view = services.call_payment_pause(call_id="c9", active=True, at=T0 + timedelta(minutes=1))
    assert view.payment_paused
    assert services.call_payment_pause(call_id="c9", active=True,
                                       at=T0 + timedelta(minutes=2)).payment_pauses == \
        view.payment_pauses  # repeated: unchanged
    view = services.call_payment_pause(call_id="c9", active=False, at=T0 + timedelta(minutes=3))
    assert not view.payment_paused
    assert view.payment_pauses == ((T0 + timedelta(minutes=1), T0 + timedelta(minutes=3)),)
    services.call_transcript(call_id="c9", text=f"my card is {PAN_VISA}",
                             recording=RecordingIn(uri="s3://recordings/c9.wav",
                                                   duration_seconds=300))
    row = Interaction.objects.get(call_id=ref_hash("c9"))
    assert PAN_VISA not in row.transcript
    assert "1111" in row.transcript
    assert row.recording_retention == "qa_recording"
    with pytest.raises(InvalidInput):
        services.call_transcript(call_id="c9", text="x", recording=RecordingIn(
            uri="s3://r", retention_category="forever"))


def test_a_call_from_a_withheld_number_still_gets_a_case():
    make_queue("billing")
    view = services.call_event(call_id="anon-1", event="queued", at=T0, queue="billing")
    assert Case.objects.get(id=view.case_id).channel == "voice"


def test_the_periodic_task_runs_the_sweep():
    from safeguard.cases import tasks

    make_queue("billing", first_response_minutes=1)
    with time_machine.travel(T0, tick=False):
        inbound("Help")
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        assert tasks.sla_check.call_local() == 1


def test_closing_a_case_resolved_in_time_is_not_a_resolution_breach():
    make_queue("billing", first_response_minutes=30, resolution_minutes=240)
    agent = make_agent("billing")
    p = principal_for(agent)
    with time_machine.travel(T0, tick=False):
        case = Case.objects.get(id=inbound("Help").case_id)
        services.case_assign(case_number=case.number, principal=p, assignee_id=agent.pk)
    with time_machine.travel(T0 + timedelta(minutes=60), tick=False):
        services.case_move(case_number=case.number, principal=p, status="resolved")
    # closed a day later: after the resolution due time, but it was resolved in time
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        services.case_move(case_number=case.number, principal=p, status="closed")
    case.refresh_from_db()
    assert case.status == "closed"
    assert case.resolution_breached_at is None
    assert Event.objects.filter(action="case.sla_breached").count() == 0

"""Fixtures of the privacy tests: closed cases with calls, recordings and survey answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from safeguard.cases import services as cases
from safeguard.cases.contracts import RecordingIn
from safeguard.cases.models import Case
from tests.cases.conftest import _no_senders, inbound, make_agent, make_queue, principal_for

__all__ = ["T0", "_no_senders", "closed_call_case", "closed_mail_case", "make_agent",
           "make_queue", "principal_for"]

T0 = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)  # a Monday


def closed_call_case(agent, *, call_id: str, category: str, at: datetime = T0,
                     csat: int | None = None) -> Case:
    """A call queued, answered after 30 s, ended, transcribed with a recording of ``category``,
    then resolved and closed by ``agent`` at ``at`` (+ 1 hour)."""
    with time_machine.travel(at, tick=False):
        cases.call_event(call_id=call_id, event="queued", at=at, queue="billing",
                         caller_phone="+44 20 7946 0018")
        cases.call_event(call_id=call_id, event="answered", at=at + timedelta(seconds=30),
                         queue="billing", agent_email=agent.email)
        view = cases.call_event(call_id=call_id, event="ended", at=at + timedelta(minutes=5),
                                queue="billing")
        cases.call_transcript(call_id=call_id, text="I would like a refund please",
                              recording=RecordingIn(uri=f"s3://rec/{call_id}.wav",
                                                    duration_seconds=300,
                                                    retention_category=category))
    return _close(agent, Case.objects.get(id=view.case_id), at=at, csat=csat)


def closed_mail_case(agent, *, email: str, at: datetime = T0, csat: int | None = None) -> Case:
    with time_machine.travel(at, tick=False):
        case = Case.objects.get(id=inbound("My parcel is late, Ann Lee", email=email).case_id)
    return _close(agent, case, at=at, csat=csat)


def _close(agent, case: Case, *, at: datetime, csat: int | None) -> Case:
    p = principal_for(agent)
    with time_machine.travel(at + timedelta(minutes=30), tick=False):
        if case.assignee_id is None:
            cases.case_assign(case_number=case.number, principal=p, assignee_id=agent.pk)
        cases.case_move(case_number=case.number, principal=p, status="resolved")
        if csat is not None:
            link = cases.csat_link(case_number=case.number, principal=p)
            cases.csat_submit(token=link.token, score=csat, comment="Ann was very helpful")
    with time_machine.travel(at + timedelta(hours=1), tick=False):
        cases.case_move(case_number=case.number, principal=p, status="closed")
    return Case.objects.get(id=case.id)

"""The supervisors' wallboard (issue 15): live figures per queue, today's KPIs, and the bounded
server-sent-event stream; agents may not open it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from safeguard.cases import services
from safeguard.cases.contracts import SenderIn
from safeguard.cases.models import Case
from safeguard.cases.selectors.wallboard import wallboard
from tests.factories import SYSTEM, make_user, signed_in_client

pytestmark = pytest.mark.django_db


def _inbound(email: str, subject: str, queue: str = "billing") -> Case:
    result = services.message_receive(channel="email", sender=SenderIn(email=email, name="Ann"),
                                      text=f"{subject}, please help.", subject=subject,
                                      queue=queue)
    return Case.objects.get(id=result.case_id)


@pytest.fixture
def billing():
    services.queue_create(actor=SYSTEM, slug="billing", name="Billing",
                          first_response_minutes=20, resolution_minutes=600)
    return "billing"


def test_depth_longest_wait_and_sla_risk_per_queue(billing):
    first = _inbound("ann@example.com", "Parcel late")
    _inbound("bob@example.com", "Refund please")
    Case.objects.filter(id=first.id).update(created_at=timezone.now() - timedelta(minutes=12))
    board = wallboard()
    (q,) = [q for q in board.queues if q.slug == billing]
    assert (q.depth, q.open) == (2, 2)
    assert 12 * 60 - 5 <= q.longest_wait_seconds <= 12 * 60 + 5
    assert q.wait_alert is True  # over the 300 s default
    # both first responses are due within 20 min: inside the 30 min risk window
    assert (q.sla_at_risk, q.sla_breached) == (2, 0)
    assert board.as_dict()["totals"]["depth"] == 2


def test_agents_available_counts_members_seen_recently(billing, settings):
    agent = make_user(roles=("agent",))
    away = make_user(roles=("agent",))
    services.queue_member_add(actor=SYSTEM, slug=billing, user_id=agent.pk)
    services.queue_member_add(actor=SYSTEM, slug=billing, user_id=away.pk)
    from allauth.usersessions.models import UserSession
    UserSession.objects.create(user=agent, session_key="k1", ip="127.0.0.1",
                               last_seen_at=timezone.now(), created_at=timezone.now())
    UserSession.objects.create(user=away, session_key="k2", ip="127.0.0.1",
                               last_seen_at=timezone.now() - timedelta(hours=2),
                               created_at=timezone.now() - timedelta(hours=2))
    (q,) = wallboard().queues
    assert (q.agents_available, q.agents) == (1, 2)


def test_the_stream_is_bounded_and_sends_the_board(billing, settings):
    settings.SAFEGUARD_WALLBOARD_STREAM_SECONDS = 1
    settings.SAFEGUARD_WALLBOARD_INTERVAL_SECONDS = 0.3
    _inbound("ann@example.com", "Parcel late")
    supervisor = make_user(roles=("supervisor",))
    response = signed_in_client(supervisor).get("/cases/wallboard/stream/")
    assert response["Content-Type"] == "text/event-stream"
    body = b"".join(response.streaming_content).decode()
    assert body.startswith("retry: 2000\n\n")
    events = [json.loads(chunk.split("data: ", 1)[1]) for chunk in body.split("\n\n")
              if chunk.startswith("event: wallboard")]
    assert 2 <= len(events) <= 4  # every 0.3 s for at most 1 s, then the response ends
    assert events[-1]["totals"]["depth"] == 1
    assert events[-1]["queues"][0]["slug"] == "billing"


def test_agents_cannot_open_the_wallboard(billing):
    agent = make_user(roles=("agent",))
    client = signed_in_client(agent)
    assert client.get("/cases/wallboard/").status_code == 403
    assert client.get("/cases/wallboard/stream/").status_code == 403


def test_the_page_renders_the_figures_without_inline_script(billing):
    _inbound("ann@example.com", "Parcel late")
    html = signed_in_client(make_user(roles=("supervisor",))).get(
        "/cases/wallboard/").content.decode()
    assert '<span class="wb-value" data-total="depth">1</span>' in html
    assert 'data-stream="/cases/wallboard/stream/"' in html
    assert "<script>" not in html


def test_system_checks_e410_e411_e412(settings):
    from safeguard.cases import checks_desk

    assert checks_desk.desk_settings() == []
    settings.SAFEGUARD_WALLBOARD_STREAM_SECONDS = 30
    settings.SAFEGUARD_AUTOCLOSE_DAYS = 3
    settings.SAFEGUARD_FCR_REOPEN_WINDOW_DAYS = 7
    assert [e.id for e in checks_desk.desk_settings()] == ["safeguard.E410", "safeguard.E411"]
    settings.SAFEGUARD_AUTOCLOSE_DAYS = 0  # never: nothing to check
    settings.SAFEGUARD_WALLBOARD_STREAM_SECONDS = 25
    assert checks_desk.desk_settings() == []
    settings.SAFEGUARD_CSAT_AUTO_SEND, settings.SAFEGUARD_CSAT_BASE_URL = True, ""
    assert [e.id for e in checks_desk.desk_deploy()] == ["safeguard.E412"]
    settings.SAFEGUARD_CSAT_BASE_URL = "https://help.example.com"
    assert checks_desk.desk_deploy() == []

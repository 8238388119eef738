"""Console pages and API: split access (page 404 and API 404), audit of reads, polling, CSAT."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from safeguard.accounts import services as accounts
from safeguard.audit.models import Event
from safeguard.cases import selectors, services
from safeguard.cases.models import Case, Message
from safeguard.customers.contracts import CustomerScope
from tests.cases.conftest import PAN_VISA, inbound, make_agent, make_queue, principal_for
from tests.factories import SYSTEM, signed_in_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    make_queue("billing")
    make_queue("vip")
    mine = Case.objects.get(id=inbound(f"card {PAN_VISA}", queue="billing",
                                        external_id="<mine@example.com>").case_id)
    theirs = Case.objects.get(id=inbound("secret vip", email="vip@example.com",
                                         queue="vip").case_id)
    agent = make_agent("billing")
    return agent, mine, theirs


def test_queue_page_lists_only_cases_in_the_agents_queues(world):
    agent, mine, theirs = world
    response = signed_in_client(agent).get("/cases/")
    assert response.status_code == 200
    body = response.content.decode()
    assert f'href="/cases/{mine.number}/"' in body
    assert f'href="/cases/{theirs.number}/"' not in body
    assert PAN_VISA not in body


def test_queue_filter_request_from_htmx_gets_only_the_table(world):
    agent, _mine, _ = world
    response = signed_in_client(agent).get("/cases/?status=all", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<div id="case-table">')


def test_an_agent_cannot_open_a_case_outside_their_queues_page_and_api(world):
    agent, mine, theirs = world
    client = signed_in_client(agent)
    assert client.get(f"/cases/{theirs.number}/").status_code == 404
    api = client.get(f"/api/v1/cases/{theirs.number}")
    assert api.status_code == 404
    assert api["Content-Type"] == "application/problem+json"
    assert client.get(f"/cases/{mine.number}/").status_code == 200
    assert client.get(f"/api/v1/cases/{mine.number}").status_code == 200
    # and posting to it is the same 404, with nothing stored
    before = Message.objects.count()
    response = client.post(f"/api/v1/cases/{theirs.number}/messages", {"text": "hi"},
                           content_type="application/json")
    assert response.status_code == 404
    assert Message.objects.count() == before


def test_a_case_assigned_to_an_agent_outside_their_queues_is_visible_to_them(world):
    agent, _, theirs = world
    supervisor = make_agent("vip", roles=("supervisor",))
    services.queue_member_add(actor=SYSTEM, slug="vip", user_id=agent.pk)
    services.case_assign(case_number=theirs.number, principal=principal_for(supervisor),
                         assignee_id=agent.pk)
    services.queue_member_remove(actor=SYSTEM, slug="vip", user_id=agent.pk)
    assert signed_in_client(agent).get(f"/cases/{theirs.number}/").status_code == 200


def test_reading_a_case_records_case_viewed(world):
    agent, mine, _ = world
    signed_in_client(agent).get(f"/cases/{mine.number}/")
    event = Event.objects.filter(action="case.viewed").get()
    assert event.subject_id == str(mine.number)
    assert event.actor_id == str(agent.pk)


def test_the_case_page_shows_the_token_not_the_card_and_loads_the_customer_panel(world):
    agent, mine, _ = world
    body = signed_in_client(agent).get(f"/cases/{mine.number}/").content.decode()
    assert PAN_VISA not in body
    assert "•••• 1111" in body
    assert f"/customers/{mine.customer_id}/panel/" in body
    assert "<script>" not in body
    assert " style=" not in body


def test_polling_answers_204_until_the_conversation_changes(world):
    agent, mine, _ = world
    client = signed_in_client(agent)
    marker = selectors.case_marker(principal=principal_for(agent), number=mine.number)
    url = f"/cases/{mine.number}/conversation/"
    assert client.get(url, {"m": marker}).status_code == 204
    again = inbound("another message", external_id="<new@example.com>",
                    thread_ref="<mine@example.com>")
    assert again.case_id == mine.id
    response = client.get(url, {"m": marker})
    assert response.status_code == 200
    assert "another message" in response.content.decode()


def test_reply_note_and_status_through_the_page(world):
    agent, mine, _ = world
    client = signed_in_client(agent)
    assert client.post(f"/cases/{mine.number}/reply/", {"text": "On it"}).status_code == 302
    assert client.post(f"/cases/{mine.number}/note/", {"text": "vip?"}).status_code == 302
    client.post(f"/cases/{mine.number}/assign/", {"assignee": "me"})
    client.post(f"/cases/{mine.number}/status/", {"status": "resolved"})
    mine.refresh_from_db()
    assert mine.status == "resolved"
    assert mine.assignee_id == agent.pk
    assert Message.objects.filter(case=mine, is_internal=True).count() == 1


def test_api_lists_with_a_cursor_and_changes_status(world):
    agent, mine, _ = world
    for i in range(3):
        inbound(f"more {i}", email=f"c{i}@example.com")
    client = signed_in_client(agent)
    first = client.get("/api/v1/cases/", {"limit": 2}).json()
    assert len(first["items"]) == 2
    assert first["next_cursor"]
    second = client.get("/api/v1/cases/", {"limit": 2, "cursor": first["next_cursor"]}).json()
    numbers = [c["number"] for c in first["items"] + second["items"]]
    assert numbers == sorted(numbers)
    assert len(numbers) == 4
    services.case_assign(case_number=mine.number, principal=principal_for(agent),
                         assignee_id=agent.pk)
    ok = client.post(f"/api/v1/cases/{mine.number}/status", {"status": "pending"},
                     content_type="application/json")
    assert ok.status_code == 200
    assert ok.json()["status"] == "pending"
    bad = client.post(f"/api/v1/cases/{mine.number}/status", {"status": "new"},
                      content_type="application/json")
    assert bad.status_code == 409
    assert bad.json()["current"] == "pending"


def test_api_bad_input_is_a_problem_and_stores_nothing(world):
    agent, mine, _ = world
    client = signed_in_client(agent)
    before = Message.objects.count()
    for payload in ({"text": ""}, {"nope": 1}, {"text": "x" * 100_001}):
        response = client.post(f"/api/v1/cases/{mine.number}/messages", payload,
                               content_type="application/json")
        assert response.status_code == 422
    assert client.get("/api/v1/cases/", {"status": "bogus"}).status_code == 422
    assert client.get("/api/v1/cases/", {"cursor": "forged"}).status_code == 400
    assert Message.objects.count() == before


def test_api_token_without_cases_scope_is_refused(world):
    agent, mine, _ = world
    issued = accounts.token_issue(actor=SYSTEM, user_id=agent.pk, name="t",
                                  scopes=("cases.view",), expires_in_days=1)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    assert client.get(f"/api/v1/cases/{mine.number}").status_code == 200
    assert client.post(f"/api/v1/cases/{mine.number}/messages", {"text": "hi"},
                       content_type="application/json").status_code == 403


def test_customer_scope_is_the_customers_of_visible_cases(world):
    agent, mine, _theirs = world
    scope = selectors.customer_scope(principal_for(agent))
    assert scope == CustomerScope(all=False, customer_ids=frozenset({mine.customer_id}))
    supervisor = make_agent(roles=("supervisor",))
    assert selectors.customer_scope(principal_for(supervisor)).all


def test_the_one_customer_check_answers_like_the_listed_scope(world):
    """Issue 10: the panel's scope check is one EXISTS query (``allows``), never a listing of
    every customer in scope, and gives the listed scope's answer for every customer."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    agent, mine, theirs = world
    p = principal_for(agent)
    listed = selectors.customer_scope(p)
    for customer_id in (mine.customer_id, theirs.customer_id, uuid.uuid4()):
        with CaptureQueriesContext(connection) as queries:
            allowed = selectors.customer_scope.allows(p, customer_id)
        assert allowed is listed.allows(customer_id)
        sql = queries[0]["sql"].upper()
        assert (len(queries), "LIMIT 1" in sql, "DISTINCT" in sql) == (1, True, False)
    assert (selectors.customer_scope.allows(p, mine.customer_id),
            selectors.customer_scope.allows(p, theirs.customer_id)) == (True, False)
    supervisor = make_agent(roles=("supervisor",))
    assert selectors.customer_scope.allows(principal_for(supervisor), theirs.customer_id)


def test_csat_page_answered_once(world):
    agent, mine, _ = world
    p = principal_for(agent)
    services.case_assign(case_number=mine.number, principal=p, assignee_id=agent.pk)
    services.case_move(case_number=mine.number, principal=p, status="resolved")
    link = services.csat_link(case_number=mine.number, principal=p)
    client = Client()
    assert client.get(link.path).status_code == 200
    assert client.post(link.path, {"score": "5", "comment": "thanks"}).status_code == 200
    assert client.post(link.path, {"score": "1"}).status_code == 409
    assert client.get(link.path).status_code == 409
    assert client.get("/cases/csat/forged-token/").status_code == 400


def test_queue_admin_and_kpi_pages_need_their_permissions(world):
    agent, _, _ = world
    assert signed_in_client(agent).get("/cases/queues/").status_code == 403
    assert signed_in_client(agent).get("/cases/kpi/").status_code == 403
    supervisor = make_agent(roles=("supervisor",))
    client = signed_in_client(supervisor)
    assert client.get("/cases/queues/").status_code == 200
    assert client.post("/cases/queues/", {"slug": "returns", "name": "Returns",
                                          "first_response_minutes": "30",
                                          "is_active": "on"}).status_code == 302
    assert client.get("/cases/kpi/?start=2025-01-01&end=2025-12-31").status_code == 200
    assert client.post("/cases/macros/", {"name": "Thanks", "body": "Case {case_number}"}
                       ).status_code == 302


def test_the_case_page_records_one_view_per_open():
    from safeguard.audit.models import Event
    from tests.cases.conftest import inbound, make_agent, make_queue
    from tests.factories import signed_in_client

    make_queue("billing")
    agent = make_agent("billing")
    number = inbound("Hello").case_number
    before = Event.objects.filter(action="case.viewed").count()
    assert signed_in_client(agent).get(f"/cases/{number}/").status_code == 200
    assert Event.objects.filter(action="case.viewed").count() == before + 1

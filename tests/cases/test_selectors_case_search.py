"""Case search, sort, saved views and counted pages (issue 15, decision 0168; R-DATA-2,
R-WORK-4): what an agent sees is what they can find, inside their scope only."""

from __future__ import annotations

import pytest
from django.test import override_settings

from safeguard.audit.models import Event
from safeguard.cases import selectors, services
from safeguard.cases.contracts import InvalidInput
from safeguard.cases.models import Case
from tests.cases.conftest import inbound, make_agent, make_queue, principal_for
from tests.factories import signed_in_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    make_queue("billing")
    make_queue("vip")
    agent = make_agent("billing")
    p = principal_for(agent)
    numbers = {}
    for key, text, subject in [
            ("refund", "I want a refund for the broken kettle.", "Kettle broken"),
            ("late", "My parcel is late again.", "Parcel late"),
            ("phone", "Call me on +44 20 7946 0991 please.", "Callback")]:
        numbers[key] = Case.objects.get(id=inbound(text, subject=subject,
                                                   email=f"{key}@example.com").case_id).number
    numbers["vip"] = Case.objects.get(id=inbound("refund of my vip kettle", queue="vip",
                                                 email="vip@example.com").case_id).number
    services.case_assign(case_number=numbers["late"], principal=p, assignee_id=agent.pk)
    services.case_tag(case_number=numbers["late"], principal=p, tags=["delivery"])
    services.message_send(case_number=numbers["late"], principal=p,
                          text="We escalated this with the courier.")
    return agent, numbers


def _numbers(page) -> list[int]:
    return [c.number for c in page.items]


def test_search_by_number_tag_subject_and_message_text(world):
    agent, n = world
    p = principal_for(agent)
    assert _numbers(selectors.case_search(principal=p, q=f"#{n['refund']}")) == [n["refund"]]
    assert _numbers(selectors.case_search(principal=p, q="tag:delivery")) == [n["late"]]
    assert _numbers(selectors.case_search(principal=p, q="kettle")) == [n["refund"]]
    # the agent's own reply is searchable, in any case
    assert _numbers(selectors.case_search(principal=p, q="COURIER")) == [n["late"]]
    # words and a tag together
    assert _numbers(selectors.case_search(principal=p, q="tag:delivery parcel")) == [n["late"]]
    assert _numbers(selectors.case_search(principal=p, q="tag:delivery kettle")) == []


def test_search_never_reaches_outside_scope_nor_behind_a_mask(world):
    agent, n = world
    p = principal_for(agent)
    # the vip case holds "refund" and "kettle" but is another queue's
    assert n["vip"] not in _numbers(selectors.case_search(principal=p, q="kettle"))
    assert _numbers(selectors.case_search(principal=p, q=f"{n['vip']}")) == []
    # the phone number the customer wrote is masked on screen, so it does not match
    assert _numbers(selectors.case_search(principal=p, q="7946 0991")) == []
    assert _numbers(selectors.case_search(principal=p, q="call me")) == [n["phone"]]


def test_a_search_is_audited_without_its_text(world):
    agent, n = world
    selectors.case_search(principal=principal_for(agent), q="kettle")
    event = Event.objects.filter(action="case.searched").order_by("-seq").first()
    assert event.data == {"terms": ["text"], "total": 1, "scanned": 3, "capped": False,
                          "cases": [f"#{n['refund']}"]}
    assert "kettle" not in str(event.data)
    # a plain list (no search) is not recorded as a search
    selectors.case_search(principal=principal_for(agent))
    assert Event.objects.filter(action="case.searched").count() == 1


def test_sorts_and_counted_pages(world, settings):
    agent, n = world
    p = principal_for(agent)
    settings.SAFEGUARD_LIST_PAGE_SIZE = 2
    first = selectors.case_search(principal=p)
    assert (first.total, first.pages, first.page, first.first, first.last) == (3, 2, 1, 1, 2)
    assert _numbers(first) == sorted([n["refund"], n["late"], n["phone"]])[:2]
    second = selectors.case_search(principal=p, page=2)
    assert (_numbers(second), second.first, second.last) == ([max(n["refund"], n["late"],
                                                                   n["phone"])], 3, 3)
    newest = selectors.case_search(principal=p, sort="-number")
    assert _numbers(newest)[0] == max(n["refund"], n["late"], n["phone"])
    services.case_set_priority(case_number=n["late"], principal=p, priority="urgent")
    assert _numbers(selectors.case_search(principal=p, sort="priority"))[0] == n["late"]
    assert _numbers(selectors.case_search(principal=p, sort="-updated"))[0] == n["late"]
    with pytest.raises(InvalidInput):
        selectors.case_search(principal=p, page=3)
    with pytest.raises(InvalidInput):
        selectors.case_search(principal=p, sort="subject")


@override_settings(SAFEGUARD_CASE_SEARCH_SCAN_MAX=2)
def test_a_text_search_over_more_cases_than_the_cap_says_so(world):
    agent, _n = world
    page = selectors.case_search(principal=principal_for(agent), q="kettle")
    # the two newest cases were compared; the kettle case is the oldest
    assert (page.capped, page.scanned, page.total) == (True, 2, 0)


def test_saved_views_keep_only_list_parameters_and_belong_to_their_owner(world):
    agent, _n = world
    other = make_agent("billing")
    view_id = services.saved_view_save(
        principal=principal_for(agent), name="  My   urgent ",
        query={"status": "open", "sort": "priority", "q": "secret words", "tag": ""})
    views = selectors.saved_view_list(principal=principal_for(agent))
    assert [(v.id, v.name, v.query) for v in views] == [
        (view_id, "My urgent", {"status": "open", "sort": "priority"})]
    assert selectors.saved_view_list(principal=principal_for(other)) == ()
    with pytest.raises(InvalidInput):
        services.saved_view_save(principal=principal_for(agent), name="x",
                                 query={"sort": "subject"})
    # another person cannot delete it
    from safeguard.web.errors import NotFound

    with pytest.raises(NotFound):
        services.saved_view_delete(principal=principal_for(other), view_id=view_id)
    services.saved_view_delete(principal=principal_for(agent), view_id=view_id)
    assert selectors.saved_view_list(principal=principal_for(agent)) == ()


def test_the_case_list_page_searches_counts_and_saves_views(world):
    agent, n = world
    client = signed_in_client(agent)
    body = client.get("/cases/?q=kettle").content.decode()
    assert "Showing 1–1 of 1 case" in body
    assert f'href="/cases/{n["refund"]}/"' in body
    assert f'href="/cases/{n["late"]}/"' not in body
    response = client.post("/cases/views/", {"name": "Urgent first", "sort": "priority",
                                             "status": "open"})
    assert response.status_code == 302
    assert response["Location"] == "/cases/?status=open&sort=priority"
    listed = client.get("/cases/").content.decode()
    assert ">Urgent first</a>" in listed
    bad = client.get("/cases/?sort=subject")
    assert bad.status_code == 400


def test_a_long_result_list_is_audited_without_tripping_the_no_pan_guard(settings):
    # given 60 cases in the agent's queue: their numbers 1..60 as a JSON list of integers
    # contain Luhn-valid 16-digit runs to the guard, which would refuse the audit event
    make_queue("billing")
    agent = make_agent("billing")
    for i in range(60):
        inbound(f"The courier lost parcel {i}.", email=f"c{i}@example.com")
    settings.SAFEGUARD_LIST_PAGE_SIZE = 100
    # when the agent searches and all 60 match
    page = selectors.case_search(principal=principal_for(agent), q="courier")
    # then the search answers and its event names every case shown
    assert page.total == 60
    event = Event.objects.filter(action="case.searched").get()
    assert event.data["cases"] == [f"#{c.number}" for c in page.items]

"""The KPI page's filters: queues to choose from, a reversed date range refused with a message
(issue 15, item 9; R-KPI-1..3)."""

from __future__ import annotations

import re

import pytest

from tests.cases.conftest import make_agent, make_queue
from tests.factories import signed_in_client

pytestmark = pytest.mark.django_db


def _supervisor_client():
    make_queue("billing")
    make_queue("fraud")
    return signed_in_client(make_agent(roles=("supervisor",)))


def test_the_queue_filter_is_a_select_of_the_queues():
    html = _supervisor_client().get("/cases/kpi/").content.decode()
    select = re.search(r'<select name="queue"[^>]*>(.*?)</select>', html, re.S)
    assert select is not None
    values = re.findall(r'<option value="([^"]*)"', select.group(1))
    assert values[0] == ""  # "All queues" first
    assert {"billing", "fraud"} <= set(values)
    assert ">All queues</option>" in select.group(1)


def test_a_reversed_date_range_is_refused_with_a_message():
    client = _supervisor_client()
    response = client.get("/cases/kpi/?start=2026-03-31&end=2026-03-01")
    html = response.content.decode()
    assert response.status_code == 400
    assert "The end date is before the start date: choose an end on or after 2026-03-31." in html
    # and the figures shown are those of the default period, not of the reversed one
    assert "2026-03-31 to 2026-03-01" not in html


def test_an_unknown_queue_is_refused_and_a_known_one_accepted():
    client = _supervisor_client()
    assert client.get("/cases/kpi/?start=2026-03-01&end=2026-03-31&queue=nope"
                      ).status_code == 400
    ok = client.get("/cases/kpi/?start=2026-03-01&end=2026-03-31&queue=billing")
    assert ok.status_code == 200
    assert "2026-03-01 to 2026-04-01" in ok.content.decode()

"""``Cache-Control: no-store`` on every page and API answer that carries customer data (issue 9
§10, R-WORK-4): the test walks the URL conf (every route of the cases, customers, protection
and staff areas, and their API), fills each route with a real case and customer, and checks the
header on whatever the route answers — 200, 404 or a redirect alike."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from safeguard.cases.models import Case
from tests.cases.conftest import inbound, make_agent, make_queue
from tests.customers.factories import make_customer
from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db

DATA_AREAS = ("cases/", "customers/", "staff/", "chat/", "api/v1/cases", "api/v1/customers",
              "api/v1/protection", "api/v1/audit", "audit/")
_PARAM = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>")


def _routes(patterns, prefix=""):
    for p in patterns:
        route = prefix + str(p.pattern).lstrip("^").rstrip("$")
        if isinstance(p, URLResolver):
            yield from _routes(p.url_patterns, route)
        elif isinstance(p, URLPattern):
            yield route


def _fill(route, *, number, customer_id):
    def value(m):
        conv, name = m.group("conv") or "str", m.group("name")
        if conv == "int" or name == "number":
            return str(number)
        if conv == "uuid" or name.endswith("_id"):
            return str(customer_id)
        return "x"
    return "/" + _PARAM.sub(value, route)


@pytest.fixture
def world():
    make_queue("billing")
    case = Case.objects.get(id=inbound("my card is 4111 1111 1111 1111", queue="billing").case_id)
    customer = make_customer()
    return case, customer


def test_every_data_route_answers_no_store(world):
    case, customer = world
    supervisor = signed_in_client(make_user(roles=("supervisor", "privacy_officer")))
    urls = sorted({_fill(r, number=case.number, customer_id=customer.id)
                   for r in _routes(get_resolver().url_patterns)
                   if r.startswith(DATA_AREAS)})
    assert len(urls) > 30  # the walk found the areas (a broken walker must not pass)
    missing = []
    for url in urls:
        for method in ("get", "post"):
            response = getattr(supervisor, method)(url)
            if "no-store" not in response.get("Cache-Control", ""):
                missing.append((method, url, response.status_code))
    assert missing == []


@pytest.mark.parametrize("who", ["supervisor", "agent", "anonymous"])
def test_case_and_customer_pages_and_api_with_data_are_no_store(world, who):
    case, customer = world
    client = (Client() if who == "anonymous" else signed_in_client(make_user(roles=(who,))))
    for url in (f"/cases/{case.number}/", f"/customers/{customer.id}/", "/cases/",
                f"/api/v1/cases/{case.number}", f"/api/v1/customers/{customer.id}",
                "/api/v1/cases/"):
        response = client.get(url)
        assert response["Cache-Control"] == "no-store", (url, response.status_code)


def test_the_case_page_with_data_is_served_with_no_store(world):
    case, _ = world
    response = signed_in_client(make_agent("billing")).get(f"/cases/{case.number}/")
    assert response.status_code == 200
    assert "•••• 1111" in response.content.decode()
    assert response["Cache-Control"] == "no-store"


def test_static_files_stay_cacheable():
    from django.conf import settings

    response = Client().get(settings.STATIC_URL + "web/css/safeguard.css")
    try:
        assert response.status_code == 200
        assert "no-store" not in response.get("Cache-Control", "")
    finally:
        response.close()  # WhiteNoise streams the file


def test_a_nul_in_a_query_or_form_field_is_a_400_that_reaches_no_view(client):
    """R-OPS-8: PostgreSQL refuses NUL in text, so a lookup with one was a 500 there; now every
    page and API answer refuses it first, the API with a problem document."""
    page = client.post("/account/login/", {"login": "a\x00@example.com", "password": "x"})
    assert (page.status_code, page["Content-Type"]) == (400, "text/plain; charset=utf-8")
    assert b"NUL" in page.content
    api = client.get("/api/v1/cases/", {"q": "x\x00"})
    assert (api.status_code, api["Content-Type"]) == (400, "application/problem+json")
    assert api.json()["type"].endswith("/bad-request")
    assert api["Cache-Control"] == "no-store"
    ordinary = client.get("/account/login/", {"next": "/"})
    assert ordinary.status_code == 200

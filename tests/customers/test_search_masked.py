"""Search by what the masks already show (issue 15, R-DATA-2, R-WORK-4): last four of the phone,
initials, city — within scope, all criteria together, audited; a case number opens the case."""

from __future__ import annotations

import pytest

from safeguard.audit.models import Event
from safeguard.customers import selectors
from safeguard.customers.contracts import CustomerInvalid
from tests.customers.factories import grant_scope, make_customer, principal
from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db


def _people():
    maria = make_customer()  # Maria Lopez, +44 20 7946 0132, Leeds
    mark = make_customer(name="Mark Lee", email="mark@example.com", phone="+44 20 7946 9132",
                         address={"line1": "1 Quay", "postcode": "BS1 1AA", "city": "Bristol",
                                  "country": "GB"}, payout=None)
    other = make_customer(name="Mia Lund", email="mia@example.com", phone="+44 20 7946 1132",
                          payout=None)
    return maria, mark, other


def test_last_four_initials_and_city_match_within_scope_only():
    maria, mark, _other = _people()
    agent = make_user(roles=("agent",))
    grant_scope(agent, maria.id, mark.id)  # Mia Lund (also M L, Leeds) is not in scope
    me = principal(agent)
    assert [c.id for c in selectors.customer_search_masked(viewer=me, initials="M L")] == [
        maria.id, mark.id]
    assert [c.id for c in selectors.customer_search_masked(viewer=me, last4="0132")] == [maria.id]
    assert [c.id for c in selectors.customer_search_masked(
        viewer=me, initials="ml", city=" bristol ")] == [mark.id]
    assert selectors.customer_search_masked(viewer=me, last4="1132") == []  # Mia: out of scope
    found = selectors.customer_search_masked(viewer=me, last4="9132")
    assert (found[0].name, found[0].phone) == ("M. L•••", "•••• 9132")  # masked, as listed
    event = Event.objects.filter(action="customer.searched").order_by("-seq").first()
    assert event.data == {"by": "last4", "count": 1, "customer_ids": [str(mark.id)]}
    assert "9132" not in str(event.data["by"])


def test_a_scope_above_the_scan_cap_asks_for_an_exact_value(settings):
    maria, mark, _ = _people()
    agent = make_user(roles=("agent",))
    grant_scope(agent, maria.id, mark.id)
    settings.SAFEGUARD_CUSTOMER_SEARCH_SCAN_MAX = 1
    with pytest.raises(CustomerInvalid, match="more than 1 customers"):
        selectors.customer_search_masked(viewer=principal(agent), city="Leeds")


def test_search_page_masked_fields_bad_input_and_case_number():
    maria, mark, _ = _people()
    agent = make_user(roles=("agent",))
    grant_scope(agent, maria.id, mark.id)
    client = signed_in_client(agent)
    html = client.get("/customers/", {"last4": "0132"}).content.decode()
    table = html.split("<table")[1]
    assert f"/customers/{maria.id}/" in table
    assert f"/customers/{mark.id}/" not in table
    assert "7946" not in table  # only the last four show
    bad = client.get("/customers/", {"last4": "13"}).content.decode()
    assert "Four digits, as the masked phone shows." in bad
    assert "<table" not in bad
    before = Event.objects.filter(action="customer.searched").count()
    client.get("/customers/", {"initials": "M1"})
    assert Event.objects.filter(action="customer.searched").count() == before  # refused: no search
    response = client.get("/customers/", {"case_number": "42"})
    assert (response.status_code, response["Location"]) == (302, "/cases/42/")

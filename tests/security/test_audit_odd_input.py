"""Attacker-chosen text that ends up in audit data (R-OPS-2, issue 8 item 6), written the ways
the scanner's normalisation covers and with NUL, which PostgreSQL refuses in text and JSON: a
denial is always recorded, never a 500, and no card digits are kept."""

from __future__ import annotations

import json

import pytest

from safeguard.audit import selectors
from safeguard.audit.models import Event
from tests.customers.factories import make_customer
from tests.factories import make_user, signed_in_client
from tests.protection.card_variants import card, leaks

pytestmark = pytest.mark.django_db

NUMBER = card(500)
WRITINGS = {
    "full-width": NUMBER.translate(str.maketrans({str(d): chr(0xFF10 + d) for d in range(10)})),
    "NUL between groups": "\x00".join(NUMBER[i:i + 4] for i in range(0, 16, 4)),
    "zero-width space": "\u200b".join(NUMBER[i:i + 4] for i in range(0, 16, 4)),
    "ESC between groups": "\x1b".join(NUMBER[i:i + 4] for i in range(0, 16, 4)),
}


def _all_audit_text() -> str:
    return json.dumps([[e.actor_label, e.subject_id, e.data, e.user_agent]
                       for e in Event.objects.all()], ensure_ascii=False)


@pytest.mark.parametrize("name", list(WRITINGS))
def test_a_reveal_naming_a_card_as_its_field_records_the_denial(name):
    supervisor = make_user(roles=("supervisor",))
    maria = make_customer()
    client = signed_in_client(supervisor)
    response = client.post(f"/api/v1/customers/{maria.id}/reveal",
                           {"field": WRITINGS[name], "reason": f"checking {WRITINGS[name]}"},
                           content_type="application/json")
    assert response.status_code == 422, response.content[:300]
    [denied] = selectors.event_list(action="customer.reveal_denied")
    assert denied.outcome == "denied"
    assert "\x00" not in json.dumps(denied.data)
    assert not leaks(_all_audit_text(), NUMBER)


@pytest.mark.parametrize("name", list(WRITINGS))
def test_an_audit_export_filtered_by_odd_text_answers_and_is_audited(name):
    analyst = make_user(roles=("security_analyst",))
    client = signed_in_client(analyst)
    response = client.get("/audit/export/", {"actor": WRITINGS[name], "format": "jsonl",
                                             "subject_type": "customer",
                                             "subject_id": WRITINGS[name]})
    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 200:
        b"".join(response.streaming_content)
        assert len(selectors.event_list(action="audit.exported")) == 1
    api = client.get("/api/v1/audit/events", {"actor": WRITINGS[name]})
    # a control character is a clear 4xx (PostgreSQL would refuse a NUL: never a 500): a NUL in
    # any query is refused before the view (400), an ESC by the filter's pattern (422)
    expected = 400 if "\x00" in WRITINGS[name] else 422 if "\x1b" in WRITINGS[name] else 200
    assert api.status_code == expected, api.content[:300]
    assert not leaks(_all_audit_text(), NUMBER)

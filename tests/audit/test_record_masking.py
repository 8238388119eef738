"""``audit.record`` masks card-like values in caller-supplied text instead of failing, so an event
about hostile input — a denial above all — is always recorded (issue 8 item 6, R-IR-5, R-OPS-2).
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client

from safeguard.audit import merkle, selectors, services
from safeguard.audit.contracts import Actor
from safeguard.audit.entries import canonical_entry
from safeguard.audit.models import Event
from tests.customers.factories import make_customer
from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db

CARD = "4111111111111111"
CARD_SPACED = "4111 1111 1111 1111"


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _raw_event_text(seq: int) -> str:
    """Every column of the stored row as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM audit_event WHERE seq = %s", [seq])
        return " ".join(str(v) for v in cursor.fetchone())


def test_card_numbers_in_every_caller_supplied_text_are_masked_not_refused():
    # given an actor label, a subject id and data keys, strings and numbers holding card numbers
    actor = Actor(kind="user", id="7", label=f"mallory {CARD_SPACED}")
    # when the event is recorded
    seq = services.record(
        action="customer.reveal_denied", actor=actor, subject=("customer", CARD),
        outcome="denied",
        data={CARD: "key", "field": f"x{CARD}", "nested": [{"n": int(CARD)}], "count": 3,
              "flag": True, "ratio": 0.5})
    # then it is stored with each card number masked and everything else as given
    event = Event.objects.get(seq=seq)
    assert event.actor_label == "mallory [REDACTED-PAN]"
    assert event.subject_id == "[REDACTED-PAN]"
    assert event.data == {"[REDACTED-PAN]": "key", "field": "x[REDACTED-PAN]",
                          "nested": [{"n": "[REDACTED-PAN]"}], "count": 3, "flag": True,
                          "ratio": "0.5"}
    assert CARD not in _digits(_raw_event_text(seq))
    # and its leaf hash commits to the masked values (the log still verifies)
    fields = {f: getattr(event, f) for f in (
        "at", "actor_kind", "actor_id", "actor_label", "action", "subject_type", "subject_id",
        "outcome", "source_ip", "user_agent", "request_id", "data")}
    assert event.leaf_hash == merkle.leaf_hash(canonical_entry(seq=seq, **fields)).hex()


def test_a_reveal_with_a_card_number_as_the_field_name_records_its_denial():
    # given a supervisor with a fresh second factor
    supervisor = make_user(roles=("supervisor",))
    maria = make_customer()
    client = signed_in_client(supervisor)
    client.handler.enforce_csrf_checks = False
    # when they ask to reveal a "field" that is a card number
    response = client.post(f"/api/v1/customers/{maria.id}/reveal",
                           {"field": CARD, "reason": "checking"},
                           content_type="application/json")
    # then a clear 422 problem, and the denial is in the log with the card number masked
    assert response.status_code == 422
    denied = selectors.event_list(action="customer.reveal_denied")
    assert len(denied) == 1
    assert denied[0].outcome == "denied"
    assert denied[0].data["field"] == "[REDACTED-PAN]"
    assert denied[0].data["why"] == "unknown field"
    assert CARD not in _digits(_raw_event_text(denied[0].seq))


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_audit_export_filtered_by_a_card_like_value_answers_and_is_audited(fmt):
    # given a security analyst
    analyst = make_user(roles=("security_analyst",))
    client = signed_in_client(analyst)
    # when they export with a card number as the actor and subject filters
    response = client.get("/audit/export/", {"actor": CARD, "subject_type": "customer",
                                             "subject_id": CARD_SPACED, "format": fmt})
    # then the export answers (nothing matches) instead of a 500, and the export is audited
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines()[1:] == []
    exported = selectors.event_list(action="audit.exported")
    assert len(exported) == 1
    assert exported[0].data["filters"]["actor"] == "[REDACTED-PAN]"
    assert exported[0].data["filters"]["subject"] == "('customer', '[REDACTED-PAN]')"
    assert CARD not in _digits(_raw_event_text(exported[0].seq))


def test_the_api_event_search_with_a_card_like_filter_is_not_a_500():
    analyst = make_user(roles=("security_analyst",))
    response = signed_in_client(analyst).get("/api/v1/audit/events", {"actor": CARD})
    assert response.status_code == 200
    assert response.json()["items"] == []
    assert Client().get("/api/v1/audit/events", {"actor": CARD}).status_code == 401

"""The shortcuts of an append's per-event cost keep what is stored (issue 10, R-IR-5)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from safeguard.audit import services
from safeguard.audit.entries import normalise_ip
from safeguard.audit.models import QueuedEntry
from tests.factories import SYSTEM

pytestmark = pytest.mark.django_db


def test_the_columns_passed_unprepared_prepare_any_text_as_itself():
    # given the queue's columns an append passes through without the ORM's preparation
    columns = services._queue_columns()
    plain = services._plain_text_columns()
    assert {columns[i].name for i in plain} == {
        "actor_kind", "actor_id", "actor_label", "action", "subject_type", "subject_id",
        "outcome", "user_agent", "request_id"}
    # then the ORM would have sent every text unchanged too
    for i in plain:
        for text in ["", "agent1@example.test", "Zoë 🙂", "x" * 400]:
            assert columns[i].get_db_prep_save(text, connection) is text


def test_an_appended_entry_stores_what_the_orm_would():
    # when an event is queued
    with transaction.atomic():
        services.record(action="case.viewed", actor=SYSTEM, subject=("case", 7),
                        data={"case_id": 7, "note": "Zoë"})
    # then every column reads back as the fields the ORM would have written
    services.integrate(wait=True)
    from safeguard.audit.models import Event

    event = Event.objects.order_by("-seq").first()
    assert (event.action, event.subject_type, event.subject_id, event.outcome) == (
        "case.viewed", "case", "7", "success")
    assert event.data == {"case_id": 7, "note": "Zoë"}
    assert not QueuedEntry.objects.exists()


@pytest.mark.parametrize(("given", "stored"), [
    ("10.0.0.1", "10.0.0.1"), ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
    ("", None), (None, None)])
def test_addresses_are_normalised_the_same_when_remembered(given, stored):
    assert normalise_ip(given) == stored
    assert normalise_ip(given) == stored  # the second time from memory


def test_an_invalid_address_is_refused_every_time():
    for _ in range(2):
        with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6"):
            normalise_ip("10.0.0.300")


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall() if row[0]]


@pytest.mark.parametrize("prepared", [True, False])
def test_the_queue_insert_is_prepared_on_postgresql_and_still_guarded(settings, prepared):
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are a PostgreSQL feature")
    settings.SAFEGUARD_DB_PREPARED_STATEMENTS = prepared
    from django.test.utils import CaptureQueriesContext

    from safeguard.protection.contracts import PanRefused

    def queue_inserts_prepared() -> int:
        return sum(s.startswith("INSERT INTO audit_queuedentry") for s in _prepared_statements())

    before = queue_inserts_prepared()  # the connection may have prepared it in an earlier test
    # when two events are queued on one connection
    with CaptureQueriesContext(connection) as seen, transaction.atomic():
        for i in range(2):
            services.record(action="case.viewed", actor=SYSTEM, subject=("case", i))
    # then the queue's INSERT is counted like every statement, and prepared once when asked
    inserts = [q["sql"] for q in seen.captured_queries
               if q["sql"].startswith("INSERT INTO audit_queuedentry")]
    assert len(inserts) == 2
    if prepared:  # logged with its placeholders, never its values
        assert all("VALUES ($1, $2," in sql and "case.viewed" not in sql for sql in inserts)
    assert queue_inserts_prepared() == (1 if prepared else before)
    # and the no-PAN guard's SQL layer still stops a card number in its parameters
    fields = services._entry_fields(action="case.viewed", actor=SYSTEM, subject=None,
                                    outcome="success", data=None)
    fields["request_id"] = "4111 1111 1111 1111"
    with pytest.raises(PanRefused), transaction.atomic():
        services._queue(fields)

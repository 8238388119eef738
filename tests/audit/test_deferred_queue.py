"""A transaction's audit entries reach the queue in one INSERT (issue 10, decision 0280).

R-IR-5, R-OPS-8. With the queued designs (``background``, production's default, and
``after_commit``) an entry recorded inside a transaction is held by the connection and written
inside that transaction before its next statement or its COMMIT; entries recorded one after
another travel in one statement. These tests commit for real (transactional tests) and hold
the promise the immediate INSERT gave: the entry commits with the caller's writes or not at
all, and every statement of the transaction sees it.
"""

from __future__ import annotations

import pytest
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from safeguard.audit import services
from safeguard.audit.contracts import Actor
from safeguard.audit.models import Event, QueuedEntry
from safeguard.protection.contracts import PanRefused

pytestmark = pytest.mark.django_db(transaction=True)

ACTOR = Actor(kind="user", id="7", label="ana@example.com")


@pytest.fixture(autouse=True)
def after_commit(settings):
    settings.SAFEGUARD_AUDIT_INTEGRATION = "after_commit"
    return settings


@pytest.fixture
def probe():
    """A table of the caller's own writes, to see them commit or roll back with the entries."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE deferred_probe (x integer NOT NULL)")
    yield _probe_rows
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE deferred_probe")


def _probe_rows() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT x FROM deferred_probe ORDER BY x")
        return [row[0] for row in cursor.fetchall()]


def _write_probe(x: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO deferred_probe (x) VALUES (%s)", [x])


def _fails_after(*steps) -> None:
    """An action that runs ``steps`` in one transaction and then fails: it rolls back."""
    with transaction.atomic():
        for step in steps:
            step()
        raise LookupError("the action failed")


def _in_one_transaction(*steps) -> None:
    with transaction.atomic():
        for step in steps:
            step()


def _record(i: int) -> None:
    services.record(action="case.viewed", actor=ACTOR, subject=("case", i), data={"i": i})


def _logged() -> list[int]:
    """The ``i`` of every event in the log, in sequence order."""
    return [data["i"] for data in Event.objects.order_by("seq").values_list("data", flat=True)]


def _queue_inserts(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries
            if q["sql"].startswith(f"INSERT INTO {QueuedEntry._meta.db_table}")]


def test_entries_recorded_together_travel_in_one_insert_in_their_order():
    # when a request-sized transaction records two entries with nothing between them
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        _record(1)
        _record(2)
    # then one INSERT carried both, and the log holds them in the order they were recorded
    inserts = _queue_inserts(queries)
    assert len(inserts) == 1
    assert inserts[0].count("), (") == 1
    assert _logged() == [1, 2]
    assert list(Event.objects.order_by("seq").values_list("seq", flat=True)) == [1, 2]
    assert not QueuedEntry.objects.exists()


def test_every_statement_of_the_transaction_sees_the_entries_recorded_before_it(probe):
    with transaction.atomic():
        _record(1)
        # a read of the queue in the same transaction finds the entry (written before it)
        assert list(QueuedEntry.objects.values_list("data", flat=True)) == [{"i": 1}]
        _write_probe(1)
        _record(2)
    assert _logged() == [1, 2]
    assert probe() == [1]


def test_a_rolled_back_transaction_leaves_no_entry(probe):
    with pytest.raises(LookupError, match="the action failed"):
        _fails_after(lambda: _write_probe(1), lambda: _record(1))
    assert (QueuedEntry.objects.count(), Event.objects.count(), probe()) == (0, 0, [])


def test_a_savepoint_rolled_back_takes_only_its_own_entries():
    with transaction.atomic():
        _record(1)
        with pytest.raises(LookupError, match="the action failed"):
            _fails_after(lambda: _record(2))
        _record(3)
        sid = transaction.savepoint()
        _record(4)
        transaction.savepoint_rollback(sid)
        _record(5)
    assert _logged() == [1, 3, 5]


def test_a_long_run_of_entries_is_written_in_bounded_chunks():
    count = services._DEFERRED_CHUNK * 2 + 6
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        for i in range(count):
            _record(i)
    assert len(_queue_inserts(queries)) == 3
    assert _logged() == list(range(count))


def test_a_failed_write_at_commit_rolls_the_callers_writes_back(probe, monkeypatch):
    def broken(entries, conn):
        with conn.cursor() as cursor:  # a real error from the database
            cursor.execute("INSERT INTO audit_queuedentry (no_such_column) VALUES (1)")

    monkeypatch.setattr(services, "_queue_many", broken)
    with pytest.raises(DatabaseError):
        _in_one_transaction(lambda: _write_probe(1), lambda: _record(1))
    # then neither the action nor its entry committed, and the connection works on
    assert connection.get_autocommit()
    assert not connection.in_atomic_block
    assert (probe(), QueuedEntry.objects.count()) == ([], 0)
    monkeypatch.undo()
    with transaction.atomic():
        _record(2)
    assert _logged() == [2]


def test_a_failure_that_is_not_the_databases_also_rolls_back(probe, monkeypatch):
    def refused(entries, conn):
        raise PanRefused("refused", table="audit_queuedentry")

    monkeypatch.setattr(services, "_queue_many", refused)
    with pytest.raises(PanRefused):
        _in_one_transaction(lambda: _write_probe(1), lambda: _record(1))
    assert connection.get_autocommit()
    assert not connection.in_atomic_block
    assert (probe(), QueuedEntry.objects.count()) == ([], 0)


def test_the_no_pan_guard_checks_every_row_of_the_combined_insert():
    # the sanitiser masks what callers pass; the SQL layer is checked on its own here, with a
    # row the sanitiser never saw
    fields = services._entry_fields(action="case.viewed", actor=ACTOR, subject=None,
                                    outcome="success", data=None)
    dirty = {**fields, "actor_label": "card 4111 1111 1111 1111"}
    with pytest.raises(PanRefused), transaction.atomic():
        services._queue_many([fields, dirty], connection)
    assert not QueuedEntry.objects.exists()


def test_rows_are_deferred_only_inside_a_transaction():
    with pytest.raises(DatabaseError):
        connection.pending_rows("x", lambda rows: None, 1)
    # and outside one an entry is its own INSERT, committed at once
    _record(1)
    assert _logged() == [1]


def test_a_transaction_of_entries_alone_commits_them_and_leaves_transactions_working(probe):
    # given a transaction that records entries and nothing else (on PostgreSQL its one INSERT
    # commits on its own: no BEGIN, no COMMIT)
    with transaction.atomic():
        _record(1)
        _record(2)
    assert _logged() == [1, 2]
    # then the next transaction is a transaction again: a failure rolls all of it back
    with pytest.raises(LookupError, match="the action failed"):
        _fails_after(lambda: _write_probe(1), lambda: _record(3))
    assert (probe(), _logged()) == ([], [1, 2])


def test_a_failed_write_of_entries_alone_leaves_transactions_working(probe, monkeypatch):
    def broken(entries, conn):
        with conn.cursor() as cursor:
            cursor.execute("INSERT INTO audit_queuedentry (no_such_column) VALUES (1)")

    monkeypatch.setattr(services, "_queue_many", broken)
    with pytest.raises(DatabaseError):
        _in_one_transaction(lambda: _record(1))
    monkeypatch.undo()
    assert connection.get_autocommit()
    assert not QueuedEntry.objects.exists()
    with pytest.raises(LookupError, match="the action failed"):
        _fails_after(lambda: _write_probe(1), lambda: _record(2))
    assert (probe(), QueuedEntry.objects.count(), Event.objects.count()) == ([], 0, 0)


def test_entries_alone_are_written_without_a_transaction_only_when_nothing_else_ran(
        monkeypatch):
    # PostgreSQL: psycopg sends BEGIN with a transaction's first statement, so a transaction
    # that sent nothing but its entries needs none. SQLite's backend begins on entering the
    # block and never writes alone.
    wrapper = type(connections[DEFAULT_DB_ALIAS])
    alone: list[int] = []
    original = wrapper._write_alone

    def spy(self, rows):
        alone.append(len(rows.held))
        original(self, rows)

    monkeypatch.setattr(wrapper, "_write_alone", spy)
    with transaction.atomic():  # entries only
        _record(1)
        _record(2)
    with transaction.atomic():  # a read first: BEGIN was sent, the entries join the transaction
        Event.objects.count()
        _record(3)
    assert alone == ([2] if connection.vendor == "postgresql" else [])
    assert _logged() == [1, 2, 3]

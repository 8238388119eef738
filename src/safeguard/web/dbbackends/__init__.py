"""Database backends: Django's own, plus rows a transaction defers to its next statement.

Issue 10 (R-IR-5, R-OPS-8), decision 0280. ``DATABASES`` names these engines (settings.py maps
``DATABASE_URL``'s PostgreSQL and SQLite engines onto them); each is Django's backend with one
addition, :class:`DeferredWrites`: a caller inside a transaction may hand the connection rows
to write **inside** that transaction, and the connection writes what it holds before the next
statement it runs and before its ``COMMIT`` — one statement for rows added one after another
instead of one per row. The audit queue uses it: the entries a transaction records with nothing
between them reach the queue table in one ``INSERT``.

A deferred row promises exactly what an immediate ``INSERT`` in its place would: every later
statement of the transaction (a query, a savepoint, a rollback to one) sees it, it commits with
the transaction's other writes or not at all, and a rollback (whole, or to a savepoint, which
is a statement and so comes after the write) takes it. A failed write fails the transaction: at
the commit, the connection rolls the transaction back before the error reaches the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import DatabaseError


class PendingRows:
    """Rows one connection defers, in the order added, until its next statement or COMMIT.

    ``write(rows)`` writes them inside the transaction (one statement). When ``chunk`` rows are
    held they are written at once, so a long run of additions holds a bounded number in memory.
    """

    def __init__(self, write: Callable[[list[Any]], None], chunk: int) -> None:
        if chunk < 1:
            raise ValueError("chunk must be at least 1")
        self.write = write
        self.chunk = chunk
        self.held: list[Any] = []

    def add(self, row: Any) -> None:
        self.held.append(row)
        if len(self.held) >= self.chunk:
            self.flush()

    def flush(self) -> None:
        if self.held:
            # Taken out first: the write's own statement passes the connection's wrapper,
            # which must find nothing left to write.
            rows, self.held = self.held, []
            self.write(rows)

    def discard(self) -> None:
        self.held.clear()


class DeferredWrites:
    """Mixin for a ``DatabaseWrapper``: :meth:`pending_rows` and the hooks that keep it true.

    Every statement the connection runs through a Django cursor (a query, a savepoint, a
    rollback to one) first writes what is held, so no statement of the transaction — and no
    savepoint — can observe the database without the rows added before it. Only rows added
    one after another with no statement between travel together: the gain is one statement per
    row saved, never a change in what any statement sees.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deferred_rows: dict[str, PendingRows] = {}
        self.execute_wrappers.append(_write_held_first)  # type: ignore[attr-defined]

    def pending_rows(self, key: str, write: Callable[[list[Any]], None],
                     chunk: int) -> PendingRows:
        """The rows deferred under ``key`` (created on first use: ``write`` and ``chunk`` are
        kept from then on). Only inside a transaction."""
        wrapper: Any = self
        if wrapper.get_autocommit():
            raise DatabaseError("rows can be deferred only inside a transaction")
        rows = self._deferred_rows.get(key)
        if rows is None:
            rows = self._deferred_rows[key] = PendingRows(write, chunk)
        return rows

    def write_held(self) -> None:
        """Write every row held now, inside the current transaction."""
        for rows in self._deferred_rows.values():
            rows.flush()

    def _discard_held(self) -> None:
        for rows in self._deferred_rows.values():
            rows.discard()

    def _transaction_unstarted(self) -> bool:
        """Whether the open transaction has sent no statement yet (the backend knows)."""
        return False

    def _write_alone(self, rows: PendingRows) -> None:
        """Write ``rows`` as one statement that commits on its own (a backend that can)."""
        raise NotImplementedError

    def _commit(self) -> Any:
        held = [rows for rows in self._deferred_rows.values() if rows.held]
        try:
            if len(held) == 1 and self._transaction_unstarted():
                # The held rows are the whole transaction: their one statement commits on its
                # own, as an audited view outside a transaction does (no BEGIN, no COMMIT:
                # two round trips fewer). Atomic by itself; the COMMIT below has nothing left.
                self._write_alone(held[0])
            self.write_held()
        except BaseException:
            # The transaction must not commit without its deferred rows, nor stay open for the
            # caller's COMMIT to try again: roll it back, then report the error.
            self._discard_held()
            super()._rollback()  # type: ignore[misc]
            raise
        return super()._commit()  # type: ignore[misc]

    def _rollback(self) -> Any:
        self._discard_held()
        return super()._rollback()  # type: ignore[misc]

    def _close(self) -> Any:
        self._discard_held()
        return super()._close()  # type: ignore[misc]


def _write_held_first(execute: Any, sql: Any, params: Any, many: bool, context: Any) -> Any:
    """The connection's execute wrapper: write the held rows before any other statement."""
    connection = context["connection"]
    for rows in connection._deferred_rows.values():
        if rows.held:
            rows.flush()
    return execute(sql, params, many, context)


# --- prepared statements (issue 10, decision 0281) ---------------------------------------------


def prepared_cursor(conn: Any) -> Any:
    """A cursor whose statements PostgreSQL parses and plans once per connection: on PostgreSQL
    with ``SAFEGUARD_DB_PREPARED_STATEMENTS`` (the default, which sets the driver's
    ``prepare_threshold`` so that only statements that ask are prepared) a server-side binding
    cursor that asks psycopg to prepare every statement it runs; elsewhere ``conn.cursor()``.

    For statements whose text is built once per process and sent on every request: the audit
    queue's ``INSERT`` (decision 0181) and the case view's precompiled reads (the customer row
    with its live-grant flag, the panel's scope ``EXISTS``; decisions 0279, 0281). Only the
    texts passed to such a cursor are prepared, so a connection holds a handful.

    It is wrapped like every Django cursor (``_prepare_cursor`` is what ``connection.cursor()``
    does with the driver's cursor): the no-PAN guard's SQL layer still checks the statement and
    its parameters, held rows are still written before it (:class:`DeferredWrites`), and query
    logging still counts it. Same connection, same transaction.
    """
    if conn.vendor == "postgresql" and settings.SAFEGUARD_DB_PREPARED_STATEMENTS:
        conn.ensure_connection()
        return conn._prepare_cursor(_prepared_cursor_class()(conn.connection))
    return conn.cursor()


@lru_cache(maxsize=1)
def _prepared_cursor_class() -> type:
    from django.db.backends.postgresql.base import (  # type: ignore[attr-defined]
        ServerBindingCursor,
    )

    class PreparedCursor(ServerBindingCursor):
        """Asks psycopg to prepare every statement it runs."""

        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            kwargs["prepare"] = True
            return super().execute(query, params, **kwargs)

        def _convert_query(self, query: Any, params: Any = None) -> Any:
            # Kept where Django's query log reads the statement of a client-binding cursor
            # (``last_executed_query``): logged and counted as its text with $n placeholders,
            # never its values.
            pgq = super()._convert_query(query, params)
            self._query = pgq
            return pgq

    return PreparedCursor

"""The read entries' writer: a page's audit entry commits while the page is still being made.

Issue 10 (case-view overhead), R-IR-5, R-OPS-8; decision 0282. A view that only reads (the
case page, the customer panel) has no transaction: its ``case.viewed`` entry used to be one
INSERT committed on the request's connection, and the request waited for the commit to be
flushed to disk before it read anything else. Inside a request (``RequestContextMiddleware``
opens a :func:`scope`), on PostgreSQL and with ``SAFEGUARD_AUDIT_READ_WRITER=thread`` (the
default), ``audit.record`` outside any transaction hands the entry to this process's writer
thread instead and returns; the thread writes it on its own connection (one INSERT, committed
on its own: the entries several requests of the process handed over meanwhile travel in one
statement and one commit) while the request goes on reading and rendering.

The promise is unchanged: **no response leaves before its entries are durable.** When the view
returns, the scope waits for every entry it handed over (at most
``SAFEGUARD_AUDIT_READ_WRITER_WAIT_SECONDS``); an entry that failed or did not commit in time
turns the response into a server error — the page that read the data is dropped, never sent.
Within a request the order of entries is kept: before an entry is recorded the other way (in
a transaction, or inline) the entries handed over earlier are waited for.

Outside a request (jobs, commands, the API's streaming bodies after the view returned), in a
transaction, on SQLite (one writer at a time: a second connection would queue behind the
request's own writes) or with ``inline``, nothing changes: the INSERT is written and committed
before ``record`` returns. A process killed between the hand-over and the commit loses the
entry, but it never sent the page either (the wait had not returned).

The no-PAN guard checks the writer's statement like any other (the writer's connection is a
Django connection); the entries' texts were masked by ``record`` before the hand-over.
"""

from __future__ import annotations

import atexit
import contextvars
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import wait as wait_all
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from safeguard.audit.threads import PerProcess

logger = logging.getLogger(__name__)

# Most entries one statement carries (the deferred queue's chunk: at most this many statement
# texts are prepared per connection).
BATCH_MAX = 32

_Item = tuple[dict[str, Any], Future[None], Callable[[], None]]


class ReadEntryFailed(Exception):
    """An entry handed to the writer did not commit (or not in time): the response must not
    leave."""


class _Scope:
    """The entries one request handed over, waited for before its response leaves."""

    __slots__ = ("futures",)

    def __init__(self) -> None:
        self.futures: list[Future[None]] = []


_scope: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar(
    "safeguard_audit_read_scope", default=None)


def usable(conn: Any) -> bool:
    """Whether an entry recorded now, outside any transaction, may go to the writer: a request
    scope is open, the setting asks for the thread, and the database is PostgreSQL."""
    return (_scope.get() is not None and conn.vendor == "postgresql"
            and settings.SAFEGUARD_AUDIT_READ_WRITER == "thread")


def hand_over(fields: dict[str, Any], after: Callable[[], None]) -> None:
    """Give one masked entry to this process's writer; the request's scope waits for it.
    ``after`` runs once the entry is committed (it wakes the integrator)."""
    scope = _scope.get()
    if scope is None:  # the caller checked usable(); kept honest
        raise RuntimeError("no request scope is open")
    future: Future[None] = Future()
    _writer().items.put((fields, future, after))
    scope.futures.append(future)


def settle() -> None:
    """Wait for the entries the current scope handed over (before an entry is recorded the
    other way, so a request's entries keep their order); raise :class:`ReadEntryFailed`."""
    scope = _scope.get()
    if scope is not None and scope.futures:
        _wait(scope)


def _wait(scope: _Scope) -> None:
    futures, scope.futures = scope.futures, []
    done, late = wait_all(futures, timeout=settings.SAFEGUARD_AUDIT_READ_WRITER_WAIT_SECONDS)
    failed = [error for error in (f.exception() for f in done) if error is not None]
    if late or failed:
        logger.error("audit.read_entry_failed", extra={
            "late": len(late), "failed": len(failed),
            "error": type(failed[0]).__name__ if failed else "timeout"})
        raise ReadEntryFailed(f"{len(failed)} audit entries failed and {len(late)} were not "
                              "committed in time: the response is withheld")


@contextmanager
def scope() -> Iterator[None]:
    """A request's span: entries recorded outside a transaction go to the writer, and every
    one is committed before the block ends (else :class:`ReadEntryFailed`)."""
    opened = _Scope()
    token = _scope.set(opened)
    try:
        yield
    finally:
        _scope.reset(token)
        if opened.futures:
            _wait(opened)


class Writer:
    """One process's writer thread and its hand-over queue."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.items: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self.statements = 0  # INSERTs written (entries / statements = how much travelled together)
        self.written = 0
        self.thread = threading.Thread(target=self._loop, name="safeguard-audit-read-writer",
                                       daemon=True)

    def _loop(self) -> None:
        try:
            while True:
                first = self.items.get()
                if first is None:
                    return
                batch = [first]
                while len(batch) < BATCH_MAX:
                    try:
                        more = self.items.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        self.items.put(None)  # stop after this batch
                        break
                    batch.append(more)
                self._write(batch)
        finally:
            connections[DEFAULT_DB_ALIAS].close()

    def _write(self, batch: list[_Item]) -> None:
        from safeguard.audit import services  # services imports this module

        conn = connections[DEFAULT_DB_ALIAS]
        try:
            # Autocommit: the one INSERT is its own transaction, committed when it returns.
            services._queue_many([fields for fields, _, _ in batch], conn)
        except BaseException as exc:
            for _, future, _ in batch:
                future.set_exception(exc)
            # A broken connection is replaced on the next batch; the requests answer 500.
            conn.close_if_unusable_or_obsolete()
            if not isinstance(exc, Exception):
                raise
            return
        self.statements += 1
        self.written += len(batch)
        # The integration mode's after-commit step first (a wake; in ``after_commit`` mode the
        # integrator itself, which that mode has the request wait for, as inline).
        for after in dict.fromkeys(after for _, _, after in batch):
            try:
                after()
            except Exception:  # the entry is queued: the next run or the periodic job takes it
                logger.exception("audit.read_entry_after_commit_failed")
        for _, future, _ in batch:
            future.set_result(None)
        conn.close_if_unusable_or_obsolete()

    def stop(self, timeout: float = 5.0) -> None:
        """Write what was handed over, then end the thread (atexit; tests)."""
        self.items.put(None)
        if self.thread.is_alive():
            self.thread.join(timeout)


_process: PerProcess[Writer] = PerProcess()


def current() -> Writer | None:
    """This process's writer, or None when none was started here."""
    return _process.current()


def _writer() -> Writer:
    writer = _process.start(lambda _previous: Writer())
    if writer is None:  # cannot happen: the factory always makes one
        raise RuntimeError("the audit read writer did not start")
    return writer


def stop(timeout: float = 5.0) -> None:
    """Stop this process's writer after it wrote what it holds."""
    w = current()
    if w is not None:
        w.stop(timeout)
        _process.release(w)


atexit.register(stop)

"""The read entries' writer: a read view's entry commits while the view goes on, and the
response waits for it (issue 10, decision 0282; R-IR-5, R-OPS-8).

These tests commit for real (transactional tests, production's ``background`` integration).
On PostgreSQL an entry recorded outside a transaction inside a request goes to the writer
thread; on SQLite it is written inline, as before. Either way no response leaves before its
entries are committed, and a failed entry withholds the response.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest
from django.core.handlers.exception import convert_exception_to_response
from django.db import OperationalError, connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory

from safeguard.audit import background, readwriter, services, verification
from safeguard.audit.contracts import Actor
from safeguard.audit.middleware import RequestContextMiddleware
from safeguard.audit.models import Event, QueuedEntry

pytestmark = pytest.mark.django_db(transaction=True)

ACTOR = Actor(kind="user", id="7", label="ana@example.com")
THREADED = connection.vendor == "postgresql"


@pytest.fixture
def writer(settings):
    settings.SAFEGUARD_AUDIT_INTEGRATION = "background"
    settings.SAFEGUARD_AUDIT_INTEGRATOR_COALESCE_MS = 0
    settings.SAFEGUARD_AUDIT_READ_WRITER = "thread"
    readwriter.stop()
    background.stop()
    yield settings
    readwriter.stop()
    background.stop()


def _committed() -> int:
    """Entries committed so far (queued or integrated), read on a connection of its own: what
    any other process sees."""
    seen: list[int] = []

    def count() -> None:
        try:
            # The suite's SQLite database is in memory with a shared cache, where a reader
            # meets "table is locked" instead of waiting while the integrator writes: retried.
            for _ in range(200):
                try:
                    seen.append(QueuedEntry.objects.count() + Event.objects.count())
                    return
                except OperationalError:
                    time.sleep(0.02)
        finally:
            connection.close()

    reader = threading.Thread(target=count)
    reader.start()
    reader.join()
    return seen[0]


def _serve(view, path: str = "/cases/1/") -> HttpResponse:
    """``view`` served inside the audit middleware, as every page is."""
    return RequestContextMiddleware(view)(RequestFactory().get(path))


def test_the_response_leaves_only_after_the_views_entries_are_committed(writer):
    seen_in_view: list[int] = []

    def page(request):
        services.record(action="case.viewed", actor=ACTOR, subject=("case", 1))
        services.record(action="customer.viewed", actor=ACTOR, subject=("customer", 2))
        seen_in_view.append(len(readwriter._scope.get().futures))
        return HttpResponse("the page")

    response = _serve(page)
    # the view went on without waiting (PostgreSQL: both were handed over), the page was sent
    assert response.status_code == 200
    assert response.content == b"the page"
    assert seen_in_view == [2 if THREADED else 0]
    # and by the time the response left both entries were committed, in the order recorded
    assert _committed() == 2
    background.stop()  # drains: both integrated
    assert list(Event.objects.order_by("seq").values_list("action", flat=True)) == [
        "case.viewed", "customer.viewed"]
    it = readwriter.current()
    if THREADED:
        assert it is not None
        assert it.written == 2
    else:
        assert it is None  # SQLite: written inline, no thread


def test_an_entry_that_fails_withholds_the_response(writer, monkeypatch, caplog):
    if not THREADED:
        # SQLite writes inline: a failed INSERT raises in the view itself, as before
        monkeypatch.setattr(services, "_queue", _refuse)
        with pytest.raises(RuntimeError):
            _serve(_page_with_secret)
        return
    monkeypatch.setattr(services, "_queue_many", _refuse)
    with (caplog.at_level(logging.ERROR, logger="safeguard.audit.readwriter"),
          pytest.raises(readwriter.ReadEntryFailed)):
        _serve(_page_with_secret)
    # the page never left (Django turns the raise into its 500 page), nothing was committed,
    # and the failure is logged without the entry's content
    assert _committed() == 0
    assert "audit.read_entry_failed" in caplog.text
    assert "customer 42" not in caplog.text


def _refuse(*args, **kwargs):
    raise RuntimeError("database went away")


def _page_with_secret(request):
    services.record(action="customer.viewed", actor=ACTOR, subject=("customer", 42))
    return HttpResponse("customer 42's profile")


def test_django_answers_500_without_the_page(writer, monkeypatch):
    """As Django wraps every middleware: the raise becomes its server-error response."""
    monkeypatch.setattr(services, "_queue_many" if THREADED else "_queue", _refuse)
    handler = convert_exception_to_response(RequestContextMiddleware(_page_with_secret))
    response = handler(RequestFactory().get("/customers/42/panel/"))
    assert response.status_code == 500
    assert b"customer 42" not in response.content
    assert _committed() == 0


def test_a_late_commit_withholds_the_response(writer, monkeypatch):
    writer.SAFEGUARD_AUDIT_READ_WRITER_WAIT_SECONDS = 1
    real = services._queue_many
    release = threading.Event()

    def slow(entries, conn):
        release.wait(5)
        return real(entries, conn)

    monkeypatch.setattr(services, "_queue_many", slow)
    started = time.monotonic()
    try:
        if not THREADED:
            # SQLite writes inline (one INSERT of its own): the writer is never asked
            assert _serve(_page_with_secret).status_code == 200
            assert _committed() == 1
            return
        with pytest.raises(readwriter.ReadEntryFailed):
            _serve(_page_with_secret)
        # it waited for the configured bound, not for ever
        assert 0.9 <= time.monotonic() - started < 4
    finally:
        release.set()


def test_an_entry_recorded_in_a_transaction_waits_for_the_ones_handed_over_first(writer):
    def page(request):
        services.record(action="case.viewed", actor=ACTOR, subject=("case", 1))
        with transaction.atomic():
            services.record(action="case.replied", actor=ACTOR, subject=("case", 1))
        services.record(action="customer.viewed", actor=ACTOR, subject=("customer", 2))
        return HttpResponse("ok")

    assert _serve(page).status_code == 200
    # the queue's order (and so the log's) is the order the request recorded them in
    background.stop()  # drain: everything integrated
    assert list(Event.objects.order_by("seq").values_list("action", flat=True)) == [
        "case.viewed", "case.replied", "customer.viewed"]


def test_outside_a_request_an_entry_is_committed_before_record_returns(writer):
    services.record(action="audit.exported", actor=ACTOR)
    assert _committed() == 1
    assert readwriter.current() is None  # no request scope: never handed over


def test_inline_keeps_the_request_writing_its_own_entry(writer):
    writer.SAFEGUARD_AUDIT_READ_WRITER = "inline"

    def page(request):
        services.record(action="case.viewed", actor=ACTOR, subject=("case", 1))
        # committed already, before the view goes on
        assert _committed() == 1
        return HttpResponse("ok")

    assert _serve(page).status_code == 200
    assert readwriter.current() is None


def test_entries_of_concurrent_requests_travel_together_and_are_integrated(writer):
    if not THREADED:
        return  # SQLite: inline, one statement each (the first test covers it)
    gate = threading.Barrier(4)
    errors: list[Exception] = []

    def request(i: int) -> None:
        def page(_request):
            gate.wait(5)
            for k in range(5):
                services.record(action="case.viewed", actor=ACTOR, subject=("case", i * 10 + k))
            return HttpResponse("ok")

        try:
            assert _serve(page).status_code == 200
        except Exception as exc:  # noqa: BLE001 - any failure of a request thread is reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=request, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    it = readwriter.current()
    assert it is not None
    assert it.written == 20
    assert it.statements <= 20  # never more statements than entries; usually far fewer
    background.stop()
    seqs = list(Event.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 21))  # gap-free, nothing doubled
    assert verification.verify().ok


def test_stopping_writes_what_was_handed_over(writer):
    token = readwriter._scope.set(readwriter._Scope())
    try:
        services.record(action="case.viewed", actor=ACTOR, subject=("case", 1))
        pending = list(readwriter._scope.get().futures)
    finally:
        readwriter._scope.reset(token)
    readwriter.stop()
    # PostgreSQL: the one entry handed over was written before the thread ended; SQLite: it
    # was written inline, nothing was handed over
    assert len(pending) == (1 if THREADED else 0)
    assert all(f.done() and f.exception() is None for f in pending)
    assert _committed() == 1


def test_integrating_inside_a_request_takes_the_requests_own_entries(writer):
    """A page that runs the integrator before it reads (the audit log page) finds its own
    entries integrated, as when the request committed them itself."""
    seen: list[list[str]] = []

    def page(request):
        services.record(action="audit.viewed", actor=ACTOR)
        services.integrate(wait=True)
        seen.append(list(Event.objects.values_list("action", flat=True)))
        return HttpResponse("ok")

    assert _serve(page).status_code == 200
    assert seen == [["audit.viewed"]]

"""The background integrator: the commit only wakes it (issue 10, decision 0181; R-IR-5, R-OPS-8).

With ``SAFEGUARD_AUDIT_INTEGRATION=background`` (production's default) a request pays the INSERT
of its queued entry; the process's integrator thread, woken after the commit, sequences it.
These tests commit for real (transactional tests) and wait for that thread.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from django.db import OperationalError, connection, transaction

from safeguard.audit import background, services, verification
from safeguard.audit.contracts import Actor
from safeguard.audit.models import Event, QueuedEntry

pytestmark = pytest.mark.django_db(transaction=True)

ACTOR = Actor(kind="user", id="7", label="ana@example.com")


@pytest.fixture
def in_background(settings):
    settings.SAFEGUARD_AUDIT_INTEGRATION = "background"
    settings.SAFEGUARD_AUDIT_INTEGRATOR_COALESCE_MS = 0
    background.stop()
    yield settings
    background.stop()  # drains, ends the thread and closes its connection


def _read(query):
    """A read while the integrator thread may be writing. The test suite's SQLite database is
    in memory with a shared cache, where a reader meets "table is locked" instead of waiting
    (a file database in WAL mode, as deployed, lets readers through); retry then."""
    for _ in range(200):
        try:
            return query()
        except OperationalError:
            time.sleep(0.02)
    return query()


def _wait_for(count: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while _read(Event.objects.count) < count and time.monotonic() < deadline:
        time.sleep(0.02)


def _wait_for_runs(it: background.Integrator, runs: int, timeout: float = 10.0) -> None:
    """Until the thread has completed ``runs`` runs (a run counts once it has returned)."""
    deadline = time.monotonic() + timeout
    while it.runs < runs and time.monotonic() < deadline:
        time.sleep(0.01)


def _record(i: int) -> int | None:
    with transaction.atomic():
        return services.record(action="case.viewed", actor=ACTOR, data={"i": i})


def test_a_commit_wakes_the_integrator_thread_and_the_request_does_not_integrate(in_background):
    ran_in: list[str] = []
    real = services.integrate_pass

    def spy(**kwargs):
        ran_in.append(threading.current_thread().name)
        return real(**kwargs)

    services.integrate_pass = spy
    try:
        # when a request-sized transaction records two events and commits
        with transaction.atomic():
            services.record(action="case.viewed", actor=ACTOR, subject=("case", 1))
            services.record(action="customer.viewed", actor=ACTOR, subject=("customer", 2))
            # (before the commit nothing woke anybody: the integrator must not run early)
            assert background.current() is None
        _wait_for(2)
    finally:
        services.integrate_pass = real
    # then the integrator thread, not the request's, sequenced both, gap-free
    assert set(ran_in) == {"safeguard-audit-integrator"}
    events = list(Event.objects.order_by("seq").values_list("seq", "action", "at",
                                                           "integrated_at"))
    assert [(s, a) for s, a, _, _ in events] == [(1, "case.viewed"), (2, "customer.viewed")]
    # and each event carries when it was integrated, after it was recorded
    assert all(at <= done for _, _, at, done in events)
    assert QueuedEntry.objects.count() == 0


def test_wakes_during_a_run_coalesce_into_one_more_run(in_background, monkeypatch):
    gate, entered = threading.Event(), threading.Event()
    real = services.integrate_pass

    def first_run_waits(**kwargs):
        if not entered.is_set():
            entered.set()
            gate.wait(30)
        return real(**kwargs)

    monkeypatch.setattr(services, "integrate_pass", first_run_waits)
    # given a first commit whose run is in progress (held at its start)
    _record(0)
    assert entered.wait(30)
    # when 15 more requests commit meanwhile, each waking the integrator
    for i in range(1, 16):
        _record(i)
    gate.set()
    _wait_for(16)
    it = background.current()
    assert it is not None
    _wait_for_runs(it, 2)
    time.sleep(0.3)  # a third run, if the wakes had not coalesced, would have started by now
    # then the held run took all 16 and the wakes made exactly one more run, which found none
    assert (it.runs, it.integrated, it.signal.is_set()) == (2, 16, False)
    assert list(Event.objects.order_by("seq").values_list("seq", flat=True)) == list(
        range(1, 17))
    assert sorted(d["i"] for d in Event.objects.values_list("data", flat=True)) == list(
        range(16))


def test_entries_committed_after_a_runs_last_read_are_taken_by_the_next_run(in_background,
                                                                            monkeypatch):
    real, wake = services.pending, services._integrate_after_commit
    late: list[int] = []

    def others_commit_before_the_first_runs_look(**kwargs):
        if not late:
            # another process commits three entries after this run's last read of the queue;
            # their wakes went to that process, whose run found the lock taken: none comes here
            monkeypatch.setattr(services, "_integrate_after_commit", lambda *_: None)
            for i in range(100, 103):
                _record(i)
                late.append(i)
            monkeypatch.setattr(services, "_integrate_after_commit", wake)
        return real(**kwargs)

    monkeypatch.setattr(services, "pending", others_commit_before_the_first_runs_look)
    # when one request commits and wakes the thread
    _record(0)
    _wait_for(4)
    it = background.current()
    assert it is not None
    _wait_for_runs(it, 2)
    # then the thread saw the queue still held entries and ran once more by itself: all four
    # are in the log, gap-free, and nothing is left queued
    assert (it.runs, it.integrated) == (2, 4)
    assert sorted(d["i"] for d in Event.objects.values_list("data", flat=True)) == [
        0, 100, 101, 102]
    assert list(Event.objects.order_by("seq").values_list("seq", flat=True)) == [1, 2, 3, 4]
    assert QueuedEntry.objects.count() == 0


def test_a_run_that_finds_the_lock_taken_leaves_the_queue_to_the_holder(in_background,
                                                                        monkeypatch):
    looked: list[int] = []
    real_pending = services.pending
    monkeypatch.setattr(services, "pending", lambda: looked.append(1) or real_pending())
    # given another process holding the integrator lock
    monkeypatch.setattr(services, "_lock", lambda *, wait: False)
    # when a commit wakes this process's thread
    _record(0)
    it = background.current()
    assert it is not None
    _wait_for_runs(it, 1)
    time.sleep(0.3)  # a self-woken second run would have started by now (no coalescing pause)
    # then its run integrated nothing, did not read the queue and did not wake itself again:
    # the holder reads the queue after releasing the lock
    assert (it.runs, it.integrated, it.signal.is_set(), looked) == (1, 0, False, [])
    assert _read(QueuedEntry.objects.count) == 1


def test_a_failed_run_is_retried_and_the_entries_wait_in_the_queue(in_background, monkeypatch):
    real = services.integrate_pass
    calls: list[int] = []

    def fails_once(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("database went away")
        return real(**kwargs)

    monkeypatch.setattr(services, "integrate_pass", fails_once)
    # when the first run after a commit fails
    _record(0)
    deadline = time.monotonic() + 10
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    # then the entry is still queued, and the retry (about a second later) integrates it
    assert _read(lambda: QueuedEntry.objects.count() + Event.objects.count()) == 1
    _wait_for(1)
    it = background.current()
    assert it is not None
    _wait_for_runs(it, 1)
    assert (it.failures, it.runs, it.integrated) == (1, 1, 1)
    assert QueuedEntry.objects.count() == 0


def test_stopping_drains_what_was_committed(in_background):
    # given a long coalescing window, so the thread has not run yet when the process ends
    in_background.SAFEGUARD_AUDIT_INTEGRATOR_COALESCE_MS = 800
    for i in range(5):
        _record(i)
    it = background.current()
    assert it is not None
    assert Event.objects.count() == 0
    # when the process shuts the integrator down (what atexit does)
    background.stop()
    # then it drained the queue first, and its thread ended
    assert not it.thread.is_alive()
    assert (Event.objects.count(), QueuedEntry.objects.count()) == (5, 0)
    services.head_sign()
    assert verification.verify().ok


ENDING_PROCESS = textwrap.dedent("""
    import django
    django.setup()
    from django.db import transaction
    from safeguard.audit import background, services
    from safeguard.audit.contracts import Actor

    for i in range(7):
        with transaction.atomic():
            services.record(action="case.viewed", actor=Actor.system("bench"), data={"i": i})
    assert background.current() is not None
    # the process ends here: atexit stops the integrator, which drains the queue first
""")


def test_a_process_that_ends_integrates_its_entries_before_it_exits(in_background):
    if connection.vendor != "postgresql":
        pytest.skip("a second process needs a server database (run with DATABASE_URL=postgres)")
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "safeguard.settings",
           "SAFEGUARD_ENV": "test", "SAFEGUARD_AUDIT_INTEGRATION": "background",
           "SAFEGUARD_AUDIT_INTEGRATOR_COALESCE_MS": "1000",
           "PYTHONPATH": os.pathsep.join([str(Path(services.__file__).parents[2]),
                                          os.environ.get("PYTHONPATH", "")])}
    # when a short process (a command) records 7 events and exits before its thread woke up
    done = subprocess.run([sys.executable, "-c", ENDING_PROCESS], env=env, timeout=120,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    # then every event was integrated before the process ended, none left queued
    assert (Event.objects.count(), QueuedEntry.objects.count()) == (7, 0)
    assert sorted(d["i"] for d in Event.objects.values_list("data", flat=True)) == list(range(7))


def test_a_forked_child_starts_its_own_integrator(in_background):
    _record(0)
    _wait_for(1)
    parent = background.current()
    assert parent is not None
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent's thread does not exist here
        try:
            os.write(write, b"none" if background.current() is None else b"inherited")
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    assert os.read(read, 20) == b"none"
    os.close(read)
    assert background.current() is parent

"""The audit queue and its integrator (issue 10, decision 0180; R-IR-5, R-OPS-8).

``record`` queues an entry inside the caller's transaction without a global lock; one
integrator at a time sequences committed entries gap-free and extends the tree in batches.
Most tests here switch to the production mode ``after_commit``; the rest of the suite runs
with ``in_transaction`` (settings), which integrates inside the caller's transaction.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import IntegrityError, connection, transaction

from safeguard.audit import merkle, selectors, services, verification
from safeguard.audit.contracts import Actor
from safeguard.audit.models import Event, QueuedEntry, Sequence

pytestmark = pytest.mark.django_db

ACTOR = Actor(kind="user", id="7", label="ana@example.com")
PAN = "4111 1111 1111 1111"


def _seqs() -> list[int]:
    return list(Event.objects.order_by("seq").values_list("seq", flat=True))


def _markers() -> list[tuple[int, int]]:
    return sorted((e["w"], e["i"]) for e in Event.objects.values_list("data", flat=True))


@pytest.fixture
def after_commit(settings):
    settings.SAFEGUARD_AUDIT_INTEGRATION = "after_commit"
    return settings


def _record_then_fail(data: dict[str, int]) -> int | None:
    """An action that records its event and then fails: its transaction rolls back."""
    seen: list[int | None] = []
    try:
        with transaction.atomic():
            seen.append(services.record(action="case.viewed", actor=ACTOR, data=data))
            seen.append(Event.objects.count())
            raise LookupError("the action failed")
    except LookupError:
        pass
    return seen[0] if seen[1] else None


def _needs_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("several database sessions at once need a server database "
                    "(run with DATABASE_URL=postgres)")


@pytest.mark.django_db(transaction=True)
def test_record_queues_in_the_transaction_and_the_commit_integrates_it(after_commit):
    # given an action that records an event with a card number in its data
    with transaction.atomic():
        returned = services.record(action="case.noted", actor=ACTOR, subject=("case", 3),
                                   data={"note": f"card {PAN}"})
        # then, before the commit, it is queued and not yet in the log
        assert (returned, QueuedEntry.objects.count(), Event.objects.count()) == (None, 1, 0)
    # and right after the commit the integrator has sequenced it, masked (R-OPS-2)
    event = selectors.event_list()[0]
    assert (event.seq, event.action, event.data) == (1, "case.noted",
                                                     {"note": "card [REDACTED-PAN]"})
    assert QueuedEntry.objects.count() == 0
    assert Sequence.objects.get(id=1).last_seq == 1
    services.head_sign()
    assert verification.verify().ok


@pytest.mark.django_db(transaction=True)
def test_an_entry_whose_transaction_rolled_back_never_appears(after_commit):
    # given one committed action and one that fails after recording its event
    with transaction.atomic():
        services.record(action="case.viewed", actor=ACTOR, data={"w": 0, "i": 0})
    assert _record_then_fail({"w": 0, "i": 1}) is None  # queued only, never integrated
    with transaction.atomic():
        services.record(action="case.viewed", actor=ACTOR, data={"w": 0, "i": 2})
    # when every integrator run is over
    services.integrate(wait=True)
    # then only the committed two are in the log, numbered without a gap, and nothing waits
    assert (_seqs(), _markers()) == ([1, 2], [(0, 0), (0, 2)])
    assert QueuedEntry.objects.count() == 0


def test_a_rolled_back_entry_never_appears_when_integrated_in_transaction():
    # given the in_transaction mode (the suite's) and an action that fails after recording
    assert _record_then_fail({"w": 1, "i": 1}) == 1  # integrated inside the transaction
    # then neither its queue entry nor its event survives, and the next event is number 1
    assert (QueuedEntry.objects.count(), Event.objects.count()) == (0, 0)
    assert services.record(action="case.viewed", actor=ACTOR) == 1


def test_a_queued_entry_cannot_be_changed_or_removed_before_it_is_integrated(after_commit):
    # given an entry waiting in the queue (this test's transaction never commits)
    services.record(action="case.viewed", actor=ACTOR, data={"w": 0, "i": 0})
    entry_id = QueuedEntry.objects.get().id
    # then the database refuses to rewrite it or drop it
    for statement in ("UPDATE audit_queuedentry SET action = 'x.y'",
                      "DELETE FROM audit_queuedentry"):
        with pytest.raises(IntegrityError if connection.vendor == "sqlite" else Exception), \
                transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert QueuedEntry.objects.get().id == entry_id
    # and once integrated, the entry has left the queue for the log
    assert services.integrate() == 1
    assert (QueuedEntry.objects.count(), Event.objects.get().queue_id) == (0, entry_id)


def test_an_entry_cannot_be_integrated_twice():
    # given an integrated entry
    services.record(action="case.viewed", actor=ACTOR)
    event = Event.objects.get()
    # then a second event for the same queue entry is refused by the database
    event.seq, event.leaf_hash = 2, "00" * 32
    with pytest.raises(IntegrityError), transaction.atomic():
        event.save(force_insert=True)


def test_verify_flags_an_entry_left_unintegrated_past_the_bound(after_commit):
    import time_machine

    # given a stalled integrator: an entry is queued (this test never commits, so no
    # after-commit run happens) and the bound is two minutes
    after_commit.SAFEGUARD_AUDIT_INTEGRATION_BOUND_SECONDS = 120
    services.record(action="customer.viewed", actor=ACTOR, subject=("customer", 9))
    entry_id = QueuedEntry.objects.get().id
    # then within the bound the log verifies
    assert verification.verify().ok
    # and past it, verification fails naming the waiting entry
    with time_machine.travel(timedelta(minutes=3), tick=False):
        report = verification.verify()
    assert report.ok is False
    assert [p.kind for p in report.problems] == ["unintegrated"]
    assert f"queue entry {entry_id}, customer.viewed" in report.problems[0].detail
    # and once the integrator runs again, it verifies
    services.integrate()
    services.head_sign()
    with time_machine.travel(timedelta(minutes=3), tick=False):
        assert verification.verify().ok


def test_a_batch_writes_the_same_tree_as_one_append_at_a_time(after_commit, settings):
    # given 37 queued entries integrated in batches of 5
    settings.SAFEGUARD_AUDIT_INTEGRATION_BATCH = 5
    for i in range(37):
        services.record(action="case.viewed", actor=ACTOR, data={"w": 0, "i": i})
    assert services.integrate() == 37
    # then every node level >= 1 is stored once and the frontier's root is the tree's root
    leaves = [bytes.fromhex(h) for h in
              Event.objects.order_by("seq").values_list("leaf_hash", flat=True)]
    counter = Sequence.objects.get(id=1)
    frontier = merkle.CompactRange.from_hex(counter.last_seq, counter.frontier)
    assert frontier == merkle.CompactRange.from_leaf_hashes(leaves)
    from safeguard.audit.models import Node

    assert Node.objects.count() == sum(37 >> level for level in range(1, 6))
    services.head_sign()
    assert verification.verify().ok


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_produce_one_gap_free_order_and_a_tree_that_verifies(after_commit):
    _needs_postgres()
    errors: list[BaseException] = []
    committed: list[tuple[int, int]] = []

    def writer(k: int) -> None:
        try:
            for i in range(30):
                try:
                    with transaction.atomic():
                        services.record(action="case.viewed", actor=ACTOR, data={"w": k, "i": i})
                        if i % 7 == 3:
                            raise LookupError("rolled back")
                    committed.append((k, i))
                except LookupError:
                    pass
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    # when 8 writers record at once, each request-sized transaction its own (some roll back)
    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    services.integrate(wait=True)
    # then the log holds exactly the committed entries, once each, numbered 1..n
    assert errors == []
    assert len(committed) == 8 * 26
    assert _seqs() == list(range(1, len(committed) + 1))
    assert _markers() == sorted(committed)
    assert QueuedEntry.objects.count() == 0
    services.head_sign()
    assert verification.verify().ok


@pytest.mark.django_db(transaction=True)
def test_two_integrators_at_once_cannot_both_integrate(after_commit, monkeypatch):
    _needs_postgres()
    # given 20 committed entries whose after-commit run never happened (a process that died
    # right after its commit)
    monkeypatch.setattr(services, "_integrate_after_commit", lambda *_: None)
    for i in range(20):
        with transaction.atomic():
            services.record(action="case.viewed", actor=ACTOR, data={"w": 0, "i": i})
    holding, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first_integrator() -> None:
        try:
            with transaction.atomic():
                outcome["first_locked"] = services._lock(wait=False)
                holding.set()
                release.wait(30)
                outcome["first_count"] = len(services._integrate_batch(1000))
        finally:
            connection.close()

    # when one integrator holds the lock and a second one runs
    thread = threading.Thread(target=first_integrator)
    thread.start()
    assert holding.wait(30)
    second = services.integrate()
    # then the second integrates nothing and leaves the queue alone
    assert (outcome["first_locked"], second, Event.objects.count()) == (True, 0, 0)
    assert QueuedEntry.objects.count() == 20
    release.set()
    thread.join()
    # and the first one integrated all of them, once
    assert outcome["first_count"] == 20
    assert _seqs() == list(range(1, 21))
    assert services.integrate() == 0


KILLED_INTEGRATOR = textwrap.dedent("""
    import sys, time
    import django
    django.setup()
    from safeguard.audit import services

    original = services._copy_to_log

    def copy_then_hang(ids, first, leaves):
        original(ids, first, leaves)               # the batch's events written, not committed
        with open(sys.argv[1], "w") as marker:
            marker.write(str(len(ids)))
        time.sleep(120)                            # killed here, mid-batch
    services._copy_to_log = copy_then_hang
    services.integrate(wait=True)
""")


@pytest.mark.django_db(transaction=True)
def test_an_integrator_killed_mid_batch_loses_and_doubles_nothing(after_commit, monkeypatch,
                                                                    tmp_path):
    _needs_postgres()
    # given 50 committed entries in the queue, none integrated yet
    monkeypatch.setattr(services, "_integrate_after_commit", lambda *_: None)
    for i in range(50):
        with transaction.atomic():
            services.record(action="case.viewed", actor=ACTOR, data={"w": 0, "i": i})
    # when an integrator process writes a batch and is killed (SIGKILL) before it commits
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    marker = tmp_path / "mid-batch"
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "safeguard.settings",
           "SAFEGUARD_ENV": "test", "SAFEGUARD_AUDIT_INTEGRATION": "after_commit",
           "PYTHONPATH": os.pathsep.join([str(Path(services.__file__).parents[2]),
                                          os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", KILLED_INTEGRATOR, str(marker)], env=env)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the integrator never reached the middle of its batch"
        assert int(marker.read_text()) == 50  # it had written the whole batch's events
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
    assert child.returncode == -signal.SIGKILL
    # then nothing it wrote survived, and the next integrator takes every entry exactly once
    assert (Event.objects.count(), QueuedEntry.objects.count()) == (0, 50)
    assert services.integrate(wait=True) == 50
    assert _seqs() == list(range(1, 51))
    assert _markers() == [(0, i) for i in range(50)]
    services.head_sign()
    assert verification.verify().ok


def test_the_cli_integrates_the_queue_and_says_how_much(after_commit):
    from io import StringIO

    from django.core.management import call_command

    # given three entries waiting (this test's transaction never commits)
    for i in range(3):
        services.record(action="case.viewed", actor=ACTOR, data={"w": 0, "i": i})
    out = StringIO()
    # when the operator integrates by hand
    call_command("audit", "integrate", stdout=out)
    # then all three are in the log and the command says so
    assert out.getvalue().strip() == "integrated 3 queued entries; the log ends at 3"
    assert (_seqs(), QueuedEntry.objects.count()) == ([1, 2, 3], 0)

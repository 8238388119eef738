"""The witness-deletion attack (issue 17 item 3, R-IR-5).

A database owner deletes the last events (a ``user.disabled`` among them), rewinds the counter,
deletes the later heads and re-signs: the log alone verifies. A configured witness must catch
it — intact, deleted, or cut to its first line — and the head job must alert, not recreate.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from safeguard.audit import merkle, selectors, services, tasks, verification
from safeguard.audit.contracts import Actor
from safeguard.audit.models import Event, Node, Sequence
from tests.audit.test_log import triggers_bypassed

pytestmark = pytest.mark.django_db
ADMIN = Actor(kind="user", id="1", label="admin@example.test")


def _history() -> None:
    """Twenty events with heads at 10 and 20; 18..20 disable a leaver."""
    for i in range(10):
        services.record(action="case.viewed", actor=ADMIN, subject=("case", i))
    tasks.sign_tree_head()
    for i in range(7):
        services.record(action="case.viewed", actor=ADMIN, subject=("case", 10 + i))
    services.record(action="user.disabled", actor=ADMIN, subject=("user", 42),
                    data={"reason": "leaver"})
    services.record(action="session.ended", actor=ADMIN, subject=("user", 42))
    services.record(action="case.viewed", actor=ADMIN, subject=("case", 99))
    tasks.sign_tree_head()


def _rewrite_history_to(size: int) -> None:
    """Delete events after ``size``, their nodes and heads; rewind the counter; re-sign."""
    leaves = list(Event.objects.filter(seq__lte=size).order_by("seq")
                  .values_list("leaf_hash", flat=True))
    frontier = merkle.CompactRange()
    for leaf in leaves:
        frontier.append(bytes.fromhex(leaf))
    with triggers_bypassed("audit_event") as cursor:
        cursor.execute("DELETE FROM audit_event WHERE seq > %s", [size])
    keep = {(level, index) for level in range(1, 64) for index in range(size >> level)}
    doomed = [n.id for n in Node.objects.all() if (n.level, n.index) not in keep]
    with triggers_bypassed("audit_node") as cursor:
        for node_id in doomed:
            cursor.execute("DELETE FROM audit_node WHERE id = %s", [node_id])
    with triggers_bypassed("audit_treehead") as cursor:
        cursor.execute("DELETE FROM audit_treehead WHERE size > %s", [size])
    with triggers_bypassed("audit_sequence"):
        Sequence.objects.filter(id=1).update(last_seq=size, frontier=frontier.to_hex())
    assert services.head_sign(force=True) is not None


@pytest.fixture
def witness(settings, tmp_path):
    path = tmp_path / "witness.jsonl"
    path.touch()
    settings.SAFEGUARD_AUDIT_WITNESS_FILE = str(path)
    return path


def test_without_a_witness_the_rewrite_verifies(settings):
    # the control: with no witness the deletion is invisible — why production requires one
    settings.SAFEGUARD_AUDIT_WITNESS_FILE = ""
    _history()
    _rewrite_history_to(17)
    assert verification.verify().ok is True
    assert not Event.objects.filter(action="user.disabled").exists()


def test_the_intact_witness_catches_the_deleted_events(witness):
    _history()
    _rewrite_history_to(17)
    report = verification.verify()
    assert report.ok is False
    assert [p.kind for p in report.problems] == ["truncated"]


def test_a_deleted_witness_fails_verify_and_is_not_recreated(witness):
    _history()
    witness.unlink()
    _rewrite_history_to(17)
    # when the head job runs after the witness is gone
    services.record(action="case.viewed", actor=ADMIN, subject=("case", 100))
    tasks.sign_tree_head()
    # then the witness stays missing, the job alerted, and verify fails
    assert not witness.exists()
    alerts = selectors.event_list(action="audit.witness_missing")
    assert len(alerts) == 1
    assert alerts[0].outcome == "failure"
    report = verification.verify()
    assert report.ok is False
    assert "witness-missing" in [p.kind for p in report.problems]


def test_a_witness_cut_to_its_first_line_fails_verify(witness):
    _history()
    first = witness.read_text().splitlines()[0]
    witness.write_text(first + "\n")
    _rewrite_history_to(17)
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        report = verification.verify()
    assert report.ok is False
    assert [p.kind for p in report.problems] == ["witness-behind"]
    assert "ends at tree size 10" in report.problems[0].detail


def test_the_head_job_alerts_when_the_witness_lacks_the_previous_head(witness):
    _history()
    witness.write_text(witness.read_text().splitlines()[0] + "\n")
    services.record(action="case.viewed", actor=ADMIN, subject=("case", 101))
    tasks.sign_tree_head()
    alerts = selectors.event_list(action="audit.witness_behind")
    assert len(alerts) == 1
    assert "ends at tree size 10" in alerts[0].data["detail"]

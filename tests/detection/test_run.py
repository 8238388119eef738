"""run_once over the audit log with the real engine and the shipped rule pack (R-OPS-6):
alerts raised once, explained, audited; a crash mid-batch or between batches replays without
a duplicate; suppressions silence one rule for one entity until they expire."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from safeguard.audit import selectors as audit_selectors
from safeguard.detection import selectors, services
from safeguard.detection.engine import load_pack, run
from safeguard.detection.enrich import Enricher
from safeguard.detection.models import Alert, RunState, Suppression
from tests.detection.factories import ListEvaluator, finding, mass_viewer, store, view_all
from tests.factories import make_user

pytestmark = pytest.mark.django_db

MASS_ACCESS = "d1905858-c750-40cb-9c2e-a7df6cbf50e2"
TOKEN_READS = "5e727eb2-00d4-4f0f-bc04-fed0f779d4e9"


def _token_id(agent):
    from safeguard.accounts import selectors as accounts

    return accounts.token_list(user_id=agent.id)[0].id


def _reference_keys() -> set[str]:
    """What the engine alone concludes from the whole log in one pass (no database side)."""
    events = Enricher().enrich_all(audit_selectors.event_batch_after(after_seq=0, limit=10**6))
    return {f.dedup_key for f in run(load_pack(services.rule_paths()), events)}


def test_mass_access_through_a_token_raises_explained_alerts_once():
    agent, customers, _ = mass_viewer(100)
    view_all(agent, customers, token_id=_token_id(agent))

    result = services.run_once()

    by_rule = {a.rule_id: a for a in selectors.alert_list(limit=50)}
    mass = by_rule[MASS_ACCESS]
    assert mass.entity == f"token:{_token_id(agent)}"
    assert mass.severity == "high"
    assert len(mass.evidence) == 100
    assert "opened 100 different customer records" in mass.explanation
    assert mass.status == "new"
    # The person's own token read customers: the temporal rule fires as well.
    assert TOKEN_READS in by_rule
    assert result.alerts == len(by_rule)
    # The run goes on to read the detection.raised events it wrote, and ends caught up.
    assert result.cursor == audit_selectors.last_seq()
    raised = list(audit_selectors.event_list(action="detection.raised", limit=10))
    assert {e.data["rule"] for e in raised} == set(by_rule)
    assert all(e.actor.kind == "system" for e in raised)
    again = services.run_once()
    assert (again.events, again.alerts) == (0, 0)


def test_a_crash_inside_a_batch_commits_nothing_and_the_replay_raises_each_alert_once(
        monkeypatch):
    agent, customers, _ = mass_viewer(100)
    view_all(agent, customers, token_id=_token_id(agent))
    expected = _reference_keys()
    real_store = services._store_finding
    calls = {"n": 0}

    def crash_after_first(f, *, now):
        calls["n"] += 1
        real_store(f, now=now)  # the first alert is written ...
        raise RuntimeError("worker killed mid-batch")  # ... then the process dies

    monkeypatch.setattr(services, "_store_finding", crash_after_first)
    with pytest.raises(RuntimeError):
        services.run_once(batch_size=1000)
    assert calls["n"] == 1
    # The batch's transaction rolled back: no alert, cursor and checkpoint untouched.
    assert Alert.objects.count() == 0
    state = RunState.objects.get(name="default")
    assert (state.cursor, bytes(state.engine_state)) == (0, b"")

    monkeypatch.setattr(services, "_store_finding", real_store)
    services.run_once(batch_size=1000)
    assert set(Alert.objects.values_list("dedup_key", flat=True)) == expected
    assert len(expected) >= 2


def test_a_crash_between_batches_resumes_from_the_checkpoint_without_duplicates():
    agent, customers, _ = mass_viewer(100)
    view_all(agent, customers, token_id=_token_id(agent))
    expected = _reference_keys()
    seen: list[int] = []

    def die_after_third(cursor):
        seen.append(cursor)
        if len(seen) == 3:
            raise KeyboardInterrupt  # killed after three committed batches

    with pytest.raises(KeyboardInterrupt):
        services.run_once(batch_size=40, after_batch=die_after_third)
    assert RunState.objects.get(name="default").cursor == seen[-1]
    services.run_once(batch_size=40)
    keys = list(Alert.objects.values_list("dedup_key", flat=True))
    assert len(keys) == len(set(keys))
    assert set(keys) == expected
    # A replay from the very start (cursor reset, engine state dropped) raises nothing again.
    services.run_reset(actor=services.SYSTEM, to_seq=0)
    replay = services.run_once(batch_size=40)
    assert replay.alerts == 0
    assert replay.duplicates >= len(expected)
    assert Alert.objects.count() == len(expected)


def test_a_later_finding_under_the_same_key_merges_its_evidence():
    first = finding(dedup_key="k1", evidence=(3, 5))
    [alert_id] = store(first)
    later = finding(dedup_key="k1", evidence=(5, 9), explanation="did it 4 times",
                    last_evidence_at=first.last_evidence_at + timedelta(minutes=1),
                    first_evidence_at=first.first_evidence_at)
    store(later)
    alert = selectors.alert_get(alert_id=alert_id)
    assert alert.evidence == (3, 5, 9)
    assert alert.explanation == "did it 4 times"
    assert Alert.objects.count() == 1


def test_an_active_suppression_silences_its_rule_for_its_entity_only():
    analyst = make_user(roles=("security_analyst",))
    from tests.customers.factories import principal

    services.suppression_create(principal=principal(analyst), rule_id="rule-a",
                                entity="user:9077", reason="bulk correction list", hours=2)
    ids = store(finding(entity="user:9077", dedup_key="a"), finding(entity="user:9078",
                                                                  dedup_key="b"),
                finding(entity="user:9077", rule_id="rule-b", dedup_key="c"))
    assert len(ids) == 2
    assert set(Alert.objects.values_list("dedup_key", flat=True)) == {"b", "c"}
    row = Suppression.objects.get()
    assert row.hits == 1
    # Once expired it matches nothing.
    Suppression.objects.update(expires_at=timezone.now() - timedelta(seconds=1),
                               created_at=timezone.now() - timedelta(hours=3))
    store(finding(entity="user:9077", dedup_key="d"))
    assert Alert.objects.filter(dedup_key="d").exists()


def test_two_runs_cannot_both_commit_the_same_batch():
    make_user()
    state = services._state("default")
    evaluator = ListEvaluator([finding(dedup_key="x")])
    batch = audit_selectors.event_batch_after(after_seq=0, limit=10)
    findings = evaluator.process([])
    # Another run committed first and moved the cursor.
    RunState.objects.filter(id=state.id).update(cursor=batch[-1].seq)
    with pytest.raises(services.CursorMoved):
        services._commit_batch(name="default", from_seq=0, to_seq=batch[-1].seq,
                               events=len(batch), findings=findings, checkpoint={})
    assert not Alert.objects.exists()


def test_a_broken_evaluator_setting_is_refused_with_its_reason(settings):
    settings.SAFEGUARD_DETECTION_EVALUATOR = "safeguard.detection.nowhere.factory"
    with pytest.raises(services.EngineUnavailable) as exc:
        services.run_once()
    assert "safeguard.detection.nowhere.factory" in exc.value.detail
    assert not RunState.objects.filter(cursor__gt=0).exists()


def test_evidence_and_checkpoints_that_look_like_card_numbers_are_stored():
    """Sequence numbers 4000, 5000, 6000, 7003 joined like a JSON list read as a Visa number
    (Luhn-valid); the no-PAN guard must not stop detection over them (models.encode_seqs,
    pack_state)."""
    from safeguard.protection import services as protection

    assert protection.card_numbers_in("[4000, 5000, 6000, 7003]") == 1  # how JSON would store it
    [alert_id] = store(finding(evidence=(4000, 5000, 6000, 7003),
                               explanation="counts 4000, 5000, 6000, 7003"))
    alert = selectors.alert_get(alert_id=alert_id)
    assert alert.evidence == (4000, 5000, 6000, 7003)
    assert "4000, 5000, 6000, 7003" not in alert.explanation
    services.run_once(evaluator=ListEvaluator([]), name="pan-like")
    RunState.objects.filter(name="pan-like").update(cursor=0)
    state = RunState.objects.get(name="pan-like")
    state.engine_state = services.pack_state({"emitted": {"k": [4000, 5000, 6000, 7003]}})
    state.save()
    assert services.unpack_state(RunState.objects.get(name="pan-like").engine_state) == {
        "emitted": {"k": [4000, 5000, 6000, 7003]}}

"""The shipped rule pack on the simulated contact centre: every rule fires on its attack
scenario, and a normal day raises nothing (R-OPS-6, R-OPS-9)."""

from __future__ import annotations

import pytest

from safeguard.detection.engine import DetectionEngine, shipped_pack
from safeguard.detection.engine.simulate import SCENARIOS, SimConfig, Simulator, evaluate

QUIET = {"overtime_per_agent_day": 0.0, "new_network_per_agent_day": 0.0,
         "browser_updates_share": 0.0}


@pytest.fixture(scope="module")
def month():
    """A week of 16 agents with every scenario injected twice (benign look-alikes off, so
    every finding must be an attack)."""
    sim = Simulator(SimConfig(agents=16, days=7, scenarios=tuple(SCENARIOS), repeat=2, **QUIET))
    findings = DetectionEngine(shipped_pack()).process(sim.events())
    return sim, findings


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_each_scenario_is_caught_by_its_rule(month, scenario):
    sim, findings = month
    instances = [i for i in sim.truth if i.scenario == scenario]
    assert len(instances) == 2
    for inst in instances:
        caught = {f.rule_id for f in findings if set(inst.seqs) & set(f.evidence)}
        assert caught & inst.expected, (scenario, caught)


def test_every_alerting_rule_of_the_pack_has_a_scenario(month):
    _sim, findings = month
    alerting = {r.id for r in shipped_pack().event_rules if r.output} | {
        c.id for c in shipped_pack().correlations}
    expected = set().union(*SCENARIOS.values())
    assert alerting <= expected
    fired = {f.rule_id for f in findings}
    assert alerting <= fired


def test_nothing_else_fires_in_the_attack_week(month):
    sim, findings = month
    result = evaluate(findings, sim.truth, sim.agent_days)
    assert result.false_positives == 0, result.false_positives_by_rule
    assert all(s.recall == 1.0 for s in result.scenarios)


def test_a_normal_day_is_silent():
    # given a normal day of the full 40-agent centre (no attack)
    sim = Simulator(SimConfig(agents=40, days=1, **QUIET))
    events = list(sim.events())
    assert len(events) > 5000
    # when the whole pack and UEBA evaluate it, then nothing is raised
    assert DetectionEngine(shipped_pack()).process(events) == []


def test_benign_look_alikes_are_the_only_false_positives():
    # the harness's realistic month: overtime and new devices do raise (documented) findings
    sim = Simulator(SimConfig(agents=40, days=10, overtime_per_agent_day=0.05,
                              new_network_per_agent_day=0.03, browser_updates_share=0.2))
    result = evaluate(DetectionEngine(shipped_pack()).process(sim.events()), sim.truth,
                      sim.agent_days)
    assert result.false_positives > 0
    assert set(result.false_positives_by_rule) <= {
        "Customer data accessed outside the agent's shift", "First-seen address",
        "First-seen user agent"}

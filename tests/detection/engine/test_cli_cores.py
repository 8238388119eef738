"""The cores of `safeguard detection rules` and `safeguard detection test` (back-test)."""

from __future__ import annotations

import pytest

from safeguard.detection.engine import RulePackError
from safeguard.detection.engine.cli import backtest, rules_report
from safeguard.detection.engine.rules import SHIPPED_RULES
from safeguard.detection.engine.simulate import SimConfig, Simulator

from .helpers import ev


def test_rules_report_lists_file_and_line_of_each_rule():
    report = rules_report([SHIPPED_RULES])
    assert report.ok
    mass = next(r for r in report.rules if r.title == "Mass customer access")
    assert (mass.kind, mass.level, mass.path.endswith("mass_customer_access.yml"), mass.line) == (
        "value_count", "high", True, 20)
    base = next(r for r in report.rules if r.title == "Customer record opened")
    assert base.alerts is False  # only the correlation counts it


def test_backtest_counts_what_a_rule_would_have_raised():
    sim = Simulator(SimConfig(agents=12, days=7, scenarios=("credential_stuffing",), repeat=2))
    events = list(sim.events())
    result = backtest([SHIPPED_RULES / "credential_stuffing.yml"], events)
    assert result.events == len(events)
    assert (result.first_seq, result.last_seq) == (1, len(events))
    assert result.per_rule == {"Credential stuffing": 2}
    assert {f.entity for f in result.findings} == {"ip:203.0.113.10", "ip:203.0.113.11"}


def test_backtest_of_a_malformed_rule_is_refused(tmp_path):
    bad = tmp_path / "new.yml"
    bad.write_text("title: x\nid: 33333333-3333-4333-8333-333333333333\nlogsource:\n"
                   "  product: safeguard\ndetection:\n  sel:\n    action|nope: a\n"
                   "  condition: sel\n")
    with pytest.raises(RulePackError) as caught:
        backtest([bad], [ev(1, "a")])
    assert [(e.line, e.reason) for e in caught.value.errors] == [(7, "Unknown modifier 'nope'")]


def test_report_and_backtest_render_as_lines(tmp_path):
    from safeguard.detection.engine.cli import backtest_lines, rules_report_lines

    lines = rules_report_lines(rules_report([SHIPPED_RULES]))
    assert lines[-1] == "23 rules (13 raise alerts) in 10 file(s): valid"
    assert any("Mass customer access  [mass_customer_access.yml:20]" in x for x in lines)
    bad = tmp_path / "bad.yml"
    bad.write_text("title: [\n")
    refused = rules_report_lines(rules_report([bad]))
    assert refused[0].startswith(f"refused: {bad}:2: not valid YAML")
    assert refused[-1] == "1 error(s) in 1 file(s); nothing was loaded"
    events = [ev(i, "mfa.removed", secs=i) for i in (1, 2)]
    out = backtest_lines(backtest([SHIPPED_RULES / "mfa_removed.yml"], events))
    assert out[-2:] == ["     2  Second factor removed", "2 finding(s) over 2 events (seq 1..2)"]
    assert out[0] == ("2026-11-02 09:00:01 high          Second factor removed: user:7: user:7 "
                      "removed a second factor (customer:c1) (evidence seq 1)")

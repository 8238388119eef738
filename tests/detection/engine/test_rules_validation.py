"""A malformed rule file is refused with its file, line and reason, and nothing of the pack is
used (R-OPS-6; decision 0201)."""

from __future__ import annotations

import shutil

import pytest

from safeguard.detection.engine import RulePackError, load_pack, shipped_pack
from safeguard.detection.engine.cli import rules_report
from safeguard.detection.engine.rules import SHIPPED_RULES

GOOD = """title: Good
id: 11111111-1111-4111-8111-111111111111
logsource:
  product: safeguard
detection:
  sel:
    action: customer.viewed
  condition: sel
level: high
"""


def refused(tmp_path, text: str, name: str = "bad.yml"):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(RulePackError) as caught:
        load_pack([path])
    return caught.value.errors


@pytest.mark.parametrize(("text", "line", "reason"), [
    (GOOD.replace("    action: customer.viewed", "    action: [customer.viewed"), 8,
     "not valid YAML"),
    (GOOD.replace("action: customer.viewed", "action|sometimes: customer.viewed"), 7,
     "Unknown modifier 'sometimes'"),
    (GOOD.replace("action: customer.viewed", "acton: customer.viewed"), 7,
     "unknown field 'acton'"),
    (GOOD.replace("product: safeguard", "product: windows"), 3,
     "log source must be product: safeguard"),
    (GOOD.replace("id: 11111111-1111-4111-8111-111111111111\n", ""), 1, "needs an id"),
    (GOOD.replace("condition: sel", "condition: sel and other"), 8, "'other' not defined"),
    (GOOD.replace("action: customer.viewed", "source_ip|cidr: 10.0.0.0/33"), 7,
     "Invalid CIDR"),
    (GOOD.replace("level: high", "level: severe"), 9, "level"),
    (GOOD + "entity: nowhere\n", 10, "entity must be"),
    (GOOD + "explain: '{nope} views'\n", 10, "explain template"),
])
def test_malformed_rule_is_refused_with_line_and_reason(tmp_path, text, line, reason):
    # given a rule file with one mistake, when the pack is loaded, then it is refused there
    errors = refused(tmp_path, text)
    assert len(errors) == 1
    assert errors[0].path == str(tmp_path / "bad.yml")
    assert errors[0].line == line
    assert reason in errors[0].reason
    assert str(errors[0]).startswith(f"{tmp_path / 'bad.yml'}:{line}: ")


CORRELATION = """title: Count
id: 22222222-2222-4222-8222-222222222222
correlation:
  type: event_count
  rules:
    - {ref}
  group-by:
    - actor.id
  timespan: {span}
  condition:
    {op}: 5
level: high
"""
BASE = GOOD.replace("title: Good", "title: Good\nname: good_base")


@pytest.mark.parametrize(("ref", "span", "op", "line", "reason"), [
    ("missing_rule", "1h", "gte", 6, "missing_rule"),
    ("good_base", "1 hour", "gte", 9, "Timespan '1 hour' is invalid"),
    ("good_base", "1h", "lt", 10, "use gte or gt"),
])
def test_malformed_correlation_is_refused_with_line(tmp_path, ref, span, op, line, reason):
    text = BASE + "---\n" + CORRELATION.format(ref=ref, span=span, op=op)
    errors = refused(tmp_path, text)
    assert [(e.line, reason in e.reason) for e in errors] == [(line + 11, True)]


def test_unsupported_correlation_type_is_refused(tmp_path):
    text = BASE + "---\n" + CORRELATION.format(ref="good_base", span="1h", op="gte").replace(
        "event_count", "value_sum").replace("    gte: 5", "    gte: 5\n    field: data.count")
    errors = refused(tmp_path, text)
    assert errors[0].line == 15
    assert "'value_sum' is not supported" in errors[0].reason


def test_one_bad_file_refuses_the_whole_pack_and_changes_nothing(tmp_path):
    # given a copy of the shipped pack that loads, plus one broken file
    rules = tmp_path / "rules"
    shutil.copytree(SHIPPED_RULES, rules)
    before = load_pack([rules])
    (rules / "zz_broken.yml").write_text(GOOD.replace("acton", "x").replace(
        "action: customer.viewed", "acton: customer.viewed"))
    # when the directory is loaded again, then it is refused as a whole, naming the file
    report = rules_report([rules])
    assert not report.ok
    assert report.rules == ()
    assert [(e.path.endswith("zz_broken.yml"), e.line) for e in report.errors] == [(True, 7)]
    # and nothing changed: without the broken file the directory is the pack it was
    (rules / "zz_broken.yml").unlink()
    assert load_pack([rules]).digest == before.digest
    assert len(before.event_rules) == len(shipped_pack().event_rules)


def test_duplicate_ids_across_files_are_refused(tmp_path):
    (tmp_path / "a.yml").write_text(GOOD)
    (tmp_path / "b.yml").write_text(GOOD.replace("title: Good", "title: Twin"))
    with pytest.raises(RulePackError) as caught:
        load_pack([tmp_path])
    assert "duplicate rule id" in caught.value.errors[0].reason
    assert caught.value.errors[0].line == 2


def test_shipped_pack_validates_and_lists_every_rule():
    report = rules_report()
    assert report.ok, report.errors
    kinds = sorted({r.kind for r in report.rules})
    assert kinds == ["event", "event_count", "temporal_ordered", "value_count"]
    alerting = [r.title for r in report.rules if r.alerts]
    assert len(alerting) == 13
    assert {"Mass customer access", "Credential stuffing", "Second factor removed",
            "Account-takeover chain on one customer"} <= set(alerting)


def test_sigma_filter_documents_are_refused(tmp_path):
    text = GOOD + (
        "---\ntitle: F\nid: 44444444-4444-4444-8444-444444444444\nlogsource:\n"
        "  product: safeguard\nfilter:\n  rules:\n    - x\n  sel:\n    outcome: failure\n"
        "  condition: not sel\n")
    errors = refused(tmp_path, text)
    assert [(e.line, "filter documents are not supported" in e.reason) for e in errors] == [
        (15, True)]

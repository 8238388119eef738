"""Single-event Sigma matching over plain event dicts (R-OPS-6; docs/detection.md, Matching)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safeguard.detection.engine import DetectionEngine

from .helpers import ev, pack, rule


def fires(detection: str, event: dict) -> bool:
    engine = DetectionEngine(pack(rule(detection)), ueba_enabled=False)
    return bool(engine.process([event]))


@pytest.mark.parametrize(("detection", "event", "expected"), [
    # plain equality is case-insensitive
    ("  s:\n    action: Customer.Viewed\n  condition: s\n", ev(1, "customer.viewed"), True),
    ("  s:\n    action|cased: Customer.Viewed\n  condition: s\n", ev(1, "customer.viewed"),
     False),
    ("  s:\n    action|contains: reveal\n  condition: s\n", ev(1, "customer.revealed"), True),
    ("  s:\n    action|startswith: vault.\n  condition: s\n", ev(1, "vault.detokenized"), True),
    ("  s:\n    action|endswith: .viewed\n  condition: s\n", ev(1, "case.viewed"), True),
    ("  s:\n    action|endswith: .viewed\n  condition: s\n", ev(1, "case.viewed_x"), False),
    ("  s:\n    user_agent|re: '^curl/\\d'\n  condition: s\n", ev(1, "a", ua="curl/8.1"), True),
    ("  s:\n    user_agent|re: '^curl/\\d'\n  condition: s\n", ev(1, "a", ua="xcurl/8"), False),
    ("  s:\n    source_ip|cidr: 203.0.113.0/24\n  condition: s\n", ev(1, "a", ip="203.0.113.9"),
     True),
    ("  s:\n    source_ip|cidr: 203.0.113.0/24\n  condition: s\n", ev(1, "a", ip="203.0.114.9"),
     False),
    ("  s:\n    source_ip|cidr: 203.0.113.0/24\n  condition: s\n", ev(1, "a", ip=None), False),
    # null: missing or null field
    ("  s:\n    source_ip: null\n  condition: s\n", ev(1, "a", ip=None), True),
    ("  s:\n    data.nothing: null\n  condition: s\n", ev(1, "a"), True),
    ("  s:\n    source_ip: null\n  condition: s\n", ev(1, "a"), False),
    # value lists are OR; |all makes them AND; list fields match on any element
    ("  s:\n    action:\n      - x.y\n      - customer.viewed\n  condition: s\n",
     ev(1, "customer.viewed"), True),
    ("  s:\n    user_agent|contains|all:\n      - Linux\n      - Firefox\n  condition: s\n",
     ev(1, "a", ua="Mozilla (X11; Linux) Firefox/130"), True),
    ("  s:\n    user_agent|contains|all:\n      - Linux\n      - Firefox\n  condition: s\n",
     ev(1, "a", ua="Mozilla (Windows) Firefox/130"), False),
    ("  s:\n    context.subject_flags: vip\n  condition: s\n",
     ev(1, "a", context={"subject_flags": ["employee", "vip"]}), True),
    ("  s:\n    context.subject_flags: vip\n  condition: s\n",
     ev(1, "a", context={"subject_flags": []}), False),
    # numbers and booleans
    ("  s:\n    data.count|gte: 100\n  condition: s\n", ev(1, "a", data={"count": 100}), True),
    ("  s:\n    data.count|gte: 100\n  condition: s\n", ev(1, "a", data={"count": 99}), False),
    ("  s:\n    data.count: 5\n  condition: s\n", ev(1, "a", data={"count": "5"}), True),
    ("  s:\n    context.on_shift: false\n  condition: s\n", ev(1, "a", context={"on_shift": False}),
     True),
    ("  s:\n    context.on_shift: false\n  condition: s\n", ev(1, "a"), False),
    ("  s:\n    source_ip|exists: true\n  condition: s\n", ev(1, "a"), True),
    ("  s:\n    source_ip|exists: true\n  condition: s\n", ev(1, "a", ip=None), False),
    ("  s:\n    data.count|lt: 3\n  condition: s\n", ev(1, "a", data={"count": 2}), True),
    ("  s:\n    data.count|lt: 3\n  condition: s\n", ev(1, "a", data={"count": "x"}), False),
    # field reference
    ("  s:\n    subject.id|fieldref: actor.id\n  condition: s\n",
     ev(1, "role.granted", actor="7", subject=("user", "7")), True),
    ("  s:\n    subject.id|fieldref: actor.id\n  condition: s\n",
     ev(1, "role.granted", actor="7", subject=("user", "8")), False),
    # keyword (no field): any value of the event
    ("  kw:\n    - 'python-requests*'\n  condition: kw\n", ev(1, "a", ua="python-requests/2.3"),
     True),
])
def test_value_matching(detection, event, expected):
    # given a one-rule pack, when the event is evaluated, then the rule fires or not
    assert fires(detection, event) is expected


@pytest.mark.parametrize(("condition", "action", "outcome", "expected"), [
    ("a and b", "customer.viewed", "success", True),
    ("a and b", "customer.viewed", "denied", False),
    ("a and not b", "customer.viewed", "denied", True),
    ("a or b", "x.y", "success", True),
    ("not a and not b", "x.y", "denied", True),
    ("1 of sel_*", "customer.revealed", "denied", True),
    ("all of sel_*", "customer.revealed", "denied", False),
    ("all of sel_*", "customer.revealed", "success", True),
    ("1 of them", "x.y", "success", True),
    ("(a or b) and not sel_x", "customer.viewed", "success", True),
])
def test_condition_logic(condition, action, outcome, expected):
    detection = ("  a:\n    action: customer.viewed\n  b:\n    outcome: success\n"
                 "  sel_x:\n    action: customer.revealed\n  sel_y:\n    outcome: success\n"
                 f"  condition: {condition}\n")
    assert fires(detection, ev(1, action, outcome=outcome)) is expected


@given(hay=st.text(alphabet="abcXYZ._-", max_size=12), needle=st.text(alphabet="abcxyz._",
                                                                       min_size=1, max_size=3))
def test_contains_is_case_insensitive_substring(hay, needle):
    # |contains agrees with Python's substring test on lower-cased text
    detection = f"  s:\n    user_agent|contains: '{needle}'\n  condition: s\n"
    assert fires(detection, ev(1, "a", ua=hay)) is (needle.lower() in hay.lower())


@given(addr=st.ip_addresses(v=4))
def test_cidr_agrees_with_ipaddress(addr):
    detection = "  s:\n    source_ip|cidr: 10.32.0.0/11\n  condition: s\n"
    expected = addr in ipaddress.ip_network("10.32.0.0/11")
    assert fires(detection, ev(1, "a", ip=str(addr))) is expected


def test_rule_index_skips_rules_whose_action_cannot_match():
    # given a rule on customer.viewed, the engine indexes it under that action only
    engine = DetectionEngine(pack(rule("  s:\n    action: customer.viewed\n  condition: s\n")),
                             ueba_enabled=False)
    rule_ = engine.pack.event_rules[0]
    assert rule_.actions == frozenset({"customer.viewed"})
    assert engine.process([ev(1, "case.viewed"), ev(2, "customer.viewed")])[0].evidence == (2,)

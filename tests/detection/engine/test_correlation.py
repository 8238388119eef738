"""Sigma correlations as streaming windows: edges, grouping, checkpoint/restore and replay
(R-OPS-6, R-OPS-9; decision 0203)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from safeguard.detection.engine import DetectionEngine

from .helpers import ev, pack

BASE = """title: Viewed
name: viewed
id: 00000000-0000-4000-8000-00000000000a
logsource:
  product: safeguard
detection:
  sel:
    action: customer.viewed
  condition: sel
"""
FAILED = """title: Failed
name: failed
id: 00000000-0000-4000-8000-00000000000b
logsource:
  product: safeguard
detection:
  sel:
    action: auth.login_failed
  condition: sel
"""
CHANGED = """title: Changed
name: changed
id: 00000000-0000-4000-8000-00000000000c
logsource:
  product: safeguard
detection:
  sel:
    action: customer.approval_granted
  condition: sel
"""


def corr(kind: str, rules: list[str], group: list[str], span: str, condition: str) -> str:
    return (f"title: C\nid: 00000000-0000-4000-8000-0000000000cc\ncorrelation:\n  type: {kind}\n"
            f"  rules:\n" + "".join(f"    - {r}\n" for r in rules)
            + "  group-by:\n" + "".join(f"    - {g}\n" for g in group)
            + f"  timespan: {span}\n" + condition + "level: high\n")


def count_pack(n: int = 3, span: str = "1m"):
    return pack(BASE, corr("event_count", ["viewed"], ["actor.id"], span,
                           f"  condition:\n    gte: {n}\n"))


def engine(p) -> DetectionEngine:
    return DetectionEngine(p, ueba_enabled=False)


def test_event_count_fires_when_the_window_is_exactly_the_timespan():
    # given 3 views at 0 s, 30 s and exactly 60 s: the first is still inside a 1 minute window
    findings = engine(count_pack()).process(
        [ev(1, "customer.viewed", secs=0), ev(2, "customer.viewed", secs=30),
         ev(3, "customer.viewed", secs=60)])
    assert [(f.entity, f.evidence) for f in findings] == [("user:7", (1, 2, 3))]
    assert findings[0].explanation.startswith("3 events of 'Viewed' for user:7 within 1 min")


def test_event_count_does_not_fire_one_microsecond_past_the_timespan():
    findings = engine(count_pack()).process(
        [ev(1, "customer.viewed", secs=0), ev(2, "customer.viewed", secs=30),
         ev(3, "customer.viewed", secs=60.000001)])
    assert findings == []


def test_groups_are_counted_apart_and_events_without_the_group_value_are_ignored():
    events = [ev(1, "customer.viewed", actor="1"), ev(2, "customer.viewed", actor="2"),
              ev(3, "customer.viewed", actor="1"), ev(4, "customer.viewed", actor="2")]
    none = dict(ev(5, "customer.viewed"), actor={"kind": "system"})  # no actor.id
    assert engine(count_pack()).process([*events, none]) == []
    found = engine(count_pack()).process([*events, ev(6, "customer.viewed", actor="2")])
    assert [(f.entity, f.evidence) for f in found] == [("user:2", (2, 4, 6))]


def test_value_count_counts_distinct_values_and_forgets_what_left_the_window():
    p = pack(FAILED, corr("value_count", ["failed"], ["source_ip"], "10m",
                          "  condition:\n    gte: 3\n    field: data.identifier\n"))
    same = [ev(i, "auth.login_failed", secs=i, data={"identifier": "a"}) for i in range(1, 6)]
    assert engine(p).process(same) == []
    spread = [ev(1, "auth.login_failed", secs=0, data={"identifier": "a"}),
              ev(2, "auth.login_failed", secs=100, data={"identifier": "b"}),
              ev(3, "auth.login_failed", secs=650, data={"identifier": "c"}),  # 'a' left
              ev(4, "auth.login_failed", secs=651, data={"identifier": "c"}),
              ev(5, "auth.login_failed", secs=652, data={"identifier": "d"})]
    found = engine(p).process(spread)
    assert [(f.entity, f.evidence) for f in found] == [("ip:192.0.2.10", (2, 3, 4, 5))]
    assert found[0].explanation.startswith("3 distinct data.identifier values in 4 events")


def test_temporal_ordered_needs_the_order_and_the_window():
    p = pack(FAILED, CHANGED, corr("temporal_ordered", ["failed", "changed"], ["subject.id"],
                                   "1h", ""))
    in_order = [ev(1, "auth.login_failed", secs=0), ev(2, "customer.approval_granted", secs=3600)]
    reversed_ = [ev(1, "customer.approval_granted", secs=0), ev(2, "auth.login_failed", secs=10)]
    too_late = [ev(1, "auth.login_failed", secs=0), ev(2, "customer.approval_granted", secs=3601)]
    assert [f.evidence for f in engine(p).process(in_order)] == [(1, 2)]
    assert engine(p).process(reversed_) == []
    assert engine(p).process(too_late) == []
    # plain temporal accepts any order
    q = pack(FAILED, CHANGED, corr("temporal", ["failed", "changed"], ["subject.id"], "1h", ""))
    assert [f.evidence for f in engine(q).process(reversed_)] == [(1, 2)]


def test_checkpoint_is_json_and_a_replay_after_a_crash_raises_nothing_twice():
    # given an engine that saw half a burst and checkpointed (with the cursor, atomically)
    events = [ev(i, "customer.viewed", secs=i) for i in range(1, 11)]
    first = engine(count_pack())
    assert first.process(events[:2]) == []
    saved = json.loads(json.dumps(first.checkpoint()))
    assert first.process(events[2:]) != []  # the run that "crashed" before committing
    # when a fresh engine restores and the source replays from an earlier seq (at least once)
    second = engine(count_pack())
    second.restore(saved)
    replayed = second.process(events)  # seq 1-2 again, then the rest
    # then the findings are exactly those of an uninterrupted run, and feeding again adds none
    assert [f.dedup_key for f in replayed] == [
        f.dedup_key for f in engine(count_pack()).process(events)]
    assert second.process(events) == []


def test_the_same_burst_in_one_window_gives_one_dedup_key():
    # two bursts inside the same window index: the second is suppressed, not raised again
    events = [ev(i, "customer.viewed", secs=i) for i in range(1, 7)]
    found = engine(count_pack(span="1h")).process(events)
    assert len(found) == 1
    assert found[0].evidence == (1, 2, 3)


@settings(max_examples=40, deadline=None)
@given(times=st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=60),
       cut=st.integers(min_value=0, max_value=60))
def test_checkpoint_anywhere_gives_the_same_findings(times, cut):
    events = [ev(i + 1, "customer.viewed", secs=t, actor=str(t % 3))
              for i, t in enumerate(sorted(times))]
    whole = engine(count_pack()).process(events)
    a = engine(count_pack())
    head = a.process(events[:cut])
    b = engine(count_pack())
    b.restore(json.loads(json.dumps(a.checkpoint())))
    assert [f.dedup_key for f in head + b.process(events)] == [f.dedup_key for f in whole]


def test_temporal_with_a_count_needs_only_that_many_of_its_rules():
    p = pack(BASE, FAILED, CHANGED, corr("temporal", ["viewed", "failed", "changed"],
                                         ["subject.id"], "1h", "  condition:\n    gte: 2\n"))
    found = engine(p).process([ev(1, "auth.login_failed", secs=0),
                               ev(2, "customer.viewed", secs=10)])
    assert [f.evidence for f in found] == [(1, 2)]
    strict = pack(BASE, FAILED, CHANGED, corr("temporal", ["viewed", "failed", "changed"],
                                              ["subject.id"], "1h", ""))
    assert engine(strict).process([ev(1, "auth.login_failed", secs=0),
                                   ev(2, "customer.viewed", secs=10)]) == []

"""UEBA: hourly baselines against own history and peers; explanations carry the real numbers
(R-OPS-6; decision 0204)."""

from __future__ import annotations

import math
from statistics import median

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safeguard.detection.engine import DetectionEngine, UebaParams
from safeguard.detection.engine.ueba import MAD_SCALE, baseline

from .helpers import ev, pack

EMPTY = pack("""title: Nothing
id: 00000000-0000-4000-8000-0000000000ee
logsource:
  product: safeguard
detection:
  sel:
    action: never.happens
  condition: sel
""")
PEERS = {"user:1": "agent/billing", "user:2": "agent/billing", "user:3": "agent/billing",
         "user:4": "agent/billing"}


class Feed:
    def __init__(self) -> None:
        self.seq = 0
        self.events: list[dict] = []

    def hour(self, actor: str, hour: int, views: int, **kw) -> None:
        """One active hour: a login plus ``views`` customer views spread over it."""
        self.add(actor, hour * 3600 + 1, "auth.login", **kw)
        for i in range(views):
            self.add(actor, hour * 3600 + 2 + i * (3000 / max(views, 1)), "customer.viewed",
                     subject=("customer", f"c{i}"), **kw)

    def add(self, actor: str, secs: float, action: str, **kw) -> None:
        self.seq += 1
        self.events.append(ev(self.seq, action, secs=secs, actor=actor, **kw))


def robust(values: list[int]) -> tuple[float, float]:
    med = median(values)
    return med, max(MAD_SCALE * median([abs(v - med) for v in values]), 1.0)


def first_crossing(own: list[int] | None, peers: list[int], params: UebaParams) -> int:
    """The count at which a burst must fire, computed here from the definition."""
    pm, ps = robust(peers)
    need = max(params.min_counts["views"], math.ceil(pm + params.peer_z_threshold * ps))
    if own is not None:
        om, os_ = robust(own)
        need = max(need, math.ceil(om + params.z_threshold * os_))
    return need


def test_burst_is_explained_with_own_and_peer_medians():
    # given four billing agents with 10 ordinary hours each
    history = {"1": [20, 22, 25, 18, 22, 30, 21, 22, 24, 19], "2": [25] * 10,
               "3": [28, 31, 26, 27, 30, 25, 29, 33, 24, 26], "4": [15, 17, 16, 14, 18] * 2}
    feed = Feed()
    for h in range(10):
        for actor, counts in history.items():
            feed.hour(actor, h, counts[h])
    for actor in ("2", "3", "4"):  # their next hour closes hour 9 into the pool
        feed.add(actor, 10 * 3600 + 5, "auth.login")
    # when agent 1 views 240 customer records in hour 10
    feed.hour("1", 10, 240)
    params = UebaParams()
    findings = DetectionEngine(EMPTY, peer_groups=PEERS, ueba=params).process(feed.events)
    # then exactly one views finding, at the count the definition gives, with the real medians
    views = [f for f in findings if f.rule_id == "ueba.views"]
    assert len(views) == 1
    pooled = [c for counts in history.values() for c in counts]
    count = first_crossing(history["1"], pooled, params)
    own_med, peer_med = median(history["1"]), median(pooled)
    assert views[0].explanation == (
        f"viewed {count} customer records in an hour; own median {own_med:g}, peers "
        f"{peer_med:g} (agent/billing)")
    assert len(views[0].evidence) == count
    assert views[0].entity == "user:1"
    assert views[0].severity == "high"
    om, os_ = robust(history["1"])
    pm, ps = robust(pooled)
    assert views[0].score == round(min((count - om) / os_, (count - pm) / ps), 2)


def test_cold_start_uses_the_peer_baseline():
    feed = Feed()
    for h in range(10):
        for actor in ("1", "2", "3"):
            feed.hour(actor, h, 20 + h % 3)
    for actor in ("1", "2", "3"):
        feed.add(actor, 10 * 3600 + 5, "auth.login")
    # a new agent in the same group whose first hour is a burst
    feed.hour("4", 10, 150)
    params = UebaParams()
    findings = [f for f in DetectionEngine(EMPTY, peer_groups=PEERS, ueba=params).process(
        feed.events) if f.rule_id == "ueba.views"]
    pooled = [20 + h % 3 for h in range(10)] * 3
    count = first_crossing(None, pooled, params)
    assert [f.explanation for f in findings] == [
        (f"viewed {count} customer records in an hour; own history too short (0 active hours), "
        f"peers' median {median(pooled):g} (agent/billing)")]


def test_no_verdict_without_any_history():
    feed = Feed()
    feed.hour("1", 0, 300)
    assert [f for f in DetectionEngine(EMPTY).process(feed.events)
            if f.rule_id.startswith("ueba.")] == []


def test_ordinary_hours_raise_nothing():
    feed = Feed()
    for h in range(30):
        for actor in ("1", "2", "3", "4"):
            feed.hour(actor, h, 20 + (h * int(actor)) % 9)
    assert DetectionEngine(EMPTY, peer_groups=PEERS).process(feed.events) == []


def test_first_seen_address_after_the_learning_period():
    feed = Feed()
    params = UebaParams(first_seen_after_hours=3)
    for h in range(3):
        feed.hour("1", h, 2)
    feed.add("1", 3 * 3600 + 10, "auth.login", ip="203.0.113.50")
    feed.add("1", 3 * 3600 + 20, "auth.login", ip="203.0.113.51")  # same /24: not new
    found = [f for f in DetectionEngine(EMPTY, ueba=params).process(feed.events)
             if f.rule_id.startswith("ueba.first_seen")]
    assert [(f.rule_id, f.evidence, f.explanation) for f in found] == [(
        "ueba.first_seen_address", (feed.seq - 1,),
        ("user:1 acted from address 203.0.113.50 (network 203.0.113.0/24) for the first time; "
        "1 other networks seen over 3 active hours"))]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=500), min_size=1, max_size=40))
def test_baseline_is_median_and_scaled_mad(values):
    base = baseline(values, 1.0)
    med = median(values)
    assert base.median == med
    assert base.scale == max(MAD_SCALE * median([abs(v - med) for v in values]), 1.0)
    assert base.hours == len(values)


def test_settings_mapping_becomes_params_and_typos_are_refused():
    from safeguard.detection.engine import ueba_params

    params = ueba_params({"z_threshold": 5.0, "min_counts": {"views": 80}})
    assert (params.z_threshold, params.min_counts["views"], params.min_counts["reveals"]) == (
        5.0, 80, 12)
    with pytest.raises(ValueError, match="unknown UEBA parameter"):
        ueba_params({"z_treshold": 5})
    with pytest.raises(ValueError, match="unknown metric"):
        ueba_params({"min_counts": {"logins": 3}})

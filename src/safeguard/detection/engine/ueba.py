"""UEBA: each agent's hourly activity against its own history and its peer group (R-OPS-6).

Per entity (a user or an API token acting) and metric (record views, reveals, exports,
detokenizations, failed step-ups) the engine keeps:

- the counts of the entity's completed *active* hours (hours in which it did anything; off-shift
  hours are not zeros of its baseline), the last ``history_hours`` of them;
- a sliding 60-minute window of the metric's events, so a burst is scored as it happens rather
  than when the clock hour closes.

The peer group (role and queue: from the ``peer_groups`` mapping the Django side passes in, else
from the event's ``context.role`` / ``context.queue``) pools its members' hourly counts. Scores are
robust: ``(count - median) / (1.4826 · MAD)`` (the scale floored at ``min_scale``). A finding needs
the count to reach the metric's floor, the peer score to reach ``peer_z_threshold`` and, once the
entity has ``min_history_hours`` of its own, its own score to reach ``z_threshold`` (before that,
cold start: the peer baseline alone decides). Each finding is explained in words with the numbers.

First-seen: a source network (``/24`` for IPv4, ``/64`` for IPv6 by default) or a User-Agent the
entity has not used before, once it has ``first_seen_after_hours`` active hours of history.

All thresholds are parameters (``UebaParams``) the Django side fills from settings
(decision 0204).
"""

from __future__ import annotations

import ipaddress
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from safeguard.detection.engine.contracts import Finding
from safeguard.detection.engine.correlate import when

HOUR = 3600
MISSING_NET = "\0"
MAD_SCALE = 1.4826  # MAD of a normal distribution x this = its standard deviation


@dataclass(frozen=True)
class Metric:
    """What an hourly UEBA metric counts, and how an explanation names it."""

    actions: frozenset[str]
    outcome: str | None  # None: any outcome
    verb: str
    noun: str
    severity: str = "high"


METRICS: dict[str, Metric] = {
    "views": Metric(frozenset({"customer.viewed", "case.viewed"}), "success",
                    "viewed", "customer records"),
    "reveals": Metric(frozenset({"customer.revealed"}), "success", "revealed",
                      "masked customer fields"),
    "exports": Metric(frozenset({"audit.exported", "dsr.access_exported",
                                 "privacy.inventory_exported"}), "success", "exported",
                      "data sets"),
    "detokenizations": Metric(frozenset({"vault.detokenized"}), "success", "detokenized",
                              "card tokens", "critical"),
    "failed_step_ups": Metric(frozenset({"auth.mfa_failed"}), None, "failed",
                              "second-factor checks", "medium"),
}


@dataclass(frozen=True)
class UebaParams:
    """UEBA thresholds; the Django side fills them from its settings through ``ueba_params``."""

    z_threshold: float = 6.0
    peer_z_threshold: float = 6.0
    min_scale: float = 1.0
    min_history_hours: int = 8
    min_peer_hours: int = 24  # a cold entity is judged only against a pool at least this big
    history_hours: int = 720
    peer_history: int = 5000
    min_counts: Mapping[str, int] = field(default_factory=lambda: {
        "views": 60, "reveals": 12, "exports": 3, "detokenizations": 8, "failed_step_ups": 4})
    first_seen_after_hours: int = 16
    first_seen_ipv4_prefix: int = 24
    first_seen_ipv6_prefix: int = 64
    first_seen_memory: int = 64  # networks / user agents remembered per entity
    metrics: Mapping[str, Metric] = field(default_factory=lambda: dict(METRICS))


@dataclass(frozen=True)
class Baseline:
    median: float
    scale: float
    hours: int

    def threshold(self, z: float) -> float:
        return self.median + z * self.scale


def baseline(values: list[int] | deque[int], min_scale: float) -> Baseline:
    """Median and MAD-based scale of hourly counts (empty history: median 0)."""
    if not values:
        return Baseline(0.0, min_scale, 0)
    med = float(median(values))
    mad = float(median([abs(v - med) for v in values]))
    return Baseline(med, max(MAD_SCALE * mad, min_scale), len(values))


def fmt(number: float) -> str:
    return f"{number:.1f}".rstrip("0").rstrip(".") if not float(number).is_integer() \
        else str(int(number))


class _Entity:
    __slots__ = ("active_hours", "cur", "fired", "group", "hist", "hour", "nets", "own", "uas",
                 "win")

    def __init__(self, group: str, metrics: Mapping[str, Metric]) -> None:
        self.group = group
        self.hour = -1
        self.active_hours = 0
        self.cur: dict[str, int] = dict.fromkeys(metrics, 0)
        self.hist: dict[str, list[int]] = {m: [] for m in metrics}
        self.win: dict[str, deque[list[Any]]] = {m: deque() for m in metrics}
        self.fired: dict[str, float] = {}
        self.own: dict[str, Baseline] = {}
        self.nets: dict[str, float] = {}
        self.uas: dict[str, float] = {}


class Ueba:
    """The UEBA detector's state; ``feed`` one event, get its findings."""

    def __init__(self, params: UebaParams | None = None,
                 peer_groups: Mapping[str, str] | None = None) -> None:
        self.params = params or UebaParams()
        self.peer_groups = dict(peer_groups or {})
        self.entities: dict[str, _Entity] = {}
        self.pools: dict[str, dict[str, deque[int]]] = {}
        self._peer_cache: dict[tuple[str, str], tuple[int, Baseline]] = {}
        self._by_action: dict[str, list[tuple[str, Metric]]] = {}
        self._nets: dict[str, str | None] = {}  # address -> its network (a cache)
        for name, metric in self.params.metrics.items():
            for action in metric.actions:
                self._by_action.setdefault(action, []).append((name, metric))

    # --- helpers ------------------------------------------------------------------------------

    def _group_of(self, entity: str, event: Mapping[str, Any]) -> str:
        if entity in self.peer_groups:
            return self.peer_groups[entity]
        ctx = event.get("context")
        if isinstance(ctx, Mapping) and (ctx.get("role") or ctx.get("queue")):
            return f"{ctx.get('role') or '-'}/{ctx.get('queue') or '-'}"
        return "all"

    def _pool(self, group: str) -> dict[str, deque[int]]:
        pool = self.pools.get(group)
        if pool is None:
            pool = self.pools[group] = {m: deque(maxlen=self.params.peer_history)
                                        for m in self.params.metrics}
        return pool

    def peer_baseline(self, group: str, metric: str) -> Baseline:
        """The peer group's baseline for ``metric`` (recomputed only after the pool changed)."""
        cached = self._peer_cache.get((group, metric))
        if cached is None:
            cached = self._peer_cache[(group, metric)] = (
                0, baseline(self._pool(group)[metric], self.params.min_scale))
        return cached[1]

    def own_baseline(self, entity: str, metric: str) -> Baseline:
        e = self.entities[entity]
        base = e.own.get(metric)
        if base is None:
            base = e.own[metric] = baseline(e.hist[metric], self.params.min_scale)
        return base

    def _roll(self, e: _Entity, hour: int) -> None:
        """Close the entity's previous active hour into its history and its peers' pool."""
        if e.hour >= 0:
            pool = self._pool(e.group)
            keep = self.params.history_hours
            for m, count in e.cur.items():
                hist = e.hist[m]
                hist.append(count)
                if len(hist) > keep:
                    del hist[: len(hist) - keep]
                pool[m].append(count)
                self._peer_cache.pop((e.group, m), None)
                e.cur[m] = 0
            e.own.clear()
            e.active_hours += 1
        e.hour = hour

    # --- streaming ----------------------------------------------------------------------------

    def feed(self, event: Mapping[str, Any], ts: float, seq: int) -> list[Finding]:
        actor = event.get("actor")
        if not isinstance(actor, Mapping) or actor.get("kind") not in ("user", "token"):
            return []
        entity = f"{actor.get('kind')}:{actor.get('id')}"
        e = self.entities.get(entity)
        if e is None:
            e = self.entities[entity] = _Entity(self._group_of(entity, event),
                                                self.params.metrics)
        elif entity not in self.peer_groups:
            e.group = self._group_of(entity, event)
        hour = int(ts // HOUR)
        if hour != e.hour:
            self._roll(e, hour)
        out: list[Finding] = []
        out += self._first_seen(entity, e, event, ts, seq)
        for name, metric in self._by_action.get(str(event.get("action")), ()):
            if metric.outcome is not None and event.get("outcome") != metric.outcome:
                continue
            e.cur[name] += 1
            window = e.win[name]
            cut = ts - HOUR
            while window and window[0][0] <= cut:
                window.popleft()
            window.append([ts, seq])
            finding = self._score(entity, e, name, metric, ts)
            if finding is not None:
                out.append(finding)
        return out

    def _score(self, entity: str, e: _Entity, name: str, metric: Metric,
               ts: float) -> Finding | None:
        p = self.params
        count = len(e.win[name])
        if count < p.min_counts.get(name, 1):
            return None
        last = e.fired.get(name)
        if last is not None and ts - last < HOUR:
            return None  # one finding per metric and sliding hour
        peers = self.peer_baseline(e.group, name)
        if count < peers.threshold(p.peer_z_threshold):
            return None
        own = self.own_baseline(entity, name)
        cold = own.hours < p.min_history_hours
        if cold and peers.hours < p.min_peer_hours:
            return None  # no history of its own and too little of its peers: no verdict
        if not cold and count < own.threshold(p.z_threshold):
            return None
        e.fired[name] = ts
        peer_z = (count - peers.median) / peers.scale
        own_z = (count - own.median) / own.scale
        if cold:
            explanation = (f"{metric.verb} {count} {metric.noun} in an hour; own history too "
                           f"short ({own.hours} active hours), peers' median "
                           f"{fmt(peers.median)} ({e.group})")
            score = peer_z
        else:
            explanation = (f"{metric.verb} {count} {metric.noun} in an hour; own median "
                           f"{fmt(own.median)}, peers {fmt(peers.median)} ({e.group})")
            score = min(own_z, peer_z)
        window = list(e.win[name])
        first = window[0][0]
        return Finding(rule_id=f"ueba.{name}", rule_title=f"Unusual volume: {metric.noun}",
                       severity=metric.severity, entity=entity,
                       dedup_key=f"ueba.{name}|{entity}|{int(first // HOUR)}",
                       evidence=tuple(s for _t, s in window), first_evidence_at=when(first),
                       last_evidence_at=when(ts), explanation=explanation,
                       score=round(score, 2) if math.isfinite(score) else None,
                       tags=("attack.collection", "attack.t1213"))

    def _network(self, ip: str) -> str | None:
        cached = self._nets.get(ip, MISSING_NET)
        if cached is not MISSING_NET:
            return cached
        if len(self._nets) > 100_000:
            self._nets.clear()
        net = self._network_of(ip)
        self._nets[ip] = net
        return net

    def _network_of(self, ip: str) -> str | None:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return None
        prefix = self.params.first_seen_ipv4_prefix if addr.version == 4 \
            else self.params.first_seen_ipv6_prefix
        return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))

    def _first_seen(self, entity: str, e: _Entity, event: Mapping[str, Any], ts: float,
                    seq: int) -> list[Finding]:
        out: list[Finding] = []
        learned = e.active_hours >= self.params.first_seen_after_hours
        for kind, raw, seen in (("address", event.get("source_ip"), e.nets),
                                ("user_agent", event.get("user_agent"), e.uas)):
            if not raw:
                continue
            key = self._network(str(raw)) if kind == "address" else str(raw)[:300]
            if key is None:
                continue
            if key in seen:
                seen[key] = ts
                continue
            known = len(seen)
            seen[key] = ts
            if len(seen) > self.params.first_seen_memory:
                oldest = min(seen, key=lambda k: seen[k])
                del seen[oldest]
            if not learned or known == 0:
                continue
            what = f"address {raw} (network {key})" if kind == "address" \
                else f"user agent {str(raw)[:120]!r}"
            out.append(Finding(
                rule_id=f"ueba.first_seen_{kind}",
                rule_title=f"First-seen {kind.replace('_', ' ')}",
                severity="low", entity=entity, dedup_key=f"ueba.first_seen_{kind}|{entity}|{key}",
                evidence=(seq,), first_evidence_at=when(ts), last_evidence_at=when(ts),
                explanation=(f"{entity} acted from {what} for the first time; "
                             f"{known} other {'networks' if kind == 'address' else 'user agents'}"
                             f" seen over {e.active_hours} active hours"),
                tags=("attack.initial_access", "attack.t1078")))
        return out

    # --- checkpoint ---------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {
            "entities": {k: {"group": e.group, "hour": e.hour, "active_hours": e.active_hours,
                             "cur": e.cur, "hist": e.hist,
                             "win": {m: list(w) for m, w in e.win.items()},
                             "fired": e.fired, "nets": e.nets, "uas": e.uas}
                         for k, e in self.entities.items()},
            "pools": {g: {m: list(v) for m, v in pool.items()} for g, pool in self.pools.items()},
        }

    def load(self, state: Mapping[str, Any]) -> None:
        self.entities = {}
        metrics = self.params.metrics
        for key, s in state.get("entities", {}).items():
            e = _Entity(s["group"], metrics)
            e.hour, e.active_hours = int(s["hour"]), int(s["active_hours"])
            for m in metrics:
                e.cur[m] = int(s["cur"].get(m, 0))
                e.hist[m] = [int(v) for v in s["hist"].get(m, [])]
                e.win[m] = deque([list(x) for x in s["win"].get(m, [])])
            e.fired = {k: float(v) for k, v in s["fired"].items()}
            e.nets = {k: float(v) for k, v in s["nets"].items()}
            e.uas = {k: float(v) for k, v in s["uas"].items()}
            self.entities[key] = e
        self.pools = {}
        for g, pool in state.get("pools", {}).items():
            self.pools[g] = {m: deque((int(v) for v in pool.get(m, [])),
                                      maxlen=self.params.peer_history) for m in metrics}
        self._peer_cache.clear()


def ueba_params(overrides: Mapping[str, Any] | None = None) -> UebaParams:
    """UebaParams from a settings mapping (the Django side's); an unknown key, or a floor for
    an unknown metric, is a ValueError, so a typo in settings fails at start-up."""
    overrides = dict(overrides or {})
    known = set(UebaParams.__dataclass_fields__) - {"metrics"}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown UEBA parameter(s): {', '.join(unknown)}; known: "
                         f"{', '.join(sorted(known))}")
    if "min_counts" in overrides:
        floors = {**UebaParams().min_counts, **dict(overrides["min_counts"])}
        bad = sorted(set(floors) - set(METRICS))
        if bad:
            raise ValueError(f"min_counts names unknown metric(s): {', '.join(bad)}")
        overrides["min_counts"] = floors
    return UebaParams(**overrides)

"""The detection engine: a rule pack and UEBA over the audit event stream (the ``Evaluator``).

Feed integrated audit events in ``seq`` order (``process``); it returns the findings they
complete. Events at or below the last processed ``seq`` are skipped, so at-least-once delivery
is harmless; ``checkpoint()`` / ``restore()`` carry the whole state as JSON, and a finding's
``dedup_key`` is stable for the same rule, entity and window (decision 0203), so a replay after a
crash raises nothing twice.

Per event the cost is a dictionary lookup of the rules that can match its ``action`` (plus the
few rules that match any action), each rule's compiled predicate, and O(1) work per correlation
and UEBA metric it feeds: linear in events (decision 0202).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from safeguard.detection.engine.contracts import Finding
from safeguard.detection.engine.correlate import Correlation, event_rule_finding
from safeguard.detection.engine.fields import (
    MISSING,
    actor_entity,
    entity_of,
    event_time,
    getter,
)
from safeguard.detection.engine.rules import EventRule, RulePack
from safeguard.detection.engine.ueba import Ueba, UebaParams

CHECKPOINT_VERSION = 1
SWEEP_EVERY = 900.0  # seconds of event time between sweeps of expired windows


class CheckpointMismatch(ValueError):
    """A checkpoint from another format version; the caller starts fresh or keeps its state."""


class DetectionEngine:
    """Sigma rules (single-event and correlation) plus UEBA, streaming and checkpointed."""

    def __init__(self, pack: RulePack, *, ueba: UebaParams | None = None,
                 peer_groups: Mapping[str, str] | None = None, ueba_enabled: bool = True
                 ) -> None:
        self.pack = pack
        self.last_seq = -1
        self.events_seen = 0
        self._by_action: dict[str, list[EventRule]] = {}
        self._any_action: list[EventRule] = []
        for rule in pack.event_rules:
            if rule.actions is None:
                self._any_action.append(rule)
            else:
                for action in rule.actions:
                    self._by_action.setdefault(action, []).append(rule)
        titles = {r.id: r.title for r in pack.event_rules}
        self._correlations = {c.id: Correlation(c, titles) for c in pack.correlations}
        self._feeds: dict[str, list[Correlation]] = {}
        for corr in self._correlations.values():
            for rid in corr.rule.rules:
                self._feeds.setdefault(rid, []).append(corr)
        self._entity_getters = {r.id: tuple((f, getter(f)) for f in r.entity_fields)
                                for r in pack.event_rules}
        self.ueba = Ueba(ueba, peer_groups) if ueba_enabled else None
        self._emitted: dict[str, float] = {}  # windowed dedup keys -> event time to forget them
        self._next_sweep = 0.0
        self._horizon = max([c.timespan for c in pack.correlations]
                            + [r.dedup_window or 0 for r in pack.event_rules] + [3600])

    # --- the Evaluator protocol ---------------------------------------------------------------

    def process(self, events: Iterable[Mapping[str, Any]]) -> list[Finding]:
        """Evaluate events in seq order; return the findings they complete (deduplicated)."""
        out: list[Finding] = []
        by_action = self._by_action
        any_action = self._any_action
        feeds = self._feeds
        ueba = self.ueba
        for event in events:
            seq = int(event["seq"])
            if seq <= self.last_seq:
                continue
            self.last_seq = seq
            self.events_seen += 1
            ts = event_time(event)
            if ts >= self._next_sweep:
                self._sweep(ts)
            action = str(event.get("action", "")).lower()
            candidates = by_action.get(action)
            for rules in (candidates, any_action):
                if not rules:
                    continue
                for rule in rules:
                    if not rule.predicate(event):
                        continue
                    if rule.output:
                        self._emit(out, event_rule_finding(rule, event, ts, seq,
                                                           self._entity(rule, event)), ts,
                                   rule.dedup_window)
                    for corr in feeds.get(rule.id, ()):
                        finding = corr.feed(rule.id, event, ts, seq)
                        if finding is not None:
                            self._emit(out, finding, ts, corr.rule.timespan)
            if ueba is not None:
                for finding in ueba.feed(event, ts, seq):
                    self._emit(out, finding, ts, 3600 * 24)
        return out

    def checkpoint(self) -> dict[str, Any]:
        """JSON-serialisable state; ``restore`` of it continues exactly where this stopped."""
        return {
            "version": CHECKPOINT_VERSION,
            "pack": self.pack.digest,
            "last_seq": self.last_seq,
            "events_seen": self.events_seen,
            "next_sweep": self._next_sweep,
            "emitted": dict(self._emitted),
            "correlations": {cid: c.state() for cid, c in self._correlations.items()},
            "ueba": self.ueba.state() if self.ueba is not None else None,
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from a checkpoint. Correlations the pack no longer has are dropped; new
        ones start empty (a changed pack keeps the state of the rules it still holds)."""
        if state.get("version") != CHECKPOINT_VERSION:
            raise CheckpointMismatch(f"checkpoint version {state.get('version')!r} is not "
                                     f"{CHECKPOINT_VERSION}")
        self.last_seq = int(state["last_seq"])
        self.events_seen = int(state.get("events_seen", 0))
        self._next_sweep = float(state.get("next_sweep", 0.0))
        self._emitted = {str(k): float(v) for k, v in state.get("emitted", {}).items()}
        saved = state.get("correlations", {})
        for cid, corr in self._correlations.items():
            corr.load(saved.get(cid, {}))
        if self.ueba is not None and state.get("ueba"):
            self.ueba.load(state["ueba"])

    # --- internals ----------------------------------------------------------------------------

    def _entity(self, rule: EventRule, event: Mapping[str, Any]) -> str:
        parts = []
        for name, get in self._entity_getters[rule.id]:
            if name == "actor":
                parts.append(actor_entity(event))
                continue
            value = get(event)
            if value is not MISSING and value is not None:
                parts.append(entity_of(name, event, value))
        return ",".join(parts) or actor_entity(event)

    def _emit(self, out: list[Finding], finding: Finding, ts: float,
              window: int | None) -> None:
        key = finding.dedup_key
        if window:
            if key in self._emitted:
                return
            self._emitted[key] = ts + 2 * window
        out.append(finding)

    def _sweep(self, ts: float) -> None:
        for corr in self._correlations.values():
            corr.sweep(ts)
        self._emitted = {k: v for k, v in self._emitted.items() if v >= ts}
        self._next_sweep = ts + SWEEP_EVERY


def run(pack: RulePack, events: Iterable[Mapping[str, Any]], **kwargs: Any) -> list[Finding]:
    """All findings of ``pack`` over ``events`` from a fresh state (back-tests, benchmarks)."""
    return DetectionEngine(pack, **kwargs).process(events)

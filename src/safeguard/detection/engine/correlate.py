"""Sigma correlation rules as streaming windowed counters (decision 0203).

Each correlation keeps, per group (the values of its ``group-by`` fields), only the matching
events of the last ``timespan``: a deque of (time, seq[, value]). An event costs O(1) amortised
(append, pop what fell out of the window, compare a count); nothing is ever re-read from history.
A periodic sweep drops groups whose window emptied, so memory is bounded by the groups active in
one timespan. When the condition holds the group's window becomes a finding and is cleared, so the
next finding needs a fresh set of events.

Window edges: an event at exactly ``timespan`` seconds before the newest one is still inside.
One finding per group and timespan: a burst that goes on after its finding is not raised again
until a timespan has passed since the finding. Dedup key: ``<rule id>|<entity>|<window index>``,
the window index being the first evidence event's time divided by the timespan; the same burst
replayed gives the same key.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from safeguard.detection.engine.contracts import Finding
from safeguard.detection.engine.fields import MISSING, Getter, entity_of, getter
from safeguard.detection.engine.rules import CorrelationRule, EventRule

Entry = list[Any]  # [time, seq] or [time, seq, value]


def span_text(seconds: int) -> str:
    """``3600`` -> ``1 h``; the unit an analyst wrote, roughly."""
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def when(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


class Correlation:
    """The live state of one correlation rule."""

    def __init__(self, rule: CorrelationRule, titles: Mapping[str, str]) -> None:
        self.rule = rule
        self.titles = titles
        self.explain = rule.explain
        self.groups: dict[str, Any] = {}
        # group -> time until which a new hit is folded into the finding already raised (one
        # finding per group and timespan, however long the burst goes on)
        self.fired: dict[str, float] = {}
        # per event rule: how to read each group-by value (aliases resolved), and which field
        # names the entity
        self._group_getters: dict[str, tuple[tuple[str, Getter], ...]] = {}
        for rid in rule.rules:
            getters = []
            for name in rule.group_by:
                fieldname = rule.aliases.get(name, {}).get(rid, name)
                getters.append((fieldname, getter(fieldname)))
            self._group_getters[rid] = tuple(getters)
        self._value = getter(rule.value_field) if rule.value_field else None

    # --- streaming ----------------------------------------------------------------------------

    def feed(  # noqa: PLR0911, PLR0912, PLR0915 - one hot path per correlation type, inlined
            self, rid: str, event: Mapping[str, Any], ts: float, seq: int) -> Finding | None:
        values = []
        for _fieldname, get in self._group_getters[rid]:
            v = get(event)
            if v is MISSING or v is None:
                return None  # an event without the grouping value cannot join a group
            values.append(str(v))
        key = "\x1f".join(values)
        rule = self.rule
        cut = ts - rule.timespan
        kind = rule.type
        group = self.groups.get(key)
        if kind == "event_count":
            if group is None:
                group = self.groups[key] = deque()
            while group and group[0][0] < cut:
                group.popleft()
            group.append([ts, seq])
            hit = len(group) > rule.threshold if rule.strict else len(group) >= rule.threshold
            if hit:
                entries = list(group)
                del self.groups[key]
                if self._suppressed(key, ts):
                    return None
                return self._finding(rid, event, values, entries, count=len(entries))
            return None
        if kind == "value_count":
            v = self._value(event) if self._value is not None else MISSING
            if v is MISSING or v is None:
                return None
            if group is None:
                group = self.groups[key] = [deque(), {}]
            window, counts = group
            while window and window[0][0] < cut:
                _t, _s, old = window.popleft()
                counts[old] -= 1
                if not counts[old]:
                    del counts[old]
            sv = str(v)
            window.append([ts, seq, sv])
            counts[sv] = counts.get(sv, 0) + 1
            distinct = len(counts)
            hit = distinct > rule.threshold if rule.strict else distinct >= rule.threshold
            if hit:
                entries = list(window)
                del self.groups[key]
                if self._suppressed(key, ts):
                    return None
                return self._finding(rid, event, values, entries, count=len(entries),
                                     distinct=distinct)
            return None
        # temporal, temporal_ordered: one deque per referenced rule
        if group is None:
            group = self.groups[key] = {r: deque() for r in rule.rules}
        for dq in group.values():
            while dq and dq[0][0] < cut:
                dq.popleft()
        group[rid].append([ts, seq])
        if kind == "temporal":
            present = sum(1 for dq in group.values() if dq)
            hit = present > rule.threshold if rule.strict else present >= rule.threshold
        else:
            hit = self._ordered(group)
        if hit:
            entries = sorted((e for dq in group.values() for e in dq), key=lambda e: e[1])
            del self.groups[key]
            if self._suppressed(key, ts):
                return None
            return self._finding(rid, event, values, entries, count=len(entries))
        return None

    def _suppressed(self, key: str, ts: float) -> bool:
        """Whether this group already raised a finding within the last timespan."""
        if self.fired.get(key, float("-inf")) >= ts:
            return True
        self.fired[key] = ts + self.rule.timespan
        return False

    def _ordered(self, group: Mapping[str, deque[Entry]]) -> bool:
        """Whether the window holds one event of each rule in the rule's order (by seq)."""
        last = -1
        for rid in self.rule.rules:
            nxt = next((e[1] for e in group[rid] if e[1] > last), None)
            if nxt is None:
                return False
            last = nxt
        return True

    def sweep(self, now: float) -> None:
        """Drop expired entries and empty groups (bounded memory)."""
        cut = now - self.rule.timespan
        self.fired = {k: until for k, until in self.fired.items() if until >= now}
        for key in list(self.groups):
            group = self.groups[key]
            if self.rule.type == "event_count":
                while group and group[0][0] < cut:
                    group.popleft()
                empty = not group
            elif self.rule.type == "value_count":
                window, counts = group
                while window and window[0][0] < cut:
                    _t, _s, old = window.popleft()
                    counts[old] -= 1
                    if not counts[old]:
                        del counts[old]
                empty = not window
            else:
                for dq in group.values():
                    while dq and dq[0][0] < cut:
                        dq.popleft()
                empty = not any(group.values())
            if empty:
                del self.groups[key]

    # --- findings -----------------------------------------------------------------------------

    def _finding(self, rid: str, event: Mapping[str, Any], values: list[str],
                 entries: list[Entry], *, count: int, distinct: int | None = None) -> Finding:
        rule = self.rule
        entity = self._entity(rid, event, values)
        first, last = entries[0][0], entries[-1][0]
        window = int(first // rule.timespan)
        op = ">" if rule.strict else "≥"
        threshold = int(rule.threshold) if rule.threshold.is_integer() else rule.threshold
        span = span_text(rule.timespan)
        if self.explain:
            explanation = self.explain.format(count=count, distinct=distinct, entity=entity,
                                              timespan=span, threshold=threshold)
        elif rule.type == "event_count":
            explanation = (f"{count} events of {self._titles()} for {entity} within {span} "
                           f"(threshold {op} {threshold})")
        elif rule.type == "value_count":
            explanation = (f"{distinct} distinct {rule.value_field} values in {count} events of "
                           f"{self._titles()} for {entity} within {span} "
                           f"(threshold {op} {threshold})")
        else:
            order = " in this order" if rule.type == "temporal_ordered" else ""
            explanation = f"{self._titles(' → ')} for {entity} within {span}{order}"
        return Finding(rule_id=rule.id, rule_title=rule.title, severity=rule.level,
                       entity=entity, dedup_key=f"{rule.id}|{entity}|{window}",
                       evidence=tuple(e[1] for e in entries), first_evidence_at=when(first),
                       last_evidence_at=when(last), explanation=explanation, tags=rule.tags)

    def _entity(self, rid: str, event: Mapping[str, Any], values: list[str]) -> str:
        """``user:3`` for (actor.kind, actor.id), ``customer:17`` for (subject.type,
        subject.id), ``ip:...`` for source_ip, ``<alias>:<value>`` for an alias."""
        names = [f for f, _g in self._group_getters[rid]]
        parts = []
        for alias, fieldname, value in zip(self.rule.group_by, names, values, strict=True):
            if (fieldname == "actor.kind" and "actor.id" in names) or (
                    fieldname == "subject.type" and "subject.id" in names):
                continue
            if alias in self.rule.aliases:
                parts.append(f"{alias}:{value}")
            else:
                parts.append(entity_of(fieldname, event, value))
        return ",".join(parts) or "all"

    def _titles(self, sep: str = " or ") -> str:
        return sep.join(f"'{self.titles[r]}'" for r in self.rule.rules)

    # --- checkpoint ---------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        groups: dict[str, Any]
        if self.rule.type == "event_count":
            groups = {k: list(g) for k, g in self.groups.items()}
        elif self.rule.type == "value_count":
            groups = {k: list(g[0]) for k, g in self.groups.items()}
        else:
            groups = {k: {r: list(dq) for r, dq in g.items()} for k, g in self.groups.items()}
        return {"groups": groups, "fired": dict(self.fired)}

    def load(self, state: Mapping[str, Any]) -> None:
        self.groups = {}
        self.fired = {str(k): float(v) for k, v in state.get("fired", {}).items()}
        for key, saved in state.get("groups", {}).items():
            if self.rule.type == "event_count":
                self.groups[key] = deque([list(e) for e in saved])
            elif self.rule.type == "value_count":
                counts: dict[str, int] = {}
                for e in saved:
                    counts[e[2]] = counts.get(e[2], 0) + 1
                self.groups[key] = [deque([list(e) for e in saved]), counts]
            else:
                self.groups[key] = {r: deque([list(e) for e in saved.get(r, [])])
                                    for r in self.rule.rules}


def event_rule_finding(rule: EventRule, event: Mapping[str, Any], ts: float, seq: int,
                       entity: str) -> Finding:
    """A single-event rule's finding; the dedup key's window is the event or ``dedup-window``."""
    window = str(int(ts // rule.dedup_window)) if rule.dedup_window else f"seq{seq}"
    subject = event.get("subject")
    about = ""
    if isinstance(subject, Mapping) and subject.get("type"):
        about = f" on {subject.get('type')}:{subject.get('id')}"
    if rule.explain:
        explanation = rule.explain.format(
            count=1, distinct=1, entity=entity, timespan="", threshold=1,
            action=event.get("action"), outcome=event.get("outcome"), subject=about[4:],
            source_ip=event.get("source_ip"))
    else:
        explanation = f"{event.get('action')} ({event.get('outcome')}) by {entity}{about}"
    return Finding(rule_id=rule.id, rule_title=rule.title, severity=rule.level, entity=entity,
                   dedup_key=f"{rule.id}|{entity}|{window}", evidence=(seq,),
                   first_evidence_at=when(ts), last_evidence_at=when(ts),
                   explanation=explanation, tags=rule.tags)

"""The contract between the pure engine and the Django side of detection (issue 11).

Events in: plain dicts in the audit log's entry shape (docs/audit.md, "Entry format"), one per
integrated event, in increasing ``seq``::

    {"seq": 42, "at": datetime (aware, UTC), "action": "customers.view", "outcome": "success",
     "actor": {"kind": "user", "id": "3", "label": "ana@example.com"},
     "subject": {"type": "customer", "id": "17"}, "source_ip": "192.0.2.7" | None,
     "user_agent": "..." | None, "request_id": "..." | None, "data": {...}}

Findings out: what a rule concluded, with its evidence; the Django side turns each into an alert,
deduplicated on ``dedup_key`` (so a replay after a crash raises nothing twice).

State: ``checkpoint()`` returns JSON-serialisable state that ``restore()`` accepts; the Django
side stores it in the same transaction as the cursor and the alerts it produced.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

# Sigma's levels, lowest first.
SEVERITIES = ("informational", "low", "medium", "high", "critical")


@dataclass(frozen=True)
class Finding:
    rule_id: str  # the Sigma rule's id (a UUID) or the UEBA detector's stable id
    rule_title: str
    severity: str  # one of SEVERITIES
    entity: str  # what the alert is about: "user:3", "ip:192.0.2.7", "customer:17", "token:9"
    dedup_key: str  # stable for the same rule, entity and window: the alert's unique key
    evidence: tuple[int, ...]  # audit sequence numbers, increasing
    first_evidence_at: datetime  # aware; the detection delay is measured from here
    last_evidence_at: datetime
    explanation: str  # in words, with the numbers ("viewed 240 customer records in an hour; ...")
    score: float | None = None  # UEBA's robust score where there is one
    tags: tuple[str, ...] = field(default_factory=tuple)  # the rule's Sigma tags (attack.t1078...)


class Evaluator(Protocol):
    """What the Django side drives: feed events in order, collect findings, checkpoint."""

    def process(self, events: Iterable[Mapping[str, Any]]) -> list[Finding]: ...

    def checkpoint(self) -> dict[str, Any]: ...

    def restore(self, state: Mapping[str, Any]) -> None: ...

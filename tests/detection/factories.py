"""Factories of the detection tests: alerts stored through the real run path, and an agent who
mass-views customers (the scenario of the shipped "Mass customer access" rule)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from safeguard.accounts import services as accounts
from safeguard.customers import selectors as customer_selectors
from safeguard.detection import services
from safeguard.detection.engine.contracts import Finding
from tests.customers.factories import grant_scope, make_customer, principal
from tests.factories import SYSTEM, make_user

_n = iter(range(1, 10**9))


def finding(**overrides: Any) -> Finding:
    """A finding as the engine would emit it (times default to ten minutes ago)."""
    n = next(_n)
    at = overrides.pop("at", timezone.now() - timedelta(minutes=10))
    values: dict[str, Any] = {
        "rule_id": "rule-a", "rule_title": "Rule A", "severity": "high",
        "entity": f"user:{900000 + n}", "dedup_key": f"rule-a:user:{900000 + n}:w0",
        "evidence": (n,), "first_evidence_at": at, "last_evidence_at": at,
        "explanation": "did something 3 times; threshold 2", "score": None, "tags": (),
    }
    values.update(overrides)
    return Finding(**values)


class ListEvaluator:
    """An Evaluator that returns the findings it was given once, on its first batch (for tests
    of the storage side: dedup, suppression, clocks); checkpoints whether it has fired."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        self.fired = False

    def process(self, events: Any) -> list[Finding]:
        list(events)
        if self.fired:
            return []
        self.fired = True
        return list(self.findings)

    def checkpoint(self) -> dict[str, Any]:
        return {"fired": self.fired}

    def restore(self, state: Any) -> None:
        self.fired = bool(state.get("fired"))


def store(*findings: Finding) -> list[int]:
    """Store findings through run_once (the only write path of alerts); returns alert ids."""
    from safeguard.audit.contracts import Actor
    from safeguard.audit.services import record
    from safeguard.detection.models import Alert

    record(action="test.tick", actor=Actor.system("tests"))  # at least one event to evaluate
    services.run_once(evaluator=ListEvaluator(list(findings)), name=f"test-{next(_n)}")
    keys = [f.dedup_key for f in findings]
    return list(Alert.objects.filter(dedup_key__in=keys).order_by("id").values_list("id",
                                                                                   flat=True))


def mass_viewer(count: int = 100, *, via_token: bool = True) -> tuple[Any, list[Any], str]:
    """An agent with ``count`` customers in scope who opens every one of them (through an API
    token of their own by default, as scripted harvesting would). Returns (user, customers,
    token secret)."""
    agent = make_user(roles=("agent",))
    customers = [make_customer(email=f"c{i}@example.net") for i in range(count)]
    grant_scope(agent, *(c.id for c in customers))
    secret = ""
    if via_token:
        issued = accounts.token_issue(actor=SYSTEM, user_id=agent.id, name="script",
                                      scopes=["customers.view"], expires_in_days=7)
        secret = issued.secret
    return agent, customers, secret


def view_all(agent: Any, customers: list[Any], *, token_id: int | None = None) -> None:
    """The agent opens each customer (the audited read path of the customers app)."""
    viewer = principal(agent, via="token" if token_id else "session", token_id=token_id)
    for c in customers:
        customer_selectors.customer_get(viewer=viewer, customer_id=c.id)


def aware(text: str) -> datetime:
    return datetime.fromisoformat(text)

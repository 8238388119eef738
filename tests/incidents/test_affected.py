"""Affected customers (R-IR-6): the list computed for a user, a token or a source address
matches the audit log exactly on generated data; the page and CSV need step-up."""

from __future__ import annotations

import csv
import io
import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from safeguard.audit import context
from safeguard.audit import selectors as audit_selectors
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.incidents import selectors
from safeguard.incidents.contracts import IncidentError
from safeguard.incidents.selectors import Suspect
from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
ANALYST = Actor(kind="user", id="999", label="analyst@example.test")


def _generate(seed: int, user_id: int, token_id: int) -> None:
    """Reads and non-reads by the suspect (as user and via token), a bystander, two addresses,
    inside and outside the window, successes and denials."""
    rng = random.Random(seed)
    customers = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(12)]
    actors = [Actor(kind="user", id=str(user_id), label="suspect@example.test"),
              Actor(kind="token", id=str(token_id), label="suspect@example.test"),
              Actor(kind="user", id=str(user_id + 1000), label="other@example.test")]
    for minute in range(0, 60 * 30, 11):  # 30 hours of events, every 11 minutes
        cust = rng.choice(customers)
        actor = rng.choice(actors)
        ip = rng.choice(["198.51.100.7", "203.0.113.9"])
        kind = rng.choice(["viewed", "revealed", "searched", "case", "updated", "denied"])
        with time_machine.travel(START + timedelta(minutes=minute), tick=False):
            token = context.bind(context.RequestContext(source_ip=ip))
            try:
                if kind == "viewed":
                    audit.record(action="customer.viewed", actor=actor,
                                 subject=("customer", cust), data={"what": "profile",
                                                                   "revealed": []})
                elif kind == "revealed":
                    audit.record(action="customer.revealed", actor=actor,
                                 subject=("customer", cust), data={"field": "phone"})
                elif kind == "searched":
                    found = rng.sample(customers, 2)
                    audit.record(action="customer.searched", actor=actor,
                                 data={"by": "email", "count": 2,
                                       "customer_ids": [str(c) for c in found]})
                elif kind == "case":
                    audit.record(action="case.viewed", actor=actor, subject=("case", minute),
                                 data={"number": minute, "customer": cust.hex[:12]})
                elif kind == "updated":
                    audit.record(action="customer.updated", actor=actor,
                                 subject=("customer", cust))
                else:
                    audit.record(action="customer.viewed", actor=actor, outcome="denied",
                                 subject=("customer", cust))
            finally:
                context.reset(token)


def _oracle(match, since: datetime, until: datetime) -> dict[str, list[int]]:  # type: ignore[no-untyped-def]
    """Straight from the whole log: customer (full id) -> sequence numbers of the reads."""
    reads: dict[str, list[int]] = defaultdict(list)
    prefix_to_full: dict[str, str] = {}
    for ev in audit_selectors.event_export():
        if ev.subject_type == "customer":
            prefix_to_full[uuid.UUID(ev.subject_id).hex[:12]] = ev.subject_id
        for c in ev.data.get("customer_ids") or []:
            prefix_to_full[uuid.UUID(c).hex[:12]] = c
    for ev in audit_selectors.event_export():
        if not (since <= ev.at < until) or ev.outcome != "success" or not match(ev):
            continue
        if ev.action in ("customer.viewed", "customer.revealed"):
            reads[ev.subject_id].append(ev.seq)
        elif ev.action == "customer.searched":
            for c in ev.data["customer_ids"]:
                reads[c].append(ev.seq)
        elif ev.action == "case.viewed":
            reads[ev.data["customer"]].append(ev.seq)
    # merge a case event's prefix into the full id seen in the same window, as the list does
    for short in [k for k in reads if len(k) == 12]:
        full = prefix_to_full.get(short)
        if full in reads:
            reads[full].extend(reads.pop(short))
    return {k: sorted(v) for k, v in reads.items()}


@pytest.mark.parametrize("seed", [1, 2])
def test_the_list_matches_the_audit_log_exactly(seed: int) -> None:
    suspect = make_user(roles=("agent",))
    token_id = 77
    _generate(seed, suspect.id, token_id)
    since, until = START + timedelta(hours=3), START + timedelta(hours=20)
    cases = [
        (Suspect("user", str(suspect.id)), lambda ev: ev.actor.kind == "user"
         and ev.actor.id == str(suspect.id)),
        (Suspect("token", str(token_id)), lambda ev: ev.actor.kind == "token"
         and ev.actor.id == str(token_id)),
        (Suspect("ip", "198.51.100.7"), lambda ev: ev.source_ip == "198.51.100.7"),
    ]
    for who, match in cases:
        got = selectors.affected_customers(actor=ANALYST, suspect=who, since=since, until=until)
        expected = _oracle(match, since, until)
        assert expected, "the generated data must contain reads in the window"
        assert {a.customer: list(a.event_seqs) for a in got} == expected
        assert all(a.reads == len(a.event_seqs) for a in got)
        assert all(since <= a.first_read <= a.last_read < until for a in got)
    listed = audit_selectors.event_list(action="incident.affected_listed")
    assert [e.data["suspect"] for e in reversed(listed)] == ["user", "token", "ip"]


def test_data_categories_and_revealed_fields_come_through() -> None:
    cust = uuid.uuid4()
    actor = Actor(kind="user", id="5", label="x@example.test")
    with time_machine.travel(START, tick=False):
        audit.record(action="customer.revealed", actor=actor, subject=("customer", cust),
                     data={"field": "phone"})
    (row,) = selectors.affected_customers(actor=ANALYST, suspect=Suspect("user", "5"),
                                          since=START - timedelta(minutes=1),
                                          until=START + timedelta(minutes=1))
    assert row.customer == str(cust)
    assert row.fields_revealed == ("phone",)
    assert "user.contact.phone_number" in row.data_categories


def test_bad_suspect_or_window_is_refused() -> None:
    with pytest.raises(IncidentError, match="by its number"):
        selectors.affected_customers(actor=ANALYST, suspect=Suspect("user", "abc"),
                                     since=START, until=START + timedelta(hours=1))
    with pytest.raises(IncidentError, match="window"):
        selectors.affected_customers(actor=ANALYST, suspect=Suspect("ip", "1.2.3.4"),
                                     since=START, until=START)


def test_page_and_csv_need_step_up_and_give_the_same_rows() -> None:
    cust = uuid.uuid4()
    with time_machine.travel(START, tick=False):
        audit.record(action="customer.viewed", actor=Actor(kind="user", id="5", label="x"),
                     subject=("customer", cust), data={"what": "profile", "revealed": []})
    officer = make_user(roles=("privacy_officer",))
    client = signed_in_client(officer)
    query = {"kind": "user", "value": "5", "since": "2026-03-01T00:00",
             "until": "2026-03-02T00:00"}
    page = client.get("/incidents/affected/", query)
    assert page.status_code == 200
    assert str(cust) in page.content.decode()
    body = client.get("/incidents/affected.csv", query).content.decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == "customer"
    assert [r[0] for r in rows[1:]] == [str(cust)]
    assert rows[1][3] == "1"
    assert client.get("/incidents/affected.csv", {"kind": "user"}).status_code == 400
    stale = signed_in_client(officer, mfa_at=0)
    assert stale.get("/incidents/affected/", query).status_code == 302
    agent = signed_in_client(make_user(roles=("agent",)))
    assert agent.get("/incidents/affected/", query).status_code == 403

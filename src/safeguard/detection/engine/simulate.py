# Loops that append one event per step read as the story they tell; comprehensions would not.
# ruff: noqa: PERF401
"""A simulated contact-centre month of audit events, with injected attacks and ground truth.

The evaluation harness (bench/detection/bench_detection_eval.py) and the rule-pack tests run the
engine over it. Deterministic: one seeded ``random.Random``. The centre is shaped like the demo
centre (ops/demo): the same four queues (billing, technical, fraud, general; fraud staffed
around the clock), agents and supervisors on shifts, five working days a week, and per agent hour
about 20 customer-record views, 6 case views, 1.5 reveals, 2 searches (fraud agents also
detokenize cards). Events carry the ``context`` enrichment the Django side adds (role, queue,
on_shift, assigned, subject_flags, in_change_window, token_owner_human), so the rules that need
facts outside the log can be evaluated (docs/detection.md, "Enrichment").

``Scenario`` instances are attacks mixed into the normal traffic; ``evaluate`` scores findings
against them: per scenario recall and time to detect, and false positives per 1,000 agent-days.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from statistics import median
from typing import Any

from safeguard.detection.engine.contracts import Finding

QUEUES = ("billing", "technical", "fraud", "general")
# (name, first hour, hours); fraud also works the night.
SHIFTS = {"early": (6, 8), "day": (9, 8), "late": (14, 8), "night": (22, 8)}


@dataclass(frozen=True)
class SimConfig:
    """The simulated centre. Rates are per agent and working hour (Poisson)."""

    agents: int = 40
    days: int = 30
    start: datetime = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
    seed: int = 20261102
    customers: int = 5000
    vip_share: float = 0.01
    views_per_hour: float = 20.0
    case_views_per_hour: float = 6.0
    reveals_per_hour: float = 1.5
    searches_per_hour: float = 2.0
    detokenize_per_hour: float = 0.6  # fraud queue only
    approvals_per_day: float = 4.0  # granted by each supervisor
    typo_login_per_day: float = 0.08
    mfa_failed_per_day: float = 0.03
    # Benign look-alikes (the false positives a real centre has): unrostered overtime, a login
    # from a new network (home working), a browser update.
    overtime_per_agent_day: float = 0.02
    new_network_per_agent_day: float = 0.01
    browser_updates_share: float = 0.1
    scenarios: tuple[str, ...] = ()  # names from SCENARIOS, each injected ``repeat`` times
    repeat: int = 3


@dataclass
class Instance:
    """One injected attack: which detectors should catch it, and its events' seqs."""

    scenario: str
    expected: frozenset[str]  # rule ids (Sigma ids or ueba.*) any of which counts as caught
    start: datetime
    seqs: list[int] = field(default_factory=list)


@dataclass
class Agent:
    id: int
    role: str
    queue: str
    shift: str
    ip: str
    ua: str


# Rule ids of the shipped pack (src/safeguard/detection/rules/).
R_MASS = "d1905858-c750-40cb-9c2e-a7df6cbf50e2"
R_EXPORT = "58ef6e99-8ca2-40fd-931d-eeee8f1b8764"
R_LISTING = "f6f58e94-6603-4a29-99c7-4effe8642097"
R_REVEAL = "a707d230-29b4-4904-b2fc-2b759d40be03"
R_DETOK = "55195b91-6069-4dd1-8041-e0183ec2329a"
R_SHIFT = "db44fe16-a3ba-422a-b295-47dfc48f9096"
R_ATO = "e8292e63-a62b-48d0-8870-868a640d0aca"
R_STUFFING = "2efdd2e4-9101-490f-b019-ca70cf80225f"
R_SELF_GRANT = "80fc9d5b-2f54-464f-bbf2-6200a4090be9"
R_OUT_WINDOW = "33168ff9-3802-4638-9a28-931e3f02211d"
R_MFA = "4a33e8ab-0b74-4605-b4f6-92bdf14d9d48"
R_HUMAN_API_READS = "5e727eb2-00d4-4f0f-bc04-fed0f779d4e9"
R_VIP = "aa025d61-fda6-4b49-be12-f4cd2d97a7e7"

SCENARIOS: dict[str, frozenset[str]] = {
    "mass_access": frozenset({R_MASS, "ueba.views"}),
    "bulk_export": frozenset({R_EXPORT, "ueba.exports"}),
    "bulk_listing": frozenset({R_LISTING}),
    "reveal_spike": frozenset({R_REVEAL, "ueba.reveals"}),
    "detokenize_spike": frozenset({R_DETOK, "ueba.detokenizations"}),
    "outside_shift": frozenset({R_SHIFT}),
    "ato_chain": frozenset({R_ATO}),
    "credential_stuffing": frozenset({R_STUFFING}),
    "self_grant": frozenset({R_SELF_GRANT}),
    "grant_outside_window": frozenset({R_OUT_WINDOW}),
    "mfa_removed": frozenset({R_MFA}),
    "token_human_reads": frozenset({R_HUMAN_API_READS}),
    "vip_access": frozenset({R_VIP}),
    "new_device": frozenset({"ueba.first_seen_address", "ueba.first_seen_user_agent"}),
    "ueba_views": frozenset({"ueba.views"}),  # a volume burst below the mass-access rule
}

Raw = dict[str, Any]


class Simulator:
    """Generates the month day by day (bounded memory); ``truth`` fills as it goes."""

    def __init__(self, config: SimConfig) -> None:
        self.c = config
        self.rng = random.Random(config.seed)  # noqa: S311 - a reproducible simulation
        rng = self.rng
        self.agents: list[Agent] = []
        for i in range(config.agents):
            queue = QUEUES[i % len(QUEUES)]
            role = "supervisor" if i % 10 == 9 else "agent"
            shifts = ("early", "late", "night") if queue == "fraud" else ("early", "day", "late")
            self.agents.append(Agent(
                id=100 + i, role=role, queue=queue, shift=shifts[(i // len(QUEUES)) % 3],
                ip=f"198.18.{i // 200}.{i % 200 + 10}",
                ua=f"Mozilla/5.0 (X11; Linux x86_64) Firefox/{128 + i % 4}.0"))
        self.admin = Agent(id=10, role="admin", queue="-", shift="day", ip="198.18.9.1",
                           ua="Mozilla/5.0 (Macintosh) Safari/605.1")
        self.auditor = Agent(id=11, role="auditor", queue="-", shift="day", ip="198.18.9.2",
                             ua="Mozilla/5.0 (Windows NT 10.0) Edge/130.0")
        self.vips = {f"c{n:05d}" for n in rng.sample(range(config.customers),
                                                     max(1, int(config.customers
                                                                * config.vip_share)))}
        self.truth: list[Instance] = []
        self.agent_days = 0
        self._plan = self._plan_attacks()

    # --- plan ---------------------------------------------------------------------------------

    def _plan_attacks(self) -> dict[int, list[tuple[str, int]]]:
        """day -> [(scenario, instance number)], spread over the month's working days."""
        plan: dict[int, list[tuple[str, int]]] = {}
        slots = [d for d in range(self.c.days) if (self.c.start + timedelta(days=d)).weekday() < 5]
        if len(slots) > 3:
            slots = slots[2:]  # the first two working days are the baselines' learning time
        if not slots:
            slots = list(range(self.c.days))
        step = max(1, len(slots) // max(1, self.c.repeat))  # a scenario's instances apart
        for s_i, name in enumerate(self.c.scenarios):
            for k in range(self.c.repeat):
                day = slots[(s_i * 2 + k * step) % len(slots)]
                plan.setdefault(day, []).append((name, k))
        return plan

    def works(self, agent: Agent, day: int) -> bool:
        return (day + agent.id) % 7 not in (0, 1)

    def on_shift(self, agent: Agent, at: datetime) -> bool:
        first, hours = SHIFTS[agent.shift]
        day0 = datetime(at.year, at.month, at.day, tzinfo=UTC)
        for back in (0, 1):
            begin = day0 - timedelta(days=back) + timedelta(hours=first)
            if begin <= at < begin + timedelta(hours=hours):
                return self.works(agent, (begin - self.c.start).days)
        return False

    # --- events -------------------------------------------------------------------------------

    def _event(  # noqa: PLR0913 - one keyword per audit entry field
            self, at: datetime, who: Agent | None, action: str, *, outcome: str = "success",
               subject: tuple[str, str] | None = None, data: Mapping[str, Any] | None = None,
               context: Mapping[str, Any] | None = None, ip: str | None = None,
               ua: str | None = None, kind: str = "user") -> Raw:
        actor = {"kind": "anonymous", "id": "", "label": ""} if who is None else {
            "kind": kind, "id": str(who.id), "label": f"u{who.id}@centre.example"}
        ctx: dict[str, Any] = {}
        if who is not None:
            ctx = {"role": who.role, "queue": who.queue, "on_shift": self.on_shift(who, at)}
        if subject and subject[0] == "customer":
            ctx["subject_flags"] = ["vip"] if subject[1] in self.vips else []
        ctx.update(context or {})
        return {"at": at, "action": action, "outcome": outcome, "actor": actor,
                "subject": {"type": subject[0], "id": subject[1]} if subject else None,
                "source_ip": ip if ip is not None else (who.ip if who else None),
                "user_agent": ua if ua is not None else (who.ua if who else None),
                "request_id": None, "data": dict(data or {}), "context": ctx}

    def _poisson(self, lam: float) -> int:
        # Knuth's method; lam is small (tens at most).
        limit, k, p = pow(2.718281828459045, -lam), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= limit:
                return k
            k += 1

    def _customer(self) -> str:
        while True:
            cid = f"c{self.rng.randrange(self.c.customers):05d}"
            if cid not in self.vips:
                return cid

    def _agent_hour(self, a: Agent, t0: datetime, out: list[Raw]) -> None:
        rng, c = self.rng, self.c

        def at() -> datetime:
            return t0 + timedelta(seconds=rng.random() * 3600)
        # The customers of this hour's cases: each is opened a few times; a VIP only through a
        # case assigned to the agent.
        hour_customers = []
        for _ in range(max(1, self._poisson(c.case_views_per_hour))):
            vip = rng.random() < 0.02
            cid = rng.choice(sorted(self.vips)) if vip else self._customer()
            hour_customers.append(cid)
            out.append(self._event(at(), a, "case.viewed",
                                   subject=("case", f"k{rng.randrange(10**6)}")))
        for _ in range(self._poisson(c.views_per_hour)):
            cid = rng.choice(hour_customers)
            out.append(self._event(at(), a, "customer.viewed", subject=("customer", cid),
                                   data={"what": "profile", "via": "session", "revealed": []},
                                   context={"assigned": True}))
        for _ in range(self._poisson(c.reveals_per_hour)):
            when = at()
            cid = rng.choice(hour_customers)
            out.append(self._event(when - timedelta(seconds=20), a, "auth.step_up",
                                   subject=("user", str(a.id)), data={"type": "totp"}))
            out.append(self._event(when, a, "customer.revealed", subject=("customer", cid),
                                   data={"field": rng.choice(["email", "phone", "address"])},
                                   context={"assigned": True}))
        for _ in range(self._poisson(c.searches_per_hour)):
            out.append(self._event(at(), a, "customer.searched",
                                   data={"by": "email", "count": rng.randint(0, 3)}))
        if a.queue == "fraud":
            for _ in range(self._poisson(c.detokenize_per_hour)):
                out.append(self._event(at(), a, "vault.detokenized",
                                       subject=("token", f"t{rng.randrange(10**5)}"),
                                       data={"reason": "chargeback review"}))
        if a.role == "supervisor":
            for _ in range(self._poisson(c.approvals_per_day / 8)):
                kind = rng.choice(["email_change", "phone_change", "address_change", "refund"])
                cid = self._customer()
                out.append(self._event(at(), a, "customer.approval_granted",
                                       subject=("customer", cid), data={"kind": kind}))
                if kind == "refund":
                    out.append(self._event(at(), a, "customer.refund_granted",
                                           subject=("customer", cid),
                                           data={"kind": kind, "amount": "25.00"}))
        if rng.random() < 0.3:  # a customer mistypes the one-time code
            out.append(self._event(at(), a, "customer.contact_code_refused", outcome="denied",
                                   subject=("customer", self._customer()),
                                   data={"why": "wrong code"}))

    def _day(self, day: int) -> list[Raw]:
        rng, c = self.rng, self.c
        date = c.start + timedelta(days=day)
        out: list[Raw] = []
        for a in self.agents:
            if not self.works(a, day):
                continue
            self.agent_days += 1
            first, hours = SHIFTS[a.shift]
            begin = date + timedelta(hours=first)
            if rng.random() < c.typo_login_per_day:
                out.append(self._event(begin - timedelta(minutes=3), None, "auth.login_failed",
                                       outcome="failure", ip=a.ip, ua=a.ua,
                                       subject=("user", str(a.id)),
                                       data={"identifier": f"fp{a.id}", "known_account": True}))
            if rng.random() < c.browser_updates_share / max(1, c.days):
                a.ua = a.ua.replace("Firefox/", "Firefox/1")  # a new major version
            login_ip = a.ip
            if rng.random() < c.new_network_per_agent_day:
                login_ip = f"198.19.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            out.append(self._event(begin + timedelta(minutes=rng.random() * 5), a, "auth.login",
                                   subject=("user", str(a.id)), ip=login_ip))
            for h in range(hours):
                self._agent_hour(a, begin + timedelta(hours=h), out)
            if rng.random() < c.mfa_failed_per_day:
                out.append(self._event(begin + timedelta(hours=2), a, "auth.mfa_failed",
                                       outcome="failure", subject=("user", str(a.id)),
                                       data={"reauthentication": True}))
            if rng.random() < c.overtime_per_agent_day:
                for m in (5, 12, 20):
                    out.append(self._event(begin + timedelta(hours=hours, minutes=m), a,
                                           "customer.viewed",
                                           subject=("customer", self._customer()),
                                           data={"what": "profile", "via": "session",
                                                 "revealed": []},
                                           context={"assigned": True}))
            out.append(self._event(begin + timedelta(hours=hours, minutes=-2), a, "auth.logout",
                                   subject=("user", str(a.id))))
        if date.weekday() == 2:  # the weekly change window: the admin grants a role
            t = date + timedelta(hours=10)
            out.append(self._event(t, self.admin, "role.granted",
                                   subject=("user", str(self.agents[day % len(self.agents)].id)),
                                   data={"role": "agent"}, context={"in_change_window": True}))
            out.append(self._event(t + timedelta(minutes=5), self.admin, "api_token.created",
                                   subject=("api_token", f"9{day}"),
                                   data={"user": 5, "scopes": ["customers.view"]},
                                   context={"token_owner_human": False}))
        if date.weekday() == 0:  # the auditor's weekly export
            out.append(self._event(date + timedelta(hours=11), self.auditor, "audit.exported",
                                   data={"format": "jsonl"}))
        for name, k in self._plan.get(day, []):
            out += self._attack(name, k, date)
        return out

    # --- attacks ------------------------------------------------------------------------------

    def _working_agent(self, day_date: datetime, k: int, queue: str | None = None) -> Agent:
        day = (day_date - self.c.start).days
        pool = [a for a in self.agents if self.works(a, day) and a.role == "agent"
                and (queue is None or a.queue == queue) and a.shift != "night"
                and sum(self.works(a, d) for d in range(day)) >= 2]  # has a history
        return pool[k % len(pool)] if pool else self.agents[0]

    def _attack(self, name: str, k: int, date: datetime) -> list[Raw]:  # noqa: PLR0912, PLR0915
        rng = self.rng
        out: list[Raw] = []
        a = self._working_agent(date, k + len(name), "fraud" if name == "detokenize_spike"
                                else None)
        first, _hours = SHIFTS[a.shift]
        t = date + timedelta(hours=first + 2, minutes=10 + 7 * k)

        def tick(seconds: float) -> datetime:
            return t + timedelta(seconds=seconds)
        if name == "mass_access":
            for i in range(250):
                out.append(self._event(tick(i * 12), a, "customer.viewed",
                                       subject=("customer", self._customer()),
                                       data={"what": "profile", "via": "session", "revealed": []}))
        elif name == "ueba_views":
            base = [self._customer() for _ in range(40)]
            for i in range(90):
                out.append(self._event(tick(i * 30), a, "customer.viewed",
                                       subject=("customer", base[i % 40]),
                                       data={"what": "profile", "via": "session", "revealed": []},
                                       context={"assigned": True}))
        elif name == "bulk_export":
            for i in range(6):
                out.append(self._event(tick(i * 240), self.auditor, "dsr.access_exported",
                                       data={"request": f"r{k}{i}"}))
        elif name == "bulk_listing":
            out.append(self._event(t, a, "customer.searched", data={"by": "city",
                                                                    "count": 180}))
        elif name == "reveal_spike":
            for i in range(40):
                out.append(self._event(tick(i * 60), a, "customer.revealed",
                                       subject=("customer", self._customer()),
                                       data={"field": "email"}, context={"assigned": True}))
        elif name == "detokenize_spike":
            for i in range(15):
                out.append(self._event(tick(i * 80), a, "vault.detokenized",
                                       subject=("token", f"t{rng.randrange(10**5)}"),
                                       data={"reason": "review"}))
        elif name == "outside_shift":
            day = (date - self.c.start).days
            offs = [x for x in self.agents if not self.works(x, day) and x.shift != "night"]
            off = offs[k % len(offs)]
            t = date + timedelta(hours=2, minutes=k)
            for i in range(5):
                out.append(self._event(t + timedelta(seconds=i * 40), off, "customer.viewed",
                                       subject=("customer", self._customer()),
                                       data={"what": "profile", "via": "session", "revealed": []}))
        elif name == "ato_chain":
            cid = self._customer()
            sup = next(x for x in self.agents if x.role == "supervisor")
            out.append(self._event(t, a, "customer.contact_code_refused", outcome="denied",
                                   subject=("customer", cid), data={"why": "wrong code"}))
            out.append(self._event(t + timedelta(hours=2), sup, "customer.approval_granted",
                                   subject=("customer", cid), data={"kind": "email_change"}))
            out.append(self._event(t + timedelta(hours=5), sup, "customer.approval_granted",
                                   subject=("customer", cid), data={"kind": "payout_change"}))
        elif name == "credential_stuffing":
            ip = f"203.0.113.{10 + k}"
            for i in range(30):
                out.append(self._event(tick(i * 9), None, "auth.login_failed",
                                       outcome="failure", ip=ip, ua="python-requests/2.32",
                                       data={"identifier": f"stuffed{k}-{i}",
                                             "known_account": i % 3 == 0}))
        elif name == "self_grant":
            out.append(self._event(t, self.admin, "role.granted",
                                   subject=("user", str(self.admin.id)),
                                   data={"role": "supervisor"},
                                   context={"in_change_window": True}))
        elif name == "grant_outside_window":
            out.append(self._event(t, self.admin, "role.granted", subject=("user", str(a.id)),
                                   data={"role": "supervisor"},
                                   context={"in_change_window": False}))
        elif name == "mfa_removed":
            out.append(self._event(t, a, "mfa.removed", subject=("user", str(a.id)),
                                   data={"type": "totp"}))
        elif name == "token_human_reads":
            tok = f"77{k}"
            out.append(self._event(t, a, "api_token.created", subject=("api_token", tok),
                                   data={"user": a.id, "scopes": ["customers.view"]},
                                   context={"token_owner_human": True}))
            for i in range(20):
                ev = self._event(t + timedelta(hours=3, seconds=i * 5), a, "customer.viewed",
                                 subject=("customer", self._customer()), kind="token",
                                 data={"what": "profile", "via": "token", "revealed": []},
                                 context={"assigned": True})
                ev["actor"]["id"] = tok
                out.append(ev)
        elif name == "vip_access":
            out.append(self._event(t, a, "customer.viewed",
                                   subject=("customer", sorted(self.vips)[k % len(self.vips)]),
                                   data={"what": "profile", "via": "session", "revealed": []},
                                   context={"assigned": False}))
        elif name == "new_device":
            out.append(self._event(t, a, "auth.login", subject=("user", str(a.id)),
                                   ip=("203.0.113", "198.51.100", "192.0.2")[k % 3] + f".{200 + k}",
                                   ua=f"Mozilla/5.0 (Android {14 + k})"))
        else:
            raise ValueError(f"unknown scenario {name!r}")
        inst = Instance(name, SCENARIOS[name], min(e["at"] for e in out))
        self.truth.append(inst)
        for e in out:
            e["_instance"] = inst
        return out

    def events(self) -> Iterator[dict[str, Any]]:
        """The month's events in time order, seq from 1, gap-free (a night shift's events wait
        for the next day's batch so the stream never goes back in time)."""
        seq = 0
        pending: list[Raw] = []
        for day in range(self.c.days + 1):
            if day < self.c.days:
                pending += self._day(day)
            cut = self.c.start + timedelta(days=day + 1)
            pending.sort(key=lambda e: e["at"])
            n = len(pending) if day == self.c.days else \
                next((i for i, e in enumerate(pending) if e["at"] >= cut), len(pending))
            ready, pending = pending[:n], pending[n:]
            for e in ready:
                seq += 1
                e["seq"] = seq
                inst = e.pop("_instance", None)
                if inst is not None:
                    inst.seqs.append(seq)
                yield e


def simulate(config: SimConfig) -> tuple[list[dict[str, Any]], Simulator]:
    """The whole month as a list (tests; the bench streams ``Simulator.events``)."""
    sim = Simulator(config)
    return list(sim.events()), sim


@dataclass(frozen=True)
class ScenarioScore:
    scenario: str
    instances: int
    detected: int
    recall: float
    mttd_seconds: float | None  # median time from the first attack event to detection


@dataclass(frozen=True)
class Evaluation:
    scenarios: tuple[ScenarioScore, ...]
    findings: int
    false_positives: int
    false_positives_by_rule: Mapping[str, int]
    agent_days: int
    false_positives_per_1000_agent_days: float


def evaluate(findings: Sequence[Finding], truth: Sequence[Instance],
             agent_days: int) -> Evaluation:
    """Score findings against the injected attacks (a finding touching any attack event is not a
    false positive; an instance counts as caught by one of its expected detectors)."""
    attack_seqs = {s for inst in truth for s in inst.seqs}
    fp: dict[str, int] = {}
    for f in findings:
        if not attack_seqs.intersection(f.evidence):
            fp[f.rule_title] = fp.get(f.rule_title, 0) + 1
    per: dict[str, list[float | None]] = {}
    for inst in truth:
        seqs = set(inst.seqs)
        times = [(f.last_evidence_at - inst.start).total_seconds() for f in findings
                 if f.rule_id in inst.expected and seqs.intersection(f.evidence)]
        per.setdefault(inst.scenario, []).append(min(times) if times else None)
    scores = []
    for name, results in sorted(per.items()):
        hits = [r for r in results if r is not None]
        scores.append(ScenarioScore(name, len(results), len(hits), len(hits) / len(results),
                                    float(median(hits)) if hits else None))
    total_fp = sum(fp.values())
    return Evaluation(tuple(scores), len(findings), total_fp, fp, agent_days,
                      round(total_fp / agent_days * 1000, 2) if agent_days else 0.0)

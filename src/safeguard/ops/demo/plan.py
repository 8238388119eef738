"""The plan of the demo contact centre (no database): which cases happen, on which channel,
for which customer, when, and how each story goes.

Everything is drawn from one seeded ``random.Random``, so a scale always gives the same plan and
the same counts (tests compute the counts they expect from it). Times are kept relative (days
before today, minute of the day) and made absolute by the loader; stories that create extra
cases or customers are given to cases old enough to finish before today.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from safeguard.ops.demo.texts import TOPIC_BY_KEY, TOPICS

SEED = 20260301
BASE_CUSTOMERS = 400
BASE_CASES = 2000
HISTORY_DAYS = 90
MIN_CUSTOMERS = 5
CHANNELS = ("email", "chat", "voice", "web", "api")
_CHANNEL_WEIGHTS = (34, 22, 26, 10, 8)

# Queues: slug, name, first response target, resolution target (minutes), staffed around
# the clock. Fraud is worked 24/7 with a short first-response target.
QUEUES: tuple[tuple[str, str, int, int, bool], ...] = (
    ("billing", "Billing & payments", 240, 2880, False),
    ("technical", "Technical support", 480, 4320, False),
    ("fraud", "Fraud & disputes", 30, 1440, True),
    ("general", "General enquiries", 1440, 7200, False),
)

# Stories (flags on a case). Those marked * add a case or a customer, so they go only to cases
# at least OLD_ENOUGH days old, which always finish before today.
#   follow_up   the customer writes again before the case is resolved
#   reopen      the customer writes after resolution: the case reopens
#   after_close*the customer writes after closure: a new case on the same thread
#   merge_dup*  the customer also fills in the web form; a supervisor merges the duplicate
#   csat        the customer answers the satisfaction survey
#   late        the first response misses the queue's target
#   pending     the agent waits for information that never comes, then resolves
#   note        an internal note
#   attachment  a text attachment holding a card number (e-mail)
#   request     the agent asks for the topic's approval (refund, change of details, closure)
#   blurt       the customer pastes (chat) or reads out (call) a card number unprompted
#   pay         a card payment taken on the call, recording paused
#   verify      identity verified on the call
#   abandoned   the caller hangs up before an agent answers
#   withheld*   ... with the number withheld (an anonymous profile holds the call)
#   callback    after the call an e-mail follows (not resolved on first contact)
OLD_ENOUGH = 30


@dataclass(frozen=True)
class CaseSpec:
    """One planned first contact and its story."""

    index: int
    channel: str
    topic: str
    customer: int  # demo customer seed; -1 for a caller with a withheld number
    day: int  # days before today
    minute: int  # minute of the day (UTC) of the first contact
    story: frozenset[str]

    @property
    def queue(self) -> str:
        return TOPIC_BY_KEY[self.topic].queue


@dataclass(frozen=True)
class DemoPlan:
    """The whole contact centre for one scale, with the counts it leads to."""

    scale: float
    customers: int
    cases: tuple[CaseSpec, ...]

    @property
    def anonymous_callers(self) -> int:
        return sum(1 for c in self.cases if "withheld" in c.story)

    @property
    def expected_customers(self) -> int:
        """Profiles after the load: the demo customers and one per withheld-number call."""
        return self.customers + self.anonymous_callers

    @property
    def expected_cases(self) -> int:
        """Cases after the load: one per spec, plus merged duplicates and after-close cases."""
        extra = sum(1 for c in self.cases if {"merge_dup", "after_close"} & c.story)
        return len(self.cases) + extra

    def cases_by_channel(self) -> dict[str, int]:
        """Cases per channel they started on (duplicates by web form included)."""
        out = dict.fromkeys(CHANNELS, 0)
        for c in self.cases:
            out[c.channel] += 1 + ("after_close" in c.story)
            out["web"] += "merge_dup" in c.story
        return out


def _minute(rng: random.Random, channel: str) -> int:
    """When people get in touch: phone and API in office hours, chat into the evening,
    e-mail and the web form mostly by day but at any hour."""
    if channel == "voice":
        hour = rng.choices(range(8, 20), weights=(3, 6, 8, 8, 6, 5, 7, 7, 6, 4, 3, 2))[0]
    elif channel == "chat":
        hour = rng.choices(range(8, 22), weights=(3, 5, 7, 7, 6, 6, 6, 6, 5, 5, 4, 4, 3, 2))[0]
    elif channel == "api":
        hour = rng.randrange(8, 18)
    elif rng.random() < 0.85:
        hour = rng.randrange(7, 22)
    else:
        hour = rng.randrange(24)
    return hour * 60 + rng.randrange(60)


def _story(rng: random.Random, channel: str, topic: str, day: int) -> set[str]:
    """Random flags for a case of ``channel`` about ``topic``, ``day`` days ago."""
    t = TOPIC_BY_KEY[topic]
    old = day >= OLD_ENOUGH
    p: dict[str, float]
    if channel in ("email", "web"):
        p = {"follow_up": 0.35 if channel == "email" else 0.0,
             "reopen": 0.18 if channel == "email" else 0.0,
             "csat": 0.35, "late": 0.08, "note": 0.1,
             "pending": 0.04, "request": 0.5 if t.request else 0.0,
             "attachment": 0.05 if channel == "email" else 0.0,
             "after_close": 0.03 if old and channel == "email" else 0.0,
             "merge_dup": 0.02 if old and channel == "email" else 0.0}
    elif channel == "chat":
        p = {"csat": 0.4, "blurt": 0.15, "note": 0.05, "follow_up": 0.5, "reopen": 0.08,
             "request": 0.3 if t.request else 0.0}
    elif channel == "voice":
        p = {"csat": 0.25, "abandoned": 0.06, "verify": 0.3, "blurt": 0.05,
             "pay": 0.25 if t.queue == "billing" else 0.0, "callback": 0.3,
             "request": 0.4 if t.request else 0.0}
    else:  # api
        p = {"follow_up": 0.3, "note": 1.0}
    flags = {k for k, v in p.items() if rng.random() < v}
    if "abandoned" in flags:
        flags = {"abandoned"} | ({"withheld"} if old and rng.random() < 0.3 else {"callback"})
    if "after_close" in flags:
        flags.discard("reopen")
    if "pending" in flags:
        flags -= {"follow_up", "reopen"}
    return flags


# The first cases walk through every story once, so even a tiny scale shows each of them.
_SHOWCASE: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("email", "double_charge", frozenset({"attachment", "follow_up", "csat", "note",
                                          "request"})),
    ("email", "refund_missing", frozenset({"reopen", "csat"})),
    ("email", "delivery", frozenset({"after_close"})),
    ("email", "payment_declined", frozenset({"merge_dup", "csat"})),
    ("web", "phishing", frozenset({"csat"})),
    ("chat", "login", frozenset({"blurt", "csat", "follow_up"})),
    ("voice", "payment_declined", frozenset({"pay", "verify", "csat"})),
    ("voice", "unknown_payment", frozenset({"blurt", "request"})),
    ("voice", "delivery", frozenset({"abandoned", "callback"})),
    ("voice", "outage", frozenset({"abandoned", "withheld"})),
    ("api", "lost_card", frozenset({"note", "follow_up"})),
    ("email", "bank_details", frozenset({"request"})),
    ("email", "sms_codes", frozenset({"request", "late"})),
    ("email", "invoice_copy", frozenset({"pending"})),
    ("email", "unknown_payment", frozenset({"late", "csat"})),
    ("chat", "app_crash", frozenset({"csat"})),
    ("voice", "complaint", frozenset({"callback", "verify"})),
    ("web", "address_change", frozenset({"request"})),
    ("email", "closure", frozenset({"request"})),
)
MIN_CASES = len(_SHOWCASE)


def plan(scale: float) -> DemoPlan:
    """The contact centre at ``scale`` (1.0: 400 customers, 2,000 first contacts over 90 days)."""
    if scale <= 0:
        raise ValueError("the demo scale must be positive")
    rng = random.Random(SEED)  # noqa: S311 - demo data, seeded to be reproducible, not secret
    n_customers = max(MIN_CUSTOMERS, round(BASE_CUSTOMERS * scale))
    n_cases = max(MIN_CASES, round(BASE_CASES * scale))
    weights = [3 if seed % 9 == 0 else 1 for seed in range(n_customers)]
    callers = _phone_owners(n_customers)
    caller_weights = [weights[s] for s in callers]
    specs: list[CaseSpec] = []
    for index in range(n_cases):
        if index < len(_SHOWCASE):
            channel, topic, story = _SHOWCASE[index]
            # Requests older than a week are decided by now: show the pending ones recent.
            day = (rng.randrange(2, 7) if "request" in story
                   else rng.randrange(OLD_ENOUGH, HISTORY_DAYS))
            flags = set(story)
        else:
            channel = rng.choices(CHANNELS, weights=_CHANNEL_WEIGHTS)[0]
            topic = rng.choice(TOPICS).key
            day = rng.randrange(HISTORY_DAYS)
            flags = _story(rng, channel, topic, day)
        if "withheld" in flags:
            customer = -1
        elif channel == "voice":
            customer = rng.choices(callers, weights=caller_weights)[0]
        else:
            customer = rng.choices(range(n_customers), weights=weights)[0]
        specs.append(CaseSpec(index=index, channel=channel, topic=topic, customer=customer,
                              day=day, minute=_minute(rng, channel), story=frozenset(flags)))
    return DemoPlan(scale=scale, customers=n_customers, cases=tuple(specs))


def _phone_owners(n_customers: int) -> list[int]:
    """Customers a call can come from: the first holder of each phone number (a caller is
    matched by number to the oldest profile that has it)."""
    from safeguard.customers.demo import customer_values

    seen: set[str] = set()
    owners = []
    for seed in range(n_customers):
        phone = customer_values(seed)["phone"]
        if phone not in seen:
            seen.add(phone)
            owners.append(seed)
    return owners

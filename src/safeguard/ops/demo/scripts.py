"""How each planned case unfolds, through the services real traffic and real agents use.

Customers come in through this app's adapters (``email_receive`` with a real RFC 5322 message,
``contact_submit``, ``api_message_receive``, ``voice_event``) and, for chat, through the cases
services the chat page calls; agents answer with ``cases.services`` (take, reply, note, tag,
resolve, close, merge, move) and the customers services (identity checks, approvals). So every
text is screened on the way in exactly as in production.

A case is a generator: it yields the time of its next step and, when resumed with the clock at
that time, performs the step. :class:`Centre` runs all of them interleaved in time order, so the
audit log and the case histories read like 90 days of real work.
"""

from __future__ import annotations

import heapq
import math
import random
import re
from collections import Counter
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any
from uuid import UUID

from django.core import mail

from safeguard.accounts.contracts import Principal
from safeguard.audit.contracts import Actor
from safeguard.cases import selectors as cases_selectors
from safeguard.cases import services as cases
from safeguard.cases.contracts import RecordingIn, SenderIn
from safeguard.channels import services as channels
from safeguard.customers import services as customers
from safeguard.customers.contracts import (
    ApprovalNotPending,
    ContactNotUnverified,
    CustomerClosed,
    CustomerExists,
    CustomerInvalid,
)
from safeguard.customers.demo import customer_values
from safeguard.ops.demo import texts
from safeguard.ops.demo.plan import QUEUES, SEED, CaseSpec, DemoPlan

Script = Generator[datetime, None, None]
_SUPPORT = {"billing": "billing@northwind.example", "technical": "support@northwind.example",
            "fraud": "fraud@northwind.example", "general": "help@northwind.example"}
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_MTA = "mx.northwind.example"  # the demo's receiving MTA (its authserv-id)
_CODE = re.compile(r"verification code is (\d{6})")


def _day(at: datetime) -> str:
    return f"{at.day} {at:%B}"


@dataclass(frozen=True)
class Agent:
    email: str
    name: str
    principal: Principal
    queues: tuple[str, ...]
    weight: float
    supervisor: bool


class Clock:
    """What ``django.utils.timezone.now()`` answers while the history is written."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@dataclass
class Case:
    """A case as its script sees it: the plan, its own random stream and what it learnt."""

    spec: CaseSpec
    rng: random.Random
    values: dict[str, str]
    customer_id: UUID | None
    email: str
    name: str
    queue: str
    start: datetime
    case_id: UUID | None = None
    number: int = 0
    agent: Agent | None = None
    thread: list[str] = field(default_factory=list)  # e-mail ids, root first
    mails: int = 0
    troubled: bool = False  # late, reopened or chased: a lower satisfaction score
    resolution_due: datetime | None = None

    @property
    def topic(self) -> texts.Topic:
        return texts.TOPIC_BY_KEY[self.spec.topic]

    def fill(self, template: str) -> str:
        return template.format_map(self.values)

    def pick(self, options: tuple[str, ...]) -> str:
        return self.fill(self.rng.choice(options))

    def bind(self, case_id: UUID | str, number: int | str, *, at: datetime,
             resolution_minutes: int) -> None:
        """Learn the case a contact landed on; a new case fixes its resolution due time."""
        if self.case_id is not None and str(self.case_id) == str(case_id):
            return
        self.case_id = UUID(str(case_id))
        self.number = int(number)
        self.values["case"] = str(self.number)
        self.resolution_due = at + timedelta(minutes=resolution_minutes)


class Centre:
    """Runs the case scripts of a plan in time order with the clock at each step."""

    def __init__(self, *, plan: DemoPlan, now: datetime, clock: Clock, agents: list[Agent],
                 supervisor: Agent, customer_ids: dict[int, UUID],
                 say: Callable[[str], None],
                 progress: Callable[[int, int], None] | None = None) -> None:
        self.plan = plan
        self.now = now
        self.clock = clock
        self.agents = agents
        self.supervisor = supervisor
        self.customer_ids = customer_ids
        self.say = say
        self.report = progress
        self.stats: Counter[str] = Counter()
        self.targets = {slug: (fr, res, always) for slug, _, fr, res, always in QUEUES}
        self._started = 0

    # --- running ---------------------------------------------------------------------------

    def run(self) -> None:
        """Every case's steps in time order; steps after now are not taken (the case stays
        where it is, like today's open work)."""
        heap: list[tuple[datetime, int, Script]] = []
        for spec in self.plan.cases:
            script = self.script(spec)
            first = next(script, None)
            if first is not None:
                heap.append((first, spec.index, script))
        heapq.heapify(heap)
        every = max(1, len(self.plan.cases) // 10)
        while heap:
            at, index, script = heapq.heappop(heap)
            if at > self.now:
                script.close()
                continue
            self.clock.at = at
            following = next(script, None)
            if following is not None:
                heapq.heappush(heap, (max(following, at), index, script))
            self._progress(at, every)

    def _progress(self, at: datetime, every: int) -> None:
        started = self.stats["cases_started"]
        if self.report is not None:
            if started != self._started:
                self.report(started, len(self.plan.cases))
        elif started != self._started and started % every == 0:
            self.say(f"  ... {started}/{len(self.plan.cases)} contacts (history up to "
                     f"{at:%Y-%m-%d})")
        self._started = started

    def script(self, spec: CaseSpec) -> Script:
        rng = random.Random(f"{SEED}:{spec.index}")  # noqa: S311 - seeded demo data
        case = self._case(spec, rng)
        return {"email": self._email, "chat": self._chat, "voice": self._voice,
                "web": self._web, "api": self._api}[spec.channel](case)

    def _case(self, spec: CaseSpec, rng: random.Random) -> Case:
        if spec.customer >= 0:
            profile = customer_values(spec.customer)
            name, email, phone = profile["name"], profile["email"], profile["phone"]
            own_iban = profile["payout"]["iban"]
            customer_id: UUID | None = self.customer_ids[spec.customer]
        else:
            name, email, phone, own_iban, customer_id = "", "", "", "", None
        card = rng.choice(texts.TEST_CARDS)
        iban = rng.choice(texts.TEST_IBANS)
        start = self._start(spec, rng)
        us = phone.startswith("+1")
        amount = rng.choice((12.5, 19.99, 24.0, 35.9, 49.99, 64.0, 89.5, 120.0, 149.99, 240.0,
                             389.0))
        values = {
            "first": name.split(" ")[0] if name else "there",
            "name": name,
            "order": f"NW-{rng.randrange(10000, 99999)}",
            "amount": f"{'$' if us else '£'}{amount:.2f}",
            "amount_raw": f"{amount:.2f}",
            "currency": "USD" if us else "GBP",
            "date": _day(start - timedelta(days=rng.randint(1, 9))),
            "card": texts.written(card, rng.choices(("plain", "spaced", "dashed"),
                                                    weights=(4, 5, 2))[0]),
            "card_spoken": texts.spoken(card, rng),
            "iban": rng.choice((iban, texts.spaced_iban(iban))),
            "iban_raw": iban,
            "own_iban": rng.choice((own_iban, texts.spaced_iban(own_iban))),
            "phone": phone,
            "other_phone": texts.drama_phone(rng),
            "agent": "",
            "case": "",
            "call": "",
            "call_agent": "",
        }
        return Case(spec=spec, rng=rng, values=values, customer_id=customer_id, email=email,
                    name=name, queue=spec.queue, start=start)

    def bind(self, case: Case, case_id: UUID | str, number: int | str, *,
             queue: str | None = None) -> None:
        """``case`` now refers to the case a contact landed on (created in ``queue``)."""
        case.bind(case_id, number, at=self.clock.at,
                  resolution_minutes=self.targets[queue or case.queue][1])

    # --- time ------------------------------------------------------------------------------

    def _start(self, spec: CaseSpec, rng: random.Random) -> datetime:
        midnight = self.now.replace(hour=0, minute=0, second=0, microsecond=0)
        at = midnight - timedelta(days=spec.day, minutes=-spec.minute,
                                  seconds=-rng.randrange(60))
        if at > self.now - timedelta(minutes=5):  # later today: it happened yesterday
            at -= timedelta(days=1)
        return at

    def at_work(self, case: Case, at: datetime) -> datetime:
        """``at``, or the next morning when the queue's team is off (fraud works 24/7)."""
        if self.targets[case.queue][2] or 8 <= at.hour < 20:
            return at
        morning = at.replace(hour=8, minute=0, second=0, microsecond=0)
        if at.hour >= 20:
            morning += timedelta(days=1)
        return morning + timedelta(minutes=case.rng.randrange(5, 90))

    def first_response_at(self, case: Case, received: datetime) -> datetime:
        """Most first answers well inside the queue's target; ``late`` ones well outside."""
        target = self.targets[case.queue][0]
        if "late" in case.spec.story:
            case.troubled = True
            minutes = target * case.rng.uniform(1.2, 3.0)
        else:
            minutes = target * case.rng.uniform(0.05, 0.7)
        return self.at_work(case, received + timedelta(minutes=max(2.0, minutes)))

    def _later(self, case: Case, at: datetime, low_hours: float, high_hours: float) -> datetime:
        return at + timedelta(hours=case.rng.uniform(low_hours, high_hours))

    # --- the agents' side ------------------------------------------------------------------

    def pick_agent(self, case: Case) -> Agent:
        members = [a for a in self.agents if case.queue in a.queues]
        agent = case.rng.choices(members, weights=[a.weight for a in members])[0]
        case.agent = agent
        case.values["agent"] = agent.name
        return agent

    def take(self, case: Case) -> Agent:
        """An agent of the case's queue takes it (the console's "assign to me") and, when the
        conversation belongs to an unverified contact, verifies the person first."""
        agent = self.pick_agent(case)
        cases.case_assign(case_number=case.number, principal=agent.principal,
                          assignee_id=agent.principal.user_id)
        # A caller is verified by calling back the number on file; others by questions.
        self.verify(case, case.number, agent.principal,
                    method="callback" if case.spec.channel == "voice" else "knowledge")
        return agent

    def verify(self, case: Case, number: int, principal: Principal, *,
               method: str = "knowledge") -> None:
        """Link an unverified contact's conversation (decision 0101): by a one-time code to the
        address on file for e-mail and web-form cases, read back by the customer; by security
        questions for chats. A case already linked (authenticated mail) is left alone."""
        try:
            if case.spec.channel in ("email", "web"):
                sent = len(mail.outbox)
                cases.case_contact_code_send(case_number=number, principal=principal)
                found = _CODE.search(str(mail.outbox[sent].body))
                assert found is not None  # noqa: S101 - our own code mail
                cases.case_contact_code_check(case_number=number, principal=principal,
                                              code=found.group(1))
            else:
                cases.case_contact_verify(case_number=number, principal=principal,
                                          method=method)
        except ContactNotUnverified:
            return
        self.stats["contacts_verified"] += 1

    def reply(self, case: Case, body: str, *, greet: bool = True) -> None:
        """The agent's reply; e-mail goes out through the registered sender (captured during
        the load), and its Message-ID joins the thread the customer answers."""
        assert case.agent is not None  # noqa: S101 - a reply always follows take()
        text = case.fill(body)
        if greet:
            text = f"Hello {case.values['first']},\n\n{text}{case.fill(texts.AGENT_SIGN)}"
        sent = len(mail.outbox)
        cases.message_send(case_number=case.number, principal=case.agent.principal, text=text)
        self.stats["agent_replies"] += 1
        if len(mail.outbox) > sent:
            case.thread.append(str(mail.outbox[-1].extra_headers["Message-ID"]))
            self.stats["emails_delivered"] += 1
        if len(mail.outbox) > 200:
            mail.outbox.clear()

    def resolve(self, case: Case, who: Agent | None = None) -> None:
        principal = (who or case.agent or self.supervisor).principal
        cases.case_move(case_number=case.number, principal=principal, status="resolved")
        self.stats["resolved"] += 1

    def first_reply_extras(self, case: Case) -> None:
        """What agents do around their first answer: priority on fraud, tags, notes, and the
        supervisor approvals some topics need."""
        assert case.agent is not None  # noqa: S101
        principal = case.agent.principal
        story = case.spec.story
        if case.queue == "fraud":
            cases.case_set_priority(case_number=case.number, principal=principal,
                                    priority=case.rng.choice(("high", "high", "urgent")))
        if case.rng.random() < 0.2:
            cases.case_tag(case_number=case.number, principal=principal, tags=case.topic.tags)
        if "note" in story:
            cases.note_add(case_number=case.number, principal=principal,
                           text=case.rng.choice(texts.NOTES))
        if ("request" in story and case.topic.request and case.customer_id is not None
                and cases_selectors.case_customer_id(principal=principal, number=case.number)
                == case.customer_id):
            # Only for the profile the conversation is linked to: a call nobody verified stays
            # with its unverified contact (decision 0101), whose profile the agent cannot act on.
            self._request(case, principal)

    def _request(self, case: Case, principal: Principal) -> None:
        """Ask for the topic's approval. Older than a week, only what needs no decision (a
        refund within the threshold): supervisors decide daily, and the loader never decides
        for them (deciding needs a fresh second factor)."""
        kind = case.topic.request
        small = Decimal(case.values["amount_raw"]) <= customers.refund_threshold()
        if case.spec.day > 7 and not (kind == "refund" and small):
            return
        change: dict[str, Any] | None = None
        if kind == "payout_change":
            change = {"payout": {"iban": case.values["iban_raw"], "holder": case.name}}
        elif kind == "phone_change":
            change = {"phone": f"+44 20 7946 {case.rng.randrange(1000):04d}"}
        elif kind == "address_change":
            change = {"address": {"line1": "12 Harbour View", "postcode": "BS1 5TR",
                                  "city": "Bristol", "country": "GB"}}
        reason = case.fill(f"Customer asked on case {{case}} ({case.topic.key.replace('_', ' ')})")
        try:
            if kind == "refund":
                view = customers.refund_request(
                    viewer=principal, customer_id=case.customer_id,
                    amount=Decimal(case.values["amount_raw"]), currency=case.values["currency"],
                    case_id=case.case_id, reason=reason)
            else:
                view = customers.approval_request(viewer=principal, customer_id=case.customer_id,
                                                  kind=kind, change=change, reason=reason)
        except (ApprovalNotPending, CustomerClosed, CustomerExists, CustomerInvalid):
            return  # one pending request per kind and customer; a closed account: no more
        self.stats[f"approvals_{view.status}"] += 1

    def csat(self, case: Case) -> None:
        """The customer answers the survey sent after resolution (once per case)."""
        assert case.case_id is not None  # noqa: S101
        link = cases.csat_link_for_case(case_id=case.case_id, actor=Actor.system("channel.email"))
        if case.troubled:
            score = case.rng.choices((5, 4, 3, 2, 1), weights=(36, 32, 14, 11, 7))[0]
        else:
            score = case.rng.choices((5, 4, 3, 2, 1), weights=(60, 30, 5, 3, 2))[0]
        comment = case.fill(case.rng.choice(texts.CSAT_COMMENTS[score]))
        cases.csat_submit(token=link.token, score=score, comment=comment)
        self.stats["csat"] += 1

    def close_at(self, case: Case, resolved: datetime) -> datetime:
        """When a supervisor closes a resolved case: a few days later, but before its
        resolution due time when it was resolved in time, because closing after it would flag
        the resolution as late (the cases services stop the clock only at closure)."""
        later = resolved + timedelta(days=case.rng.uniform(1, 7))
        due = case.resolution_due
        if due is None or resolved > due:
            return later
        latest = due - timedelta(minutes=case.rng.randint(1, 30))
        if latest <= resolved:
            latest = resolved + (due - resolved) / 2
        return min(later, latest)

    def close(self, case: Case) -> None:
        """Housekeeping: a supervisor closes cases resolved a week ago."""
        cases.case_move(case_number=case.number, principal=self.supervisor.principal,
                        status="closed")
        self.stats["closed"] += 1

    def after_resolution(self, case: Case, resolved: datetime,
                         follow: Callable[[Case, str], None] | None) -> Script:
        """Reopen, survey, closure and a new contact after closure, as the story says."""
        story = case.spec.story
        if "reopen" in story and follow is not None:
            at = self._later(case, resolved, 20, 96)
            yield at
            follow(case, case.rng.choice(texts.REOPEN_LINES))
            case.troubled = True
            self.stats["reopened"] += 1
            resolved = self.at_work(case, self._later(case, at, 0.3, 6))
            yield resolved
            self.reply(case, case.rng.choice(texts.REOPEN_REPLIES))
            self.resolve(case)
        steps: list[tuple[datetime, str]] = []
        if "csat" in story:
            steps.append((self._later(case, resolved, 0.2, 30), "csat"))
        if case.rng.random() < 0.75 or "after_close" in story:
            steps.append((self.close_at(case, resolved), "close"))
        for at, step in sorted(steps):
            yield at
            if step == "csat":
                self.csat(case)
            else:
                self.close(case)
        if "after_close" in story and follow is not None:
            # A closed case is not reopened: the message starts a new case on the thread.
            yield self._later(case, self.clock.at, 24, 200)
            follow(case, case.rng.choice(texts.AFTER_CLOSE_LINES))
            self.stats["cases_after_close"] += 1
            at = self.first_response_at(case, self.clock.at)
            yield at
            self.take(case)
            self.reply(case, case.rng.choice(case.topic.reply))
            yield at + timedelta(minutes=case.rng.randint(1, 20))
            self.resolve(case)

    # --- e-mail ----------------------------------------------------------------------------

    def email_in(self, case: Case, text: str, *, subject: str = "",
                 attachments: tuple[tuple[str, str], ...] = ()) -> None:
        """One e-mail from the customer, as the MTA hands it to ``safeguard smtpd``."""
        case.mails += 1
        token = "".join(case.rng.choice(_LETTERS) for _ in range(10))
        message_id = f"<nw{case.spec.index}.{case.mails}.{token}@{case.email.split('@')[1]}>"
        msg = EmailMessage()
        msg["From"] = formataddr((case.name, case.email))
        msg["To"] = _SUPPORT[case.spec.queue]
        first = case.fill(case.topic.subject)
        msg["Subject"] = subject or (f"Re: {first}" if case.thread else first)
        msg["Date"] = format_datetime(self.clock.at)
        msg["Message-ID"] = message_id
        # What the receiving MTA adds: with SAFEGUARD_MAIL_AUTHSERV_IDS naming it (the demo's
        # default), DMARC pass links the mail to the customer (decision 0101); elsewhere the
        # agent verifies the sender when taking the case.
        domain = case.email.rpartition("@")[2]
        msg["Authentication-Results"] = (
            f"{_MTA}; spf=pass smtp.mailfrom={domain}; dkim=pass header.d={domain}; "
            f"dmarc=pass header.from={domain}")
        if case.thread:
            msg["In-Reply-To"] = case.thread[-1]
            msg["References"] = " ".join(case.thread)
        sign = case.fill(case.rng.choice(texts.SIGN_OFFS))
        msg.set_content(self.seen(case, case.fill(text)) + sign)
        for filename, content in attachments:  # text/plain; charset=utf-8
            msg.add_attachment(content, subtype="plain", filename=filename)
        outcome = channels.email_receive(raw=bytes(msg), recipients=[_SUPPORT[case.spec.queue]],
                                         fallback_queue=case.spec.queue,
                                         received_at=self.clock.at)
        case.thread.append(message_id)
        if outcome.case_id:
            self.bind(case, outcome.case_id, outcome.case_number, queue=case.spec.queue)
        self.stats["customer_messages"] += 1

    def _attachments(self, case: Case) -> tuple[tuple[str, str], ...]:
        if "attachment" not in case.spec.story:
            return ()
        statement = self.seen(case, case.fill(
            "Statement extract\n\n{date}  NORTHWIND ONLINE  {amount}\n"
            "{date}  NORTHWIND ONLINE  {amount}\nCard: {card}\n"))
        return (("statement.txt", statement),)

    def _email(self, case: Case) -> Script:
        story = case.spec.story
        at = case.start
        yield at
        self.stats["cases_started"] += 1
        self.email_in(case, case.pick(case.topic.email), attachments=self._attachments(case))
        duplicate = 0
        if "merge_dup" in story:
            yield at + timedelta(minutes=case.rng.randint(10, 40))
            dup = channels.contact_submit(name=case.name, email=case.email,
                                          subject=case.fill(case.topic.subject),
                                          text=self.seen(case, case.pick(case.topic.chat)),
                                          client=self._client(case, 1))
            duplicate = dup.case_number
            self.stats["customer_messages"] += 1
        at = self.first_response_at(case, at)
        yield at
        if duplicate:
            # Both conversations are verified first: only cases of one customer merge.
            self.verify(case, case.number, self.supervisor.principal)
            self.verify(case, duplicate, self.supervisor.principal)
            cases.case_merge(case_number=duplicate, into_number=case.number,
                             principal=self.supervisor.principal)
            self.stats["merged"] += 1
        self.take(case)
        self.reply(case, case.rng.choice(case.topic.reply))
        self.first_reply_extras(case)

        def follow(c: Case, line: str) -> None:
            self.email_in(c, line)

        yield from self._work_to_resolution(case, at, follow)

    def _work_to_resolution(self, case: Case, at: datetime,
                            follow: Callable[[Case, str], None]) -> Script:
        """After the first answer: wait for information, or the customer writes back, then
        the case is resolved (and what follows resolution)."""
        story = case.spec.story
        if "pending" in story:
            cases.case_move(case_number=case.number, principal=self._manager(case),
                            status="pending")
            at = self.at_work(case, at + timedelta(days=case.rng.uniform(5, 7)))
            yield at
            case.troubled = True
            self.reply(case, "We haven't heard back from you, so we're closing this request "
                             "for now. Just reply if you still need help.")
        elif "follow_up" in story:
            at = self._later(case, at, 0.5, 30)
            yield at
            follow(case, case.rng.choice(case.topic.follow_up))
            at = self.at_work(case, self._later(case, at, 0.2, 5))
            yield at
            self.reply(case, case.rng.choice(case.topic.final))
        at += timedelta(minutes=case.rng.randint(1, 30))
        yield at
        self.resolve(case)
        yield from self.after_resolution(case, at, follow)

    def _manager(self, case: Case) -> Principal:
        return (case.agent or self.supervisor).principal

    # --- web form --------------------------------------------------------------------------

    def _client(self, case: Case, n: int = 0) -> str:
        # A documentation IPv6 address per submission (RFC 3849), for the per-address limit.
        return f"2001:db8::{case.spec.index:x}:{n:x}"

    def _web(self, case: Case) -> Script:
        at = case.start
        yield at
        self.stats["cases_started"] += 1
        result = channels.contact_submit(name=case.name, email=case.email,
                                         subject=case.fill(case.topic.subject),
                                         text=self.seen(case, case.pick(case.topic.email)),
                                         client=self._client(case))
        self.bind(case, result.case_id, result.case_number, queue="general")
        self.stats["customer_messages"] += 1
        yield from self._triage(case, at)
        at = self.first_response_at(case, at)
        yield at
        self.take(case)
        self.reply(case, case.rng.choice(case.topic.reply))
        self.first_reply_extras(case)
        # No e-mail answers on web-form cases: they would not thread onto the case yet (the
        # thread lookup is per channel); see docs/channels.md, "Demo data".
        at += timedelta(minutes=case.rng.randint(1, 30))
        yield at
        self.resolve(case)
        yield from self.after_resolution(case, at, None)

    def _triage(self, case: Case, at: datetime) -> Script:
        """Web forms and chats land in the default queue; a supervisor moves them on."""
        case.queue = "general"
        if case.spec.queue != "general":
            yield self.at_work(case, at + timedelta(minutes=case.rng.randint(2, 40)))
            cases.case_change_queue(case_number=case.number,
                                    principal=self.supervisor.principal, queue=case.spec.queue)
            case.queue = case.spec.queue
            self.stats["triaged"] += 1

    # --- chat ------------------------------------------------------------------------------

    def _chat(self, case: Case) -> Script:
        story = case.spec.story
        at = case.start
        yield at
        self.stats["cases_started"] += 1
        started = cases.chat_start(name=case.name, email=case.email, queue=None)
        conversation = started.conversation_id

        def say(c: Case, line: str) -> None:
            cases.message_receive(channel="chat", sender=SenderIn(),
                                  text=self.seen(c, c.fill(line)),
                                  thread_ref=conversation, occurred_at=self.clock.at)
            self.stats["customer_messages"] += 1

        result = cases.message_receive(channel="chat", sender=SenderIn(),
                                       text=self.seen(case, case.pick(case.topic.chat)),
                                       thread_ref=conversation, occurred_at=at)
        self.bind(case, result.case_id, result.case_number, queue="general")
        self.stats["customer_messages"] += 1
        case.queue = "general"
        if case.spec.queue == "fraud":  # the chat page has no topics: a supervisor moves it
            at += timedelta(seconds=case.rng.randint(30, 150))
            yield at
            cases.case_change_queue(case_number=case.number,
                                    principal=self.supervisor.principal, queue="fraud")
            case.queue = "fraud"
            self.stats["triaged"] += 1
        at += timedelta(seconds=case.rng.randint(15, 240))
        yield at
        self.take(case)
        self.reply(case, case.rng.choice(case.topic.reply), greet=False)
        self.first_reply_extras(case)
        if "follow_up" in story or "blurt" in story:
            at += timedelta(seconds=case.rng.randint(30, 150))
            yield at
            if "blurt" in story:
                say(case, case.rng.choice(texts.CHAT_BLURT))
                line = ("Please don't share card numbers in chat; it has been removed. I can "
                        "send you a secure payment link instead.")
            else:
                say(case, case.rng.choice(texts.CHAT_LINES))
                line = case.rng.choice(case.topic.final)
            at += timedelta(seconds=case.rng.randint(20, 90))
            yield at
            self.reply(case, line, greet=False)
        at += timedelta(seconds=case.rng.randint(40, 180))
        yield at
        self.resolve(case)
        yield from self.after_resolution(case, at, say)

    # --- voice -----------------------------------------------------------------------------

    def _voice(self, case: Case) -> Script:
        story = case.spec.story
        at = case.start
        yield at
        self.stats["cases_started"] += 1
        call_id = f"nw-call-{case.spec.index:05d}"
        view = channels.voice_event(kind="call.queued", call_id=call_id, at=at,
                                    queue=case.spec.queue, caller_phone=case.values["phone"])
        self.bind(case, view.case_id, view.case_number)
        self.stats["calls"] += 1
        if "abandoned" in story:
            yield from self._abandoned(case, call_id, at)
            return
        at += timedelta(seconds=self._speed_to_answer(case, at))
        yield at
        agent = self.pick_agent(case)
        channels.voice_event(kind="call.answered", call_id=call_id, at=at,
                             agent_email=agent.email)
        transcript = case.fill(texts.CALL_OPENING.replace("{call}", case.topic.call))
        if "verify" in story and case.customer_id is not None:
            at += timedelta(seconds=case.rng.randint(30, 90))
            yield at
            # Caller id is not verification: the agent verifies, which links the call.
            self.verify(case, case.number, agent.principal,
                        method=case.rng.choice(("knowledge", "otp_sms", "callback")))
            transcript += texts.CALL_VERIFY
        if "blurt" in story:
            transcript += self.seen(case, case.fill(texts.CALL_BLURT))
        if "pay" in story:
            at += timedelta(seconds=case.rng.randint(90, 240))
            yield at
            channels.voice_event(kind="payment.started", call_id=call_id, at=at)
            at += timedelta(seconds=case.rng.randint(60, 150))
            yield at
            channels.voice_event(kind="payment.stopped", call_id=call_id, at=at)
            transcript += case.fill(texts.CALL_PAYMENT)
            self.stats["payment_pauses"] += 1
        answer = case.topic.call_agent
        transcript += case.fill(texts.CALL_CLOSING.replace("{call_agent}",
                                                           answer[0].upper() + answer[1:]))
        talk = min(1800.0, case.rng.lognormvariate(math.log(300), 0.5))
        at += timedelta(seconds=talk)
        yield at
        channels.voice_event(kind="call.ended", call_id=call_id, at=at)
        at += timedelta(seconds=case.rng.randint(20, 90))
        yield at
        retention = ("financial_record" if "pay" in story else
                     "complaint" if case.topic.key == "complaint" else "qa_recording")
        channels.voice_event(kind="transcript", call_id=call_id, transcript=transcript,
                             recording=RecordingIn(
                                 uri=f"https://recorder.northwind.example/calls/{call_id}.wav",
                                 duration_seconds=int(talk), media_type="audio/wav",
                                 retention_category=retention))
        self.first_reply_extras(case)
        if "callback" in story:
            # Not settled on the call: the agent follows up by e-mail the next working day.
            at = self.at_work(case, self._later(case, at, 2, 20))
            yield at
            assert case.agent is not None  # noqa: S101 - the agent who answered the call
            self.verify(case, case.number, case.agent.principal, method="callback")
            self.reply(case, case.rng.choice(case.topic.reply))
            case.troubled = True
        yield from self._work_to_resolution_voice(case, at)

    def _work_to_resolution_voice(self, case: Case, at: datetime) -> Script:
        at += timedelta(minutes=case.rng.randint(1, 10))
        yield at
        self.resolve(case)

        def follow(c: Case, line: str) -> None:
            self.email_in(c, line)

        yield from self.after_resolution(case, at, follow if case.thread else None)

    def _speed_to_answer(self, case: Case, at: datetime) -> float:
        """Seconds in the queue: about half a minute, longer at the mid-morning peak."""
        peak = 1.5 if 10 <= at.hour < 12 else 1.0
        return max(4.0, min(240.0, case.rng.lognormvariate(math.log(24 * peak), 0.55)))

    def _abandoned(self, case: Case, call_id: str, at: datetime) -> Script:
        at += timedelta(seconds=case.rng.randint(45, 300))
        yield at
        channels.voice_event(kind="call.ended", call_id=call_id, at=at)
        self.stats["abandoned"] += 1
        if "withheld" in case.spec.story:
            # Nobody to call back: a supervisor notes it and resolves the case.
            yield self.at_work(case, at + timedelta(minutes=case.rng.randint(10, 90)))
            cases.note_add(case_number=case.number, principal=self.supervisor.principal,
                           text="Abandoned call, number withheld: no way to call back.")
            self.resolve(case, self.supervisor)
            yield from self.after_resolution(case, self.clock.at, None)
            return
        at = self.at_work(case, at + timedelta(minutes=case.rng.randint(20, 240)))
        yield at
        self.take(case)
        self.reply(case, texts.MISSED_CALL + texts.AGENT_SIGN, greet=False)
        case.troubled = True
        at = self._later(case, at, 1, 20)
        yield at
        self.email_in(case, case.rng.choice(case.topic.email))
        at = self.at_work(case, self._later(case, at, 0.2, 4))
        yield at
        self.reply(case, case.rng.choice(case.topic.reply))
        yield from self._work_to_resolution_voice(case, at)

    # --- API -------------------------------------------------------------------------------

    def _api(self, case: Case) -> Script:
        story = case.spec.story
        at = case.start
        yield at
        self.stats["cases_started"] += 1
        posted = 0

        def post(c: Case, line: str) -> None:
            nonlocal posted
            posted += 1
            result = channels.api_message_receive(
                # The CRM's customers sign in there: a trusted integration asserts it.
                sender=SenderIn(email=c.email, name=c.name, verified=True),
                text=self.seen(c, c.fill(line)),
                subject=c.fill(c.topic.subject), thread_ref=f"crm-ticket-{c.spec.index:05d}",
                external_id=f"crm-{c.spec.index:05d}-{posted}", queue=c.spec.queue,
                occurred_at=self.clock.at, attachments=())
            self.bind(c, result.case_id, result.case_number)
            self.stats["customer_messages"] += 1

        post(case, case.rng.choice(case.topic.email))
        at = self.first_response_at(case, at)
        yield at
        self.take(case)
        # The API channel has no way back to the customer: the CRM's account manager answers,
        # the agent records what was done.
        cases.note_add(case_number=case.number, principal=self._manager(case),
                       text=case.pick(texts.API_NOTES))
        self.first_reply_extras(case)
        if "follow_up" in story:
            at = self._later(case, at, 1, 24)
            yield at
            post(case, case.rng.choice(case.topic.follow_up))
            at = self.at_work(case, self._later(case, at, 0.2, 4))
            yield at
            cases.note_add(case_number=case.number, principal=self._manager(case),
                           text=case.pick(texts.API_NOTES))
        at += timedelta(minutes=case.rng.randint(1, 30))
        yield at
        self.resolve(case)
        yield from self.after_resolution(case, at, None)

    # --- counting --------------------------------------------------------------------------

    def seen(self, case: Case, text: str) -> str:
        """Count the card numbers and IBANs a customer's text carries; returns the text."""
        v = case.values
        if any(x and x in text for x in (v["card"], v["card_spoken"])):
            self.stats["cards_pasted"] += 1
        if any(x and x in text for x in (v["iban"], v["own_iban"])):
            self.stats["ibans_pasted"] += 1
        return text

"""The demo contact centre that ``safeguard demo`` loads (the ops app's demo module).

It lives in ops, beside the demo wiring (``safeguard demo``, the demo mark), because it drives
every app below through the same public services real traffic uses (issue 15; STYLE.md "demo
generators live with ops"): e-mails as RFC 5322 messages through ``email_receive``, the web
form, the REST ingest, signed-webhook voice events, chat; agents answer through
``cases.services``. Every text passes
screening on the way in, so the card numbers customers paste end up as vault tokens — after the
load no card number exists anywhere in the data directory.

Four queues with SLA targets, the demo agent and supervisor plus five more agents, several hundred
customers and a thousand first contacts over the last 90 days (``SAFEGUARD_DEMO_SCALE``,
default 0.5, scales both). Deterministic: the plan comes from one seeded ``random.Random``.
Loaded once: a second ``safeguard demo`` finds the loader's marker macro and changes nothing.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.core import mail
from django.core.management.base import CommandError
from django.utils import timezone

from safeguard.accounts import selectors as accounts_selectors
from safeguard.accounts import services as accounts
from safeguard.accounts.contracts import Principal, UserNotFound
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.cases import selectors as cases_selectors
from safeguard.cases import services as cases
from safeguard.cases.contracts import Period
from safeguard.ops.demo import channels as demo_channels
from safeguard.ops.demo.plan import CHANNELS, QUEUES, DemoPlan, plan
from safeguard.ops.demo.scripts import Agent, Centre, Clock
from safeguard.ops.demo.texts import TEST_CARDS, TEST_IBANS

__all__ = ["ORDER", "STAGES", "SUMMARY_ORDER", "TEST_CARDS", "TEST_IBANS", "demo_plan",
           "demo_scale", "load", "plan", "summary"]

ORDER = 40  # after accounts, protection (10) and customers (20)
SUMMARY_ORDER = 0  # the channels first: the demo users and the code command come last
# Loaded after the detection demo (its ORDER is 95): the features that came after the centre
STAGES = ("safeguard.ops.demo.features",)
SCALE_ENV = "SAFEGUARD_DEMO_SCALE"
# 0.5: 200 customers and 1,000 first contacts over 90 days, about one minute of one CPU core to
# load (bench/ops/bench_demo_load.py); the first run's wait was minutes at 1.0 (issue 15).
DEFAULT_SCALE = 0.5
MARKER = "Card number shared by mistake"  # the first macro; written last, after everything

# email, name, queues, share of the work, supervisor of its queues. The first two are the
# accounts app's demo users; the others are created here (they enrol MFA at first sign-in).
STAFF: tuple[tuple[str, str, tuple[str, ...], float, bool], ...] = (
    ("agent@demo.safeguard.test", "Alex Agent", ("billing", "technical", "general"), 3.0,
     False),
    ("supervisor@demo.safeguard.test", "Sam Supervisor",
     ("billing", "technical", "fraud", "general"), 0.4, True),
    ("bea.bauer@demo.safeguard.test", "Bea Bauer", ("billing", "general"), 2.0, False),
    ("tomasz.nowak@demo.safeguard.test", "Tomasz Nowak", ("technical", "general"), 2.0, False),
    ("farah.idris@demo.safeguard.test", "Farah Idris", ("fraud", "billing"), 2.0, False),
    ("leo.martin@demo.safeguard.test", "Leo Martin", ("technical", "billing"), 2.0, False),
    ("nia.okoro@demo.safeguard.test", "Nia Okoro", ("fraud", "general"), 2.0, False),
)

MACROS: tuple[tuple[str, str, str], ...] = (
    (MARKER, "",
     ("Thank you for your message. For your security we never need your full card number: it "
      "was removed from our records as soon as it arrived. Please don't send card numbers by "
      "e-mail or chat.\n\nKind regards,\n{agent_name}")),
    ("Refund issued", "billing",
     ("I've issued your refund for case {case_number}; it reaches your account within 3-5 "
      "working days.\n\nKind regards,\n{agent_name}")),
    ("Phishing warning", "fraud",
     ("That message was not from us: we never ask for card details by e-mail or text. Please "
      "delete it and, if you entered card details, call your bank.\n\n{agent_name}")),
    ("Missed call", "",
     ("Sorry we missed your call: our lines were busy. Just reply to this e-mail and we'll "
      "help.\n\n{agent_name}")),
)


def demo_scale() -> float:
    """The scale of the demo contact centre from ``SAFEGUARD_DEMO_SCALE`` (default
    ``DEFAULT_SCALE``)."""
    raw = os.environ.get(SCALE_ENV, "").strip()
    try:
        scale = float(raw) if raw else DEFAULT_SCALE
    except ValueError as exc:
        raise ValueError(f"{SCALE_ENV} must be a number such as 0.1 or 1, got {raw!r}") from exc
    if not 0 < scale <= 10:
        raise ValueError(f"{SCALE_ENV} must be above 0 and at most 10, got {raw!r}")
    return scale


def demo_plan() -> DemoPlan:
    """The plan the loader follows at the configured scale."""
    return plan(demo_scale())


def load(*, say: Callable[[str], None],
         progress: Callable[[int, int], None] | None = None) -> None:
    """Load the demo contact centre once (demo mode only); a second run changes nothing.
    ``progress(done, total)`` hears of every contact started (the demo command's bar)."""
    if not (settings.DEMO or settings.TESTING):
        raise RuntimeError("the demo contact centre exists only in demo mode "
                           "(SAFEGUARD_ENV=demo)")
    try:
        the_plan = demo_plan()
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    demo_channels.integration_ensure()  # also on a data directory loaded before (idempotent)
    state = _state()
    if state == "loaded":
        say("Contact centre: demo data already loaded.")
        return
    if state == "partial":
        say(f"Contact centre: an earlier load did not finish; delete {settings.DATA_DIR} and "
            "run `safeguard demo` again to load it.")
        return
    started = time.monotonic()
    now = timezone.now().replace(second=0, microsecond=0)
    say(f"Contact centre: loading {len(the_plan.cases)} contacts over 90 days for "
        f"{the_plan.customers} customers (scale {the_plan.scale:g}, {SCALE_ENV})...")
    with _history(now) as clock:
        agents = _staff(clock, now)
        customer_ids = _customers(the_plan, clock, now)
        centre = Centre(plan=the_plan, now=now, clock=clock, agents=agents,
                        supervisor=next(a for a in agents if a.supervisor),
                        customer_ids=customer_ids, say=say,
                        progress=progress)
        centre.run()
        clock.at = now
        _macros()
    flagged = 0
    while True:  # open cases whose clocks ran out before today are flagged as breached now
        found = cases.sla_check()
        flagged += found
        if not found:
            break
    _summary(the_plan, centre, flagged, say)
    say(f"Contact centre: loaded in {time.monotonic() - started:.0f} s.")


def summary(*, say: Callable[[str], None]) -> None:
    """Every channel of the running demo and how to reach it (issue 15, item 10)."""
    token = demo_channels.integration_ensure()
    demo_channels.channels_summary(say=say, port=settings.PORT, token=token)


def _state() -> str:
    if any(m.name == MARKER for m in cases_selectors.macro_list()):
        return "loaded"
    slugs = {q.slug for q in cases_selectors.queue_list()}
    if {"billing", "technical", "fraud"} <= slugs:
        return "partial"
    return "fresh"


@contextmanager
def _history(now: datetime) -> Iterator[Clock]:
    """While the history is written: services' "now" is the clock (most of them stamp
    ``timezone.now()`` and take no time), e-mail goes to an in-memory outbox instead of the
    console, and jobs queued after commit (reply delivery) run at once, quietly."""
    from huey.contrib.djhuey import HUEY

    clock = Clock(now)
    saved_now = timezone.now
    saved_backend = settings.EMAIL_BACKEND
    saved_code_limit = settings.SAFEGUARD_CONTACT_CODE_LIMIT
    saved_csat_auto = settings.SAFEGUARD_CSAT_AUTO_SEND
    saved_immediate = HUEY.immediate
    huey_log = logging.getLogger("huey")
    saved_level = huey_log.level
    had_outbox = hasattr(mail, "outbox")
    saved_outbox = getattr(mail, "outbox", None)
    timezone.now = clock  # restored below
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # The per-address limit on verification codes counts on the wall clock, and 90 days of
    # history pass in minutes of it: a regular customer would hit it (issue 15, first run).
    settings.SAFEGUARD_CONTACT_CODE_LIMIT = "100000/h"
    # The history answers its surveys itself (Centre.csat); the automatic survey on resolution
    # (issue 15, docs/desk.md) is for live work after the load.
    settings.SAFEGUARD_CSAT_AUTO_SEND = False
    mail.outbox = []
    HUEY.immediate = True
    huey_log.setLevel(logging.WARNING)
    # Thousands of small transactions: integrating the audit queue after each commit was a
    # quarter of the load's time (issue 15, first run). Queue them all, integrate once at the
    # end (the same integrator, so the log is the same; tests keep integrating in place).
    saved_integration = settings.SAFEGUARD_AUDIT_INTEGRATION
    if saved_integration == "after_commit":
        settings.SAFEGUARD_AUDIT_INTEGRATION = "deferred"
    try:
        yield clock
    finally:
        settings.SAFEGUARD_AUDIT_INTEGRATION = saved_integration
        if saved_integration == "after_commit":
            audit.integrate(wait=True)
        timezone.now = saved_now
        settings.EMAIL_BACKEND = saved_backend
        settings.SAFEGUARD_CONTACT_CODE_LIMIT = saved_code_limit
        settings.SAFEGUARD_CSAT_AUTO_SEND = saved_csat_auto
        HUEY.immediate = saved_immediate
        huey_log.setLevel(saved_level)
        if had_outbox:
            mail.outbox = saved_outbox  # type: ignore[assignment]
        else:
            del mail.outbox


def _staff(clock: Clock, now: datetime) -> list[Agent]:
    """The queues with their SLA targets, the extra agents and everyone's memberships."""
    actor = Actor.system("demo")
    clock.at = now - timedelta(days=400)
    existing = {q.slug for q in cases_selectors.queue_list()}
    for slug, name, first_response, resolution, _ in QUEUES:
        if slug in existing:  # the default queue is created by the first contact that needs it
            cases.queue_update(actor=actor, slug=slug, name=name,
                               first_response_minutes=first_response,
                               resolution_minutes=resolution)
        else:
            cases.queue_create(actor=actor, slug=slug, name=name,
                               first_response_minutes=first_response,
                               resolution_minutes=resolution)
    from safeguard.accounts.demo import DEMO_PASSWORD

    agents = []
    for email, name, queues, weight, supervisor in STAFF:
        try:
            user = accounts_selectors.user_get_by_email(email=email)
        except UserNotFound:
            user = accounts.user_create(actor=actor, email=email, full_name=name,
                                        password=DEMO_PASSWORD, roles=["agent"])
        for slug in queues:
            cases.queue_member_add(actor=actor, slug=slug, user_id=user.id,
                                   is_supervisor=supervisor)
        principal = Principal(user_id=user.id, email=user.email, via="session",
                              permissions=accounts_selectors.user_permissions(user_id=user.id))
        agents.append(Agent(email=user.email, name=user.full_name or name, principal=principal,
                            queues=queues, weight=weight, supervisor=supervisor))
    return agents


def _customers(the_plan: DemoPlan, clock: Clock, now: datetime) -> dict[int, UUID]:
    """The demo customers, signed up over the two years before the history starts."""
    from safeguard.customers.demo import demo_customer

    first = now - timedelta(days=90 + 730)
    step = timedelta(days=720) / max(1, the_plan.customers)
    ids = {}
    for seed in range(the_plan.customers):
        clock.at = first + step * seed
        ids[seed] = demo_customer(seed=seed)
    return ids


def _macros() -> None:
    actor = Actor.system("demo")
    for name, queue, body in reversed(MACROS):  # the marker last: it means "all loaded"
        cases.macro_save(actor=actor, name=name, body=body, queue=queue or None)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f} %"


def _summary(the_plan: DemoPlan, centre: Centre, flagged: int,
             say: Callable[[str], None]) -> None:
    s = centre.stats
    by_channel = the_plan.cases_by_channel()
    say(f"Contact centre: {len(QUEUES)} queues, {len(STAFF)} agents, "
        f"{the_plan.expected_customers} customers, {the_plan.expected_cases} cases "
        f"({', '.join(f'{c} {by_channel[c]}' for c in CHANNELS)}).")
    say(f"  {s['customer_messages']} customer messages, {s['agent_replies']} agent replies "
        f"({s['emails_delivered']} e-mails, kept in memory during the load, not sent); "
        f"{s['cards_pasted']} card numbers and {s['ibans_pasted']} IBANs pasted, all "
        "screened on arrival.")
    say(f"  {s['calls']} calls ({s['abandoned']} abandoned, {s['payment_pauses']} with the "
        f"recording paused for payment), {s['csat']} CSAT answers, {s['reopened']} reopened, "
        f"{s['merged']} merged, {s['approvals_pending']} approvals waiting for a supervisor; "
        f"{flagged} open cases flagged for a missed SLA now.")
    now = centre.now
    period = Period(start=now - timedelta(days=30), end=now + timedelta(minutes=1))
    csat = cases_selectors.csat(period=period)
    fcr = cases_selectors.fcr(period=period)
    asa = cases_selectors.asa(period=period)
    asa_text = "n/a" if asa.value_seconds is None else f"{asa.value_seconds:.0f} s"
    say(f"  Last 30 days: CSAT {_percent(csat.value)} ({csat.total} answers), FCR "
        f"{_percent(fcr.value)} ({fcr.total} cases), ASA {asa_text} ({asa.answered} answered, "
        f"{asa.abandoned} abandoned).")

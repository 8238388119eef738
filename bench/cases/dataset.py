"""A realistic contact-centre dataset for the cases benchmarks, ingested through the services.

Nothing is written behind the services' back: customers come from ``customers.demo``
(``customer_create``: encrypted profile, blind indexes), every customer text from
``cases.services.message_receive`` (screening with the customer's own values, vault tokens
for card numbers, AEAD per row, audit), agents' replies from ``message_send`` and notes from
``note_add``, identity checks from ``customers.services.identity_verify``. Deterministic for a
seed.

Shape (``build``): three queues (billing and tech worked by the agents, vip by nobody here),
``customers`` demo customers with full profiles, ``cases`` background cases spread over the
queues (1-4 customer messages each, some with card numbers, IBANs and phone numbers pasted in),
and one *target* case for the case-view benchmark: an e-mail thread of ``target_messages``
messages (customer e-mails threaded by Message-ID, agent replies, internal notes, two text
attachments), tagged, assigned to the bench agent, its customer identity-verified twice.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

SEED = 20240305
PASSWORD = "correct-horse-battery-staple-42"  # noqa: S105 - the test factories' password
QUEUES = (("billing", "Billing", 60, 1440), ("tech", "Technical support", 240, 2880),
          ("vip", "VIP", 30, 480))
AGENT_QUEUES = ("billing", "tech")
PAN_VISA = "4111 1111 1111 1111"
PAN_MC = "5555 5555 5555 4444"

_OPENERS = (
    "Hello, I was charged twice for my last order and I would like one of the payments back.",
    "Hi team, my parcel has been stuck in transit for nine days now and tracking shows nothing.",
    "Good morning. The app logs me out every few minutes since the last update, on two phones.",
    "I want to change the delivery address on my subscription before the next shipment goes out.",
    "Your invoice for March lists a device I returned in January. Please correct it.",
    "Can you tell me why my refund has not arrived? You confirmed it two weeks ago.",
)
_MIDDLES = (
    "I already tried restarting and reinstalling, and I cleared the cache as your FAQ says.",
    "The order number is on the confirmation e-mail; I can forward it again if that helps.",
    "I have been a customer for six years and this is the first time something like this happens.",
    "My bank says the payment is still pending on their side, so it must be on yours.",
    "Please do not close this ticket until the money is actually back on my account.",
    "I called the hotline yesterday but the line dropped after forty minutes on hold.",
    "The courier left a note saying nobody was home, but I was home all day.",
)
_PASTES = (
    f"The card I paid with is {PAN_VISA}, expiry 12/27.",
    f"Please refund to the Mastercard {PAN_MC} instead.",
    "My IBAN for the refund is GB33 BUKB 2020 1555 5555 55.",
    "You can call me back on +44 20 7946 0321 after 5pm.",
    "My other number is (415) 555-0172 if the first one does not answer.",
)
_CLOSERS = ("Thanks in advance.", "Kind regards.", "Looking forward to your answer.",
            "Please hurry, this is urgent.", "Best wishes.")
_REPLIES = (
    ("Thank you for getting in touch. I have looked at your account and can see both payments; "
     "I have asked our payments team to reverse the duplicate, which takes three to five working "
     "days."),
    ("Sorry for the wait. I checked with the courier: the parcel is at the depot and will go out "
     "again tomorrow morning. You will get a new tracking link by e-mail."),
    ("Thanks for the details. For your security, please never send full card numbers by e-mail; "
     "we removed it from our records. I have updated the refund request."),
    "I have escalated this to our billing specialists and will update you as soon as I hear back.",
    "Could you confirm the last four digits of the card and the date of the order, please?",
)
_NOTES = (
    ("Customer verified by security questions on the phone. Duplicate charge confirmed in the "
     "payment provider console; reversal requested."),
    "Second contact about the same order; keep the thread open until the reversal settles.",
    "Customer sounded upset; offered a goodwill voucher, pending supervisor approval.",
)


def customer_text(rng: random.Random, *, paste: bool) -> str:
    """A customer message of a few sentences; ``paste`` adds a card number, IBAN or phone."""
    parts = [rng.choice(_OPENERS)]
    parts += rng.sample(_MIDDLES, rng.randint(1, 3))
    if paste:
        parts.append(rng.choice(_PASTES))
    parts.append(rng.choice(_CLOSERS))
    return "\n\n".join(parts)


@dataclass
class Dataset:
    """What the benchmarks need to know about what was built."""

    seed: int
    customers: int
    background_cases: int
    background_messages: int
    target_case: int = 0
    target_customer: str = ""
    target_messages: int = 0
    target_attachments: int = 0
    bench_agent_email: str = ""
    agents: list[str] = field(default_factory=list)  # e-mails of the load agents
    agent_case_numbers: dict[str, list[int]] = field(default_factory=dict)
    agent_customer_ids: dict[str, list[str]] = field(default_factory=dict)
    cases_in_agent_scope: int = 0
    cases_total: int = 0
    customers_in_agent_scope: int = 0
    audit_events: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("agent_case_numbers")
        out.pop("agent_customer_ids")
        return out


SYSTEM_LABEL = "bench"


def _system() -> Any:
    from safeguard.audit.contracts import Actor

    return Actor.system(SYSTEM_LABEL)


def totp_secret(email: str) -> str:
    import base64
    import hashlib

    return base64.b32encode(hashlib.sha256(email.encode()).digest()[:20]).decode()


def make_agent(email: str, queues: tuple[str, ...], roles: tuple[str, ...] = ("agent",)) -> Any:
    """A staff user with ``roles``, a TOTP authenticator enrolled (the MFA gate lets them in),
    member of ``queues``."""
    from allauth.mfa.totp.internal.auth import TOTP

    from safeguard.accounts import services as accounts
    from safeguard.accounts.models import User
    from safeguard.cases import services

    view = accounts.user_create(actor=_system(), email=email, password=PASSWORD,
                                roles=roles)
    user = User.objects.get(id=view.id)
    TOTP.activate(user, totp_secret(email))
    for q in queues:
        services.queue_member_add(actor=_system(), slug=q, user_id=user.pk)
    return user


def signed_in_client(user: Any) -> Any:
    """A test client whose database session passed password + TOTP now: the records the MFA
    gate checks (``tests.factories.signed_in_client``'s recipe)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    session = client.session
    at = time.time()
    session["account_authentication_methods"] = [
        {"method": "password", "at": at, "email": user.email},
        {"method": "mfa", "at": at, "type": "totp", "id": 1},
    ]
    session["account_authentication_methods_user"] = str(user.pk)
    session.save()
    return client


def principal_for(user: Any) -> Any:
    from safeguard.accounts.contracts import Principal
    from safeguard.accounts.selectors import user_permissions

    return Principal(user_id=user.pk, email=user.email,
                     permissions=user_permissions(user_id=user.pk), via="session")


def build(*, customers: int, cases: int, target_messages: int, load_agents: int = 0,
          seed: int = SEED, progress: Any = None) -> Dataset:
    """Build the dataset in the current (fresh, migrated) database; see the module docstring."""
    from django.utils import timezone

    from safeguard.cases import services
    from safeguard.cases.contracts import SenderIn
    from safeguard.customers import demo

    say = progress or (lambda _m: None)
    rng = random.Random(seed)
    data = Dataset(seed=seed, customers=customers, background_cases=cases,
                   background_messages=0)
    t0 = time.perf_counter()
    for slug, name, first, resolution in QUEUES:
        services.queue_create(actor=_system(), slug=slug, name=name,
                              first_response_minutes=first, resolution_minutes=resolution)
    for slug in ("billing", None):
        services.macro_save(actor=_system(), name=f"Greeting {slug or 'all'}",
                            body="Hello,\n\nthanks for contacting us about case {case_number}."
                                 "\n\n{agent_name}", queue=slug)
    agent = make_agent("bench.agent@example.test", AGENT_QUEUES)
    supervisor = make_agent("bench.supervisor@example.test", AGENT_QUEUES,
                            roles=("supervisor",))
    data.bench_agent_email = agent.email
    for i in range(load_agents):
        user = make_agent(f"load.agent{i + 1:03d}@example.test", AGENT_QUEUES)
        data.agents.append(user.email)
    data.seconds["users"] = round(time.perf_counter() - t0, 2)

    t0 = time.perf_counter()
    customer_ids = [demo.demo_customer(seed=i, actor=_system()) for i in range(1, customers + 1)]
    data.seconds["customers"] = round(time.perf_counter() - t0, 2)
    say(f"  {customers} customers in {data.seconds['customers']} s")

    # Background cases: spread over 90 days, every channel that carries text.
    t0 = time.perf_counter()
    now = timezone.now()
    channels = ("email", "email", "chat", "web", "api")
    for n in range(cases):
        queue = QUEUES[n % len(QUEUES)][0]
        cid = customer_ids[rng.randrange(len(customer_ids))]
        channel = channels[n % len(channels)]
        at = now - timedelta(minutes=rng.randint(10, 90 * 24 * 60))
        ref = f"<bg-{n}-0@customer.example>"
        services.message_receive(
            channel=channel, sender=SenderIn(customer_id=cid), text=customer_text(
                rng, paste=rng.random() < 0.3), subject=rng.choice(_OPENERS)[:60],
            external_id=ref, thread_ref="", queue=queue, occurred_at=at)
        data.background_messages += 1
        refs = [ref]
        for k in range(1, rng.randint(1, 4)):
            ext = f"<bg-{n}-{k}@customer.example>"
            services.message_receive(
                channel=channel, sender=SenderIn(customer_id=cid),
                text=customer_text(rng, paste=rng.random() < 0.2), external_id=ext,
                thread_ref=" ".join(refs) if channel == "email" else refs[0],
                queue=queue, occurred_at=at + timedelta(minutes=7 * k))
            refs.append(ext)
            data.background_messages += 1
        if n % 200 == 199:
            say(f"  {n + 1} / {cases} background cases")
    data.seconds["background_cases"] = round(time.perf_counter() - t0, 2)
    say(f"  {cases} background cases ({data.background_messages} messages) in "
        f"{data.seconds['background_cases']} s")

    t0 = time.perf_counter()
    _target_case(data, rng, customer_ids[6 % len(customer_ids)], agent, supervisor,
                 messages=target_messages)
    data.seconds["target_case"] = round(time.perf_counter() - t0, 2)

    _scope_facts(data, rng)
    return data


def _target_case(data: Dataset, rng: random.Random, target_customer: Any, agent: Any,
                 supervisor: Any, *, messages: int) -> None:
    """One e-mail thread of ``messages`` messages: customer mails (two with a text attachment),
    agent replies and internal notes interleaved; assigned to the bench agent and tagged; its
    customer identity-verified twice."""
    from safeguard.cases import services
    from safeguard.cases.contracts import AttachmentIn, SenderIn
    from safeguard.customers import services as customers_services

    agent_p, supervisor_p = principal_for(agent), principal_for(supervisor)
    refs: list[str] = []
    number = 0
    kinds = ["customer"] + [("reply" if k % 3 == 1 else "customer" if k % 3 == 2 else "note"
                             if k % 9 == 0 else "customer") for k in range(1, messages)]
    for k, kind in enumerate(kinds):
        if kind == "customer":
            ext = f"<target-{k}@customer.example>"
            attach: tuple[Any, ...] = ()
            if k in (2, 11):
                attach = (AttachmentIn(filename=f"statement-{k}.txt", content_type="text/plain",
                                       content=(customer_text(rng, paste=True) * 3).encode()),)
                data.target_attachments += 1
            result = services.message_receive(
                channel="email", sender=SenderIn(customer_id=target_customer),
                text=customer_text(rng, paste=k % 4 == 0),
                subject="Charged twice for order 88231" if k == 0 else "",
                external_id=ext, thread_ref=" ".join(refs[-10:]), queue="billing",
                attachments=attach)
            refs.append(ext)
            number = result.case_number
            if k == 0:
                services.case_assign(case_number=number, principal=agent_p,
                                     assignee_id=agent.pk)
                services.case_tag(case_number=number, principal=agent_p,
                                  tags=["refund", "duplicate-charge", "priority-customer"])
        elif kind == "reply":
            services.message_send(case_number=number, principal=agent_p,
                                  text=rng.choice(_REPLIES))
        else:
            services.note_add(case_number=number, principal=agent_p, text=rng.choice(_NOTES))
    for method in ("knowledge", "callback"):
        customers_services.identity_verify(viewer=supervisor_p, customer_id=target_customer,
                                           method=method, interaction_ref=f"case-{number}")
    data.target_case = number
    data.target_customer = str(target_customer)
    data.target_messages = len(kinds)


def _scope_facts(data: Dataset, rng: random.Random) -> None:
    """How big the agents' scope is, and a sample of cases in it per agent."""
    from safeguard.audit.models import Event
    from safeguard.cases.models import Case

    in_scope = list(Case.objects.filter(queue__slug__in=AGENT_QUEUES)
                    .values_list("number", "customer_id"))
    data.cases_in_agent_scope = len(in_scope)
    data.cases_total = Case.objects.count()
    data.customers_in_agent_scope = len({c for _, c in in_scope})
    for email in [data.bench_agent_email, *data.agents]:
        sample = rng.sample(in_scope, min(40, len(in_scope)))
        data.agent_case_numbers[email] = [n for n, _ in sample]
        data.agent_customer_ids[email] = [str(c) for _, c in sample]
    data.audit_events = Event.objects.count()

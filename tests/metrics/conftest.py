"""Metrics fixtures: a seeded month of cases, surveys and calls written straight to the cases
tables, with the raw facts kept beside them so tests compute every KPI independently."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from safeguard.cases.models import Case, CsatResponse, Interaction, Queue
from safeguard.web import providers
from tests.customers.factories import make_customer

T0 = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday


@dataclass
class World:
    # (submitted at, queue, channel, score)
    csat: list[tuple[datetime, str, str, int]] = field(default_factory=list)
    fcr: list[tuple[datetime, str, str, int, datetime | None]] = field(default_factory=list)
    calls: list[tuple[datetime, str, float | None, bool]] = field(default_factory=list)


def build_world() -> World:
    """28 days from T0: two queues, cases on three channels, surveys and voice calls."""
    rng = random.Random(14)
    customer = make_customer()
    queues = {s: Queue.objects.create(slug=s, name=s.title()) for s in ("billing", "tech")}
    w = World()
    number = 1000
    for day in range(28):
        for _ in range(rng.randint(2, 5)):
            number += 1
            q = rng.choice(list(queues))
            ch = rng.choice(["email", "chat", "voice"])
            created = T0 + timedelta(days=day, hours=rng.randint(8, 17))
            resolved = created + timedelta(hours=rng.randint(1, 20))
            reopened = resolved + timedelta(days=rng.choice([1, 3, 30])) if rng.random() < .2 \
                else None
            case = Case.objects.create(number=number, customer_id=customer.id, queue=queues[q],
                                       channel=ch, created_at=created, status="resolved",
                                       first_resolved_at=resolved, resolved_at=resolved,
                                       reopened_at=reopened)
            contacts = rng.choice([1, 1, 2])
            for k in range(contacts):
                Interaction.objects.create(case=case, channel=ch,
                                           started_at=created + timedelta(minutes=10 * k))
            w.fcr.append((resolved, q, ch, contacts, reopened))
            if rng.random() < .7:
                score = rng.choice([1, 2, 3, 4, 4, 5, 5, 5])
                at = resolved + timedelta(hours=2)
                CsatResponse.objects.create(case=case, queue=queues[q], score=score,
                                            submitted_at=at)
                w.csat.append((at, q, ch, score))
            if ch == "voice":
                queued = created - timedelta(minutes=1)
                answered = rng.random() < .85
                wait = rng.uniform(3, 70)
                Interaction.objects.create(
                    case=case, channel="voice", started_at=queued, queued_at=queued,
                    answered_at=queued + timedelta(seconds=wait) if answered else None,
                    ended_at=queued + timedelta(seconds=wait + 60))
                w.calls.append((queued, q, wait if answered else None, not answered))
    return w


@pytest.fixture
def world(db) -> World:
    return build_world()


@pytest.fixture
def provider():
    """Register a provider for one test (replacing what an installed app registered) and put
    the registry back afterwards."""
    saved = dict(providers._providers)

    def add(name, fn):
        providers._providers.pop(name, None)
        providers.register(name, fn)

    yield add
    providers._providers.clear()
    providers._providers.update(saved)


@pytest.fixture
def no_providers():
    """No provider registered for one test, as on an installation without the source apps;
    the registry is put back afterwards."""
    saved = dict(providers._providers)
    providers._providers.clear()
    yield
    providers._providers.update(saved)

"""Trust page (R-MEAS-5, R-ORG-1): uptime of the last 90 days from the live health history, a
daily SVG strip, the latest published incident notices; "unavailable" without their sources,
never a made-up figure; the signed JSON twin still verifies."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from cryptography.hazmat.primitives import serialization

from safeguard.audit import signing
from safeguard.metrics import trust
from safeguard.ops import health_history, selectors
from safeguard.web import providers

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh(settings):
    settings.SAFEGUARD_TRUST_MAX_AGE_SECONDS = 0
    settings.SAFEGUARD_HEALTH_SAMPLE_SECONDS = 3600
    trust.reset()
    yield
    trust.reset()


@pytest.fixture
def health(monkeypatch):
    state = {"up": True}
    monkeypatch.setattr(selectors, "readiness_checks", lambda: [
        selectors.Check("database", state["up"], "")])
    return state


def sample(when: datetime) -> None:
    with time_machine.travel(when, tick=False):
        health_history.sample_record()


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def page(client) -> str:
    with time_machine.travel(NOW, tick=False):
        return client.get("/trust/").content.decode()


@pytest.mark.django_db
def test_uptime_from_live_samples_changes_when_samples_change(client, health):
    # 8 hourly samples yesterday, all up
    for h in range(8):
        sample(NOW - timedelta(days=1) + timedelta(hours=h))
    html = page(client)
    assert "100.00 % of 8 health samples were up" in text_of(html)
    strip = re.search(r'<svg [^>]*class="uptime-bars".*?</svg>', html, re.S).group(0)
    root = ET.fromstring(strip)  # noqa: S314 - our own output
    days = root.findall("{http://www.w3.org/2000/svg}rect[@data-date]")
    assert len(days) == 90
    assert sum(1 for d in days if "unknown" in d.get("class", "")) == 89  # gaps: unknown
    # one more sample, down: the page follows the samples
    health["up"] = False
    sample(NOW - timedelta(hours=2))
    text = text_of(page(client))
    assert f"{int(8 / 9 * 10000) / 100:.2f} % of 9 health samples were up" in text  # 88.88
    assert "100.00 %" not in text


@pytest.mark.django_db
def test_no_samples_no_figure(client, health):
    text = text_of(page(client))
    assert "Uptime: unavailable (no health samples in the last 90 days)" in text
    assert " %" not in text.split("Uptime, last 90 days")[1].split("Incident notices")[0]


@pytest.mark.django_db
def test_without_the_provider_uptime_is_unavailable(client, provider):
    providers._providers.pop("ops.uptime_90d")
    text = text_of(page(client))
    assert "Uptime: unavailable (no health history)" in text


@pytest.mark.django_db
def test_notices_from_the_incidents_provider(client, provider):
    published = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    calls = []

    def notices(limit: int = 5):
        calls.append(limit)
        return [{"title": "E-mail delivery delayed", "summary": "Outbound mail queued 2 hours.",
                 "published_at": published, "incident_ref": "INC-2026-0007"}]

    provider("incidents.published_notices", notices)
    html = page(client)
    item = re.search(r'<li data-notice="INC-2026-0007">.*?</li>', html, re.S).group(0)
    assert "E-mail delivery delayed" in item
    assert "Outbound mail queued 2 hours." in item
    assert published.isoformat() in item
    assert calls == [5]
    with time_machine.travel(NOW, tick=False):
        doc = client.get("/trust.json").json()["document"]
    assert doc["incident_notices"]["items"] == [{
        "title": "E-mail delivery delayed", "summary": "Outbound mail queued 2 hours.",
        "published_at": "2026-11-20T09:30:00+00:00", "incident_ref": "INC-2026-0007"}]
    provider("incidents.published_notices", lambda limit=5: [])
    assert "None published." in text_of(page(client))
    providers._providers.pop("incidents.published_notices")
    assert "Incident notices: unavailable." in text_of(page(client))


@pytest.mark.django_db
def test_signed_json_carries_uptime_and_verifies(client, health):
    for h in range(3):
        sample(NOW - timedelta(hours=h + 1))
    with time_machine.travel(NOW, tick=False):
        body = client.get("/trust.json").json()
    doc = body["document"]
    up = doc["uptime_90_days"]
    assert (up["status"], up["overall"], up["samples"], up["percent"]) == (
        "available", 1.0, 3, "100.00")
    assert up["days"][-1] == {"date": "2026-12-03", "up_ratio": 1.0, "samples": 3}
    assert doc["as_of"] == NOW.isoformat()
    public = serialization.load_pem_public_key(body["public_key_pem"].encode())
    public.verify(signing.unb64(body["signature"]["value"]),
                  trust.MESSAGE_PREFIX + trust.canonical(doc))

"""The public trust page and its signed JSON twin (R-MEAS-5, R-ORG-1): generated from live
state, never showing a value the state does not support, changing when a control fails."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
import time_machine
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from safeguard.accounts import services as accounts
from safeguard.audit import signing
from safeguard.metrics import trust
from tests.factories import SYSTEM


@dataclass
class Control:
    id: str
    name: str
    passing: bool | None
    checked_at: datetime | None


@pytest.fixture
def org(db):
    accounts.organisation_update(actor=SYSTEM, name="Example Ltd", dpo_name="Dana Po",
                                 dpo_email="dpo@example.test", security_hotline="+44 20 7946 0000",
                                 security_email="security@example.test")


@pytest.fixture(autouse=True)
def _fresh_trust(settings):
    settings.SAFEGUARD_TRUST_MAX_AGE_SECONDS = 0
    trust.reset()
    yield
    trust.reset()


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_without_providers_every_sourced_section_is_unavailable(client, org, no_providers):
    resp = client.get("/trust/")
    assert resp.status_code == 200
    text = _text(resp.content.decode())
    for section in ("Control status: unavailable", "Certifications: unavailable",
                    "Subprocessor register: unavailable", "Uptime: unavailable",
                    "Incident notices: unavailable"):
        assert section in text
    # nothing the state does not support: no pass mark, no percentage, no certification
    assert "pass" not in text.replace("passes", "")
    assert "✔" not in text
    assert " %" not in text
    assert "Dana Po" in text
    assert "security@example.test" in text
    assert "+44 20 7946 0000" in text
    assert re.search(r'<time datetime="[0-9T:.+-]+" id="as-of">', resp.content.decode())


def test_the_page_changes_when_a_control_fails(client, org, provider):
    state = {"c1": True, "c2": True}

    def controls():
        return [Control("A.5.15", "Access control", state["c1"], datetime(2026, 12, 1, tzinfo=UTC)),
                Control("A.8.5", "Secure authentication", state["c2"], None)]

    provider("governance.controls", controls)
    html = client.get("/trust/").content.decode()
    assert "2 of 2 controls pass now; 0 failing." in _text(html)
    # when a control fails in the live state
    state["c2"] = False
    html = client.get("/trust/").content.decode()
    # then the page says so at once
    assert "1 of 2 controls pass now; 1 failing." in _text(html)
    row = re.search(r'<tr data-control="A.8.5">.*?</tr>', html, re.S).group(0)
    assert "✘ fail" in row
    assert "✔" not in row
    # a control not yet checked is not shown as passing
    state["c1"] = None
    html = client.get("/trust/").content.decode()
    assert "0 of 2 controls pass now; 1 failing." in _text(html)
    assert "not checked" in re.search(r'<tr data-control="A.5.15">.*?</tr>', html, re.S).group(0)


def test_subprocessors_and_uptime_from_their_providers(client, org, provider):
    provider("privacy.subprocessors", lambda: [
        {"vendor": "Mailer GmbH", "service": "E-mail delivery", "location": "DE",
         "data_categories": ["contact"]}])
    provider("ops.uptime_90d", lambda days=90: {
        "overall": 0.99996, "samples": 25000,
        "days": [{"date": date(2026, 11, 30), "up_ratio": 0.99996, "samples": 25000}]})
    text = _text(client.get("/trust/").content.decode())
    assert "Mailer GmbH E-mail delivery DE contact" in text
    assert "99.99 %" in text  # rounded down, never up to 100
    provider("incidents.published_notices", list)
    assert "None published." in _text(client.get("/trust/").content.decode())


def test_json_twin_is_signed_by_the_audit_signer_and_matches_the_page(client, org, no_providers,
                                                                     provider):
    provider("governance.certifications", lambda: [
        {"name": "ISO/IEC 27001", "issued_on": date(2025, 5, 1), "expires_on": date(2028, 4, 30)}])
    body = client.get("/trust.json").json()
    doc, sig = body["document"], body["signature"]
    assert doc["certifications"]["items"][0]["expires_on"] == "2028-04-30"
    assert doc["controls"] == {"status": "unavailable", "source": "governance.controls"}
    assert doc["contacts"]["dpo"] == {"name": "Dana Po", "email": "dpo@example.test"}
    public = serialization.load_pem_public_key(body["public_key_pem"].encode())
    message = trust.MESSAGE_PREFIX + trust.canonical(doc)
    public.verify(signing.unb64(sig["value"]), message)  # raises when it does not verify
    assert sig["key_id"] == signing.get_signer().key_id
    # a changed document does not verify
    doc["controls"] = {"status": "available", "items": []}
    with pytest.raises(InvalidSignature):
        public.verify(signing.unb64(sig["value"]), trust.MESSAGE_PREFIX + trust.canonical(doc))
    assert json.loads(trust.canonical(body["document"]))["version"] == 1


def test_the_public_document_is_rebuilt_at_most_every_max_age(client, org, provider, settings):
    settings.SAFEGUARD_TRUST_MAX_AGE_SECONDS = 60
    state = {"passing": True}
    provider("governance.controls", lambda: [Control("C1", "Backups", state["passing"], None)])
    with time_machine.travel(datetime(2026, 12, 1, 12, 0, tzinfo=UTC), tick=False):
        first = client.get("/trust.json").json()
    state["passing"] = False
    with time_machine.travel(datetime(2026, 12, 1, 12, 0, 59, tzinfo=UTC), tick=False):
        same = client.get("/trust.json").json()
        page = _text(client.get("/trust/").content.decode())
    assert same == first  # one build and one signature per interval
    assert "1 of 1 controls pass now" in page
    assert first["document"]["as_of"] == "2026-12-01T12:00:00+00:00"  # and it says when
    with time_machine.travel(datetime(2026, 12, 1, 12, 1, tzinfo=UTC), tick=False):
        later = client.get("/trust.json").json()
    assert later["document"]["controls"]["failing"] == 1


@pytest.mark.django_db
def test_controls_in_the_governance_shape(client, org, provider):
    """The governance app's provider gives ``title`` and a ``status`` string: only pass and fail
    are shown as such; not applicable and unavailable are "not checked", never a pass."""
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    provider("governance.controls", lambda: [
        {"id": "SG-1", "title": "MFA for all staff", "status": "pass", "checked_at": now},
        {"id": "SG-2", "title": "Key age", "status": "fail", "checked_at": now},
        {"id": "SG-3", "title": "Backups", "status": "unavailable", "checked_at": now},
        {"id": "SG-4", "title": "WebAuthn", "status": "not_applicable", "checked_at": now}])
    data = client.get("/trust.json").json()
    controls = data["document"]["controls"] if "document" in data else data["controls"]
    assert [c["result"] for c in controls["items"]] == ["pass", "fail", "not checked",
                                                       "not checked"]
    assert controls["items"][0]["name"] == "MFA for all staff"
    assert (controls["passing"], controls["failing"], controls["total"]) == (1, 1, 4)

"""The customer-facing summary (R-MEAS-4): controls, uptime, certifications, subprocessors and
security contacts from live state, with no internal detail; it renders as a PDF."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, date, datetime

import pytest
from PIL import Image

from safeguard.accounts import services as accounts
from safeguard.audit.models import Event
from tests.factories import SYSTEM, make_user, signed_in_client

URL = "/metrics/customer-summary/"
STAFF_EMAIL = "alex.internal@corp.example"
EVIDENCE = "internal evidence: 3 admins lack WebAuthn"


@pytest.fixture
def live(db, provider):
    accounts.organisation_update(actor=SYSTEM, name="Example Ltd", dpo_name="Dana Po",
                                 dpo_email="dpo@example.com", security_hotline="+44 20 7946 0000",
                                 security_email="security@example.com")
    provider("governance.controls", lambda: [
        {"id": "mfa", "title": "MFA for every staff login", "status": "pass",
         "checked_at": datetime(2026, 3, 1, tzinfo=UTC), "evidence": EVIDENCE},
        {"id": "backups", "title": "Backups restored recently", "status": "fail",
         "checked_at": datetime(2026, 3, 1, tzinfo=UTC), "evidence": EVIDENCE},
        {"id": "training", "title": "Training complete", "status": "unavailable",
         "checked_at": None, "evidence": ""},
    ])
    provider("privacy.subprocessors", lambda: [
        {"vendor": "Mailer Inc", "service": "E-mail delivery", "location": "EU",
         "data_categories": ["user.contact.email"]}])
    provider("ops.uptime_90d", lambda *, days=90: {
        "overall": 0.99987, "days": [{"date": date(2026, 3, 1), "up_ratio": 0.99987}]})
    return signed_in_client(make_user(email=STAFF_EMAIL, roles=("compliance_manager",)))


def test_summary_shows_live_state_and_no_internal_detail(live):
    resp = live.get(URL)
    html = resp.content.decode()
    assert resp.status_code == 200
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "1 of 3 controls passing now, 1 failing, 1 not checked yet" in text
    assert "Backups restored recently failing" in text
    assert "99.98 %" in text  # rounded down, never up
    assert "Mailer Inc E-mail delivery EU user.contact.email" in text
    assert "security@example.com" in text
    assert "dpo@example.com" in text
    # the governance certification register is installed and holds none: "None held"
    assert re.search(r'id="certifications">.*?None held', html, re.S)
    # no staff names or addresses, no evidence
    body = re.search(r'<div class="panel customer-summary">(.*)</div>', html, re.S).group(1)
    assert STAFF_EMAIL not in body
    assert "Dana Po" not in body
    assert EVIDENCE not in body
    assert Event.objects.filter(action="metrics.customer_summary_generated").count() == 1


@pytest.mark.django_db
def test_summary_sections_unavailable_without_providers(no_providers):
    client = signed_in_client(make_user(roles=("compliance_manager",)))
    html = client.get(URL).content.decode()
    for section in ("controls", "uptime", "certifications", "subprocessors"):
        assert re.search(rf'id="{section}">.*?Unavailable', html, re.S), section


@pytest.mark.django_db
def test_summary_needs_its_permission():
    agent = signed_in_client(make_user(roles=("agent",)))
    assert agent.get(URL).status_code == 403
    assert agent.get(URL + "summary.pdf").status_code == 403


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils missing")
def test_summary_pdf_renders_without_internal_detail(live, tmp_path):
    resp = live.get(URL + "summary.pdf")
    assert resp.status_code == 200
    assert resp["Content-Type"] == "application/pdf"
    pdf = tmp_path / "summary.pdf"
    pdf.write_bytes(resp.content)
    text = subprocess.run([shutil.which("pdftotext") or "pdftotext", "-layout", str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "Security summary" in text
    assert "Example Ltd" in text
    assert "Mailer Inc" in text
    assert "99.98 %" in text
    assert STAFF_EMAIL not in text
    assert "Dana Po" not in text
    assert "internal evidence" not in text
    subprocess.run([shutil.which("pdftoppm") or "pdftoppm", "-png", "-r", "50", "-f", "1",
                    "-l", "1", str(pdf), str(tmp_path / "page")], check=True, timeout=60)
    png = sorted(tmp_path.glob("page*.png"))[0]
    with Image.open(png) as im:
        assert im.width > 300
        assert im.height > 400
        # the page is not blank: some dark pixels (text) are on it
        assert im.convert("L").getextrema()[0] < 100

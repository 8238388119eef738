"""The evidence locker in a real browser at phone width (R-IR-5): an analyst uploads a file,
sees its SHA-256, records a hand-over and reads the chain of custody; no CSP violation, no
sideways scrolling."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from safeguard.audit.contracts import Actor
from safeguard.incidents import services
from tests.e2e.conftest import STEP_TIMEOUT_MS, sign_in_with_totp
from tests.factories import make_user

pytestmark = pytest.mark.e2e

CONTENT = b"10.0.0.9 GET /customers/export 200 1200 rows\n"


def test_upload_evidence_record_a_transfer_and_read_custody_at_390px(
        browser: Browser, live_server, csp_violations: list[str], page: Page, tmp_path):
    analyst = make_user(email="analyst@example.test", roles=("security_analyst",))
    incident = services.incident_open(
        actor=Actor(kind="user", id=str(analyst.id), label=analyst.email),
        title="Bulk export at night", severity="sev2", category="insider_misuse",
        aware_at=timezone.now() - timedelta(minutes=10), summary="", jurisdictions=[])
    context = browser.new_context(base_url=live_server.url,
                                  viewport={"width": 390, "height": 844})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    phone = context.new_page()
    seen_csp: list[str] = []
    phone.on("console", lambda m: seen_csp.append(m.text) if "Content Security" in m.text
             else None)
    upload = tmp_path / "proxy.log"
    upload.write_bytes(CONTENT)
    try:
        sign_in_with_totp(phone, live_server, analyst.email)
        phone.goto(f"/incidents/{incident.id}/")
        phone.get_by_role("link", name="Evidence locker").click()
        phone.locator("#up_file").set_input_files(str(upload))
        phone.locator("#up_purpose").fill("preserve the proxy log")
        phone.get_by_role("button", name="Upload").click()
        digest = hashlib.sha256(CONTENT).hexdigest()
        expect(phone.locator("#evidence-items")).to_contain_text(digest)
        phone.get_by_role("link", name="proxy.log").click()
        phone.locator("#tr_to").fill("Outside counsel")
        phone.locator("#tr_purpose").fill("legal hold")
        phone.get_by_role("button", name="Record transfer").click()
        expect(phone.locator("#custody")).to_contain_text("transferred")
        expect(phone.locator("#custody")).to_contain_text("Outside counsel")
        expect(phone.locator("#custody tbody tr")).to_have_count(2)
        phone.wait_for_load_state("load")  # measured once the stylesheets apply
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        assert seen_csp == []
        assert csp_violations == []
    finally:
        context.close()

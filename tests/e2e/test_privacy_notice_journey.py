"""The privacy officer publishes the privacy notice and a subprocessor in a real browser; a
visitor without any login reads both on a phone (R-DATA-5, R-DATA-6, R-ORG-1): the version in
force, the DPO from the organisation settings, the retention periods of the matrix in force,
the register — readable at 390 px, no CSP violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from safeguard.accounts import services as accounts
from safeguard.privacy.models import NoticeVersion, Subprocessor
from tests.e2e.conftest import STEP_TIMEOUT_MS, sign_in_with_totp
from tests.factories import SYSTEM, make_user

pytestmark = pytest.mark.e2e


def test_a_notice_and_a_subprocessor_are_published_and_read_without_login_at_390px(
        browser: Browser, live_server, page: Page, csp_violations: list[str]):
    accounts.organisation_update(actor=SYSTEM, name="Acme Support Ltd", dpo_name="Dana Prior",
                                 dpo_email="dpo@acme.example", security_hotline="",
                                 security_email="")
    officer = make_user(email="officer@example.test", roles=("privacy_officer",))
    sign_in_with_totp(page, live_server, officer.email)
    # the officer publishes version 1, in force today (the form's default date)
    page.goto("/privacy/publish/notice/")
    page.get_by_label("What changed").fill("First published version")
    page.get_by_label("Notice text").fill("We use your messages to answer you.\n\n"
                                          "You may ask us for a copy of your data.")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Version 1 published")).to_be_visible()
    # and adds a subprocessor
    page.goto("/privacy/publish/subprocessors/")
    page.get_by_label("Vendor").fill("Hetzner Online")
    page.get_by_label("Service").fill("Hosting")
    page.get_by_label("user.contact.email — E-mail address (or a blind index of one)").check()
    page.get_by_label("Location").fill("Germany")
    page.get_by_label("DPA signed on").fill("2025-02-01")
    page.get_by_label("Last verified on").fill("2025-11-01")
    page.get_by_label("Evidence of the verification").fill("ISO 27001 certificate 2025")
    page.get_by_role("button", name="Add and publish").click()
    expect(page.get_by_text("Subprocessor added to the public register.")).to_be_visible()
    assert NoticeVersion.objects.count() == 1
    assert Subprocessor.objects.get().vendor == "Hetzner Online"

    # a visitor with no session reads the notice on a phone
    context = browser.new_context(base_url=live_server.url,
                                  viewport={"width": 390, "height": 844})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    phone = context.new_page()
    try:
        phone.goto("/privacy/notice/")
        expect(phone.locator("#notice-version")).to_contain_text("Version 1, in effect from")
        expect(phone.locator("#notice-body")).to_contain_text("ask us for a copy")
        expect(phone.locator("#dpo")).to_have_text("Dana Prior, dpo@acme.example")
        expect(phone.locator("#retention")).to_contain_text("90 days after the call ends")
        expect(phone.locator("#subprocessor-count")).to_contain_text(
            "1 subprocessor: Hetzner Online.")
        phone.wait_for_load_state("load")  # measured once the stylesheets apply
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        phone.get_by_role("link", name="The subprocessor register").click()
        expect(phone.locator("#subprocessors")).to_contain_text("ISO 27001 certificate 2025")
        phone.wait_for_load_state("load")  # measured once the stylesheets apply
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
    assert csp_violations == []

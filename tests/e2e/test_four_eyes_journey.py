"""Four eyes in a real browser at phone width (R-OPS-8): one administrator requests a sensitive
role for a service account, a second approves it by keyboard at 390 px, with no CSP violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from safeguard.accounts import selectors
from safeguard.accounts import services as accounts
from tests.e2e.conftest import STEP_TIMEOUT_MS, sign_in_with_totp
from tests.factories import SYSTEM, make_user

pytestmark = pytest.mark.e2e

LOGIN = "/account/login/"
MFA_AUTHENTICATE = "/account/mfa/authenticate/"



def _phone(browser: Browser, live_server) -> Page:
    context = browser.new_context(base_url=live_server.url,
                                  viewport={"width": 390, "height": 844})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    return context.new_page()


def test_a_sensitive_grant_is_requested_then_approved_by_another_admin_at_390px(
        browser: Browser, live_server, page: Page, csp_violations: list[str]):
    accounts.role_create(actor=SYSTEM, slug="card-handoff", name="Card hand-off",
                         permissions=["protection.detokenize"])
    alice = make_user(email="alice@example.test", roles=("administrator",))
    bob = make_user(email="bob@example.test", roles=("administrator",))
    gateway = make_user(email="gateway@example.test", is_service_account=True, mfa=False,
                        password="")
    # alice requests the role for the gateway
    sign_in_with_totp(page, live_server, alice.email)
    page.goto(f"/staff/users/{gateway.id}/")
    page.get_by_label("Role to grant").select_option("card-handoff")
    page.get_by_label("Reason (required for a sensitive role)").fill("gateway go-live 7781")
    page.get_by_role("button", name="Grant role").click()
    expect(page.get_by_text("Grant requested")).to_be_visible()
    # on her own request she has no approve button
    page.goto("/staff/grant-requests/")
    expect(page.get_by_text("another administrator decides")).to_be_visible()
    assert selectors.user_get(user_id=gateway.id).roles == ()

    # bob approves on a phone, by keyboard
    phone = _phone(browser, live_server)
    try:
        sign_in_with_totp(phone, live_server, bob.email)
        phone.goto("/staff/grant-requests/")
        approve = phone.get_by_role("button", name="Approve Card hand-off for gateway@example.test")
        expect(approve).to_be_visible()
        # readable at 390 px: the page itself does not scroll sideways (a wide table scrolls in
        # its own box)
        phone.wait_for_load_state("load")  # measured once the stylesheets apply
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        approve.focus()
        phone.keyboard.press("Enter")
        expect(phone.get_by_text("Request approved: Card hand-off for gateway@example.test")
               ).to_be_visible()
    finally:
        phone.context.close()
    assert selectors.user_get(user_id=gateway.id).roles == ("card-handoff",)
    assert csp_violations == []

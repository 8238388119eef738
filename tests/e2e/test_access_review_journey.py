"""An access review in a real browser at phone width (R-OPS-8): a reviewer keeps one grant and
revokes another by keyboard at 390 px; the last decision closes the campaign, whose page then
offers the signed report. No CSP violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from safeguard.accounts import reviews, selectors
from safeguard.accounts.review_models import AccessReviewCampaign, AccessReviewItem
from safeguard.audit.contracts import Actor
from tests.e2e.conftest import STEP_TIMEOUT_MS, sign_in_with_totp
from tests.factories import SYSTEM, make_user

pytestmark = pytest.mark.e2e


def _phone(browser: Browser, live_server) -> Page:
    context = browser.new_context(base_url=live_server.url,
                                  viewport={"width": 390, "height": 844})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    return context.new_page()


def test_a_reviewer_decides_at_390px_and_the_campaign_closes(
        browser: Browser, live_server, csp_violations: list[str]):
    alice = make_user(email="alice@example.test", roles=("administrator",))
    bob = make_user(email="bob@example.test", roles=("compliance_manager",))
    carol = make_user(email="carol@example.test", roles=("auditor",))
    reviews.campaign_start(actor=SYSTEM)
    # bob has already kept alice's administrator role; alice has two items left
    mine = AccessReviewItem.objects.get(grant_key=f"role:{alice.id}:administrator")
    reviews.item_decide(actor=Actor(kind="user", id=str(bob.id), label=bob.email),
                        item_id=mine.id, decision="keep", comment="")

    phone = _phone(browser, live_server)
    phone.on("console", lambda msg: csp_violations.append(msg.text)
             if "Content Security Policy" in msg.text else None)
    try:
        sign_in_with_totp(phone, live_server, alice.email)
        phone.goto("/staff/reviews/queue/")
        expect(phone.get_by_role("heading", name="bob@example.test — Role: Compliance manager")
               ).to_be_visible()
        phone.wait_for_load_state("load")  # measured once the stylesheets apply
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        # keep bob's role by keyboard
        bob_item = phone.locator("section", has_text="bob@example.test — Role: Compliance")
        bob_item.get_by_role("button", name="Keep").focus()
        phone.keyboard.press("Enter")
        expect(phone.get_by_text("Role: Compliance manager of bob@example.test: kept.")
               ).to_be_visible()
        # revoke carol's role: the comment is typed, then Revoke pressed
        phone.get_by_label("Comment for carol@example.test — Role: Auditor (required to "
                           "revoke)").fill("moved to the billing team")
        carol_item = phone.locator("section", has_text="carol@example.test — Role: Auditor")
        carol_item.get_by_role("button", name="Revoke").focus()
        phone.keyboard.press("Enter")
        expect(phone.get_by_text("Role: Auditor of carol@example.test: revoked.")
               ).to_be_visible()
        expect(phone.get_by_text("Nothing waits for your review.")).to_be_visible()
        # the campaign closed with its signed report
        campaign = AccessReviewCampaign.objects.get()
        phone.goto(f"/staff/reviews/{campaign.id}/")
        expect(phone.get_by_role("link", name="Download the signed report (PDF)")).to_be_visible()
        expect(phone.get_by_text("3 of 3 decided")).to_be_visible()
        phone.wait_for_load_state("load")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        phone.context.close()
    campaign.refresh_from_db()
    assert (campaign.status, campaign.close_reason) == ("closed", "complete")
    assert selectors.user_role_slugs(user_id=carol.id) == ()
    assert csp_violations == []


def test_a_manager_is_set_and_an_item_handed_over_by_keyboard_at_390px(
        browser: Browser, live_server, csp_violations: list[str]):
    """The manager field on the user page and the handover form in the queue, by keyboard at
    phone width (issue 13 section 2): the manager then reviews, and hands the item on."""
    alice = make_user(email="alice@example.test", roles=("administrator",))
    bob = make_user(email="bob@example.test", roles=("compliance_manager",))
    carol = make_user(email="carol@example.test", roles=("auditor",))
    phone = _phone(browser, live_server)
    phone.on("console", lambda msg: csp_violations.append(msg.text)
             if "Content Security Policy" in msg.text else None)
    try:
        sign_in_with_totp(phone, live_server, alice.email)
        phone.goto(f"/staff/users/{carol.id}/")
        phone.wait_for_load_state("load")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        select = phone.get_by_label("Manager", exact=True)
        box = select.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 390
        select.focus()
        select.select_option(label="alice@example.test")
        phone.get_by_role("button", name="Save manager").focus()
        phone.keyboard.press("Enter")
        expect(phone.get_by_text("Manager set to alice@example.test.")).to_be_visible()
        assert selectors.user_get(user_id=carol.id).manager_id == alice.id
        # the campaign gives carol's grant to alice, her manager
        reviews.campaign_start(actor=SYSTEM)
        item = AccessReviewItem.objects.get(grant_key=f"role:{carol.id}:auditor")
        assert (item.reviewer_id, item.assigned_as) == (alice.id, "manager")
        phone.goto("/staff/reviews/queue/")
        phone.wait_for_load_state("load")
        section = phone.locator("section", has_text="carol@example.test — Role: Auditor")
        expect(section.get_by_text("as the user's manager")).to_be_visible()
        section.locator("summary", has_text="Hand to another reviewer").focus()
        phone.keyboard.press("Enter")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        phone.get_by_label("New reviewer for carol@example.test — Role: Auditor"
                           ).select_option(label="bob@example.test")
        section.get_by_label("Reason (required)").fill("I manage her directly")
        section.get_by_role("button", name="Hand over").focus()
        phone.keyboard.press("Enter")
        expect(phone.get_by_text("Role: Auditor of carol@example.test handed to "
                                 "bob@example.test.")).to_be_visible()
    finally:
        phone.context.close()
    item.refresh_from_db()
    assert (item.reviewer_id, item.assigned_as) == (bob.id, "reassigned")
    assert csp_violations == []

"""The playbook checklist and the containment panel in a real browser at phone width (R-IR-1,
R-IR-7): the checklist by stage with owners, due times and overdue items; an item checked off
and exports frozen and unfrozen with the keyboard alone; no CSP violation, no sideways scroll."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from safeguard.audit.contracts import Actor
from safeguard.incidents import services
from tests.e2e.conftest import STEP_TIMEOUT_MS, sign_in_with_totp
from tests.factories import make_user

pytestmark = pytest.mark.e2e


def test_checklist_and_export_freeze_by_keyboard_at_390px(
        browser: Browser, live_server, csp_violations: list[str], page: Page):
    analyst = make_user(email="analyst@example.test", roles=("security_analyst",))
    iid = services.incident_open(
        actor=Actor(kind="user", id=str(analyst.id), label=analyst.email),
        title="Customer export found on a paste site", severity="sev1",
        category="data_breach", aware_at=timezone.now() - timedelta(hours=5)).id
    context = browser.new_context(base_url=live_server.url,
                                  viewport={"width": 390, "height": 844})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    phone = context.new_page()
    seen_csp: list[str] = []
    phone.on("console", lambda m: seen_csp.append(m.text) if "Content Security" in m.text
             else None)
    try:
        sign_in_with_totp(phone, live_server, analyst.email)
        phone.goto(f"/incidents/{iid}/")
        expect(phone.locator("#playbook-pin")).to_contain_text("data_breach.yaml v1")
        expect(phone.locator("#stage-forensic_preservation")).to_contain_text(
            "Forensic preservation")
        # due 2 h after awareness, 5 h ago: overdue, owned by the (unassigned) Forensics Lead
        row = phone.locator("#item-scope-access")
        expect(row).to_contain_text("overdue")
        expect(row).to_contain_text("Forensics Lead")
        # check it off with the keyboard: type the note, Enter submits
        note = row.get_by_label("Note")
        note.focus()
        phone.keyboard.type("two tokens and one address")
        phone.keyboard.press("Enter")
        expect(phone.locator("#item-scope-access")).to_contain_text("done late")
        expect(phone.locator("#item-scope-access")).to_contain_text(
            "two tokens and one address")
        # freeze every export: open the disclosure and submit, keyboard only
        summary = phone.locator("summary", has_text="Freeze every data export")
        summary.focus()
        phone.keyboard.press("Enter")
        phone.locator("#cf_reason").focus()
        phone.keyboard.type("exfiltration path unknown")
        phone.keyboard.press("Enter")
        expect(phone.locator("#freeze-state")).to_contain_text("Data exports frozen")
        expect(phone.locator("#actions")).to_contain_text("every data export")
        # reverse it, saying why
        phone.locator("#actions input[name=reason]").focus()
        phone.keyboard.type("path closed")
        phone.keyboard.press("Enter")
        expect(phone.locator("#actions")).to_contain_text("path closed")
        expect(phone.locator("#freeze-state")).to_have_count(0)
        phone.wait_for_load_state("load")  # measured once the stylesheets apply
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        assert seen_csp == []
        assert csp_violations == []
    finally:
        context.close()

"""An incident in a real browser at phone width (R-IR-1, R-IR-2, R-IR-7, R-REG-3): an analyst
opens it by hand, sees the SLA and regulator clocks, names the Incident Commander and disables
an agent whose open page is signed out at once; no CSP violation, no sideways scrolling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import STEP_TIMEOUT_MS, sign_in_with_totp
from tests.factories import make_user

pytestmark = pytest.mark.e2e


def _context(browser: Browser, live_server, width: int) -> Page:
    context = browser.new_context(base_url=live_server.url,
                                  viewport={"width": width, "height": 844})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    return context.new_page()


def test_open_incident_see_clocks_and_contain_an_agent_at_390px(
        browser: Browser, live_server, csp_violations: list[str], page: Page):
    analyst = make_user(email="analyst@example.test", roles=("security_analyst",))
    agent = make_user(email="agent@example.test", roles=("agent",))
    agent_page = _context(browser, live_server, 1200)
    phone = _context(browser, live_server, 390)
    seen_csp: list[str] = []
    phone.on("console", lambda m: seen_csp.append(m.text) if "Content Security" in m.text
             else None)
    try:
        sign_in_with_totp(agent_page, live_server, agent.email)
        sign_in_with_totp(phone, live_server, analyst.email)
        # open an incident by hand
        phone.goto("/incidents/")
        phone.get_by_label("Title").fill("Agent reading profiles at night")
        phone.get_by_label("Severity").select_option("sev1")
        phone.get_by_label("Category").select_option("insider_misuse")
        aware = timezone.localtime() - timedelta(minutes=20)
        phone.get_by_label("Aware since").fill(aware.strftime("%Y-%m-%dT%H:%M"))
        phone.locator("input[value='EU-GDPR']").check()
        phone.get_by_role("button", name="Open incident").click()
        expect(phone.get_by_role("heading", level=1)).to_contain_text(
            "Agent reading profiles at night")
        # the clocks: triage runs (about 40 minutes left), GDPR's 72 hours are owed
        expect(phone.locator("#sla")).to_contain_text("min left")
        expect(phone.locator("#notices")).to_contain_text("Lead supervisory authority")
        gdpr_due = timezone.localtime(aware.replace(second=0, microsecond=0)
                                      + timedelta(hours=72))
        expect(phone.locator("#notices")).to_contain_text(gdpr_due.strftime("%Y-%m-%d %H:%M"))
        # name the Incident Commander
        phone.locator("#role_role").select_option("commander")
        phone.get_by_label("Staff member").select_option(label=analyst.email)
        phone.get_by_role("button", name="Assign").click()
        expect(phone.locator("#roles")).to_contain_text("Incident Commander")
        # disable the agent: their open page is signed out on the next request
        phone.get_by_label("Staff user id").fill(str(agent.id))
        phone.locator("#cu_reason").fill(
            "night-time bulk reads")
        phone.get_by_role("button", name="Disable user, end sessions and tokens").click()
        expect(phone.locator("#actions")).to_contain_text("agent@example.test")
        agent_page.reload()
        assert "/account/login/" in agent_page.url
        expect(phone.locator("#timeline")).to_contain_text("containment taken")
        phone.wait_for_load_state("load")  # measured once the stylesheets apply
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        assert seen_csp == []
        assert csp_violations == []
    finally:
        agent_page.context.close()
        phone.context.close()

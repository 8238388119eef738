"""Browser journeys of the metrics app (issue 14): the KPI page's charts and the public trust
page, under the strict CSP, readable at 390 px."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import sign_in_with_totp, sync_api
from tests.factories import make_user
from tests.metrics.conftest import build_world


@pytest.fixture
def world(transactional_db):
    return build_world()


def test_supervisor_reads_kpi_charts_on_a_phone_without_csp_violations(
        page, live_server, csp_violations, world):
    # given a supervisor with a month of service data
    user = make_user(roles=("supervisor",))
    sign_in_with_totp(page, live_server, user.email)
    # when they open the KPIs from the menu and ask for March, daily, on a phone-sized screen
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name="KPIs", exact=True).click()
    page.get_by_label("Start").fill("2026-03-02")
    page.get_by_label("End").fill("2026-03-29")
    page.get_by_label("Granularity").select_option("daily")
    page.get_by_label("Queue").select_option("billing")
    page.get_by_role("button", name="Show").click()
    # then every charted KPI shows a chart with its limits labelled and its points marked
    charts = page.locator("svg.control-chart")
    sync_api.expect(charts.first).to_be_visible()
    assert charts.count() == 3
    assert "UCL" in charts.first.text_content()
    marks = page.locator("#kpi-csat svg [data-index]").count()
    assert marks > 10
    # governance's vulnerability register offers the KPI; nothing was fixed in the period
    assert page.locator('tr[data-kpi="vulnerabilities_on_time"] .kpi-status'
                        ).text_content().strip() == "no data"
    page.wait_for_load_state("load")  # measured once the stylesheets apply
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert csp_violations == []


def test_public_trust_page_and_security_txt(page, live_server, csp_violations, settings):
    settings.SAFEGUARD_SECURITY_TXT_EXPIRES = "2099-01-01T00:00:00Z"
    settings.SAFEGUARD_TRUST_MAX_AGE_SECONDS = 0
    from safeguard.accounts import services
    from tests.factories import SYSTEM
    services.organisation_update(actor=SYSTEM, name="Example Ltd", dpo_name="Dana Po",
                                 dpo_email="dpo@example.test", security_hotline="",
                                 security_email="security@example.test")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/trust/")
    sync_api.expect(page.get_by_role("heading", name="Trust: Example Ltd")).to_be_visible()
    # the governance controls are listed; none was evaluated yet, so none shows as passing
    controls = page.locator("#controls").text_content()
    from safeguard.governance import selectors as governance
    total = len(governance.controls_for_trust_page())  # whatever the control library holds
    assert total > 0
    assert f"0 of {total} controls pass now; 0 failing." in controls
    assert "✔" not in controls
    page.get_by_role("link", name="security.txt").click()
    # the click starts a navigation; wait for the plain-text document before reading it
    page.wait_for_url("**/.well-known/security.txt")
    sync_api.expect(page.locator("body")).to_contain_text("Contact: mailto:security@example.test")
    assert csp_violations == []

"""Browser journey (issue 13 section 3; R-WORK-1, R-WORK-2, R-KPI-7): a compliance manager on a
390 px screen opens the workforce overview, imports a GoPhish results file through the upload
form, reads the campaign's rates, and opens the training page — readable without sideways
scrolling, with no CSP violation."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from safeguard.audit.contracts import Actor
from safeguard.governance import phishing, workforce
from tests.e2e.conftest import sign_in_with_totp
from tests.factories import make_user

pytestmark = pytest.mark.e2e

DATA = Path(__file__).parents[1] / "governance" / "data"
JOB = Actor.system("e2e")


def _fits(page: Page) -> None:
    page.wait_for_load_state("load")  # measured once the stylesheets apply
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_compliance_manager_imports_a_phishing_campaign_at_390px(
        live_server, page: Page, csp_violations: list[str]):
    for n in range(1, 14):
        agent = make_user(email=f"agent{n:02d}@example.test", roles=("agent",))
    for n in range(1, 7):
        lead = make_user(email=f"lead{n}@example.test", roles=("supervisor",))
        workforce.staff_team_set(user_id=lead.id, team="Tier 2", actor=JOB)
    course = workforce.course_create(title="Social engineering on the phone", hours="2.5",
                                     roles=["agent"], refresher_months=12, actor=JOB)
    workforce.completion_record(course_id=course, user_id=agent.id,
                                completed_on=date(2026, 1, 5), actor=JOB)
    workforce.background_check_record(user_id=agent.id, check_type="identity", result="clear",
                                      checked_on=date(2026, 1, 2), expires_on=None,
                                      reference="IDV-2026-0042", provider="", actor=JOB)
    phishing.import_results(raw=(DATA / "gophish-february-invoice.csv").read_bytes(),
                            name="February invoice lure", actor=JOB)
    manager = make_user(email="cm@example.test", roles=("compliance_manager",))
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in_with_totp(page, live_server, manager.email)
    page.get_by_role("link", name="Workforce").first.click()
    expect(page.get_by_role("heading", name="Workforce", exact=True)).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="agent13@example.test")).to_contain_text(
        "identity: clear")
    _fits(page)
    page.get_by_role("link", name="Phishing simulations").first.click()
    expect(page.get_by_role("row").filter(has_text="February invoice lure")).to_contain_text(
        "15.0 %")
    page.get_by_label("Results file").set_input_files(
        str(DATA / "gophish-campaign-7-results.json"))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("heading", name="March password reset")).to_be_visible()
    expect(page.get_by_text("21 reached: 1 clicked (4.8 %")).to_be_visible()
    expect(page.get_by_text("temp.help@partner.example")).to_be_visible()
    _fits(page)
    page.get_by_role("link", name="Training").first.click()
    expect(page.get_by_role("row").filter(has_text="Social engineering")).to_contain_text(
        "every 12 months")
    _fits(page)
    assert csp_violations == []

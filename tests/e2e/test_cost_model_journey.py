"""Browser journey of the cost, ROI and planning model (R-KPI-10): a compliance manager moves a
what-if slider (its value shows as it moves, by a static script under the strict CSP),
recomputes, then saves an input with its source; readable at 390 px."""

from __future__ import annotations

from safeguard.metrics.models import CostInputChange
from tests.e2e.conftest import sign_in_with_totp, sync_api
from tests.factories import make_user


def test_compliance_manager_runs_a_what_if_and_saves_an_input(page, live_server,
                                                              csp_violations):
    # given a compliance manager on a phone-sized screen
    user = make_user(roles=("compliance_manager",))
    sign_in_with_totp(page, live_server, user.email)
    page.set_viewport_size({"width": 390, "height": 844})
    # when they open the cost model from the menu
    page.get_by_role("link", name="Cost model", exact=True).click()
    sync_api.expect(page.get_by_role("heading", name="Cost, ROI and planning model")
                    ).to_be_visible()
    # and move the likelihood slider: the value beside it follows
    slider = page.locator("#wi-annual_breach_likelihood")
    slider.fill("0.25")
    sync_api.expect(page.locator("#wo-annual_breach_likelihood")).to_have_text("0.25")
    # and recompute
    page.get_by_role("button", name="Recompute").click()
    sync_api.expect(page.locator('tr[data-output="likelihood"] td').first).to_have_text(
        "25.00 %")
    assert "annual_breach_likelihood=0.25" in page.url
    assert page.locator('tr[data-output="ale"]').get_attribute("data-value") != ""
    assert not CostInputChange.objects.exists()  # a what-if saves nothing
    # when they save the reduction with its source
    row = page.locator('tr[data-input="programme_reduction"]')
    row.get_by_label("Value").fill("0.4")
    row.get_by_label("Source").fill("Board-approved estimate 2026")
    row.get_by_role("button", name="Save").click()
    # then it is kept with its source and shown in the history
    sync_api.expect(page.locator(".cost-history")).to_contain_text(
        "Board-approved estimate 2026")
    change = CostInputChange.objects.get()
    assert (change.key, change.value) == ("programme_reduction", "0.4")
    page.wait_for_load_state("load")  # measured once the stylesheets apply
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert csp_violations == []

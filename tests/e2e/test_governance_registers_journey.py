"""Browser journey (R-REG-1, R-MEAS-3, R-REG-2; decisions 0246-0248): on a 390 px screen a
compliance manager adds a vendor whose review is overdue, records a penetration test, becomes
owner of a manual control and attests it with an evidence file, then reads the compliance
calendar — forms submitted from the keyboard, no sideways scrolling, no CSP violation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from safeguard.governance import selectors
from tests.e2e.conftest import sign_in_with_totp
from tests.factories import make_user

pytestmark = pytest.mark.e2e


def _fits(page: Page) -> None:
    page.wait_for_load_state("load")  # measured once the stylesheets apply
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_registers_attestation_and_calendar_at_390px(live_server, page: Page,
                                                     csp_violations: list[str], settings,
                                                     tmp_path):
    settings.SAFEGUARD_GOVERNANCE_EVIDENCE_DIR = tmp_path / "evidence"
    selectors.reset()
    manager = make_user(roles=("compliance_manager",))
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in_with_totp(page, live_server, manager.email)

    page.goto("/governance/vendors/add/")
    page.get_by_label("Name", exact=True).fill("Mailer Inc")
    page.get_by_label("Services", exact=True).fill("Outbound e-mail delivery for case replies")
    page.get_by_label("user.contact.email E-mail address").check()
    page.get_by_label("Review due on").fill("2020-01-31")
    _fits(page)
    page.get_by_label("Review due on").press("Enter")
    expect(page.get_by_text("Vendor Mailer Inc added.")).to_be_visible()
    expect(page.get_by_text("overdue").first).to_be_visible()
    _fits(page)

    page.goto("/governance/validations/add/")
    page.get_by_label("Title", exact=True).fill("Annual external penetration test")
    page.get_by_label("Provider", exact=True).fill("Example Security Ltd")
    page.get_by_label("Scope", exact=True).fill("Public web application and API")
    page.get_by_label("Performed on").fill(
        (timezone.localdate() - timedelta(days=30)).isoformat())
    next_due = (timezone.localdate() + timedelta(days=100)).isoformat()  # within the horizon
    page.get_by_label("Next due on").fill(next_due)
    page.get_by_label("Next due on").press("Enter")
    expect(page.get_by_text("External validation ").first).to_be_visible()
    expect(page.get_by_role("paragraph").filter(has_text="No findings recorded.")).to_be_visible()
    _fits(page)

    page.goto("/governance/attestations/SG-PH-01/")
    page.get_by_label("Owner (only the owner can attest)").select_option(label=manager.email)
    page.get_by_role("button", name="Assign owner").press("Enter")
    expect(page.get_by_text(f"{manager.email} now owns SG-PH-01.")).to_be_visible()
    page.get_by_label("Statement: what you checked and found").fill(
        "Badge reader logs for Q1 reviewed; no unexplained entries.")
    evidence = tmp_path / "badge-review.csv"
    evidence.write_text("door,entries,unexplained\nserver room,41,0\n")
    page.get_by_label("Evidence file").set_input_files(str(evidence))
    page.get_by_role("button", name="Record attestation").press("Enter")
    expect(page.get_by_text("Attestation of SG-PH-01 recorded.")).to_be_visible()
    expect(page.get_by_role("link", name="badge-review.csv")).to_be_visible()
    _fits(page)

    page.get_by_role("navigation", name="Governance registers").get_by_role(
        "link", name="Calendar").click()
    expect(page.get_by_role("heading", name="Compliance calendar")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Vendor review: Mailer Inc")).to_contain_text(
        "overdue")
    expect(page.get_by_text("Attest SG-HR-01 (never attested)")).to_be_visible()
    expect(page.get_by_text("Penetration test due: Annual external penetration test")
           ).to_be_visible()
    _fits(page)
    assert csp_violations == []

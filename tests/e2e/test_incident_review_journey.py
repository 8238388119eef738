"""Post-incident review to closure, and the exercise and retainer registers, in a real browser
at phone width (R-IR-7, R-IR-3, R-IR-4): closing is refused while the review is incomplete,
then allowed; a full drill without an observer is refused; no CSP violation, no sideways
scrolling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from safeguard.incidents import services
from tests.e2e.conftest import sign_in_with_totp
from tests.factories import SYSTEM, make_user

pytestmark = pytest.mark.e2e


def _width_ok(page: Page) -> None:
    page.wait_for_load_state("load")  # measured once the stylesheets apply
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_review_to_closure_and_the_registers_at_390px(page: Page, live_server,
                                                      csp_violations: list[str]) -> None:
    analyst = make_user(email="analyst@example.test", roles=("security_analyst",))
    iid = services.incident_open(actor=SYSTEM, title="Leaked token", severity="sev2",
                                 category="account_takeover",
                                 aware_at=timezone.now() - timedelta(hours=3)).id
    for state in ("triaged", "contained", "eradicated", "recovered"):
        services.incident_advance(actor=SYSTEM, incident_id=iid, to_state=state)
    services.role_assign(actor=SYSTEM, incident_id=iid, role="commander", user_id=analyst.id)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in_with_totp(page, live_server, analyst.email)
    today = timezone.localdate().isoformat()
    _review_then_close(page, iid, today)
    _drill_needs_an_observer(page, today)
    _retainer_expiring(page, today)
    assert csp_violations == []


def _review_then_close(page: Page, iid: int, today: str) -> None:
    # closing is refused while the review is missing
    page.goto(f"/incidents/{iid}/")
    page.get_by_role("button", name="Move to closed").click()
    expect(page.locator(".messages")).to_contain_text("post-incident review is not complete")
    page.locator("#review-link").click()
    expect(page.locator("#review-missing")).to_contain_text("no review recorded")
    page.get_by_label("Root cause").fill("Token committed to a public repository")
    page.get_by_label("Lessons learned").fill("Scan commits for secrets")
    page.get_by_label("Playbook updated").check()
    page.get_by_label("Playbook reference").fill("PB-ATO v3")
    page.get_by_label("Re-test date").fill(today)
    page.get_by_label("Re-test result").select_option("passed")
    page.get_by_role("button", name="Save review").click()
    expect(page.locator("#review-status")).to_contain_text("Complete")
    page.locator("#item_text").fill("Enable secret scanning")
    page.locator("#item_owner").fill("platform team")
    page.locator("#item_due_on").fill(today)
    page.get_by_role("button", name="Add action item").click()
    expect(page.locator("#review-missing")).to_contain_text("1 action item(s)")
    page.locator("#items select").select_option("accepted")
    page.locator("#items input[name=resolution]").fill("Covered by the vendor scanner")
    page.get_by_role("button", name="Resolve").click()
    expect(page.locator("#items")).to_contain_text("accepted: Covered by the vendor scanner")
    expect(page.locator("#review-status")).to_contain_text("Complete")
    _width_ok(page)
    page.goto(f"/incidents/{iid}/")
    page.get_by_role("button", name="Move to closed").click()
    expect(page.locator("#state")).to_have_text("Closed")


def _drill_needs_an_observer(page: Page, today: str) -> None:
    # exercise register: a full drill needs an external observer
    page.goto("/incidents/exercises/")
    expect(page.locator("#cadence")).to_contain_text("overdue")
    page.locator("#schedule_kind").select_option("full_drill")
    page.locator("#schedule_title").fill("Ransomware drill")
    page.get_by_label("Scheduled for").fill(today)
    page.get_by_role("button", name="Schedule").click()
    page.get_by_label("Run on").fill(today)
    page.get_by_label("Duration (minutes, timed)").fill("180")
    page.get_by_label("Timeliness score").fill("4")
    page.get_by_label("Clarity of communication score").fill("3")
    page.get_by_role("button", name="Record run").click()
    expect(page.locator("main")).to_contain_text("A full drill needs its external observers named.")
    page.get_by_label("External observers").fill("J. Doe, Example LLP")
    page.get_by_role("button", name="Record run").click()
    expect(page.locator("#exercise-facts")).to_contain_text("180 minutes")
    _width_ok(page)
    page.goto("/incidents/exercises/")
    drill_due = page.locator("#cadence tr", has_text="Full drill")
    expect(drill_due).to_contain_text("on time")
    _width_ok(page)


def _retainer_expiring(page: Page, today: str) -> None:
    # retainer register
    page.goto("/incidents/retainers/")
    page.locator("#retainer_kind").select_option("forensic")
    page.locator("#retainer_firm").fill("Example Forensics")
    page.locator("#retainer_service").fill("24/7 breach response")
    page.locator("#retainer_contact").fill("hotline")
    page.get_by_label("Contract reference").fill("MSA-7")
    page.locator("#retainer_starts_on").fill(today)
    page.locator("#retainer_ends_on").fill((timezone.localdate() + timedelta(days=30)).isoformat())
    page.get_by_label("Hours included").fill("40")
    page.get_by_role("button", name="Add retainer").click()
    expect(page.locator("#retainers")).to_contain_text("expiring")
    _width_ok(page)

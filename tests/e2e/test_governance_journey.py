"""Browser journey (R-REG-1): a compliance manager on a 390 px screen evaluates every control,
opens PCI DSS, follows a failing requirement to its control and its history — by keyboard
where it acts, readable without sideways scrolling, with no CSP violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from safeguard.governance import selectors
from tests.e2e.conftest import sign_in_with_totp
from tests.factories import make_user

pytestmark = pytest.mark.e2e


def test_a_compliance_manager_follows_a_failing_requirement_to_its_evidence_at_390px(
        live_server, page: Page, csp_violations: list[str]):
    selectors.reset()
    manager = make_user(roles=("compliance_manager",))  # TOTP only: SG-AC-02 will fail
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in_with_totp(page, live_server, manager.email)
    page.get_by_role("link", name="Governance").first.click()
    expect(page.get_by_text("No evaluation has run yet.")).to_be_visible()
    run = page.get_by_role("button", name="Evaluate every control now")
    run.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Every control evaluated (run ")).to_be_visible()
    page.wait_for_load_state("load")  # measured once the stylesheets apply
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("link", name="PCI DSS 4.0.1").click()
    row = page.get_by_role("row").filter(has_text="8.4.1")
    expect(row.get_by_text("fail").first).to_be_visible()
    expect(row).to_contain_text("0 of 1 privileged staff have a WebAuthn authenticator")
    page.wait_for_load_state("load")  # measured once the stylesheets apply
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    row.get_by_role("link", name="SG-AC-02").click()
    expect(page.get_by_role("heading", name="Status over time")).to_be_visible()
    expect(page.get_by_text("still (last checked")).to_be_visible()
    page.wait_for_load_state("load")  # measured once the stylesheets apply
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert csp_violations == []


def test_a_compliance_manager_runs_a_restore_drill_from_the_backups_page_at_390px(
        live_server, page: Page, csp_violations: list[str], tmp_path):
    """Issue 13 section 5: a recorded backup is restored into a scratch copy from the page, by
    keyboard; the drill and its checks are listed and the control passes."""
    from importlib import import_module

    from django.apps import apps

    from safeguard.audit.contracts import Actor
    from safeguard.governance import backup

    import_module("safeguard.accounts.migrations.0002_builtin_roles").create(apps, None)
    selectors.reset()
    manager = make_user(roles=("compliance_manager",))
    made = backup.backup_create(output=str(tmp_path / "e2e.sgbak"), actor=Actor.system("e2e"))
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in_with_totp(page, live_server, manager.email)
    page.get_by_role("link", name="Governance").first.click()
    page.get_by_role("link", name="Backups and restore drills").click()
    expect(page.get_by_text("No restore drill has been run yet.")).to_be_visible()
    expect(page.get_by_text(made.id[:8]).first).to_be_visible()
    drill = page.get_by_role("button", name="Run restore drill")
    drill.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("verified in")).to_be_visible(timeout=30_000)  # pg_restore is slower
    expect(page.get_by_text("within 90 days")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="row_counts")).to_contain_text("verified")
    page.wait_for_load_state("load")  # measured once the stylesheets apply
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert csp_violations == []


def test_a_compliance_manager_filters_the_vulnerability_register_at_390px(
        live_server, page: Page, csp_violations: list[str]):
    """Issue 13 section 4 (R-OPS-7): the register from an imported Trivy report, filtered by
    severity with the keyboard, readable at 390 px."""
    from pathlib import Path

    from safeguard.audit.contracts import Actor
    from safeguard.governance import vulns

    raw = (Path(__file__).parents[1] / "governance" / "data" / "trivy.json").read_bytes()
    vulns.import_report(fmt="trivy", raw=raw, source="image", actor=Actor.system("tests"))
    manager = make_user(roles=("compliance_manager",))
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in_with_totp(page, live_server, manager.email)
    page.get_by_role("link", name="Governance").first.click()
    page.get_by_role("link", name="Vulnerability register").click()
    expect(page.get_by_text("4 open (0 past their deadline)")).to_be_visible()
    assert page.locator("tbody tr").count() == 4
    page.get_by_label("Severity").select_option("critical")
    page.get_by_role("button", name="Filter").focus()
    page.keyboard.press("Enter")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody tr")).to_contain_text("CVE-2023-45853")
    expect(page.locator("tbody tr")).to_contain_text("critical 9.8")
    page.wait_for_load_state("load")  # measured once the stylesheets apply
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert csp_violations == []

"""Issue 16, a browser journey from request to fulfilment (R-DATA-7): a person files an access
request on the public page, confirms it with the reference and the code e-mailed to the
address on file, a privacy officer fulfils it, and the person downloads the zip of their data
from the status page — every page under the strict CSP, without a violation."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import Browser, Page, expect

from safeguard.accounts import services as accounts
from safeguard.audit.models import Event
from safeguard.customers import services as customers
from safeguard.privacy.models import DataSubjectRequest
from tests.e2e.conftest import CSP_MARKER, STEP_TIMEOUT_MS, sign_in_with_totp
from tests.factories import SYSTEM, make_user

ANN = "ann.lee@example.com"


@pytest.fixture
def staff_page(browser: Browser, live_server) -> Iterator[Page]:
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    yield context.new_page()
    context.close()


def _status(page: Page, reference: str, code: str) -> None:
    page.goto("/data-request/status/")
    page.get_by_label("Reference").fill(reference)
    page.get_by_label("Code from the e-mail").fill(code)
    page.get_by_role("button", name="Show the request").click()


def test_public_access_request_to_downloaded_bundle(page: Page, staff_page: Page, live_server,
                                                    csp_violations):
    accounts.organisation_update(actor=SYSTEM, name="Northwind Ltd", dpo_name="Dana Park",
                                 dpo_email="dpo@northwind.example",
                                 security_hotline="+44 20 7946 0999",
                                 security_email="security@northwind.example")
    ann = customers.customer_create(actor=SYSTEM, name="Ann Lee", email=ANN)
    other = customers.customer_create(actor=SYSTEM, name="Zed Other", email="zed@example.com")
    officer = make_user(roles=("privacy_officer",))
    staff_seen: list[str] = []
    staff_page.on("console", lambda m: staff_seen.append(m.text) if CSP_MARKER in m.text
                  else None)

    # the requester files an access request on the public page (no login), on a phone
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto("/data-request/")
    page.wait_for_load_state("load")  # measured once the stylesheets apply
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_label("What would you like us to do?").select_option("access")
    page.get_by_label("Your e-mail address").fill(ANN)
    page.get_by_role("button", name="Send the request").click()
    reference = page.locator("#dsr-reference").inner_text()
    assert re.fullmatch(r"[A-Z]{20}", reference)
    code = re.search(r"Your code: ([0-9]{8})", mail.outbox[-1].body).group(1)
    assert mail.outbox[-1].to == [ANN]

    # a wrong code shows nothing; the right one confirms the request
    _status(page, reference, "11111111")
    expect(page.get_by_text("That reference and code are not recognised.")).to_be_visible()
    _status(page, reference, code)
    expect(page.locator("#dsr-status")).to_have_text("Identity verified")
    row = DataSubjectRequest.objects.get()
    assert str(row.customer_id) == str(ann.id)

    # the privacy officer fulfils it
    sign_in_with_totp(staff_page, live_server, officer.email)
    staff_page.goto("/privacy/requests/")
    staff_page.get_by_role("link", name="access").click()
    expect(staff_page.locator("#dsr-status")).to_contain_text("verified")
    staff_page.locator("#dsr-fulfil").click()
    expect(staff_page.get_by_text("Request fulfilled; the reply is below.")).to_be_visible()
    expect(staff_page.get_by_text("Data Protection Officer: Dana Park")).to_be_visible()

    # the requester sees the answer and downloads the bundle by its signed link
    _status(page, reference, code)
    expect(page.locator("#dsr-status")).to_have_text("Fulfilled")
    page.wait_for_load_state("load")  # measured once the stylesheets apply
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.get_by_text("Data Protection Officer: Dana Park")).to_be_visible()
    with page.expect_download() as info:
        page.locator("#dsr-bundle").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(info.value.path()).read_bytes()))
    profile = archive.read("customers/profile.csv").decode()
    assert "Ann Lee" in profile
    assert ANN in profile
    assert all(str(other.id) not in archive.read(n).decode() for n in archive.namelist())
    assert Event.objects.filter(action="dsr.bundle_downloaded",
                                data__customer=str(ann.id)).count() == 1
    # the e-mailed reply carried the same link
    assert any("/data-request/bundle/" in m.body for m in mail.outbox if m.to == [ANN])
    assert csp_violations == []
    assert staff_seen == []

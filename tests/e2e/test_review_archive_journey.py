"""Browser journeys of the review archive and the trust page's uptime (issue 14 sections 3 and
5): a supervisor archives a quarter's pack from the menu on a phone-sized screen and downloads
it; the public trust page draws the uptime strip from health samples; strict CSP throughout."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from safeguard.metrics import trust
from safeguard.ops.models import HealthSample
from tests.e2e.conftest import sign_in_with_totp, sync_api
from tests.factories import make_user
from tests.metrics.conftest import build_world


@pytest.fixture
def world(transactional_db):
    return build_world()


def test_supervisor_archives_a_quarter_and_downloads_it(page, live_server, csp_violations,
                                                        world):
    user = make_user(roles=("supervisor",))
    sign_in_with_totp(page, live_server, user.email)
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name="Reviews", exact=True).click()
    sync_api.expect(page.get_by_role("heading", name="Archived review packs")).to_be_visible()
    assert "No pack archived yet." in page.locator("#archive").text_content()
    page.get_by_label("Review").select_option("quarterly")
    page.get_by_label("Period").fill("2026-Q1")
    page.get_by_role("button", name="Archive").click()
    row = page.locator('tr[data-pack="quarterly-2026-Q1"]')
    sync_api.expect(row).to_contain_text("archived")
    assert user.email in row.text_content()
    # measured before the download: a download click leaves the page's load state pending
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    with page.expect_download() as download:
        row.get_by_role("link", name="download").click()
    path = download.value.path()
    assert path is not None
    with open(path, "rb") as fh:
        assert fh.read(5) == b"%PDF-"
    assert csp_violations == []


def test_trust_page_draws_uptime_from_samples(page, live_server, csp_violations, settings):
    settings.SAFEGUARD_TRUST_MAX_AGE_SECONDS = 0
    settings.SAFEGUARD_HEALTH_SAMPLE_SECONDS = 3600
    trust.reset()
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    for h in range(1, 5):
        HealthSample.objects.create(slot=now - timedelta(days=1, hours=h),
                                    sampled_at=now - timedelta(days=1, hours=h), up=h != 2,
                                    failed=[] if h != 2 else ["database"])
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/trust/")
    sync_api.expect(page.locator("#uptime-overall")).to_contain_text(
        "75.00 % of 4 health samples were up")
    assert page.locator("svg.uptime-bars rect[data-date]").count() == 90
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert csp_violations == []

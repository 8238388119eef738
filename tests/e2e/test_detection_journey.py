"""Detection journey in a real browser (issue 11, "Tests that must exist"): an agent mass-views
customers through the REST API with their own token, the detection run raises the alert, and a
security analyst sees it in the queue, opens it (explanation, evidence linked to the audit log),
acknowledges it and closes it as a true positive — with no CSP violation on the way.
"""

from __future__ import annotations

import json
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from safeguard.accounts import selectors as accounts
from safeguard.detection import selectors, services
from tests.customers import factories as customer_factories
from tests.detection.factories import mass_viewer
from tests.e2e.conftest import sign_in_with_totp
from tests.factories import make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MASS_ACCESS = "d1905858-c750-40cb-9c2e-a7df6cbf50e2"


@pytest.fixture(autouse=True)
def _scope(settings):
    settings.SAFEGUARD_CUSTOMER_SCOPE = customer_factories.SCOPE_PROVIDER
    settings.SAFEGUARD_DETECTION_WEBHOOKS = []
    customer_factories.SCOPES.clear()
    yield
    customer_factories.SCOPES.clear()


def _api_get(base: str, path: str, secret: str) -> dict:
    request = urllib.request.Request(base + path,  # noqa: S310 - the live server on loopback
                                     headers={"Authorization": f"Bearer {secret}"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        assert response.status == 200
        return json.loads(response.read())


def test_an_agents_mass_viewing_through_the_api_is_triaged_by_an_analyst(
        page: Page, live_server, csp_violations):
    agent, customers, secret = mass_viewer(100)
    for c in customers:
        body = _api_get(live_server.url, f"/api/v1/customers/{c.id}", secret)
        assert body["id"] == str(c.id)
        assert body["email"].startswith("c•")  # masked, as agents see it

    result = services.run_once()
    assert result.alerts >= 1
    [alert] = selectors.alert_list(rule=MASS_ACCESS)
    token = accounts.token_list(user_id=agent.id)[0]
    assert alert.entity == f"token:{token.id}"

    analyst = make_user(roles=("security_analyst",))
    sign_in_with_totp(page, live_server, analyst.email)
    page.get_by_role("link", name="Alerts").first.click()
    row = page.locator("tr", has_text="Mass customer access")
    expect(row).to_contain_text(f"token:{token.id}")
    expect(row).to_contain_text("new")
    row.get_by_role("link", name=str(alert.id)).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Alert {alert.id}: Mass customer access")
    expect(page.locator(".explanation")).to_contain_text("opened 100 different customer records")
    expect(page.locator(".timeline li")).to_have_count(100)
    first_seq = alert.evidence[0]
    expect(page.get_by_role("link", name=f"#{first_seq}", exact=True)).to_have_attribute(
        "href", f"/audit/?before_seq={first_seq + 1}")

    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_test_id("alert-status")).to_have_text("acknowledged")
    expect(page.locator(".clocks")).to_contain_text("after")
    page.get_by_label("True positive").check()
    page.get_by_label("Note").fill("Scripted harvesting with a personal token; token revoked.")
    page.get_by_role("button", name="Close alert").click()
    expect(page.get_by_test_id("alert-status")).to_have_text("closed")
    expect(page.locator("body")).to_contain_text("true_positive")

    stored = selectors.alert_get(alert_id=alert.id)
    assert (stored.status, stored.resolution, stored.owner_email) == (
        "closed", "true_positive", analyst.email)
    assert stored.time_to_acknowledge_seconds is not None
    assert csp_violations == []

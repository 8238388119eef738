"""/api/v1/docs renders the vendored Swagger UI in Chromium under the strict CSP (issue 9 item 11).

No CDN: every request the page makes stays on the live server; no inline script: no CSP report
and no console error while the document loads and an operation opens.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD, make_user, totp_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_api_docs_render_from_vendored_files_without_csp_violations(
    page: Page, live_server, csp_violations: list[str]
):
    # given a signed-in administrator (password + TOTP), and a record of every console error
    # and of every origin the page talks to
    user = make_user(email="admin@example.test", roles=("administrator",))
    errors: list[str] = []
    origins: set[str] = set()
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda req: origins.add(
        "{0.scheme}://{0.netloc}".format(urlsplit(req.url))))
    page.goto("/account/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_label("Code").fill(totp_code(user.email))
    page.get_by_role("button", name="Sign In", exact=True).click()
    expect(page).to_have_url(live_server.url + "/")

    # when they open the API documentation
    response = page.goto("/api/v1/docs")

    # then Swagger UI renders the schema: the title, the operations and their permissions
    assert response is not None
    assert response.status == 200
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Safeguard API")
    case_list = page.locator("#operations-cases-safeguard_cases_api_case_list")
    expect(case_list).to_be_visible()
    case_list.locator(".opblock-summary").click()
    expect(case_list.locator(".opblock-description-wrapper")).to_contain_text(
        "Permission: cases.view")
    expect(case_list.locator(".responses-table")).to_contain_text("application/problem+json")
    # and nothing broke the CSP, nothing failed, nothing came from elsewhere
    page.evaluate("0")  # a round trip: console events sent before it have been delivered
    assert csp_violations == []
    assert errors == []
    assert origins == {live_server.url}
    assert page.evaluate("typeof window.SwaggerUIBundle") == "function"

"""The whole incident journey in a real browser (issue 12, "Tests that must exist"; R-IR-1,
R-IR-6, R-IR-7, R-REG-3): a detection alert about an agent who read customer records → the
analyst opens an incident from the alert → triages it and disables the agent (containment, the
agent's open page is signed out) → lists the affected customers → writes the letter content and
generates one letter per affected customer → downloads a letter (the customer's name, no card
number) → post-incident review → closed. No CSP violation on the way."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from safeguard.accounts import services as accounts
from safeguard.incidents import selectors as incident_selectors
from tests.customers import factories as customer_factories
from tests.detection.factories import finding, store, view_all
from tests.e2e.conftest import STEP_TIMEOUT_MS, sign_in_with_totp
from tests.factories import SYSTEM, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FMT = "%Y-%m-%dT%H:%M"


@pytest.fixture(autouse=True)
def _scope(settings):  # type: ignore[no-untyped-def]
    settings.SAFEGUARD_CUSTOMER_SCOPE = customer_factories.SCOPE_PROVIDER
    settings.SAFEGUARD_DETECTION_WEBHOOKS = []
    customer_factories.SCOPES.clear()
    yield
    customer_factories.SCOPES.clear()


def _pdf_text(body: bytes) -> str:
    return " ".join(" ".join((p.extract_text() or "").split())
                    for p in PdfReader(io.BytesIO(body)).pages)


def test_alert_to_closed_incident_with_letters(  # noqa: PLR0915 - one journey, step by step
        browser: Browser, page: Page, live_server, csp_violations: list[str]) -> None:
    accounts.organisation_update(actor=SYSTEM, name="Northwind", dpo_name="Dana Officer",
                                 dpo_email="dpo@northwind.example",
                                 security_hotline="+44 20 7946 0999",
                                 security_email="security@northwind.example")
    # Given an agent who read three customers' records, and the alert it raised
    agent = make_user(email="agent@example.test", roles=("agent",))
    people = [customer_factories.make_customer(
        name=name, email=f"c{n}@example.net",
        address={"line1": "1 Main St", "postcode": "10115", "city": "Berlin",
                 "country": country}) for n, (name, country) in enumerate(
        [("Anna Schmidt", "DE"), ("Brian Moore", "GB"), ("Chloe Martin", "FR")])]
    customer_factories.grant_scope(agent, *(c.id for c in people))
    started = timezone.localtime() - timedelta(minutes=30)
    view_all(agent, people)
    [alert_id] = store(finding(rule_id="mass-read", rule_title="Customer records read in bulk",
                               entity=f"user:{agent.id}", severity="high",
                               explanation=f"user {agent.id} opened 3 customer records"))
    analyst = make_user(email="analyst@example.test", roles=("security_analyst",))
    agent_context = browser.new_context(base_url=live_server.url)
    agent_context.set_default_timeout(STEP_TIMEOUT_MS)
    agent_context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    agent_page = agent_context.new_page()
    try:
        sign_in_with_totp(agent_page, live_server, agent.email)
        sign_in_with_totp(page, live_server, analyst.email)

        # open the incident from the alert
        page.goto(f"/detection/alerts/{alert_id}/")
        page.get_by_role("button", name="Open an incident").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(
            "Customer records read in bulk")
        incident_id = int(page.url.rstrip("/").rsplit("/", 1)[-1])
        page.get_by_role("button", name="Move to triaged").click()
        expect(page.locator("#state")).to_have_text("Triaged")
        page.locator("#role_role").select_option("commander")
        page.get_by_label("Staff member").select_option(label=analyst.email)
        page.get_by_role("button", name="Assign").click()
        expect(page.locator("#roles")).to_contain_text("Incident Commander")

        # containment: disable the agent; their open page is signed out
        page.get_by_label("Staff user id").fill(str(agent.id))
        page.locator("#cu_reason").fill("bulk reads of customer records")
        page.get_by_role("button", name="Disable user, end sessions and tokens").click()
        expect(page.locator("#actions")).to_contain_text("agent@example.test")
        agent_page.reload()
        assert "/account/login/" in agent_page.url
        page.get_by_role("button", name="Move to contained").click()
        expect(page.locator("#state")).to_have_text("Contained")

        # affected customers, with their jurisdictions
        since = (started - timedelta(minutes=5)).strftime(FMT)
        until = (timezone.localtime() + timedelta(minutes=5)).strftime(FMT)
        page.goto(f"/incidents/affected/?kind=user&value={agent.id}&since={since}"
                  f"&until={until}")
        table = page.locator("#affected")
        for person in people:
            expect(table).to_contain_text(str(person.id))
        expect(table).to_contain_text("EU-GDPR")
        expect(table).to_contain_text("UK-GDPR")

        # letters: write the content, generate one per affected customer
        page.goto(f"/incidents/{incident_id}/")
        page.get_by_role("link", name="Communications").click()
        page.get_by_label("What happened").fill(
            "A member of staff opened customer records without a business reason.")
        page.get_by_label("What we did").fill("We disabled the account the same day.")
        page.get_by_label("What you can do").fill("Be wary of calls claiming to be from us.")
        page.get_by_label("Mitigation offered").fill("12 months of credit monitoring, free.")
        page.get_by_role("button", name="Save letter content").click()
        expect(page.locator(".messages")).to_contain_text("Letter content saved")
        page.locator("#letters_kind").select_option("user")
        page.locator("#letters_value").fill(str(agent.id))
        page.locator("#letters_since").fill(since)
        page.locator("#letters_until").fill(until)
        page.get_by_role("button", name="Generate letters").click()
        # The letters are a background job (huey runs it at once under test); the page shows
        # the batch's progress and state, and the sent log once it is done.
        expect(page.locator(".messages")).to_contain_text("queued for 3 customer(s)")
        runs = page.locator("#letter-runs")
        expect(runs).to_contain_text("done")
        expect(runs).to_contain_text("3 / 3")
        expect(runs).to_contain_text("3 generated, 0 withheld")
        # The batch list reads at 390 px without a sideways scroll (and the polling stopped).
        wide = page.viewport_size
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload(wait_until="load")
        expect(page.locator("#letter-runs")).to_contain_text("3 / 3")
        assert page.locator("#letter-runs[hx-trigger]").count() == 0
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        if wide:
            page.set_viewport_size(wide)
        log = page.locator("#sent-log")
        for person in people:
            expect(log).to_contain_text(str(person.id))
        expect(page.locator("#owed")).to_contain_text("Lead supervisory authority")
        expect(page.locator("#residents")).to_contain_text("EU-GDPR 2")

        # download Anna's letter: her name, the data, the contacts, no card number
        row = log.locator("tr", has_text=str(people[0].id))
        with page.expect_download() as download_info:
            row.get_by_role("link", name="PDF").click()
        body = download_info.value.path().read_bytes()
        text = _pdf_text(body)
        assert "Dear Anna Schmidt" in text
        assert "Brian Moore" not in text
        assert "12 months of credit monitoring" in text
        assert "Dana Officer" in text
        assert "+44 20 7946 0999" in text
        digits = "".join(ch for ch in text if ch.isdigit())
        assert "4111111111111111" not in digits
        expect(row).to_contain_text(hashlib.sha256(body).hexdigest())

        # eradicate, recover, review, close
        page.goto(f"/incidents/{incident_id}/")
        page.get_by_role("button", name="Move to eradicated").click()
        expect(page.locator("#state")).to_have_text("Eradicated")
        page.get_by_role("button", name="Move to recovered").click()
        expect(page.locator("#state")).to_have_text("Recovered")
        page.goto(f"/incidents/{incident_id}/review/")
        page.get_by_label("Root cause").fill("Agent read records outside any case")
        page.get_by_label("Lessons learned").fill("Alert on bulk reads sooner")
        page.get_by_label("Playbook updated").check()
        page.get_by_label("Playbook reference").fill("PB-INSIDER v2")
        page.get_by_label("Re-test date").fill(timezone.localdate().isoformat())
        page.get_by_label("Re-test result").select_option("passed")
        page.get_by_role("button", name="Save review").click()
        expect(page.locator("#review-status")).to_contain_text("Complete")
        page.goto(f"/incidents/{incident_id}/")
        page.get_by_role("button", name="Move to closed").click()
        expect(page.locator("#state")).to_have_text("Closed")
        assert incident_selectors.incident_get(incident_id=incident_id).state == "closed"
        assert csp_violations == []
    finally:
        agent_context.close()

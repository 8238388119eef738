"""Agent experience journeys in a real browser (issue 15, R-OPS-5, R-WORK-4, R-DATA-2).

First sign-in lands on the agent's home with their work and its figures; the page has no
horizontal overflow at 390 px; case → customer profile → the customer's other cases; no CSP
violation on the way.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from safeguard.cases import services as cases
from safeguard.cases.contracts import SenderIn
from safeguard.cases.models import Case
from tests.cases.conftest import principal_for
from tests.customers.factories import MARIA, make_customer
from tests.e2e.conftest import CSP_MARKER, sign_in_with_totp
from tests.factories import SYSTEM, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LOGIN = "/account/login/"
MFA_AUTHENTICATE = "/account/mfa/authenticate/"


@pytest.fixture(autouse=True)
def _no_background_polls(settings) -> None:
    # As in the customer-platform journeys: keep htmx timers from querying the shared database.
    settings.SAFEGUARD_CHAT_POLL_SECONDS = 3600
    settings.SAFEGUARD_CONSOLE_POLL_SECONDS = 3600
    settings.SAFEGUARD_PRESENCE_SECONDS = 3600  # collision detection's report timer (issue 15)
    settings.SAFEGUARD_PRESENCE_TTL_SECONDS = 7200



def _inbound(email: str, subject: str, queue: str = "billing") -> int:
    result = cases.message_receive(channel="email", sender=SenderIn(email=email, name="Ann Lee"),
                                   text=f"{subject}, please help.", subject=subject, queue=queue)
    return Case.objects.get(id=result.case_id).number


def _idle(page: Page) -> None:
    """Wait until the page's own requests (htmx panels) have finished: with SQLite the live
    server's threads share one connection, so a request still running when the next page loads
    (or when the test's database is flushed) would interleave with it."""
    page.wait_for_load_state("networkidle")


def _no_horizontal_overflow(page: Page) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"page is {widths[0]} px wide in a {widths[1]} px window"


def test_first_sign_in_lands_on_the_agents_work(page: Page, live_server, csp_violations):
    # given an agent of billing with one case assigned and two waiting; a fraud case elsewhere
    agent = make_user(email="alex@example.com", roles=("agent",))
    cases.queue_create(actor=SYSTEM, slug="billing", name="Billing", first_response_minutes=60)
    cases.queue_create(actor=SYSTEM, slug="fraud", name="Fraud")
    cases.queue_member_add(actor=SYSTEM, slug="billing", user_id=agent.pk)
    mine = _inbound("ann@example.com", "Parcel late")
    _inbound("bob@example.com", "Refund please")
    _inbound("cy@example.com", "Wrong size")
    _inbound("dee@example.com", "Card stolen", queue="fraud")
    cases.case_assign(case_number=mine, principal=principal_for(agent), assignee_id=agent.pk)
    # when they sign in for the first time
    sign_in_with_totp(page, live_server, "alex@example.com")
    # then the landing page is their work, with its figures
    expect(page.get_by_role("heading", name="Assigned to me")).to_be_visible()
    expect(page.locator('[data-figure="my-open"] strong')).to_have_text("1")
    expect(page.locator('[data-figure="breached"] strong')).to_have_text("0")
    expect(page.locator("#my-open li")).to_have_count(1)
    expect(page.locator("#my-open li").first).to_contain_text(f"#{mine} Parcel late")
    expect(page.locator("#recent li")).to_have_count(3)  # the fraud case is not in scope
    expect(page.locator('tr[data-queue="billing"] td').nth(1)).to_have_text("3")
    expect(page.locator('tr[data-queue="fraud"]')).to_have_count(0)
    expect(page.get_by_text("Data Protection Officer")).to_have_count(0)
    # keyboard: the first case link is reachable and opens the case
    page.locator("#my-open a").first.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(live_server.url + f"/cases/{mine}/")
    _idle(page)
    # and at 390 px the home does not scroll sideways
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/")
    expect(page.get_by_role("heading", name="Assigned to me")).to_be_visible()
    _no_horizontal_overflow(page)
    page.goto("about:blank")
    assert not [m for m in csp_violations if CSP_MARKER in m]


def test_case_to_customer_to_the_customers_other_cases(page: Page, live_server, csp_violations):
    # given a customer with two cases in billing and one in fraud (not the agent's queue)
    agent = make_user(email="alex@example.com", roles=("agent",))
    cases.queue_create(actor=SYSTEM, slug="billing", name="Billing")
    cases.queue_create(actor=SYSTEM, slug="fraud", name="Fraud")
    cases.queue_member_add(actor=SYSTEM, slug="billing", user_id=agent.pk)
    first = _inbound("ann@example.com", "Parcel late")
    second = _inbound("ann@example.com", "Refund please")
    _inbound("ann@example.com", "Card stolen", queue="fraud")
    customer = Case.objects.get(number=first).customer_id
    assert Case.objects.get(number=second).customer_id == customer
    sign_in_with_totp(page, live_server, "alex@example.com")
    # when the agent opens the second case; the panel script has loaded the masked panel
    page.goto(f"/cases/{second}/")
    expect(page.locator(".customer-panel")).to_be_visible()
    _idle(page)
    # then the profile link is still there, and leads to the customer with their other cases
    link = page.locator("#customer-profile-link")
    expect(link).to_be_visible()
    link.click()
    expect(page).to_have_url(live_server.url + f"/customers/{customer}/")
    listed = page.locator("#customer-cases li")
    expect(listed).to_have_count(2)  # the fraud case is outside the agent's queues
    _idle(page)
    expect(page.locator("#customer-cases [data-count]")).to_have_text("2")
    expect(listed.nth(0)).to_contain_text(f"#{second} Refund please")
    expect(listed.nth(1)).to_contain_text(f"#{first} Parcel late")
    listed.nth(1).get_by_role("link").click()
    expect(page).to_have_url(live_server.url + f"/cases/{first}/")
    _idle(page)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/customers/{customer}/")
    expect(page.locator("#customer-cases li")).to_have_count(2)
    _idle(page)
    _no_horizontal_overflow(page)
    page.goto("about:blank")
    assert not [m for m in csp_violations if CSP_MARKER in m]


def test_masked_conversation_and_reveal_of_a_phone_inside_a_message(page: Page, live_server,
                                                                    csp_violations):
    # given a supervisor of billing and a message in which Maria gives her phone and e-mail
    supervisor = make_user(email="sam@example.com", roles=("supervisor",))
    cases.queue_create(actor=SYSTEM, slug="billing", name="Billing")
    cases.queue_member_add(actor=SYSTEM, slug="billing", user_id=supervisor.pk)
    make_customer()
    number = cases.message_receive(
        channel="email", queue="billing", subject="Call back",
        sender=SenderIn(email=MARIA["email"], name=MARIA["name"], verified=True,
                        auth="verified"),
        text="This is Maria Lopez: please call +44 20 7946 0132 or mail maria.lopez@example.com",
    ).case_number
    sign_in_with_totp(page, live_server, "sam@example.com")
    page.goto(f"/cases/{number}/")
    body = page.locator("article.msg-customer .msg-body")
    expect(page.locator(".customer-panel")).to_be_visible()
    _idle(page)
    # then the message is masked like the profile: nothing personal in clear on the page
    expect(body).to_have_text("This is M. L•••: please call •••• 0132 or mail m•••@e•••.com")
    content = page.content()
    for value in ("+44 20 7946 0132", MARIA["email"], "Maria Lopez"):
        assert value not in content
    # when they reveal the phone in the panel with a reason (the sign-in was the fresh factor)
    phone_row = page.locator("section.customer-panel #field-phone")
    phone_row.get_by_role("link", name="Reveal Phone").click()
    phone_row.get_by_label("Why do you need the phone?").fill("Customer asked for a call back.")
    phone_row.get_by_role("button", name="Reveal phone").click()
    expect(page).to_have_url(f"{live_server.url}/cases/{number}/#field-phone")
    # then the phone shows in the message as written; the e-mail and the name stay masked
    expect(body).to_have_text("This is M. L•••: please call +44 20 7946 0132 or mail "
                              "m•••@e•••.com")
    _idle(page)
    page.goto("about:blank")
    assert not [m for m in csp_violations if CSP_MARKER in m]

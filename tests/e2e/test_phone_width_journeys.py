"""The main pages at 390 px wide (a phone): no horizontal scrolling, a screenshot of each, and a
closed case that says it is closed (issue 15, item 8; R-OPS-5).

Agent home, queue, case, customer and approvals as a supervisor of the queue; the audit log as
a security analyst. The document's scroll width is asserted, not just looked at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from safeguard.cases import services as cases
from safeguard.cases.contracts import SenderIn
from safeguard.customers import services as customers
from tests.cases.conftest import principal_for
from tests.customers.factories import MARIA, make_customer, principal
from tests.e2e.conftest import CSP_MARKER, sign_in_with_totp
from tests.factories import SYSTEM, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
WIDE_ELEMENTS = """[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > 391)
  .slice(-5).map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' +
                 Math.round(e.getBoundingClientRect().right))"""


@pytest.fixture(autouse=True)
def _no_background_polls(settings) -> None:
    settings.SAFEGUARD_CHAT_POLL_SECONDS = 3600
    settings.SAFEGUARD_CONSOLE_POLL_SECONDS = 3600


def _at_390(page: Page, path: str, shots: Path, name: str) -> int:
    """Open ``path`` at 390 px, wait for its htmx requests, screenshot it, return its width."""
    page.goto(path)
    page.wait_for_load_state("networkidle")
    shot = shots / f"{name}-390.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 1000
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > 390:  # name the widest culprits in the failure
        wide = page.evaluate(WIDE_ELEMENTS)
        pytest.fail(f"{path} is {width} px wide at 390 px: {wide}")
    return int(width)


def test_main_pages_fit_a_phone(browser, live_server, tmp_path, csp_violations, page: Page):
    # given a supervisor of billing, Maria's case with a long subject and a long history, and a
    # pending approval an agent asked for
    supervisor = make_user(email="sam@example.com", roles=("supervisor",))
    agent = make_user(email="alex@example.com", roles=("agent",))
    make_user(email="ines@example.com", roles=("security_analyst",))
    cases.queue_create(actor=SYSTEM, slug="billing", name="Billing", first_response_minutes=60)
    for user in (supervisor, agent):
        cases.queue_member_add(actor=SYSTEM, slug="billing", user_id=user.pk)
    maria = make_customer()
    number = cases.message_receive(
        channel="email", queue="billing",
        subject="Refund for order NW-2026-000123456789 charged twice on my card 4111111111111111",
        sender=SenderIn(email=MARIA["email"], name=MARIA["name"], verified=True,
                        auth="verified"),
        text="Please call me back on +44 20 7946 0132, my reference is "
             "NW2026REFUND000123456789000123456789 (a long token without spaces).",
    ).case_number
    for n in range(12):  # history entries numbered past 10
        cases.note_add(case_number=number, principal=principal_for(agent), text=f"note {n}")
    customers.approval_request(viewer=principal(agent), customer_id=maria.id,
                               kind="email_change", change={"email": "maria.new@example.net"},
                               reason="Customer lost access to the old mailbox")
    shots = tmp_path / "shots"
    shots.mkdir()
    page.set_viewport_size(PHONE)
    sign_in_with_totp(page, live_server, "sam@example.com")
    # when each main page is opened on a phone, then none scrolls sideways
    for path, name in (("/", "home"), ("/cases/", "queue"), (f"/cases/{number}/", "case"),
                       (f"/customers/{maria.id}/", "customer"),
                       ("/customers/approvals/", "approvals")):
        _at_390(page, path, shots, name)
    # and on the customer page every Reveal button is whole inside the panel
    page.goto(f"/customers/{maria.id}/")
    page.wait_for_load_state("networkidle")
    clipped = page.evaluate("""(() => {
        const panel = document.querySelector('.customer-panel').getBoundingClientRect();
        return [...document.querySelectorAll('.customer-field-action .button')]
          .filter(b => b.getBoundingClientRect().right > panel.right
                    || b.scrollWidth > b.clientWidth).length; })()""")
    assert page.locator(".customer-field-action .button").count() == 6
    assert clipped == 0
    # and a revealed phone number stays on one line (the sign-in was the fresh second factor)
    phone_row = page.locator("section.customer-panel #field-phone")
    phone_row.get_by_role("link", name="Reveal Phone").click()
    phone_row.get_by_label("Why do you need the phone?").fill("Customer asked for a call back.")
    phone_row.get_by_role("button", name="Reveal phone").click()
    revealed = page.locator("#field-phone [data-revealed]")
    expect(revealed).to_have_text("+44 20 7946 0132")
    page.wait_for_load_state("networkidle")
    assert revealed.evaluate("e => e.getClientRects().length") == 1
    page.wait_for_load_state("load")  # measured once the stylesheets apply
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # and the case history has room for numbers from 10 up (its list markers sit in the padding)
    page.goto(f"/cases/{number}/")
    page.wait_for_load_state("networkidle")
    assert page.locator("ol.history li").count() >= 12
    room = page.evaluate("""(() => { const ol = document.querySelector('ol.history');
        return parseFloat(getComputedStyle(ol).paddingLeft) /
               parseFloat(getComputedStyle(ol).fontSize); })()""")
    assert room >= 2.5  # "12." needs about two and a half em
    # and the header does not overlap the page: the heading starts below the top bar
    page.goto("/cases/")
    top = page.evaluate("document.querySelector('.topbar').getBoundingClientRect().bottom")
    heading = page.evaluate("document.querySelector('main h1').getBoundingClientRect().top")
    assert heading >= top
    # and the audit log, as an analyst
    context = browser.new_context(base_url=live_server.url, viewport=PHONE)
    context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    analyst = context.new_page()
    try:
        sign_in_with_totp(analyst, live_server, "ines@example.com")
        _at_390(analyst, "/audit/", shots, "audit")
    finally:
        context.close()
    assert sorted(p.name for p in shots.iterdir()) == [
        "approvals-390.png", "audit-390.png", "case-390.png", "customer-390.png",
        "home-390.png", "queue-390.png"]
    page.goto("about:blank")
    assert not [m for m in csp_violations if CSP_MARKER in m]


def test_a_closed_case_says_so_and_offers_to_reopen(page: Page, live_server):
    supervisor = make_user(email="sam@example.com", roles=("supervisor",))
    cases.queue_create(actor=SYSTEM, slug="billing", name="Billing")
    cases.queue_member_add(actor=SYSTEM, slug="billing", user_id=supervisor.pk)
    number = cases.message_receive(channel="email", queue="billing", subject="Done",
                                   sender=SenderIn(email="ann@example.com", name="Ann"),
                                   text="Thanks").case_number
    who = principal_for(supervisor)
    for status in ("resolved", "closed"):
        cases.case_move(case_number=number, principal=who, status=status)
    sign_in_with_totp(page, live_server, "sam@example.com")
    page.goto(f"/cases/{number}/")
    page.wait_for_load_state("networkidle")
    select = page.locator("#status-select")
    expect(page.locator("label[for=status-select] .status-now")).to_have_text("closed")
    # the select shows no status as if it were the current one
    assert select.evaluate("s => s.value") == ""
    expect(select.locator("option:checked")).to_have_text("Choose…")
    expect(select.locator("option[value=open]")).to_have_count(1)
    page.goto("about:blank")

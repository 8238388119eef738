"""Customer-platform journeys in a real browser: chat screening, audited reveal, split access, CSP.

Issue 5, "Tests that must exist" (browser): a customer pastes a card number in the web chat and
the agent sees only a token with brand and last four; revealing an e-mail asks for step-up and a
reason, then shows it; an agent cannot open a case outside their queues (page and API). Every
page on the way is checked for Content Security Policy violations.

The customer and the staff member are two people, so each has a browser context of their own
(no shared cookies). Test data is made through the apps' services (queues, memberships,
customers, inbound messages), as a channel or an administrator would.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import time_machine
from django.db import connection
from playwright.sync_api import Browser, Page, expect

from safeguard.audit import selectors as audit_selectors
from safeguard.cases import services as cases
from safeguard.cases.contracts import SenderIn
from safeguard.protection import services as protection
from tests.customers.factories import MARIA, make_customer
from tests.e2e.conftest import CSP_MARKER, STEP_TIMEOUT_MS, sign_in_with_totp
from tests.factories import SYSTEM, make_user, totp_code

# The live server answers from its own thread, so test data must be committed (see conftest).
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LOGIN = "/account/login/"
MFA_AUTHENTICATE = "/account/mfa/authenticate/"
MFA_REAUTHENTICATE = "/account/mfa/reauthenticate/"
CHAT_START = "/chat/"

PAN = "4111111111111111"
PAN_TYPED = "4111 1111 1111 1111"
PAN_FORMS = (PAN, PAN_TYPED, "4111-1111-1111-1111")
# How a tokenized Visa reads to a person: brand and last four, without its (deterministic)
# vault token, which only service accounts get (protection.card_refs_for_people, R-OPS-2).
CARD_SHOWN = re.compile(r"\[card visa •••• 1111\]")
# The pasted line as shown: the card tokenized, its expiry date masked (message.body policy).
SCREENED_LINE = re.compile(r"^my card is " + CARD_SHOWN.pattern + r" exp \[EXPIRY\]$")
# What the customer reads of the same message: plain words, the typed expiry gone (issue 15).
CUSTOMER_LINE = re.compile(r"^my card is card ending 1111\s*$")


@pytest.fixture(autouse=True)
def _no_background_polls(settings) -> None:
    # The chat page and the case view poll with htmx (every 2 s and 5 s). With SQLite the live
    # server's threads and this test share one in-memory connection, so a timer-driven poll
    # could run a query while the test thread runs its own. Push the timers out of the
    # journeys' reach; what the journeys need comes without them (a posted chat message is
    # fetched at once through the "chat-posted" event, the panel loads on page load).
    settings.SAFEGUARD_CHAT_POLL_SECONDS = 3600
    settings.SAFEGUARD_CONSOLE_POLL_SECONDS = 3600
    settings.SAFEGUARD_PRESENCE_SECONDS = 3600  # collision detection's report timer (issue 15)
    settings.SAFEGUARD_PRESENCE_TTL_SECONDS = 7200


@pytest.fixture
def staff_page(browser: Browser, live_server) -> Iterator[Page]:
    """A second person's browser (its own context, no cookies), beside the customer's ``page``."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    # As in conftest's page: keep Chromium's background favicon fetch away from Django.
    context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    staff = context.new_page()
    yield staff
    context.close()


@pytest.fixture
def staff_csp_violations(staff_page: Page) -> list[str]:
    """Console messages in which Chromium reports a CSP violation on the staff member's page."""
    seen: list[str] = []
    staff_page.on("console", lambda msg: seen.append(msg.text) if CSP_MARKER in msg.text else None)
    return seen



def _queue_with(slug: str, *members: Any) -> str:
    """A queue (no SLA targets) that ``members`` work, made as an administrator would."""
    cases.queue_create(actor=SYSTEM, slug=slug, name=slug.title())
    for user in members:
        cases.queue_member_add(actor=SYSTEM, slug=slug, user_id=user.pk)
    return slug


def _settle(*pages: Page) -> None:
    """Leave every page idle before the test thread queries the database: a round trip delivers
    pending console events, then a blank page stops any timer from calling the server."""
    for page in pages:
        page.evaluate("0")
        page.goto("about:blank")


def _cell_text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("latin-1")
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _columns_holding(needles: tuple[str, ...]) -> list[str]:
    """``table.column`` of every stored value (raw, ciphertext included) that contains one of
    ``needles`` as written or once spaces, dots and dashes are removed."""
    hits: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            # Table names come from the database's own catalogue, not from input.
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            names = [c[0] for c in cursor.description]
            for row in cursor.fetchall():
                for name, value in zip(names, row, strict=True):
                    text = _cell_text(value)
                    bare = re.sub(r"[\s.\-]", "", text)
                    if any(n in text or n in bare for n in needles):
                        hits.append(f"{table}.{name}")
    return hits


def _start_chat(page: Page, *, name: str, email: str, text: str) -> None:
    page.goto(CHAT_START)
    expect(page.get_by_role("heading", level=1)).to_have_text("Chat with us")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Message").fill(text)
    page.get_by_role("button", name="Start chat").click()


def _assert_no_card_number_stored() -> None:
    """Not in any raw column, nor in the clear text of any encrypted one (the protection app's
    rescan in report mode decrypts every encrypted field and looks for any card number)."""
    assert _columns_holding(PAN_FORMS) == []
    report = protection.rescan_run(fix=False, actor=SYSTEM, restart=True)
    assert report.status == "done"
    assert report.scanned > 0
    assert report.findings == ()


def test_card_number_pasted_in_chat_reaches_the_agent_only_as_a_token(
    page: Page,
    staff_page: Page,
    live_server,
    settings,
    csp_violations: list[str],
    staff_csp_violations: list[str],
):
    # given an agent who works the queue new chats go to
    agent = make_user(email="agent@example.test", roles=("agent",))
    settings.SAFEGUARD_CHAT_QUEUE = _queue_with("payments", agent)

    # when a customer starts a chat on the public page
    _start_chat(
        page,
        name="Ann Lee",
        email="ann.lee@example.com",
        text="Hello, I was charged twice for order 5521.",
    )

    # then they land on their conversation behind its secret link
    expect(page).to_have_url(re.compile(re.escape(live_server.url) + r"/chat/chat_[\w-]+/[\w-]+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your chat")
    messages = page.locator("#chat-messages li")
    expect(messages).to_have_count(1)

    # when they paste their card number into the conversation and send it
    box = page.get_by_label("Your message")
    box.fill(f"my card is {PAN_TYPED} exp 12/27")
    page.get_by_role("button", name="Send", exact=True).click()

    # then their message comes back at once screened, in plain words: the card's last four,
    # no placeholder, the expiry they typed gone
    expect(messages).to_have_count(2)
    expect(messages.nth(1).locator(".text")).to_have_text(CUSTOMER_LINE)
    expect(box).to_have_value("")
    for pan in PAN_FORMS:
        assert pan not in page.content()

    # and their page, opened again from the link, shows only what was stored
    page.reload()
    expect(messages).to_have_count(2)
    expect(messages.nth(1).locator(".text")).to_have_text(CUSTOMER_LINE)
    for pan in PAN_FORMS:
        assert pan not in page.content()

    # when the agent signs in and opens the chat's case from their queue
    sign_in_with_totp(staff_page, live_server, agent.email)
    staff_page.goto("/cases/")
    row = staff_page.locator("#case-table tbody tr").filter(has_text="Chat")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Payments")
    number = int(row.get_by_role("link").inner_text())
    row.get_by_role("link").click()

    # then the case shows the customer's message with the token only
    expect(staff_page).to_have_url(f"{live_server.url}/cases/{number}/")
    expect(staff_page.get_by_role("heading", level=1)).to_have_text(f"Case {number} · Chat")
    customer_message = staff_page.locator("#conversation article.msg-customer").filter(
        has_text="my card is"
    )
    expect(customer_message).to_have_count(1)
    expect(customer_message.locator(".msg-body")).to_have_text(SCREENED_LINE)
    expect(customer_message.locator(".badge.warn")).to_have_text("screened: EXPIRY, PAN")
    # and the customer panel (loaded by htmx) is masked too
    panel = staff_page.locator("section.customer-panel")
    expect(panel.locator("#field-email")).to_contain_text("a•••@e•••.com")
    html = staff_page.content()
    assert CARD_SHOWN.search(html)
    assert "tok_" not in html  # people never see vault tokens
    for pan in PAN_FORMS:
        assert pan not in html
    assert "ann.lee@example.com" not in html

    # and the API answers the agent with the same screened text
    api = staff_page.request.get(f"/api/v1/cases/{number}")
    assert api.status == 200
    bodies = [m["body"] for m in api.json()["messages"]]
    assert any(CARD_SHOWN.search(b) for b in bodies)
    assert "tok_" not in api.text()
    assert not any(pan in api.text() for pan in PAN_FORMS)

    # and no page on the way broke the Content Security Policy
    _settle(page, staff_page)
    assert csp_violations == []
    assert staff_csp_violations == []

    # and the database holds the number nowhere, in clear or inside what it encrypts
    _assert_no_card_number_stored()


def test_reveal_of_an_email_asks_for_step_up_and_a_reason_then_shows_it_audited(
    page: Page,
    live_server,
    settings,
    csp_violations: list[str],
):
    # given a supervisor who works the billing queue, and a case there of a known customer
    supervisor = make_user(email="supervisor@example.test", roles=("supervisor",))
    _queue_with("billing", supervisor)
    maria = make_customer()
    number = cases.message_receive(
        channel="email",
        # authenticated by the receiving MTA (DMARC pass), so it links to her profile
        # (decision 0101): an unverified sender would land on an unverified contact
        sender=SenderIn(email=MARIA["email"], name=MARIA["name"], verified=True,
                        auth="verified"),
        text="Please send the invoice to my address.",
        subject="Invoice",
        queue="billing",
    ).case_number

    # and they signed in with password + code, and opened the case
    sign_in_with_totp(page, live_server, supervisor.email)
    page.goto(f"/cases/{number}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Case {number} · Invoice")

    # then the customer panel shows the e-mail masked, with a Reveal action
    email_row = page.locator("section.customer-panel #field-email")
    expect(email_row.locator("[data-masked]")).to_have_text("m•••@e•••.com")
    assert MARIA["email"] not in page.content()

    # given the step-up window has passed, but not the idle timeout (that would sign them out)
    later = settings.SAFEGUARD_STEP_UP_MINUTES * 60 + 60
    assert later < settings.SAFEGUARD_SESSION_IDLE_MINUTES * 60
    reason = "Customer says invoices bounce; confirming the address on file."
    with time_machine.travel(time.time() + later, tick=True):
        # when they press Reveal on the e-mail
        email_row.get_by_role("link", name="Reveal E-mail").click()

        # then a reason is asked first, with a warning that the second factor comes next
        reason_box = email_row.get_by_label("Why do you need the e-mail?")
        expect(reason_box).to_be_visible()
        expect(
            email_row.get_by_text("You will be asked for your second factor first.")
        ).to_be_visible()

        # when they give the reason and confirm
        reason_box.fill(reason)
        email_row.get_by_role("button", name="Reveal e-mail").click()

        # then they are asked for a code, with the reveal to come back to
        expect(page).to_have_url(
            live_server.url
            + MFA_REAUTHENTICATE
            + "?next="
            + quote(f"/customers/{maria.id}/reveal/", safe="")
        )
        assert MARIA["email"] not in page.content()

        # when they enter a fresh code (a later time step than the sign-in code: no reuse)
        page.get_by_label("Code").fill(totp_code(supervisor.email))
        page.get_by_role("button", name="Confirm", exact=True).click()

        # then the reveal resumes and they are back on the case, the e-mail in clear
        expect(page).to_have_url(f"{live_server.url}/cases/{number}/#field-email")
        expect(email_row.locator("[data-revealed]")).to_have_text(MARIA["email"])
        expect(email_row.locator("[data-countdown]")).to_be_visible()
        # and only that field: the phone stays masked
        expect(page.locator("section.customer-panel #field-phone [data-masked]")).to_have_text(
            "•••• 0132"
        )

    # and no page on the way (console, panel, reason form, step-up) broke the CSP
    _settle(page)
    assert csp_violations == []

    # and the reveal was audited: by the supervisor, the field and the reason's length, no value
    revealed = audit_selectors.event_list(action="customer.revealed")
    assert len(revealed) == 1
    event = revealed[0]
    assert (event.actor.id, event.subject_type, event.subject_id) == (
        str(supervisor.pk),
        "customer",
        str(maria.id),
    )
    assert event.data["field"] == "email"
    assert event.data["reason_length"] == len(reason)
    assert event.data["via"] == "session"
    recorded = json.dumps(event.data)
    assert MARIA["email"] not in recorded
    assert reason not in recorded
    # and nothing was refused on the way: the step-up came before the reveal service was asked
    assert audit_selectors.event_list(action="customer.reveal_denied") == []


def test_agent_outside_the_queue_gets_404_for_the_case_page_and_api(
    page: Page,
    staff_page: Page,
    live_server,
    csp_violations: list[str],
    staff_csp_violations: list[str],
):
    # given a case in the billing queue, an agent of that queue, and one of another queue
    insider = make_user(email="insider@example.test", roles=("agent",))
    outsider = make_user(email="outsider@example.test", roles=("agent",))
    _queue_with("billing", insider)
    _queue_with("general", outsider)
    inbound = cases.message_receive(
        channel="email",
        sender=SenderIn(email="bob.kent@example.com", name="Bob Kent"),
        text="My refund has not arrived.",
        subject="Refund missing",
        queue="billing",
    )
    number = inbound.case_number

    # when the outsider signs in and opens the case by its number
    sign_in_with_totp(page, live_server, outsider.email)
    response = page.goto(f"/cases/{number}/")

    # then the page answers 404, as for a case that does not exist, and shows nothing of it
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    assert "Refund missing" not in page.content()
    absent = page.request.get(f"/cases/{number + 1000}/")
    assert absent.status == 404

    # and the API, with the same session, answers 404 as a problem
    api = page.request.get(f"/api/v1/cases/{number}")
    assert api.status == 404
    assert api.headers["content-type"] == "application/problem+json"
    problem = api.json()
    assert problem["status"] == 404
    assert problem["type"].endswith("/case-not-found")
    assert "Refund missing" not in api.text()
    # the very answer a case that does not exist gets
    absent_api = page.request.get(f"/api/v1/cases/{number + 1000}")
    assert absent_api.status == 404
    assert (absent_api.json()["type"], absent_api.json()["title"]) == (
        problem["type"],
        problem["title"],
    )

    # and their queue does not list it
    page.goto("/cases/")
    expect(page.locator("#case-table tbody")).to_contain_text("No cases match.")

    # when the agent of the billing queue opens the same case, page and API
    sign_in_with_totp(staff_page, live_server, insider.email)
    opened = staff_page.goto(f"/cases/{number}/")

    # then both answer
    assert opened is not None
    assert opened.status == 200
    expect(staff_page.get_by_role("heading", level=1)).to_have_text(
        f"Case {number} · Refund missing"
    )
    expect(staff_page.locator("section.customer-panel")).to_be_visible()
    api = staff_page.request.get(f"/api/v1/cases/{number}")
    assert api.status == 200
    assert (api.json()["number"], api.json()["queue"]) == (number, "billing")

    # and no page on the way broke the Content Security Policy
    _settle(page, staff_page)
    assert csp_violations == []
    assert staff_csp_violations == []

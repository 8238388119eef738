"""Composer, search, keyboard and chat-widget journeys in a real browser (issue 15; R-OPS-2,
R-OPS-5, R-DATA-2, R-WORK-4): the case search, the shortcut sheet and "g" keys, a macro that
fills its placeholders, a file with a card number withheld from a reply, and the chat widget
on a plain HTML page of another origin on loopback opening a chat."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from safeguard.cases import services as cases
from safeguard.cases.contracts import SenderIn
from safeguard.cases.models import Attachment, Case, Message
from tests.cases import attachment_files as files
from tests.cases.conftest import PAN_VISA, principal_for
from tests.e2e.conftest import sign_in_with_totp
from tests.factories import SYSTEM, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _no_background_polls(settings) -> None:
    # Keep htmx timers from querying the shared database while the test thread does.
    settings.SAFEGUARD_CHAT_POLL_SECONDS = 3600
    settings.SAFEGUARD_CONSOLE_POLL_SECONDS = 3600
    settings.SAFEGUARD_PRESENCE_SECONDS = 3600
    settings.SAFEGUARD_PRESENCE_TTL_SECONDS = 7200


@pytest.fixture
def agent():
    user = make_user(email="alex@example.com", full_name="Alex Smith", roles=("agent",))
    cases.queue_create(actor=SYSTEM, slug="billing", name="Billing")
    cases.queue_member_add(actor=SYSTEM, slug="billing", user_id=user.pk)
    return user


def _inbound(email: str, subject: str, text: str) -> int:
    result = cases.message_receive(channel="email", sender=SenderIn(email=email, name="Ann Lee"),
                                   text=text, subject=subject, queue="billing")
    return Case.objects.get(id=result.case_id).number


def _idle(page: Page) -> None:
    page.wait_for_load_state("networkidle")


def test_search_from_anywhere_with_slash(page: Page, live_server, agent, csp_violations):
    # given three cases of the agent's queue
    kettle = _inbound("ann@example.com", "Kettle broken", "The kettle stopped working.")
    _inbound("bob@example.com", "Parcel late", "Where is my parcel?")
    _inbound("cy@example.com", "Wrong size", "The shoes are too small.")
    sign_in_with_totp(page, live_server, "alex@example.com")
    _idle(page)
    # when they press "/" on their home, type words of a message and press Enter
    page.keyboard.press("/")
    search = page.get_by_label("Search cases")
    expect(search).to_be_focused()
    search.fill("stopped working")
    search.press("Enter")
    _idle(page)
    # then exactly the kettle case is listed, with its count
    expect(page.locator(".list-count")).to_have_text("Showing 1–1 of 1 case")
    expect(page.locator("#case-table tbody tr")).to_have_count(1)
    expect(page.locator("#case-table tbody tr").first).to_contain_text("Kettle broken")
    page.locator("#case-table tbody a").first.click()
    expect(page).to_have_url(live_server.url + f"/cases/{kettle}/")
    _idle(page)
    assert csp_violations == []


def test_the_shortcut_sheet_opens_with_question_mark_and_g_keys_navigate(
        page: Page, live_server, agent, csp_violations):
    sign_in_with_totp(page, live_server, "alex@example.com")
    _idle(page)
    sheet = page.locator("#shortcut-help")
    expect(sheet).to_be_hidden()
    page.keyboard.press("?")
    expect(sheet).to_be_visible()
    expect(sheet).to_contain_text("Keyboard shortcuts")
    expect(sheet.locator("dd", has_text="Cases")).to_have_count(1)
    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()
    page.keyboard.press("g")
    page.keyboard.press("q")
    expect(page).to_have_url(live_server.url + "/cases/")
    _idle(page)
    # the case list adds its own keys to the same sheet
    page.keyboard.press("?")
    expect(sheet.locator("dd", has_text="Macro picker")).to_have_count(1)
    page.keyboard.press("Escape")
    page.keyboard.press("g")
    page.keyboard.press("h")
    expect(page).to_have_url(live_server.url + "/")
    _idle(page)
    assert csp_violations == []


def test_a_macro_fills_its_placeholders_and_keeps_the_customer_name_masked_safe(
        page: Page, live_server, agent, csp_violations):
    # given a macro of the queue and a case
    boss = make_user(email="sue@example.com", roles=("supervisor",))
    cases.queue_member_add(actor=SYSTEM, slug="billing", user_id=boss.pk, is_supervisor=True)
    cases.macro_save(actor=SYSTEM, name="Greeting", principal=principal_for(boss),
                     body="Hello {customer_first_name}, {agent_name} here about case "
                          "{case_number}.")
    number = _inbound("ann@example.com", "Parcel late", "Where is my parcel?")
    sign_in_with_totp(page, live_server, "alex@example.com")
    page.goto(f"/cases/{number}/")
    _idle(page)
    # when the agent opens the picker with "m" and picks the macro
    page.keyboard.press("m")
    picker = page.get_by_label("Insert a macro")
    expect(picker).to_be_focused()
    picker.select_option(label="Greeting")
    _idle(page)
    # then case number and agent name are in the composer; the customer's name is not
    expect(page.locator("#composer-text")).to_have_value(
        f"Hello {{customer_first_name}}, Alex Smith here about case {number}.")
    assert "Ann" not in page.locator("#composer-text").input_value()
    assert csp_violations == []


def test_a_file_with_a_card_in_the_composer_is_withheld(page: Page, live_server, agent,
                                                        csp_violations, tmp_path: Path):
    number = _inbound("ann@example.com", "Statement", "Please send my statement.")
    statement = tmp_path / "statement.pdf"
    statement.write_bytes(files.pdf(f"Card {PAN_VISA} exp 12/30"))
    sign_in_with_totp(page, live_server, "alex@example.com")
    page.goto(f"/cases/{number}/")
    _idle(page)
    page.keyboard.press("r")
    expect(page.locator("#composer-text")).to_be_focused()
    page.keyboard.type("Here is your statement.")
    page.locator("#composer-files").set_input_files(str(statement))
    page.get_by_role("button", name="Send reply").click()
    _idle(page)
    expect(page.locator(".messages")).to_contain_text(
        "Reply sent without statement.pdf: attachment withheld, it contained a card number.")
    expect(page.locator("body")).to_contain_text("attachment withheld")
    reply = Message.objects.get(case__number=number, author_kind="agent")
    assert Attachment.objects.get(message=reply).state == "withheld"
    assert PAN_VISA not in page.content()
    assert csp_violations == []


@pytest.fixture
def shop(tmp_path: Path, live_server, settings) -> Iterator[str]:
    """A plain HTML page on another origin of the same loopback host (another port), served by
    Python's http.server: the one line of HTML that embeds the widget, nothing else."""
    host = urlsplit(live_server.url).hostname
    (tmp_path / "index.html").write_text(
        "<!DOCTYPE html><html><head><title>Shop</title></head><body><h1>Our shop</h1>\n"
        f'<script src="{live_server.url}/chat/widget.js" data-label="Chat with us" async>'
        "</script>\n</body></html>\n", encoding="utf-8")
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer((host, 0), handler)
    origin = f"http://{host}:{server.server_address[1]}"
    settings.SAFEGUARD_CHAT_WIDGET_ORIGINS = [origin]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield origin
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_the_widget_on_a_plain_page_of_another_origin_opens_a_chat(page: Page, live_server,
                                                                    agent, shop: str):
    # given a shop page on another port that embeds the widget with one script tag
    page.goto(shop + "/")
    launcher = page.locator('[data-safeguard-chat="launcher"]')
    expect(launcher).to_have_text("Chat with us")
    # when the visitor opens the chat and starts a conversation in the frame
    launcher.click()
    frame = page.frame_locator('iframe[data-safeguard-chat="frame"]')
    frame.get_by_label("Name").fill("Maria Lopez")
    frame.get_by_label("Email").fill("maria@example.com")
    frame.get_by_label("Message").fill("Is my order shipped?")
    frame.get_by_role("button", name="Start chat").click()
    # then the chat opens in the frame, with their first message and place in the queue
    expect(frame.locator("#chat-messages")).to_contain_text("Is my order shipped?")
    expect(frame.locator("#chat-status")).to_have_text("You are next in the queue.")
    assert Case.objects.get(channel="chat").queue.slug == "general"
    # and Escape closes the panel on the shop page
    page.locator("h1").click()
    page.keyboard.press("Escape")
    expect(page.locator('[data-safeguard-chat="panel"]')).to_be_hidden()

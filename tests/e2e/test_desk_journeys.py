"""Supervisor and agent journeys of issue 15 in a real browser: an approval showing the value
approved and the agent notified; the wallboard updating when a chat arrives; an automation
assigning round-robin; the satisfaction survey sent on resolution (R-OPS-5, R-WORK-4, R-KPI-1).
No CSP violation on the way."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from safeguard.cases import services as cases
from safeguard.cases.contracts import SenderIn
from safeguard.cases.models import Case, CsatResponse, Message
from safeguard.customers import services as customers
from tests.cases.conftest import principal_for
from tests.e2e.conftest import sign_in_with_totp
from tests.factories import SYSTEM, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _quiet(settings) -> None:
    # keep htmx timers from querying the shared database; a short wallboard stream
    settings.SAFEGUARD_CHAT_POLL_SECONDS = 3600
    settings.SAFEGUARD_CONSOLE_POLL_SECONDS = 3600
    settings.SAFEGUARD_WALLBOARD_STREAM_SECONDS = 4
    settings.SAFEGUARD_WALLBOARD_INTERVAL_SECONDS = 0.5
    settings.SAFEGUARD_WALLBOARD_RETRY_MS = 300


def _inbound(email: str, subject: str, queue: str = "billing") -> Case:
    result = cases.message_receive(channel="email", sender=SenderIn(email=email, name="Ann Lee"),
                                   text=f"{subject}, please help.", subject=subject, queue=queue)
    return Case.objects.get(id=result.case_id)


def _sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.context.clear_cookies()


def test_approval_shows_the_value_and_the_agent_is_notified(page: Page, live_server,
                                                            csp_violations):
    # given an agent of billing working a case of Ann's, who asked for a new e-mail
    agent = make_user(email="alex@example.com", roles=("agent",))
    make_user(email="sam@example.com", roles=("supervisor",))
    cases.queue_create(actor=SYSTEM, slug="billing", name="Billing")
    cases.queue_member_add(actor=SYSTEM, slug="billing", user_id=agent.pk)
    case = _inbound("ann@example.com", "New address")
    customers.approval_request(viewer=principal_for(agent), customer_id=case.customer_id,
                               kind="email_change", change={"email": "ann.new@example.net"},
                               reason="Lost access to the old mailbox")
    # when the supervisor opens the inbox from the menu
    sign_in_with_totp(page, live_server, "sam@example.com")
    page.get_by_role("link", name="Approvals").click()
    row = page.locator("#approvals tbody tr").first
    expect(row).to_contain_text("A. L•••")
    expect(row).to_contain_text("Change e-mail")
    expect(row).not_to_contain_text("ann.new@example.net")  # masked in the list
    row.get_by_role("link", name=re.compile("Decide")).click()
    # then the decision page shows the value approved, in clear
    expect(page.locator(".proposed-value")).to_have_text("ann.new@example.net")
    page.get_by_label("Note with the grant (optional, kept with the decision)").fill("Checked")
    page.get_by_role("button", name="Grant and apply").click()
    expect(page.locator(".messages")).to_contain_text("granted")
    _sign_out(page)
    # and the agent sees a notification badge and the decision, without the value
    sign_in_with_totp(page, live_server, "alex@example.com")
    badge = page.locator("#notif-badge")
    expect(badge).to_have_attribute("aria-label", "Notifications: 1 unread")
    badge.click()
    item = page.locator(".notification").first
    expect(item).to_contain_text("Change e-mail for A. L•••: granted by sam")
    expect(item).not_to_contain_text("ann.new")
    item.get_by_role("button", name=re.compile("^Open")).click()
    expect(page).to_have_url(f"{live_server.url}/customers/{case.customer_id}/")
    expect(page.locator("#notif-badge")).to_have_attribute("aria-label",
                                                           "Notifications: 0 unread")
    assert csp_violations == []


def test_the_wallboard_updates_when_a_chat_arrives(page: Page, live_server, csp_violations):
    make_user(email="sam@example.com", roles=("supervisor",))
    cases.queue_create(actor=SYSTEM, slug="support", name="Support")
    sign_in_with_totp(page, live_server, "sam@example.com")
    page.get_by_role("link", name="Wallboard").click()
    depth = page.locator('[data-total="depth"]')
    expect(depth).to_have_text("0")
    expect(page.locator("#wb-state")).to_have_text("Live.")
    # when a customer starts a chat
    cases.chat_start(name="Ann Lee", email="ann@example.com", queue="support")
    # then the board shows it without a reload (server-sent events)
    expect(depth).to_have_text("1", timeout=8000)
    row = page.locator('#wb-queues tr[data-queue="support"]')
    expect(row.locator('[data-field="depth"]')).to_have_text("1")
    page.close()  # end the stream before the database is flushed
    time.sleep(0.6)
    assert csp_violations == []


def test_an_automation_assigns_round_robin(page: Page, live_server, csp_violations):
    cases.queue_create(actor=SYSTEM, slug="billing", name="Billing")
    agents = [make_user(email=f"agent{n}@example.com", roles=("agent",)) for n in (1, 2)]
    for a in agents:
        cases.queue_member_add(actor=SYSTEM, slug="billing", user_id=a.pk)
    make_user(email="sam@example.com", roles=("supervisor",))
    sign_in_with_totp(page, live_server, "sam@example.com")
    page.get_by_role("link", name="Automations").click()
    rule = page.locator("#rule-billing")
    rule.get_by_label("Strategy").select_option("round_robin")
    rule.get_by_label("Active").check()
    rule.get_by_role("button", name="Save the assignment rule of Billing").click()
    expect(page.locator(".messages")).to_contain_text("Assignment rule of billing saved.")
    expect(page.locator("#rule-billing .badge").first).to_have_text("Round-robin (take turns)")
    # when three customers write in
    got = [_inbound(f"c{n}@example.com", f"Parcel {n}").assignee_id for n in range(3)]
    first, second = sorted(a.pk for a in agents)
    assert got == [first, second, first]
    # then the editor shows the load it produced
    page.reload()
    loads = page.locator("#rule-billing tbody tr td:nth-child(2)").all_text_contents()
    assert sorted(loads) == ["1", "2"]
    assert csp_violations == []


def test_the_survey_is_sent_on_resolution(page: Page, live_server, csp_violations):
    agent = make_user(email="alex@example.com", roles=("agent",))
    cases.queue_create(actor=SYSTEM, slug="billing", name="Billing")
    cases.queue_member_add(actor=SYSTEM, slug="billing", user_id=agent.pk)
    case = _inbound("ann@example.com", "Parcel late")
    Case.objects.filter(id=case.id).update(assignee_id=agent.pk)
    sign_in_with_totp(page, live_server, "alex@example.com")
    page.goto(f"/cases/{case.number}/")
    page.wait_for_load_state("networkidle")
    page.get_by_label("Status").select_option("resolved")
    page.get_by_role("button", name="Change status").click()
    page.wait_for_load_state("networkidle")
    # the survey went out as a message of the case, through its channel (e-mail)
    survey = Message.objects.get(case=case, author_kind="system")
    assert survey.channel == "email"
    expect(page.locator("body")).to_contain_text(f"Your request #{case.number} is resolved.")
    path = re.search(r"/cases/csat/[^\s]+/", survey.body)
    assert path is not None
    _sign_out(page)
    # the customer follows the link and answers
    page.goto(path.group(0))
    page.get_by_label("5 — very satisfied").check()
    page.get_by_role("button", name="Send").click()
    expect(page.locator("body")).to_contain_text(re.compile("[Tt]hank"))
    assert CsatResponse.objects.get(case=case).score == 5
    assert csp_violations == []


def test_desk_pages_fit_390_px(page: Page, live_server, csp_violations):
    cases.queue_create(actor=SYSTEM, slug="billing", name="Billing")
    agent = make_user(email="alex@example.com", roles=("agent",))
    cases.queue_member_add(actor=SYSTEM, slug="billing", user_id=agent.pk)
    boss = make_user(email="sam@example.com", roles=("supervisor",))
    case = _inbound("ann@example.com", "Parcel late")
    customers.refund_request(viewer=principal_for(agent), customer_id=case.customer_id,
                             amount="250.00", currency="EUR", case_id=str(case.id),
                             reason="Double charge")
    from safeguard.accounts import services as accounts

    accounts.notify(boss.pk, "sla_warning", f"Case #{case.number}: first response due in 5 min",
                    f"/cases/{case.number}/")
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in_with_totp(page, live_server, "sam@example.com")
    for path in ("/cases/wallboard/", "/cases/automations/", "/staff/notifications/",
                 "/customers/approvals/"):
        page.goto(path)
        page.wait_for_load_state("domcontentloaded")
        widths = page.evaluate(
            "[document.querySelector('main').scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"{path}: main is {widths[0]} px in {widths[1]} px"
    # the refund shows as amount and currency, with its case number, not an id
    row = page.locator("#approvals tbody tr").first
    expect(row).to_contain_text("250.00 EUR")
    expect(row).to_contain_text(f"#{case.number}")
    expect(row).not_to_contain_text(str(case.id))
    page.goto("/")
    assert csp_violations == []

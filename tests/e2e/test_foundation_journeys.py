"""Foundation journeys in a real browser: sign-in with enforced MFA, step-up, keyboard and CSP.

Issue 2, "Tests that must exist" (browser): a new staff user is forced to enrol TOTP before
reaching the dashboard; a user with TOTP signs in with password + code; a wrong code is refused;
step-up asks again once its window has passed (clock moved with time-machine: the live server is
a thread of this process and shares the patched clock).
"""

from __future__ import annotations

import re
import time
from urllib.parse import quote

import pytest
import time_machine
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD, make_user, totp_code

# The live server answers from its own thread, so test data must be committed (see conftest).
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LOGIN = "/account/login/"
MFA_AUTHENTICATE = "/account/mfa/authenticate/"
MFA_REQUIRED = "/staff/mfa-required/"
TOTP_ACTIVATE = "/account/mfa/totp/activate/"
USER_CREATE = "/staff/users/new/"


def _sign_in_with_password(page: Page, email: str) -> None:
    page.goto(LOGIN)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()


def _enter_code(page: Page, code: str, *, button: str = "Sign In") -> None:
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name=button, exact=True).click()


def _focused_name(page: Page) -> str | None:
    return page.evaluate("document.activeElement && document.activeElement.name")


def _tab_to(page: Page, name: str, *, most: int = 10) -> int:
    """Press Tab until the field called ``name`` has focus; how many presses it took (or -1)."""
    for presses in range(most + 1):
        if _focused_name(page) == name:
            return presses
        page.keyboard.press("Tab")
    return -1


def test_new_staff_user_is_forced_to_enrol_totp_then_reaches_dashboard(
    page: Page, live_server, csp_violations: list[str]
):
    # given a staff user without a second factor
    user = make_user(email="new.agent@example.test", roles=("agent",), mfa=False)

    # when they sign in with email and password
    _sign_in_with_password(page, user.email)

    # then they land on the MFA-required page, and the dashboard sends them back there
    expect(page).to_have_url(live_server.url + MFA_REQUIRED)
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up a second factor")
    page.goto("/")
    expect(page).to_have_url(live_server.url + MFA_REQUIRED)

    # when they choose an authenticator app, allauth first asks for the password again
    page.get_by_role("link", name="Use an authenticator app").click()
    expect(page).to_have_url(
        live_server.url + "/account/reauthenticate/?next=" + quote(TOTP_ACTIVATE, safe="")
    )
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()

    # and they enter the code an authenticator app would show for the secret on the page
    expect(page).to_have_url(live_server.url + TOTP_ACTIVATE)
    secret = page.locator("#authenticator_secret").input_value()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    _enter_code(
        page, format_hotp_value(hotp_value(secret, int(time.time()) // 30)), button="Activate"
    )

    # then TOTP is active (allauth shows the recovery codes it generated) and the dashboard opens
    expect(page).to_have_url(live_server.url + "/account/mfa/recovery-codes/")
    assert sorted(user.authenticator_set.values_list("type", flat=True)) == [
        "recovery_codes",
        "totp",
    ]
    page.goto("/")
    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, new.agent@example.test")
    # and no enrolment page (QR code included) broke the Content Security Policy
    page.evaluate("0")  # a round trip: console events sent before it have been delivered
    assert csp_violations == []


def test_user_with_totp_signs_in_with_password_and_code(page: Page, live_server):
    # given a staff user with TOTP enrolled
    user = make_user(email="agent@example.test", roles=("agent",))

    # when they sign in with their password
    _sign_in_with_password(page, user.email)

    # then they are asked for a code
    expect(page).to_have_url(live_server.url + MFA_AUTHENTICATE)
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-Factor Authentication")

    # when they enter the current code
    _enter_code(page, totp_code(user.email))

    # then they reach the dashboard
    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, agent@example.test")


def test_wrong_totp_code_is_refused_and_user_stays_signed_out(page: Page, live_server):
    # given a staff user with TOTP who has passed the password step
    user = make_user(email="agent@example.test", roles=("agent",))
    _sign_in_with_password(page, user.email)
    expect(page).to_have_url(live_server.url + MFA_AUTHENTICATE)
    now = time.time()
    # The server accepts the current step +-1 (MFA_TOTP_TOLERANCE); stay clear by two steps.
    accepted = {totp_code(user.email, at=now + 30 * step) for step in range(-2, 3)}
    wrong = next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in accepted)

    # when they enter a code the server does not accept
    _enter_code(page, wrong)

    # then the code is refused on the same page
    expect(page).to_have_url(live_server.url + MFA_AUTHENTICATE)
    expect(page.get_by_text("Incorrect code.")).to_be_visible()

    # and they are not signed in: the dashboard redirects to the login page
    response = page.request.get("/", max_redirects=0)
    assert response.status == 302
    assert response.headers["location"] == LOGIN + "?next=/"


def test_step_up_asks_again_after_window_and_returns_to_action(page: Page, live_server):
    # given an administrator who signed in with password + code just now
    user = make_user(email="admin@example.test", roles=("administrator",))
    _sign_in_with_password(page, user.email)
    _enter_code(page, totp_code(user.email))
    expect(page).to_have_url(live_server.url + "/")

    # when they open a sensitive action while the second factor is fresh
    page.goto(USER_CREATE)

    # then the form is shown straight away
    expect(page).to_have_url(live_server.url + USER_CREATE)
    expect(page.get_by_role("heading", level=1)).to_have_text("New user")

    # given the step-up window has passed, but not the idle timeout (that would sign them out)
    later = settings.SAFEGUARD_STEP_UP_MINUTES * 60 + 60
    assert later < settings.SAFEGUARD_SESSION_IDLE_MINUTES * 60
    with time_machine.travel(time.time() + later, tick=True):
        # when they open the action again
        page.goto(USER_CREATE)

        # then they are asked for a code, with the action to return to
        expect(page).to_have_url(
            live_server.url + "/account/mfa/reauthenticate/?next=" + quote(USER_CREATE, safe="")
        )

        # when they enter a fresh code (a later time step than the sign-in code: no reuse)
        _enter_code(page, totp_code(user.email), button="Confirm")

        # then they are back on the action, with the form
        expect(page).to_have_url(live_server.url + USER_CREATE)
        expect(page.get_by_role("heading", level=1)).to_have_text("New user")


def test_sign_in_by_keyboard_only_without_csp_violations(
    page: Page,
    live_server,
    csp_violations: list[str],
):
    # given a staff user with TOTP, on the login page
    user = make_user(email="keys@example.test", roles=("agent",))
    page.goto(LOGIN)

    # when they tab to the email field, type, tab to the password, type and press Enter
    assert _tab_to(page, "login") >= 0
    page.keyboard.type(user.email)
    page.keyboard.press("Tab")
    assert _focused_name(page) == "password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")

    # and on the code step tab to the code field, type it and press Enter
    expect(page).to_have_url(live_server.url + MFA_AUTHENTICATE)
    assert _tab_to(page, "code") >= 0
    page.keyboard.type(totp_code(user.email))
    page.keyboard.press("Enter")

    # then the dashboard opens, and no page on the way broke the Content Security Policy
    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, keys@example.test")
    page.wait_for_load_state("load")
    page.evaluate("0")  # a round trip: console events sent before it have been delivered
    assert csp_violations == []


def test_csp_listener_reports_a_violation(page: Page, live_server, csp_violations: list[str]):
    # given the login page, served under the strict policy
    page.goto(LOGIN)

    # when an inline script is added to it
    with page.expect_console_message(lambda msg: "Content Security Policy" in msg.text):
        page.evaluate("""() => {
            const s = document.createElement("script");
            s.textContent = "window.inlineRan = true";
            document.body.append(s);
        }""")

    # then the browser refused to run it, and the fixture the keyboard journey relies on saw it
    assert page.evaluate("window.inlineRan === undefined") is True
    assert len(csp_violations) == 1
    assert "script-src 'self'" in csp_violations[0]


# Regression tests for two bugs found while writing these journeys (allauth's own layout and its
# sign-up invitation leaking through).
def test_login_page_uses_the_safeguard_layout(page: Page, live_server):
    # given the login page
    page.goto(LOGIN)

    # when the user presses Tab once
    page.keyboard.press("Tab")

    # then the page declares its language and the first stop is the skip link
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"


def test_login_page_offers_no_sign_up(page: Page, live_server):
    # given / when the login page is open
    page.goto(LOGIN)

    # then nothing invites a sign-up (staff accounts are created by administrators)
    assert page.get_by_role("link", name="sign up").count() == 0
    assert page.locator('a[href="None"]').count() == 0

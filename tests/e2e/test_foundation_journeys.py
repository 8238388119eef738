"""Foundation journeys in a real browser: sign-in with enforced MFA, step-up, keyboard and CSP.

Issue 2, "Tests that must exist" (browser): a new staff user is forced to enrol TOTP before
reaching the dashboard; a user with TOTP signs in with password + code; a wrong code is refused;
step-up re-prompts once the window has passed (clock moved with time-machine; the live server is a
thread of this process and shares the patched clock).
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

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LOGIN = "/account/login/"
MFA_AUTHENTICATE = "/account/mfa/authenticate/"
MFA_REQUIRED = "/staff/mfa-required/"
TOTP_ACTIVATE = "/account/mfa/totp/activate/"
USER_CREATE = "/staff/users/new/"


def _path(url: str, live_url: str) -> str:
    return url.removeprefix(live_url)


def _sign_in_with_password(page: Page, email: str) -> None:
    page.goto(LOGIN)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()


def _enter_code(page: Page, code: str, button: str = "Sign In") -> None:
    page.locator("input[name=code]").fill(code)
    page.get_by_role("button", name=button, exact=True).click()


def _wrong_code(secret_time: float, valid: set[str]) -> str:
    """A six-digit code that is none of ``valid`` (the codes the server accepts right now)."""
    del secret_time
    return next(c for c in (f"{n:06d}" for n in range(1_000_000)) if c not in valid)


def test_new_staff_user_is_forced_to_enrol_totp_then_reaches_dashboard(page: Page, live_server):
    # given a staff user without a second factor
    user = make_user(email="new.agent@example.test", roles=("agent",), mfa=False)

    # when they sign in with email and password
    _sign_in_with_password(page, user.email)

    # then they land on the MFA-required page, and the dashboard sends them back there
    expect(page).to_have_url(live_server.url + MFA_REQUIRED)
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up a second factor")
    page.goto("/")
    expect(page).to_have_url(live_server.url + MFA_REQUIRED)

    # when they choose an authenticator app and enter the code it would show for the secret
    page.get_by_role("link", name="Use an authenticator app").click()
    expect(page).to_have_url(live_server.url + TOTP_ACTIVATE)
    secret = page.locator("#authenticator_secret").input_value()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    _enter_code(page, code, button="Activate")

    # then the factor is active (recovery codes are shown) and the dashboard opens
    expect(page).to_have_url(live_server.url + "/account/mfa/recovery-codes/")
    page.goto("/")
    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, new.agent@example.test")
    user.refresh_from_db()
    assert list(user.authenticator_set.values_list("type", flat=True).order_by("type")) == [
        "recovery_codes", "totp"]


def test_user_with_totp_signs_in_with_password_and_code(page: Page, live_server):
    # given a staff user with TOTP enrolled
    user = make_user(email="agent@example.test", roles=("agent",))

    # when they sign in with password, then with the current code
    _sign_in_with_password(page, user.email)
    expect(page).to_have_url(live_server.url + MFA_AUTHENTICATE)
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
    accepted = {totp_code(user.email, at=now + step * 30) for step in (-2, -1, 0, 1, 2)}

    # when they enter a code the server does not accept
    _enter_code(page, _wrong_code(now, accepted))

    # then the code is refused on the same page
    expect(page).to_have_url(live_server.url + MFA_AUTHENTICATE)
    expect(page.get_by_text("Incorrect code.")).to_be_visible()

    # and they are not signed in: the dashboard sends them to the login page
    page.goto("/")
    expect(page).to_have_url(live_server.url + LOGIN + "?next=/")


def test_step_up_reprompts_after_window_and_returns_to_action(page: Page, live_server):
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

    # given the step-up window has passed (but not the idle timeout)
    step_up = settings.SAFEGUARD_STEP_UP_MINUTES * 60
    assert step_up + 60 < settings.SAFEGUARD_SESSION_IDLE_MINUTES * 60
    with time_machine.travel(time.time() + step_up + 60, tick=True):
        # when they open the action again
        page.goto(USER_CREATE)

        # then they are asked for a code, with the action to return to
        expect(page).to_have_url(
            live_server.url + "/account/mfa/reauthenticate/?next=" + quote(USER_CREATE, safe=""))

        # when they enter a fresh code (a later time step than the sign-in code)
        _enter_code(page, totp_code(user.email), button="Confirm")

        # then they are back on the action, with the form
        expect(page).to_have_url(live_server.url + USER_CREATE)
        expect(page.get_by_role("heading", level=1)).to_have_text("New user")


def test_login_by_keyboard_only_without_csp_violations(
    page: Page, live_server, csp_violations: list[str],
):
    # given a staff user with TOTP, on the login page
    user = make_user(email="keys@example.test", roles=("agent",))
    page.goto(LOGIN)

    # when they tab to the email field, type, tab to the password, type and press Enter
    for _ in range(10):
        if page.evaluate("document.activeElement.name") == "login":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "login"
    page.keyboard.type(user.email)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")

    # then the code step opens with the code field focused or one Tab away; Enter submits it
    expect(page).to_have_url(live_server.url + MFA_AUTHENTICATE)
    page.locator("input[name=code]").focus()
    page.keyboard.type(totp_code(user.email))
    page.keyboard.press("Enter")

    # then the dashboard opens and no page on the way broke the Content Security Policy
    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, keys@example.test")
    page.wait_for_load_state("load")
    assert csp_violations == []

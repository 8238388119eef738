"""MFA gate, admin WebAuthn requirement, step-up window, idle timeout, secrets at rest (R-OPS-1)."""

from __future__ import annotations

import time

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from django.test import Client, override_settings

from safeguard.accounts.adapters import decrypt_secret
from safeguard.audit import selectors as audit
from tests.factories import PASSWORD, make_user, signed_in_client, totp_code, totp_secret

pytestmark = pytest.mark.django_db


def test_user_without_mfa_reaches_only_enrolment_pages():
    user = make_user(roles=("administrator",), mfa=False)
    client = signed_in_client(user)
    for url in ("/", "/staff/users/", "/staff/me/", "/ops/health/"):
        response = client.get(url)
        assert (response.status_code, response["Location"]) == (302, "/staff/mfa-required/"), url
    assert client.get("/staff/mfa-required/").status_code == 200
    assert client.get("/account/mfa/totp/activate/").status_code in (200, 302)
    api = client.get("/api/v1/me")
    assert api.status_code == 403
    assert api.json()["type"].endswith("/mfa-required")


@override_settings(SAFEGUARD_REQUIRE_WEBAUTHN_FOR_ADMINS=True)
def test_administrator_without_webauthn_is_held_at_security_key_enrolment():
    admin = make_user(roles=("administrator",))  # TOTP only
    agent = make_user(roles=("agent",))
    admin_client = signed_in_client(admin)
    response = admin_client.get("/staff/users/")
    assert (response.status_code, response["Location"]) == (302, "/staff/mfa-required/")
    assert b"security key" in admin_client.get("/staff/mfa-required/").content
    assert admin_client.get("/account/mfa/totp/activate/").status_code == 302
    assert signed_in_client(agent).get("/").status_code == 200  # the rule is for admins


def test_totp_secret_is_encrypted_at_rest():
    user = make_user()
    stored = Authenticator.objects.get(user=user, type="totp").data["secret"]
    assert stored.startswith("v1:")
    assert totp_secret(user.email) not in stored
    assert decrypt_secret(stored) == totp_secret(user.email)


def test_last_second_factor_cannot_be_removed():
    from allauth.mfa.adapter import get_adapter

    user = make_user()
    totp = Authenticator.objects.get(user=user, type="totp")
    assert get_adapter().can_delete_authenticator(totp) is False


def test_step_up_passes_within_window_and_reprompts_after_it():
    # given an administrator who passed MFA just now
    admin = make_user(roles=("administrator",))
    start = time.time()
    with time_machine.travel(start, tick=False):
        client = signed_in_client(admin, mfa_at=start)
        assert client.get("/staff/users/new/").status_code == 200
    # when 6 minutes pass (window is 5; idle timeout 15)
    with time_machine.travel(start + 6 * 60, tick=False):
        response = client.get("/staff/users/new/")
    # then the action asks for the second factor again and will return to it
    assert response.status_code == 302
    assert response["Location"] == "/account/mfa/reauthenticate/?next=%2Fstaff%2Fusers%2Fnew%2F"


def test_step_up_reauthentication_returns_to_the_action_and_is_audited():
    admin = make_user(roles=("administrator",))
    start = time.time()
    client = signed_in_client(admin, mfa_at=start - 10 * 60)
    assert client.get("/staff/users/new/").status_code == 302
    response = client.post("/account/mfa/reauthenticate/?next=/staff/users/new/",
                           {"code": totp_code(admin.email)})
    assert response.status_code == 302
    assert response["Location"] == "/staff/users/new/"
    assert client.get("/staff/users/new/").status_code == 200
    assert audit.event_list(action="auth.step_up")[0].actor.id == str(admin.id)


def test_idle_session_is_signed_out():
    user = make_user()
    start = time.time()
    with time_machine.travel(start, tick=False):
        client = signed_in_client(user, mfa_at=start)
        assert client.get("/").status_code == 200
    with time_machine.travel(start + 16 * 60, tick=False):
        response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/")
    assert client.get("/").status_code == 302


def test_session_activity_is_written_at_most_once_a_minute(settings):
    """Issue 10: the idle clock and the session list's "last seen" are stored at most once per
    SAFEGUARD_SESSION_ACTIVITY_WRITE_SECONDS, not on every request (two writes less each)."""
    from allauth.usersessions.models import UserSession
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.SAFEGUARD_SESSION_ACTIVITY_WRITE_SECONDS = 60
    user = make_user()
    start = time.time()
    # given a signed-in session whose first request stored its activity
    with time_machine.travel(start, tick=False):
        client = signed_in_client(user, mfa_at=start)
        assert client.get("/").status_code == 200
    key = client.session.session_key
    assert client.session["safeguard_last_seen"] == pytest.approx(start)
    first_seen = UserSession.objects.get(session_key=key).last_seen_at
    # when another request comes 30 s later
    with time_machine.travel(start + 30, tick=False), CaptureQueriesContext(connection) as q:
        assert client.get("/").status_code == 200
    # then neither the session nor the session list is written
    writes = [x["sql"] for x in q.captured_queries
              if x["sql"].startswith("UPDATE") and ("django_session" in x["sql"]
                                                     or "usersession" in x["sql"])]
    assert writes == []
    assert client.session["safeguard_last_seen"] == pytest.approx(start)
    # and a request 61 s after the last write stores both again
    with time_machine.travel(start + 61, tick=False):
        assert client.get("/").status_code == 200
    assert client.session["safeguard_last_seen"] == pytest.approx(start + 61)
    assert UserSession.objects.get(session_key=key).last_seen_at > first_seen
    # and the idle timeout counts from that write
    with time_machine.travel(start + 61 + 14 * 60, tick=False):
        assert client.get("/").status_code == 200
    with time_machine.travel(start + 61 + 14 * 60 + 16 * 60, tick=False):
        assert client.get("/").status_code == 302


def test_password_then_totp_login_and_failures_are_audited():
    user = make_user(roles=("agent",))
    client = Client()
    # a wrong password is refused and recorded without the typed identifier in clear
    client.post("/account/login/", {"login": user.email, "password": "wrong-password-1"})
    failed = audit.event_list(action="auth.login_failed")[0]
    assert failed.outcome == "failure"
    assert failed.subject_id == str(user.id)
    assert user.email not in str(failed.data)
    # the right password leads to the second step, not into the app
    step = client.post("/account/login/", {"login": user.email, "password": PASSWORD})
    assert step["Location"] == "/account/mfa/authenticate/"
    assert client.get("/").status_code == 302
    # a wrong code is refused
    bad = client.post("/account/mfa/authenticate/", {"code": "000000"})
    assert bad.status_code == 200
    assert client.get("/").status_code == 302
    # the right code signs in
    ok = client.post("/account/mfa/authenticate/", {"code": totp_code(user.email)})
    assert ok.status_code == 302
    assert client.get("/").status_code == 200
    actions = {e.action for e in audit.event_list()}
    assert {"auth.login_failed", "auth.mfa_failed", "auth.login", "auth.mfa_passed"} <= actions


def test_repeated_login_failures_lock_the_account_with_a_clear_message():
    user = make_user()
    client = Client()
    for _ in range(5):
        client.post("/account/login/", {"login": user.email, "password": "nope-nope-nope"})
    # even the right password is now refused, with a message saying why
    response = client.post("/account/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code in (200, 429)
    assert b"Too many failed login attempts" in response.content


@override_settings(SAFEGUARD_REQUIRE_WEBAUTHN_FOR_ADMINS=True)
def test_administrator_session_opened_with_a_code_must_confirm_with_the_key():
    # given an administrator with TOTP and a security key, signed in with the TOTP code
    admin = make_user(roles=("administrator",))
    Authenticator.objects.create(user=admin, type="webauthn", data={"credential": {}})
    client = signed_in_client(admin)  # its session records an MFA pass of type totp
    # then pages and the API ask for the security key, and step-up points at the key prompt
    response = client.get("/staff/users/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/mfa/webauthn/reauthenticate/")
    api = client.get("/api/v1/me")
    assert api.status_code == 403
    # when the session records a security-key pass, everything opens
    session = client.session
    session["account_authentication_methods"].append(
        {"method": "mfa", "type": "webauthn", "at": time.time(), "reauthenticated": True})
    session.save()
    assert client.get("/staff/users/").status_code == 200
    assert client.get("/api/v1/me").status_code == 200


def test_a_session_opened_before_enrolment_does_not_open_when_the_user_enrols_elsewhere():
    # given an attacker's session opened with the password only, held at enrolment
    user = make_user(roles=("administrator",), mfa=False)
    attacker = Client()
    attacker.force_login(user)
    assert attacker.get("/staff/users/")["Location"] == "/staff/mfa-required/"
    # when the real user enrols a factor in their own session
    from allauth.mfa.totp.internal.auth import TOTP

    TOTP.activate(user, totp_secret(user.email))
    # then the attacker's session is asked for the factor, page and API alike
    response = attacker.get("/staff/users/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/mfa/reauthenticate/")
    assert attacker.get("/api/v1/me").status_code == 403


@override_settings(SAFEGUARD_REQUIRE_WEBAUTHN_FOR_ADMINS=True)
def test_code_opened_admin_session_cannot_plant_a_key_or_read_recovery_codes():
    # given an administrator with a key whose session was opened with a TOTP code
    admin = make_user(roles=("administrator",))
    Authenticator.objects.create(user=admin, type="webauthn", data={"credential": {}})
    client = signed_in_client(admin)
    # then password re-authentication, adding a key and the recovery codes all lead to the key
    for url in ("/account/reauthenticate/", "/account/mfa/webauthn/add/",
                "/account/mfa/recovery-codes/", "/account/mfa/recovery-codes/download/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/account/mfa/webauthn/reauthenticate/"), url


def test_changing_factors_needs_a_fresh_second_factor():
    user = make_user()
    start = time.time()
    client = signed_in_client(user, mfa_at=start - 10 * 60)
    for url in ("/account/mfa/webauthn/add/", "/account/mfa/recovery-codes/generate/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/account/mfa/reauthenticate/"), url
    # with a fresh factor our gate lets it through to allauth (which confirms the password too)
    fresh = signed_in_client(user)
    response = fresh.get("/account/mfa/webauthn/add/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/reauthenticate/")


def test_polling_does_not_keep_a_session_alive_and_sessions_have_a_maximum_length():
    user = make_user()
    start = time.time()
    with time_machine.travel(start, tick=False):
        client = signed_in_client(user, mfa_at=start)
        assert client.get("/").status_code == 200
    # automatic polls every few minutes are not activity: 16 minutes later the session is gone
    for minutes in (5, 10, 15):
        with time_machine.travel(start + minutes * 60, tick=False):
            client.get("/", HTTP_X_SAFEGUARD_PASSIVE="1")
    with time_machine.travel(start + 16 * 60, tick=False):
        assert client.get("/").status_code == 302
    # and a busy session still ends after SESSION_COOKIE_AGE (12 h)
    busy = signed_in_client(user, mfa_at=start)
    for minutes in range(0, 12 * 60 + 11, 10):
        with time_machine.travel(start + minutes * 60, tick=False):
            response = busy.get("/staff/me/")
    assert response.status_code == 302


def test_mfa_secrets_survive_a_key_rotation_through_the_fallback_list(settings):
    from safeguard.accounts.adapters import encrypt_secret

    settings.SAFEGUARD_MFA_SECRET_KEY = "old-" + "o" * 60
    blob = encrypt_secret("JBSWY3DPEHPK3PXP")
    settings.SAFEGUARD_MFA_SECRET_KEY = "new-" + "n" * 60
    with pytest.raises(ValueError, match="does not decrypt"):
        decrypt_secret(blob)
    settings.SAFEGUARD_MFA_SECRET_KEY_FALLBACKS = ["old-" + "o" * 60]
    assert decrypt_secret(blob) == "JBSWY3DPEHPK3PXP"

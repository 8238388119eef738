"""Sign-in hardening: personal API tokens need a second factor (issue 9 item 5), password reset
is no oracle and never errors (item 7) and is audited (item 9), a leaver cannot finish a sign-in
and is never revived (issue 17 item 6), and sessions per user are capped (item 10).
R-OPS-1, R-OPS-8, R-WORK-4."""

from __future__ import annotations

import json
import time

import pytest
import time_machine
from allauth.mfa.base.internal.flows import delete_and_cleanup
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from allauth.usersessions.models import UserSession
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client, RequestFactory

from safeguard.accounts import services
from safeguard.accounts.contracts import AccountError
from safeguard.audit import selectors as audit
from tests.factories import PASSWORD, SYSTEM, make_user, signed_in_client, totp_code, totp_secret

pytestmark = pytest.mark.django_db


def _bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _issue(user):
    return services.token_issue(actor=SYSTEM, user_id=user.id, name="script",
                                scopes=["accounts.view_users"], expires_in_days=30)


def _remove_factor(user, authenticator) -> None:
    """allauth's own removal path (it sends the authenticator_removed signal)."""
    request = RequestFactory().post("/")
    request.user = user
    delete_and_cleanup(request, authenticator)


# --- personal API tokens and the second factor (issue 9 item 5) -------------------------------

def test_a_person_without_a_second_factor_gets_no_token():
    # given an administrator who never enrolled a factor
    user = make_user(roles=("administrator",), mfa=False)
    # when a token is issued for them, it is refused and nothing is stored
    with pytest.raises(AccountError, match="must enrol a second factor"):
        _issue(user)
    assert services.selectors.token_list(user_id=user.id) == []
    assert audit.event_list(action="api_token.created") == []


def test_the_api_refuses_to_issue_a_token_to_a_person_without_a_factor():
    # given an administrator (with a factor) and a colleague who never enrolled one
    admin = make_user(roles=("administrator",))
    colleague = make_user(roles=("administrator",), mfa=False)
    # when the administrator asks the API for a token for the colleague
    response = signed_in_client(admin).post(
        "/api/v1/tokens", {"user_id": colleague.id, "name": "script",
                           "scopes": ["accounts.view_users"], "expires_in_days": 30},
        content_type="application/json")
    # then it is a problem response naming the missing factor, and nothing is issued
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "must enrol a second factor" in response.json()["detail"]
    assert services.selectors.token_list(user_id=colleague.id) == []


def test_removing_the_last_factor_suspends_personal_tokens_until_one_is_enrolled():
    # given an administrator whose token works
    user = make_user(roles=("administrator",))
    issued = _issue(user)
    assert Client().get("/api/v1/me", **_bearer(issued.secret)).status_code == 200
    # when their last second factor is removed
    _remove_factor(user, Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP))
    # then the suspension is recorded and the token is refused at its next use
    [suspended] = audit.event_list(action="api_token.suspended")
    assert suspended.data == {"tokens": [issued.token.id], "reason": "no second factor"}
    refused = Client().get("/api/v1/me", **_bearer(issued.secret))
    assert refused.status_code == 401
    [rejected] = audit.event_list(action="api_token.rejected")
    assert (rejected.outcome, rejected.data["reason"]) == ("denied", "no second factor")
    # and once a factor is enrolled again, the same token works (suspended, not revoked)
    TOTP.activate(user, totp_secret(user.email))
    assert Client().get("/api/v1/me", **_bearer(issued.secret)).json()["via"] == "token"


def test_a_factor_removed_behind_the_applications_back_still_stops_the_token():
    # given a token, and the factor row deleted directly (no signal at all)
    user = make_user(roles=("administrator",))
    issued = _issue(user)
    Authenticator.objects.filter(user=user).delete()
    # then the check at every use refuses it
    assert Client().get("/api/v1/me", **_bearer(issued.secret)).status_code == 401


def test_service_account_tokens_need_no_factor():
    # given a service account (no person, no factor) with a role
    view = services.user_create(actor=SYSTEM, email="ingest@example.test",
                                is_service_account=True, roles=("administrator",))
    issued = services.token_issue(actor=SYSTEM, user_id=view.id, name="ingest",
                                  scopes=["accounts.view_users"], expires_in_days=30)
    # then its token works as designed
    response = Client().get("/api/v1/me", **_bearer(issued.secret))
    assert (response.status_code, response.json()["via"]) == (200, "token")


# --- password reset: no oracle, no error, audited (issue 9 items 7 and 9) ---------------------

def test_password_reset_answers_identically_for_known_and_unknown_addresses(
        django_capture_on_commit_callbacks):
    known = make_user()
    answers = []
    for email in (known.email, "nobody-here@example.test"):
        client = Client()
        with django_capture_on_commit_callbacks(execute=True):  # the mail job runs on commit
            response = client.post("/account/password/reset/", {"email": email})
        page = client.get(response["Location"])
        answers.append((response.status_code, response["Location"], page.status_code,
                        page.content.decode().replace(email, "EMAIL")))
    # then both get the same redirect and the same page (and no 500 for the unknown one)
    assert answers[0] == answers[1]
    assert answers[0][:3] == (302, "/account/password/reset/done/", 200)
    # and only the known address receives a mail
    assert [m.to for m in mail.outbox] == [[known.email]]
    # and both requests are audited, the typed address only as a keyed fingerprint
    events = audit.event_list(action="auth.password_reset_requested")
    assert sorted(e.data["known_account"] for e in events) == [False, True]
    assert sorted(e.subject_id for e in events) == sorted([str(known.id), ""])
    recorded = json.dumps([e.data for e in events])
    assert known.email not in recorded
    assert "nobody-here" not in recorded
    assert {e.data["identifier"] for e in events} == {
        services.identifier_fingerprint(known.email),
        services.identifier_fingerprint("nobody-here@example.test")}


# --- a leaver mid-login; re-enabling revives nothing (issue 17 item 6) ------------------------

def _password_stage(user) -> Client:
    client = Client()
    step = client.post("/account/login/", {"login": user.email, "password": PASSWORD})
    assert step["Location"] == "/account/mfa/authenticate/"
    return client


def test_a_user_disabled_after_the_password_stage_cannot_finish_with_the_code():
    # given a user who passed the password stage
    make_user(roles=("administrator",))
    user = make_user(roles=("agent",))
    client = _password_stage(user)
    # when they are disabled, then enter a valid code
    services.user_disable(actor=SYSTEM, user_id=user.id, reason="left the company")
    response = client.post("/account/mfa/authenticate/", {"code": totp_code(user.email)})
    # then the sign-in is refused and recorded as refused, never as a sign-in
    assert response.status_code == 302
    assert response["Location"] == "/account/inactive/"
    assert client.get("/").status_code == 302
    [refused] = audit.event_list(action="auth.login_refused")
    assert (refused.outcome, refused.subject_id, refused.data) == (
        "denied", str(user.id), {"reason": "account disabled"})
    assert audit.event_list(action="auth.login") == []


def test_a_login_in_progress_across_a_disable_and_re_enable_is_void():
    # given a user who passed the password stage, then was disabled and enabled again
    make_user(roles=("administrator",))
    user = make_user(roles=("agent",))
    client = _password_stage(user)
    services.user_disable(actor=SYSTEM, user_id=user.id, reason="suspended")
    services.user_enable(actor=SYSTEM, user_id=user.id)
    # when the old login continues with a valid code, it is refused
    response = client.post("/account/mfa/authenticate/", {"code": totp_code(user.email)})
    assert response["Location"] == "/account/inactive/"
    assert client.get("/").status_code == 302
    [refused] = audit.event_list(action="auth.login_refused")
    assert refused.data == {"reason": "account disabled during sign-in"}
    # and a fresh sign-in works (a minute on, with that minute's code: the used one stays used)
    later = time.time() + 60
    with time_machine.travel(later, tick=False):
        fresh = _password_stage(user)
        ok = fresh.post("/account/mfa/authenticate/", {"code": totp_code(user.email, at=later)})
        assert ok["Location"] == "/"
        assert fresh.get("/").status_code == 200


def test_re_enabling_a_user_never_revives_a_session_from_before_the_disable():
    # given a signed-in user whose session escaped the session index
    make_user(roles=("administrator",))
    user = make_user(roles=("agent",))
    client = signed_in_client(user)
    assert client.get("/").status_code == 200
    key = client.session.session_key
    UserSession.objects.filter(user=user).delete()
    # when the user is disabled and enabled again
    services.user_disable(actor=SYSTEM, user_id=user.id, reason="suspended")
    services.user_enable(actor=SYSTEM, user_id=user.id)
    # then the old session row still exists, yet it no longer signs anyone in
    assert Session.objects.filter(session_key=key).exists()
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/")
    # and a new session for the same user works
    user.refresh_from_db()
    assert signed_in_client(user).get("/").status_code == 200


# --- a cap on concurrent sessions (issue 17 item 10) -------------------------------------------

def test_a_sign_in_past_the_session_limit_ends_the_oldest_session(settings):
    settings.SAFEGUARD_MAX_SESSIONS_PER_USER = 2
    user = make_user(roles=("agent",))
    # given two signed-in devices (indexed by their first request)
    oldest, middle = signed_in_client(user), signed_in_client(user)
    for client in (oldest, middle):
        assert client.get("/").status_code == 200
    oldest_key = oldest.session.session_key
    # when a third device signs in
    newest = signed_in_client(user)
    # then the oldest session is ended and recorded, the other two work
    assert not Session.objects.filter(session_key=oldest_key).exists()
    assert oldest.get("/").status_code == 302
    assert middle.get("/").status_code == 200
    assert newest.get("/").status_code == 200
    [ended] = audit.event_list(action="session.ended_by_limit")
    assert ended.subject_id == str(user.id)
    assert ended.data["limit"] == 2
    assert oldest_key not in json.dumps(ended.data)
    assert UserSession.objects.filter(user=user).count() == 2


def test_the_session_limit_has_a_documented_default_and_refuses_nonsense():
    import os
    import subprocess
    import sys

    from safeguard import settings as project_settings

    assert project_settings.SAFEGUARD_MAX_SESSIONS_PER_USER == 3
    env = {**os.environ, "SAFEGUARD_ENV": "test", "SAFEGUARD_MAX_SESSIONS_PER_USER": "0"}
    out = subprocess.run([sys.executable, "-c", "import safeguard.settings"], env=env,
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode != 0
    assert "SAFEGUARD_MAX_SESSIONS_PER_USER must be at least 1" in out.stderr


def test_sessions_that_already_ended_do_not_count_towards_the_limit(settings):
    settings.SAFEGUARD_MAX_SESSIONS_PER_USER = 2
    user = make_user(roles=("agent",))
    # given one live device and one whose session already ended (its index row lingers)
    live, gone = signed_in_client(user), signed_in_client(user)
    for client in (live, gone):
        assert client.get("/").status_code == 200
    Session.objects.filter(session_key=gone.session.session_key).delete()
    # when another device signs in
    newest = signed_in_client(user)
    # then the live session is kept: only the dead index row went
    assert live.get("/").status_code == 200
    assert newest.get("/").status_code == 200
    assert audit.event_list(action="session.ended_by_limit") == []

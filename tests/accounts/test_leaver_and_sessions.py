"""Leavers are cut off everywhere at once; users see and end their own sessions (section 7)."""

from __future__ import annotations

import pytest
from allauth.usersessions.models import UserSession
from django.contrib.sessions.models import Session
from django.test import Client

from safeguard.accounts import services
from safeguard.accounts.contracts import SelfAction
from safeguard.audit import selectors as audit
from tests.factories import SYSTEM, make_user, signed_in_client

pytestmark = pytest.mark.django_db


def _track(client: Client) -> None:
    client.get("/")  # UserSessionsMiddleware indexes the session on the first request


def test_disabling_a_leaver_ends_sessions_and_tokens_immediately():
    # given a user signed in on two devices and holding an API token
    admin = make_user(roles=("administrator",))
    leaver = make_user(roles=("administrator",))
    laptop, phone = signed_in_client(leaver), signed_in_client(leaver)
    _track(laptop)
    _track(phone)
    issued = services.token_issue(actor=SYSTEM, user_id=leaver.id, name="script",
                                  scopes=["accounts.view_users"], expires_in_days=5)
    assert laptop.get("/staff/users/").status_code == 200
    # when an administrator disables them
    admin_client = signed_in_client(admin)
    response = admin_client.post(f"/staff/users/{leaver.id}/disable/",
                                 {"reason": "left the company"})
    assert response.status_code == 302
    # then every session and the token stop working on the next request
    assert laptop.get("/staff/users/").status_code == 302
    assert phone.get("/").status_code == 302
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {issued.secret}"
                        ).status_code == 401
    assert UserSession.objects.filter(user=leaver).count() == 0
    event = audit.event_list(action="user.disabled")[0]
    assert event.data == {"reason": "left the company", "sessions_ended": 2,
                          "tokens_revoked": 1}


def test_an_administrator_cannot_disable_themselves():
    admin = make_user(roles=("administrator",))
    make_user(roles=("administrator",))
    with pytest.raises(SelfAction):
        services.user_disable(actor=signed_in_actor(admin), user_id=admin.id, reason="x")


def signed_in_actor(user):
    from safeguard.audit.contracts import Actor

    return Actor(kind="user", id=str(user.id), label=user.email)


def test_disable_without_reason_changes_nothing():
    admin = make_user(roles=("administrator",))
    target = make_user()
    response = signed_in_client(admin).post(f"/staff/users/{target.id}/disable/",
                                            {"reason": ""})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.is_active is True


def test_user_sees_and_ends_own_other_session():
    # given a user signed in twice
    user = make_user()
    first, second = signed_in_client(user), signed_in_client(user)
    _track(first)
    _track(second)
    page = first.get("/staff/me/").content.decode()
    assert "this session" in page
    other_key = second.session.session_key
    assert other_key not in page  # the secret never reaches the page; its listing id does
    other_id = UserSession.objects.get(session_key=other_key).pk
    # when the first ends the second
    response = first.post("/staff/me/sessions/revoke/", {"session": other_id})
    # then the second is signed out and the first is not
    assert response.status_code == 302
    assert second.get("/").status_code == 302
    assert first.get("/").status_code == 200
    assert not Session.objects.filter(session_key=other_key).exists()
    assert audit.event_list(action="session.revoked")[0].actor.id == str(user.id)


def test_user_cannot_end_someone_elses_session():
    alice, bob = make_user(), make_user()
    a, b = signed_in_client(alice), signed_in_client(bob)
    _track(a)
    _track(b)
    a.post("/staff/me/sessions/revoke/",
           {"session": UserSession.objects.get(session_key=b.session.session_key).pk})
    assert b.get("/").status_code == 200


def test_service_accounts_cannot_sign_in_or_reset_a_password(mailoutbox):
    from safeguard.accounts.models import User

    # given a service account that somehow got a password (e.g. set directly)
    svc = services.user_create(actor=SYSTEM, email="gateway@example.test",
                               is_service_account=True)
    row = User.objects.get(id=svc.id)
    row.set_password("a-long-enough-password-1")
    row.save()
    # then a password sign-in does not open a session
    client = Client()
    client.post("/account/login/", {"login": svc.email, "password": "a-long-enough-password-1"})
    assert client.get("/").status_code == 302
    assert client.get("/")["Location"].startswith("/account/login/")
    # and a password reset sends nothing
    Client().post("/account/password/reset/", {"email": svc.email})
    assert mailoutbox == []

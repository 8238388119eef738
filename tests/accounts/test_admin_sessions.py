"""An administrator sees another user's sessions (recorded) and ends one with a fresh second
factor (recorded); the grant form preselects no role (issue 15, item 9; R-OPS-1, R-IR-5)."""

from __future__ import annotations

import re
import time

import pytest
from allauth.usersessions.models import UserSession
from django.contrib.sessions.models import Session
from django.urls import reverse

from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db


def _signed_in_twice(user):
    """Two real sessions of ``user`` (two devices), as allauth's usersessions tracks them."""
    clients = [signed_in_client(user), signed_in_client(user)]
    for c in clients:
        c.get(reverse("accounts:me"), HTTP_USER_AGENT="Firefox on a laptop")
    return clients


def test_an_administrator_lists_and_ends_another_users_session():
    admin, agent = make_user(roles=("administrator",)), make_user(roles=("agent",))
    _signed_in_twice(agent)
    rows = list(UserSession.objects.filter(user=agent))
    assert len(rows) == 2
    client = signed_in_client(admin)
    # when the administrator opens the agent's sessions
    page = client.get(reverse("accounts:user_sessions", args=[agent.id]))
    html = page.content.decode()
    # then both are listed, without their secret keys, and the look is recorded
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    assert len(re.findall(r'name="session" value="\d+"', html)) == 2
    assert all(r.session_key not in html for r in rows)
    # when one is ended
    ended = client.post(reverse("accounts:user_session_revoke", args=[agent.id]),
                        {"session": str(rows[0].pk)})
    # then only that session is gone, server-side too
    assert ended.status_code == 302
    assert not Session.objects.filter(session_key=rows[0].session_key).exists()
    assert Session.objects.filter(session_key=rows[1].session_key).exists()
    assert list(UserSession.objects.filter(user=agent)) == [rows[1]]
    from safeguard.audit.models import Event  # the test reads the log directly

    actions = list(Event.objects.filter(subject_type="user", subject_id=str(agent.id))
                   .values_list("action", "actor_id"))
    assert ("session.listed", str(admin.id)) in actions
    assert ("session.revoked", str(admin.id)) in actions


def test_ending_another_users_session_needs_a_fresh_second_factor():
    admin, agent = make_user(roles=("administrator",)), make_user(roles=("agent",))
    _signed_in_twice(agent)
    row = UserSession.objects.filter(user=agent).first()
    client = signed_in_client(admin, mfa_at=time.time() - 600)
    response = client.post(reverse("accounts:user_session_revoke", args=[agent.id]),
                           {"session": str(row.pk)})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_reauthenticate"))
    assert UserSession.objects.filter(pk=row.pk).exists()


def test_an_agent_cannot_see_anyone_elses_sessions():
    agent, other = make_user(roles=("agent",)), make_user(roles=("agent",))
    response = signed_in_client(agent).get(reverse("accounts:user_sessions", args=[other.id]))
    assert response.status_code == 403


def test_the_grant_form_preselects_no_role_and_an_empty_choice_grants_nothing():
    admin, agent = make_user(roles=("administrator",)), make_user(roles=("agent",))
    client = signed_in_client(admin)
    html = client.get(reverse("accounts:user_detail", args=[agent.id])).content.decode()
    select = html[html.index('<select id="grant-role"'):]
    select = select[:select.index("</select>")]
    assert '<option value="" selected disabled>Choose a role…</option>' in select
    assert select.count("selected") == 1
    response = client.post(reverse("accounts:user_role_grant", args=[agent.id]), {"role": ""},
                           follow=True)
    assert "Choose a role to grant." in response.content.decode()
    from safeguard.accounts import selectors

    assert list(selectors.user_get(user_id=agent.id).roles) == ["agent"]

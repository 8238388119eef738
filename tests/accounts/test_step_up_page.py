"""The step-up page says which action it confirms and why a code is asked again; the password
alternative explains that a code follows (issue 15, item 5; R-WORK-4)."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from safeguard.accounts import guards
from tests.customers.factories import make_customer
from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db


def test_the_re_prompt_names_the_action_and_offers_no_password_shortcut():
    # given a supervisor whose second factor is ten minutes old
    supervisor = make_user(roles=("supervisor",))
    maria = make_customer()
    client = signed_in_client(supervisor, mfa_at=time.time() - 600)
    # when they ask to reveal a value
    response = client.post(f"/customers/{maria.id}/reveal/",
                           {"field": "email", "reason": "customer asked for a call back"})
    # then they are sent to the code prompt, which names the action it confirms
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_reauthenticate"))
    page = client.get(response["Location"]).content.decode()
    assert "To confirm: <strong>Reveal a masked customer value</strong>" in page
    assert "Your password alone does not confirm them" in page
    # and the password alternative (which could only lead back here) is not offered
    assert f'href="{reverse("account_reauthenticate")}' not in page


def test_the_password_page_says_a_code_follows():
    user = make_user(roles=("administrator",))
    client = signed_in_client(user, mfa_at=time.time() - 600)
    client.post(reverse("accounts:user_disable", args=[user.id]), {"reason": "x"})
    page = client.get(reverse("account_reauthenticate")).content.decode()
    assert "Next you will be asked for a code from your authenticator" in page
    assert "To confirm: <strong>Disable a user</strong>" in page


def test_a_passed_step_up_forgets_the_label():
    supervisor = make_user(roles=("supervisor",))
    maria = make_customer()
    client = signed_in_client(supervisor, mfa_at=time.time() - 600)
    client.post(f"/customers/{maria.id}/reveal/", {"field": "email", "reason": "call back"})
    assert client.session[guards.STEP_UP_ACTION_KEY] == "Reveal a masked customer value"
    fresh = signed_in_client(supervisor)
    fresh.post(f"/customers/{maria.id}/reveal/", {"field": "email", "reason": "call back"})
    assert guards.STEP_UP_ACTION_KEY not in fresh.session


def test_every_step_up_view_says_what_it_confirms():
    """No view falls back to the generic label: each names its action."""
    from django.urls import get_resolver

    def walk(patterns):
        for p in patterns:
            if hasattr(p, "url_patterns"):
                yield from walk(p.url_patterns)
            else:
                yield p.callback

    labels = {getattr(cb, "safeguard_step_up_action", None) for cb in walk(
        get_resolver().url_patterns) if getattr(cb, "safeguard_step_up", False)}
    assert labels
    assert "the action you asked for" not in labels


def test_the_password_page_outside_a_step_up_just_asks_for_the_password():
    """allauth asks the password before second-factor changes: no step-up words there."""
    user = make_user(roles=("agent",))
    page = signed_in_client(user).get(reverse("account_reauthenticate")).content.decode()
    assert "Enter your password to confirm it is you." in page
    assert "Next you will be asked for a code" not in page
    assert "To confirm:" not in page
    assert ">Confirm</button>" in page


def test_an_abandoned_step_up_is_not_named_later():
    supervisor = make_user(roles=("supervisor",))
    maria = make_customer()
    client = signed_in_client(supervisor, mfa_at=time.time() - 600)
    client.post(f"/customers/{maria.id}/reveal/", {"field": "email", "reason": "call back"})
    # given the step-up was asked an hour ago and never answered
    session = client.session
    session[guards.STEP_UP_ACTION_AT_KEY] = time.time() - 3600
    session.save()
    response = client.get(reverse("account_reauthenticate"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Confirm your password" in page
    assert "To confirm:" not in page

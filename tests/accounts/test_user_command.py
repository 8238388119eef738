"""`safeguard user create` (README "Command line"): the password from SAFEGUARD_NEW_PASSWORD or
a prompt; with no input to prompt on, a clear refusal that creates nothing (R-OPS-8)."""

from __future__ import annotations

import getpass
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from safeguard.accounts import selectors
from safeguard.accounts.contracts import UserNotFound

pytestmark = pytest.mark.django_db


def test_create_takes_the_password_from_the_environment(monkeypatch):
    # given the initial password in SAFEGUARD_NEW_PASSWORD
    monkeypatch.setenv("SAFEGUARD_NEW_PASSWORD", "Newbie-pass-2026-long")
    out = io.StringIO()
    # when a user is created with a role
    call_command("user", "create", "newbie@example.com", "--name", "New Bie", "--role", "agent",
                 stdout=out)
    # then the user exists with that role
    assert out.getvalue().strip() == "created newbie@example.com roles=agent"
    assert selectors.user_get_by_email(email="newbie@example.com").roles == ("agent",)


def test_create_without_input_to_prompt_on_refuses_and_creates_nothing(monkeypatch):
    # given no SAFEGUARD_NEW_PASSWORD and no input (getpass at end of input raises EOFError)
    monkeypatch.delenv("SAFEGUARD_NEW_PASSWORD", raising=False)

    def no_input(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr(getpass, "getpass", no_input)
    # when a user is created
    with pytest.raises(CommandError) as refused:
        call_command("user", "create", "newbie@example.com", "--role", "agent")
    assert ("set SAFEGUARD_NEW_PASSWORD or run the command in a terminal. Nothing was created."
            in str(refused.value))
    # then no user was created
    with pytest.raises(UserNotFound):
        selectors.user_get_by_email(email="newbie@example.com")

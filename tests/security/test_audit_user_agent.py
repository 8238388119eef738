"""The User-Agent kept with audit events is attacker-chosen text: it is stored without control or
bidirectional characters, masked like a SIEM free-text field and bounded — on refusal events
too (issue 17 item 10, issue 9 item 9; R-IR-5, R-DATA-2; docs/audit.md)."""

from __future__ import annotations

import pytest
from django.test import Client

from safeguard.audit import selectors as audit
from safeguard.audit.middleware import user_agent_for_audit
from tests.factories import make_user

pytestmark = pytest.mark.django_db

HOSTILE = ("Mozilla/5.0 \x1b[2J\x1b[31mcall +44 20 7946 0958 or mail victim@example.org "
           "card 4111 1111 1111 1111 \u202egnp.exe\u202c\r\nX-Injected: 1")


def test_a_hostile_user_agent_is_stored_masked_and_without_control_characters():
    # given a staff account
    user = make_user()
    # when a sign-in with a wrong password comes with a hostile User-Agent
    Client(HTTP_USER_AGENT=HOSTILE).post("/account/login/",
                                         {"login": user.email, "password": "wrong password 1"})
    # then the refusal is recorded with the User-Agent neutralised
    [event] = audit.event_list(action="auth.login_failed")
    stored = event.user_agent
    assert stored == user_agent_for_audit(HOSTILE)
    assert stored.startswith("Mozilla/5.0")
    for gone in ("\x1b", "\u202e", "\u202c", "\r", "\n", "4111", "victim@example.org",
                 "7946 0958"):
        assert gone not in stored
    assert "[REDACTED-EMAIL]" in stored
    assert "[REDACTED-PAN]" in stored
    assert "[REDACTED-PHONE]" in stored


def test_an_ordinary_user_agent_is_kept_as_sent(settings):
    browser = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
               "Chrome/131.0.0.0 Safari/537.36")
    assert user_agent_for_audit(browser) == browser


def test_a_long_user_agent_is_cut_to_the_setting(settings):
    # given a limit of 60 characters
    settings.SAFEGUARD_AUDIT_USER_AGENT_MAX = 60
    # when a 5,000-character User-Agent arrives
    kept = user_agent_for_audit("A" * 5000)
    # then exactly 60 characters are kept, marked as cut
    assert len(kept) == 60
    assert kept == "A" * (60 - len("…[truncated]")) + "…[truncated]"
    # and a limit of 0 keeps none at all
    settings.SAFEGUARD_AUDIT_USER_AGENT_MAX = 0
    assert user_agent_for_audit("curl/8.5.0") == ""

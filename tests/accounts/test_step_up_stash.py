"""Step-up never stores form fields in the session in clear (issue 8 item 5, R-OPS-2, R-DATA-2):
the form a re-authentication interrupts is screened, sealed under the keyring and bound to the
user; without keys nothing is kept."""

from __future__ import annotations

import json
import re
import time

import pytest
from allauth.account.internal.flows.reauthentication import STATE_SESSION_KEY
from allauth.core import context as allauth_context
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session

from safeguard.accounts import guards
from safeguard.customers.models import RevealGrant
from safeguard.protection import services as protection
from safeguard.protection.contracts import KeysSealed
from tests.customers.factories import make_customer
from tests.factories import make_user, signed_in_client, totp_code

pytestmark = pytest.mark.django_db

CARD = "4111111111111111"
REASON = f"customer read me their card {CARD} on the phone"


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _sessions() -> list[tuple[str, dict[str, object]]]:
    """Every stored session: its raw column and its decoded data."""
    return [(s.session_data, SessionStore().decode(s.session_data))
            for s in Session.objects.all()]


def _reveal_with_stale_factor():
    supervisor = make_user(roles=("supervisor",))
    maria = make_customer()
    client = signed_in_client(supervisor, mfa_at=time.time() - 600)
    response = client.post(f"/customers/{maria.id}/reveal/",
                           {"field": "email", "reason": REASON})
    return supervisor, maria, client, response


def test_a_card_number_typed_into_a_reveal_reason_while_step_up_is_due_is_not_in_the_session():
    # given a supervisor whose second factor is stale, who types a card number into the reason
    supervisor, maria, _client, response = _reveal_with_stale_factor()
    # then they are sent to re-authenticate
    assert response.status_code == 302
    assert response["Location"].startswith("/account/mfa/reauthenticate/")
    # and no session row holds the card number, raw or decoded, nor the reason in clear
    sessions = _sessions()
    assert sessions
    for raw, decoded in sessions:
        text = raw + json.dumps(decoded)
        assert CARD not in _digits(text)
        assert "on the phone" not in text
    stash = next(d[STATE_SESSION_KEY] for _, d in sessions if STATE_SESSION_KEY in d)
    assert set(stash) == {"callback", "state"}
    assert stash["callback"] == "safeguard.accounts.guards.resume_sealed_request"
    assert set(stash["state"]) == {"sealed"}
    # and what is sealed is the screened form, bound to this user
    opened = protection.stash_open(stash["state"]["sealed"],
                                   context=f"accounts.step-up-stash:user:{supervisor.pk}")
    assert opened is not None
    form = json.loads(opened)
    assert form["path"] == f"/customers/{maria.id}/reveal/"
    assert form["method"] == "POST"
    assert "csrfmiddlewaretoken" not in form["POST"]
    assert "%5BREDACTED-PAN%5D" in form["POST"]
    assert protection.stash_open(stash["state"]["sealed"],
                                 context="accounts.step-up-stash:user:999999") is None


def test_the_sealed_form_resumes_after_step_up_without_the_card_number():
    # given the interrupted reveal above
    supervisor, _maria, client, response = _reveal_with_stale_factor()
    # when the supervisor passes the second factor
    resumed = client.post(response["Location"], {"code": totp_code(supervisor.email)},
                          follow=True)
    # then the reveal resumes (the clear e-mail is shown) and the stash is gone
    assert resumed.status_code == 200
    assert "maria.lopez@example.com" in resumed.content.decode()
    grant = RevealGrant.objects.get(field="email", user=supervisor)
    assert CARD not in _digits(grant.reason)
    assert "[REDACTED-PAN]" in grant.reason or "tok_" in grant.reason
    assert all(STATE_SESSION_KEY not in d for _, d in _sessions())


def test_without_keys_nothing_is_kept_and_the_user_submits_again(monkeypatch):
    # given keys that cannot seal (sealed KEK)
    def refuse(plaintext: bytes, *, context: str) -> str:
        raise KeysSealed("sealed")

    monkeypatch.setattr(protection, "stash_seal", refuse)
    # when a reveal is interrupted by step-up
    _, _, _, response = _reveal_with_stale_factor()
    # then the user is still sent to re-authenticate, and no session holds the form at all
    assert response.status_code == 302
    for raw, decoded in _sessions():
        assert STATE_SESSION_KEY not in decoded
        assert CARD not in _digits(raw + json.dumps(decoded))


def test_a_foreign_or_tampered_stash_only_redirects(rf):
    # given a stash sealed for another user
    other = make_user(roles=("supervisor",))
    me = make_user(roles=("supervisor",))
    sealed = protection.stash_seal(json.dumps({"path": "/staff/users/new/", "path_info":
                                               "/staff/users/new/", "method": "POST",
                                               "GET": "", "POST": "email=x%40y.test"}).encode(),
                                   context=f"accounts.step-up-stash:user:{other.pk}")
    request = rf.post("/account/mfa/reauthenticate/?next=/staff/users/new/")
    request.user = me
    # when it is resumed in my session, or tampered with
    for state in ({"sealed": sealed}, {"sealed": sealed[:-4] + "AAAA"}, {"sealed": "%%%"}):
        with allauth_context.request_context(request):
            response = guards.resume_sealed_request(request, state)
        # then nothing is replayed: a redirect to next only
        assert response is not None
        assert (response.status_code, response["Location"]) == (302, "/staff/users/new/")

"""WebAuthn (FIDO2) journeys in a real browser, answered by Chromium's virtual authenticator.

Issue 2, section 4: staff may use security keys, and SAFEGUARD_REQUIRE_WEBAUTHN_FOR_ADMINS holds an
administrator who has only TOTP at enrolment until they add one. The key is a CTAP2 authenticator
that Chromium emulates when told so through the DevTools Protocol: it answers
navigator.credentials.create/get at once, with user presence and verification, so no prompt and
no hardware are involved. allauth takes the relying party id from the Host header; pytest-django's
live server is http://localhost:<port>, a secure context whose host is a valid RP id (an IP
address such as 127.0.0.1 is not a valid one).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import pytest
from allauth.mfa.models import Authenticator
from playwright.sync_api import CDPSession, Page, expect

from safeguard.audit import selectors as audit_selectors
from tests.factories import PASSWORD, make_user, totp_code

# The live server answers from its own thread, so test data must be committed (see conftest).
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LOGIN = "/account/login/"
MFA_AUTHENTICATE = "/account/mfa/authenticate/"
MFA_REQUIRED = "/staff/mfa-required/"
RECOVERY_CODES = "/account/mfa/recovery-codes/"
USER_LIST = "/staff/users/"
WEBAUTHN_ADD = "/account/mfa/webauthn/add/"


@dataclass(frozen=True)
class VirtualKey:
    """A security key Chromium emulates for one page, and the DevTools session that made it."""

    cdp: CDPSession
    authenticator_id: str

    def credential_ids(self) -> list[str]:
        """Ids (base64url, unpadded, as allauth stores them) of the credentials the key holds."""
        found = self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.authenticator_id})
        # DevTools hands ids out in standard base64; WebAuthn JSON uses base64url.
        return [
            base64.urlsafe_b64encode(base64.b64decode(c["credentialId"])).decode().rstrip("=")
            for c in found["credentials"]
        ]


@pytest.fixture
def security_key(page: Page, live_server) -> Iterator[VirtualKey]:
    """A CTAP2 USB key with user verification, plugged into the page's browser tab."""
    # A security key needs a secure context and a domain as RP id: localhost gives both.
    assert urlsplit(live_server.url).hostname == "localhost"
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    key = VirtualKey(cdp=cdp, authenticator_id=added["authenticatorId"])
    yield key
    cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": key.authenticator_id})
    cdp.detach()


def _sign_in_with_password(page: Page, email: str) -> None:
    page.goto(LOGIN)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()


def _sign_in_with_totp(page: Page, live_server, email: str) -> None:
    _sign_in_with_password(page, email)
    expect(page).to_have_url(live_server.url + MFA_AUTHENTICATE)
    page.get_by_label("Code").fill(totp_code(email))
    page.get_by_role("button", name="Sign In", exact=True).click()


def _confirm_password_for_key(page: Page, live_server) -> None:
    """allauth asks for a reauthentication before any MFA change, even just after sign-in."""
    expect(page).to_have_url(
        live_server.url + "/account/reauthenticate/?next=" + quote(WEBAUTHN_ADD, safe="")
    )
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()


def _add_security_key(page: Page, live_server) -> None:
    """On allauth's add page, press Add; the virtual key answers and the form posts itself."""
    expect(page).to_have_url(live_server.url + WEBAUTHN_ADD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Add Security Key")
    # allauth wires the button up on DOMContentLoaded; a click before that would do nothing.
    page.wait_for_load_state("domcontentloaded")
    page.get_by_role("button", name="Add", exact=True).click()
    # The first key of a user without recovery codes makes allauth generate and show them.
    expect(page).to_have_url(live_server.url + RECOVERY_CODES)


def _mfa_types(events: list[audit_selectors.EventView]) -> list[str]:
    return [event.data["type"] for event in events]


def test_admin_with_only_totp_is_held_until_a_security_key_is_added(
    page: Page, live_server, settings, security_key: VirtualKey, csp_violations: list[str]
):
    # given WebAuthn is required for administrators, and an administrator who has only TOTP
    settings.SAFEGUARD_REQUIRE_WEBAUTHN_FOR_ADMINS = True
    admin = make_user(email="admin@example.test", roles=("administrator",))

    # when they sign in with password and TOTP code
    _sign_in_with_totp(page, live_server, admin.email)

    # then they are held on the page that asks for a security key
    expect(page).to_have_url(live_server.url + MFA_REQUIRED)
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a security key")

    # and the user list sends them back there
    response = page.request.get(USER_LIST, max_redirects=0)
    assert response.status == 302
    assert response.headers["location"] == MFA_REQUIRED
    page.goto(USER_LIST)
    expect(page).to_have_url(live_server.url + MFA_REQUIRED)

    # when they choose to add a security key, confirm their password and press Add
    page.get_by_role("link", name="Add a security key").click()
    _confirm_password_for_key(page, live_server)
    _add_security_key(page, live_server)

    # then the user list opens: enrolling the key in this session proved possession of it
    opened = page.goto(USER_LIST)
    assert opened is not None
    assert opened.status == 200
    expect(page).to_have_url(live_server.url + USER_LIST)
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff and service accounts")

    # and the key on record is the one the virtual authenticator holds
    webauthn = Authenticator.objects.get(user=admin, type=Authenticator.Type.WEBAUTHN)
    stored_id = webauthn.data["credential"]["id"]
    assert security_key.credential_ids() == [stored_id]
    assert sorted(Authenticator.objects.filter(user=admin).values_list("type", flat=True)) == [
        "recovery_codes",
        "totp",
        "webauthn",
    ]

    # and the enrolment was audited, by the administrator, as a WebAuthn factor (newest first:
    # allauth then generated the recovery codes, announced as an enrolment of their own)
    enrolled = audit_selectors.event_list(action="mfa.enrolled")
    assert _mfa_types(enrolled) == ["recovery_codes", "webauthn"]
    assert {(e.actor.id, e.subject_type, e.subject_id) for e in enrolled} == {
        (str(admin.pk), "user", str(admin.pk)),
    }

    # and no page on the way (allauth's WebAuthn scripts included) broke the CSP
    page.evaluate("0")  # a round trip: console events sent before it have been delivered
    assert csp_violations == []


def test_user_signs_in_with_a_security_key(
    page: Page, live_server, security_key: VirtualKey, csp_violations: list[str]
):
    # given a staff user who enrolled a security key through the UI, then signed out
    user = make_user(email="agent@example.test", roles=("agent",))
    _sign_in_with_totp(page, live_server, user.email)
    expect(page).to_have_url(live_server.url + "/")
    page.goto(WEBAUTHN_ADD)
    _confirm_password_for_key(page, live_server)
    _add_security_key(page, live_server)
    assert len(security_key.credential_ids()) == 1
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    expect(page).to_have_url(live_server.url + LOGIN + "?next=/")

    # when they sign in with their password
    _sign_in_with_password(page, user.email)

    # then the MFA step offers a security key beside the code
    expect(page).to_have_url(live_server.url + MFA_AUTHENTICATE)
    use_key = page.get_by_role("button", name="Use a security key")
    expect(use_key).to_be_visible()

    # when they choose it and the key answers
    page.wait_for_load_state("domcontentloaded")
    use_key.click()

    # then they reach the dashboard
    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, agent@example.test")

    # and the audit log shows this sign-in passed MFA with the key (the first one with TOTP)
    passed = audit_selectors.event_list(action="auth.mfa_passed")
    assert _mfa_types(passed) == ["webauthn", "totp"]
    assert {event.actor.id for event in passed} == {str(user.pk)}
    page.evaluate("0")  # a round trip: console events sent before it have been delivered
    assert csp_violations == []

"""SCIM joiner, mover and leaver through a real HTTP client on loopback (issue 13 section 2;
R-WORK-3): the identity provider's requests reach a live server, and the leaver path takes
effect on the user's existing session and API token at once."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from allauth.mfa.totp.internal.auth import TOTP

from safeguard.accounts import selectors, services
from safeguard.accounts.models import User
from safeguard.accounts.scim import services as scim
from safeguard.audit import selectors as audit
from safeguard.audit.contracts import Actor
from safeguard.cases.services import manage as cases_manage
from tests.factories import SYSTEM, make_user, signed_in_client, totp_secret

pytestmark = pytest.mark.django_db(transaction=True)

SCIM_JSON = "application/scim+json"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _http(base: str, method: str, path: str, *, token: str | None, body: object = None,
          raw: bytes | None = None) -> tuple[int, dict | None, dict[str, str]]:
    """One request over loopback with urllib; returns status, JSON body, headers."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(f"{base}{path}", data=data, method=method)  # noqa: S310 - loopback test server
    request.add_header("Content-Type", SCIM_JSON)
    request.add_header("Accept", SCIM_JSON)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            content = response.read()
            return response.status, json.loads(content) if content else None, dict(
                response.headers)
    except urllib.error.HTTPError as exc:
        content = exc.read()
        return exc.code, json.loads(content) if content else None, dict(exc.headers)


@pytest.fixture
def provider():
    """A SCIM token issued by an MFA'd administrator (the service does the issuing rules)."""
    services.roles_ensure_builtin()
    admin = make_user(roles=("administrator",))
    return scim.scim_token_issue(
        actor=Actor(kind="user", id=str(admin.id), label=admin.email), name="entra",
        caller_permissions=selectors.user_permissions(user_id=admin.id))


def test_joiner_mover_leaver_over_loopback_http(live_server, provider):
    base = live_server.url + "/scim/v2"
    token = provider.secret
    # given the identity provider creates a joiner over HTTP
    status, created, headers = _http(base, "POST", "/Users", token=token, body={
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "joiner@example.com", "externalId": "00u1",
        "name": {"givenName": "Jo", "familyName": "Iner"},
        "emails": [{"value": "joiner@example.com", "type": "work", "primary": True}],
        "active": True})
    assert status == 201, created
    assert headers["Content-Type"] == SCIM_JSON
    uid = int(created["id"])
    # and puts them in the agents group (the agent role)
    status, group, _ = _http(base, "PATCH", "/Groups/agent", token=token, body={
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "Add", "path": "members", "value": [{"value": str(uid)}]}]})
    assert status == 200, group
    # and the joiner enrolled a factor at first sign-in, works a queue, and has an API token
    user = User.objects.get(id=uid)
    TOTP.activate(user, totp_secret(user.email))
    cases_manage.queue_create(actor=SYSTEM, slug="billing", name="Billing")
    cases_manage.queue_member_add(actor=SYSTEM, slug="billing", user_id=uid)
    session = signed_in_client(user)
    session.get("/")  # the session index records it
    personal = services.token_issue(actor=SYSTEM, user_id=uid, name="cli",
                                    scopes=["cases.view"], expires_in_days=5)
    assert session.get("/cases/").status_code == 200
    assert _http(live_server.url, "GET", "/api/v1/cases/", token=personal.secret)[0] == 200

    # when the provider moves them out of the agents group
    status, group, _ = _http(base, "PATCH", "/Groups/agent", token=token, body={
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "remove", "path": f'members[value eq "{uid}"]'}]})
    assert status == 200, group
    # then the queue access goes the same moment, for the session and the token alike
    assert session.get("/cases/").status_code == 403
    assert _http(live_server.url, "GET", "/api/v1/cases/", token=personal.secret)[0] == 403

    # when the provider deactivates them, Entra ID style
    status, body, _ = _http(base, "PATCH", f"/Users/{uid}", token=token, body={
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}]})
    assert status == 200, body
    assert body["active"] is False
    # then their existing session is signed out and their API token's next call fails
    response = session.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/")
    assert _http(live_server.url, "GET", "/api/v1/me", token=personal.secret)[0] == 401
    # and the leaver path is audited with the SCIM token as the actor
    disabled = audit.event_list(action="user.disabled")[0]
    assert disabled.actor.kind == "token"
    assert disabled.actor.id == str(provider.token.id)
    assert disabled.data == {"reason": scim.LEAVER_REASON, "sessions_ended": 1,
                             "tokens_revoked": 1}
    assert audit.event_list(action="role.revoked")[0].actor.id == str(provider.token.id)


def test_delete_over_http_signs_the_user_out(live_server, provider):
    base = live_server.url + "/scim/v2"
    staff = make_user(roles=("agent",))
    session = signed_in_client(staff)
    session.get("/")
    assert session.get("/cases/").status_code == 200
    status, _body, _ = _http(base, "DELETE", f"/Users/{staff.id}", token=provider.secret)
    assert status == 204
    assert session.get("/").status_code == 302
    assert _http(base, "GET", f"/Users/{staff.id}", token=provider.secret)[0] == 404


def test_bad_input_and_no_token_over_http_change_nothing(live_server, provider):
    base = live_server.url + "/scim/v2"
    before = sorted(User.objects.values_list("id", "email", "is_active"))
    status, body, _ = _http(base, "POST", "/Users", token=provider.secret, raw=b"{oops")
    assert (status, body["scimType"]) == (400, "invalidSyntax")
    status, body, headers = _http(base, "POST", "/Users", token=None, body={
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "sneaky@example.com"})
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Bearer")
    status, body, _ = _http(base, "GET", '/Users?filter=userName+eq', token=provider.secret)
    assert (status, body["scimType"]) == (400, "invalidFilter")
    assert sorted(User.objects.values_list("id", "email", "is_active")) == before

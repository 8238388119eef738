"""API tokens: shown once, hashed at rest, scoped, expiring, revocable (issue 2, section 9)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from safeguard.accounts import services
from safeguard.accounts.contracts import AccountError, ScopeNotHeld
from safeguard.accounts.models import ApiToken
from safeguard.audit import selectors as audit
from tests.factories import SYSTEM, make_user, signed_in_client

pytestmark = pytest.mark.django_db


def _bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _issue(user, scopes=("accounts.view_users",), days=30):
    return services.token_issue(actor=SYSTEM, user_id=user.id, name="integration",
                                scopes=scopes, expires_in_days=days)


def test_token_secret_is_stored_only_as_a_hash():
    # given an administrator's token
    admin = make_user(roles=("administrator",))
    issued = _issue(admin)
    # then the database holds its SHA-256, never the secret
    row = ApiToken.objects.get(id=issued.token.id)
    assert issued.secret.startswith("sgt_")
    assert row.secret_hash == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert issued.secret not in str(ApiToken.objects.values().get(id=row.id))


def test_token_authenticates_and_me_reports_scoped_permissions():
    admin = make_user(roles=("administrator",))
    issued = _issue(admin, scopes=("accounts.view_users",))
    response = Client().get("/api/v1/me", **_bearer(issued.secret))
    assert response.status_code == 200
    assert response.json()["via"] == "token"
    assert response.json()["permissions"] == ["accounts.view_users"]


def test_scope_is_enforced_even_when_the_user_holds_more():
    # given an administrator's token scoped to viewing users only
    admin = make_user(roles=("administrator",))
    issued = _issue(admin, scopes=("accounts.view_users",))
    # when it calls an operation needing accounts.manage_tokens
    response = Client().get("/api/v1/tokens", **_bearer(issued.secret))
    # then it is refused with a 403 problem
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"].endswith("/permission-denied")


def test_token_cannot_carry_a_permission_its_user_lacks():
    agent = make_user(roles=("agent",))
    with pytest.raises(ScopeNotHeld):
        _issue(agent, scopes=("accounts.view_users",))


def test_token_loses_permissions_its_user_loses():
    admin = make_user(roles=("administrator",))
    make_user(roles=("administrator",))  # so the first may lose the role
    issued = _issue(admin, scopes=("accounts.manage_tokens",))
    services.role_revoke(actor=SYSTEM, user_id=admin.id, role_slug="administrator")
    response = Client().get("/api/v1/tokens", **_bearer(issued.secret))
    assert response.status_code == 403


def test_expired_token_is_refused():
    admin = make_user(roles=("administrator",))
    issued = _issue(admin, days=1)
    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1)):
        response = Client().get("/api/v1/me", **_bearer(issued.secret))
    assert response.status_code == 401


def test_revoked_token_is_refused_at_once_and_revocation_is_audited():
    admin = make_user(roles=("administrator",))
    issued = _issue(admin)
    assert Client().get("/api/v1/me", **_bearer(issued.secret)).status_code == 200
    services.token_revoke(actor=SYSTEM, token_id=issued.token.id, reason="rotated")
    assert Client().get("/api/v1/me", **_bearer(issued.secret)).status_code == 401
    assert Client().get("/api/v1/me", **_bearer(issued.secret)).status_code == 401
    assert [e.action for e in audit.event_list(subject=("api_token", issued.token.id))] == [
        "api_token.rejected", "api_token.revoked", "api_token.used", "api_token.created"]


def test_unknown_or_malformed_tokens_are_401():
    for header in ("Bearer sgt_nothing_here", "Bearer ", "Basic abc", "Token x"):
        response = Client().get("/api/v1/me", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, header


def test_last_used_is_recorded():
    admin = make_user(roles=("administrator",))
    issued = _issue(admin)
    Client().get("/api/v1/me", **_bearer(issued.secret), REMOTE_ADDR="192.0.2.7")
    row = ApiToken.objects.get(id=issued.token.id)
    assert row.last_used_at is not None
    assert row.last_used_ip == "192.0.2.7"


def test_expiry_outside_bounds_and_empty_scope_are_refused():
    admin = make_user(roles=("administrator",))
    with pytest.raises(AccountError):
        _issue(admin, days=0)
    with pytest.raises(AccountError):
        _issue(admin, days=10_000)
    with pytest.raises(AccountError):
        _issue(admin, scopes=())


def test_api_issue_list_and_revoke_over_a_session():
    admin = make_user(roles=("administrator",))
    client = signed_in_client(admin)
    created = client.post("/api/v1/tokens", {"user_id": admin.id, "name": "siem",
                                              "scopes": ["ops.metrics"],
                                              "expires_in_days": 30},
                          content_type="application/json")
    assert created.status_code == 201
    token_id = created.json()["token"]["id"]
    assert created.json()["secret"].startswith("sgt_")
    listed = client.get("/api/v1/tokens").json()
    assert [t["id"] for t in listed["items"]] == [token_id]
    assert "secret" not in listed["items"][0]
    assert client.delete(f"/api/v1/tokens/{token_id}").status_code == 204
    assert client.get("/api/v1/tokens").json()["items"][0]["status"] == "revoked"


def test_invalid_body_is_a_422_problem_and_creates_nothing():
    admin = make_user(roles=("administrator",))
    client = signed_in_client(admin)
    response = client.post("/api/v1/tokens", {"user_id": "x", "scopes": []},
                           content_type="application/json")
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"]
    assert ApiToken.objects.count() == 0


def test_domain_error_is_a_problem_and_creates_nothing():
    admin = make_user(roles=("administrator",))
    client = signed_in_client(admin)
    response = client.post("/api/v1/tokens", {"user_id": admin.id, "name": "x",
                                               "scopes": ["nope.unknown"],
                                               "expires_in_days": 3},
                           content_type="application/json")
    assert response.status_code == 400
    assert response.json()["type"].endswith("/unknown-permission")
    assert ApiToken.objects.count() == 0


def test_cursor_pagination_walks_every_token_once_and_rejects_forged_cursors():
    admin = make_user(roles=("administrator",))
    ids = [_issue(admin).token.id for _ in range(5)]
    client = signed_in_client(admin)
    seen, cursor = [], None
    while True:
        url = "/api/v1/tokens?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids
    forged = client.get("/api/v1/tokens?cursor=eyJrIjo5OTl9")
    assert forged.status_code == 400
    assert forged.json()["type"].endswith("/invalid-cursor")


def test_session_api_write_needs_csrf():
    admin = make_user(roles=("administrator",))
    client = signed_in_client(admin)
    client.handler.enforce_csrf_checks = True
    response = client.post("/api/v1/tokens", {"user_id": admin.id, "name": "x",
                                               "scopes": ["ops.metrics"],
                                               "expires_in_days": 3},
                           content_type="application/json")
    assert response.status_code == 403
    assert ApiToken.objects.count() == 0


def test_a_token_cannot_manage_tokens_and_a_person_cannot_issue_beyond_their_permissions():
    # given an administrator's token scoped to token management
    admin = make_user(roles=("administrator",))
    issued = _issue(admin, scopes=("accounts.manage_tokens",))
    # when it tries to mint a token, it is refused (a signed-in person must do it)
    response = Client().post("/api/v1/tokens", {"user_id": admin.id, "name": "x",
                                                 "scopes": ["accounts.manage_users"],
                                                 "expires_in_days": 3},
                             content_type="application/json", **_bearer(issued.secret))
    assert response.status_code == 403
    # and a person cannot give someone a permission the person lacks
    privacy = make_user(roles=("privacy_officer",))
    with pytest.raises(ScopeNotHeld):
        services.token_issue(actor=SYSTEM, user_id=privacy.id, name="x", scopes=["org.view"],
                             expires_in_days=3, caller_permissions=frozenset({"ops.health"}))
    assert ApiToken.objects.count() == 1


def test_issuing_over_the_api_needs_a_fresh_second_factor():
    import time

    admin = make_user(roles=("administrator",))
    stale = signed_in_client(admin, mfa_at=time.time() - 3600)
    response = stale.post("/api/v1/tokens", {"user_id": admin.id, "name": "x",
                                             "scopes": ["ops.metrics"], "expires_in_days": 3},
                          content_type="application/json")
    assert response.status_code == 403
    assert response.json()["type"].endswith("/step-up-required")
    assert response.json()["reauthenticate"] == "/account/mfa/reauthenticate/"
    assert ApiToken.objects.count() == 0

"""A personal API token whose person lost their last second factor is shown "suspended" on the
token page and in the API, exactly when it is refused at use (issue 9 item 5; R-OPS-1)."""

from __future__ import annotations

import pytest
from allauth.mfa.base.internal.flows import delete_and_cleanup
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.test import RequestFactory

from safeguard.accounts import selectors, services
from tests.factories import SYSTEM, make_user, signed_in_client, totp_secret

pytestmark = pytest.mark.django_db


def _remove_factor(user) -> None:
    request = RequestFactory().post("/")
    request.user = user
    for authenticator in Authenticator.objects.filter(user=user):
        delete_and_cleanup(request, authenticator)


def test_a_token_of_a_person_without_a_factor_is_listed_as_suspended():
    # given an administrator, an agent with a token, and a service account with one
    admin = make_user(roles=("administrator",))
    agent = make_user(roles=("agent",))
    robot = make_user(email="robot@example.test", is_service_account=True, password="", mfa=False,
                      roles=("agent",))
    personal = services.token_issue(actor=SYSTEM, user_id=agent.id, name="script",
                                    scopes=["cases.view"], expires_in_days=30)
    service = services.token_issue(actor=SYSTEM, user_id=robot.id, name="gateway",
                                   scopes=["cases.view"], expires_in_days=30)
    # when the agent's last factor is removed
    _remove_factor(agent)
    # then the personal token is refused at use
    refused = signed_in_client(admin).get(
        "/api/v1/cases/", HTTP_AUTHORIZATION=f"Bearer {personal.secret}")
    assert refused.status_code == 401
    # and listed as suspended, the service account's token still active
    statuses = {t.name: t.status for t in selectors.token_list()}
    assert statuses == {"script": "suspended", "gateway": "active"}
    # and so in the API and on the page, where it can still be revoked
    client = signed_in_client(admin)
    api = client.get("/api/v1/tokens")
    assert api.status_code == 200
    assert {t["name"]: t["status"] for t in api.json()["items"]} == statuses
    page = client.get("/staff/tokens/").content.decode()
    assert page.count(">suspended</span>") == 1
    assert f"/staff/tokens/{personal.token.id}/revoke/" in page
    assert f"/staff/tokens/{service.token.id}/revoke/" in page


def test_a_suspended_token_is_active_again_once_a_factor_is_enrolled():
    # given an agent whose token is suspended
    agent = make_user(roles=("agent",))
    services.token_issue(actor=SYSTEM, user_id=agent.id, name="script", scopes=["cases.view"],
                         expires_in_days=30)
    _remove_factor(agent)
    assert [t.status for t in selectors.token_list(user_id=agent.id)] == ["suspended"]
    # when a factor is enrolled again (the factory's TOTP row)
    TOTP.activate(agent, totp_secret(agent.email))
    # then the token is active
    assert [t.status for t in selectors.token_list(user_id=agent.id)] == ["active"]

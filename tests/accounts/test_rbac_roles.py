"""Least privilege (R-OPS-8): each built-in role reaches exactly the pages it should."""

from __future__ import annotations

import pytest

from safeguard.accounts import rbac
from tests.factories import SYSTEM as SYSTEM_ACTOR
from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db

PAGES = {
    "dashboard": "/",
    "me": "/staff/me/",
    "users": "/staff/users/",
    "roles": "/staff/roles/",
    "tokens": "/staff/tokens/",
    "org": "/staff/organisation/",
    "health": "/ops/health/",
}
# role -> pages answering 200; every other page must answer 403.
REACHES = {
    None: {"dashboard", "me"},
    "agent": {"dashboard", "me"},
    "supervisor": {"dashboard", "me"},
    "security_analyst": {"dashboard", "me", "health"},
    "privacy_officer": {"dashboard", "me", "org"},
    "compliance_manager": {"dashboard", "me", "org"},
    "auditor": {"dashboard", "me", "users", "roles", "org", "health"},
    "administrator": {"dashboard", "me", "users", "roles", "tokens", "org", "health"},
}


@pytest.mark.parametrize("role", list(REACHES))
def test_role_reaches_exactly_its_pages(role):
    # given a signed-in user holding only this role
    user = make_user(roles=(role,) if role else ())
    client = signed_in_client(user)
    # when every page is requested
    got = {name: client.get(url).status_code for name, url in PAGES.items()}
    # then exactly the expected ones answer 200 and the rest 403
    expected = {name: 200 if name in REACHES[role] else 403 for name in PAGES}
    assert got == expected


def test_auditor_holds_only_read_only_permissions():
    perms = rbac.builtin_role_permissions("auditor")
    assert perms
    assert all(rbac.get(p).read_only for p in perms)


def test_denied_page_is_recorded_in_the_audit_log():
    from safeguard.audit import selectors as audit

    user = make_user(roles=("agent",))
    signed_in_client(user).get("/staff/users/")
    events = audit.event_list(action="access.denied")
    assert [(e.actor.id, e.outcome, e.data["permission"]) for e in events] == [
        (str(user.id), "denied", "accounts.view_users")
    ]


def test_custom_role_grants_its_permissions_and_changes_are_audited():
    from safeguard.accounts import selectors, services
    from safeguard.audit import selectors as audit
    from tests.factories import SYSTEM

    user = make_user()
    services.role_create(actor=SYSTEM, slug="staff-reader", name="Staff reader",
                         permissions=["accounts.view_users"])
    services.role_grant(actor=SYSTEM, user_id=user.id, role_slug="staff-reader")
    assert selectors.user_permissions(user_id=user.id) == frozenset({"accounts.view_users"})
    services.role_update(actor=SYSTEM, slug="staff-reader", name="Staff reader",
                         description="", permissions=["org.view"])
    assert selectors.user_permissions(user_id=user.id) == frozenset({"org.view"})
    actions = [e.action for e in audit.event_list()][:3]
    assert actions == ["role.changed", "role.granted", "role.created"]
    changed = audit.event_list(action="role.changed")[0]
    assert changed.data == {"added": ["org.view"], "removed": ["accounts.view_users"]}


def test_builtin_roles_refuse_edits_and_unknown_permissions_are_refused():
    from safeguard.accounts import services
    from safeguard.accounts.contracts import BuiltinRoleReadOnly, UnknownPermission
    from tests.factories import SYSTEM

    with pytest.raises(BuiltinRoleReadOnly):
        services.role_update(actor=SYSTEM, slug="agent", name="x", description="",
                             permissions=[])
    with pytest.raises(UnknownPermission):
        services.role_create(actor=SYSTEM, slug="bad", name="Bad", permissions=["nope.x"])


def test_last_administrator_cannot_lose_the_role():
    from safeguard.accounts import services
    from safeguard.accounts.contracts import LastAdministrator
    from tests.factories import SYSTEM

    admin = make_user(roles=("administrator",))
    with pytest.raises(LastAdministrator):
        services.role_revoke(actor=SYSTEM, user_id=admin.id, role_slug="administrator")


def test_effective_permissions_page_names_the_granting_role():
    admin = make_user(roles=("administrator",))
    target = make_user(roles=("auditor",))
    response = signed_in_client(admin).get(f"/staff/users/{target.id}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "accounts.view_users" in body
    assert "Auditor" in body


def test_denied_request_records_the_route_not_the_path():
    from safeguard.audit import selectors as audit

    user = make_user(roles=("agent",))
    response = signed_in_client(user).get(f"/staff/users/{user.id}/?q=4111111111111111")
    assert response.status_code == 403
    event = audit.event_list(action="access.denied")[0]
    assert event.data == {"permission": "accounts.view_users", "route": "accounts:user_detail"}


def test_a_user_manager_cannot_make_anyone_an_administrator():
    from safeguard.accounts import services
    from safeguard.accounts.contracts import ScopeNotHeld
    from safeguard.audit.contracts import Actor

    # given a custom "helpdesk lead" who may manage users but not roles or tokens
    services.role_create(actor=SYSTEM_ACTOR, slug="helpdesk-lead", name="Helpdesk lead",
                         permissions=["accounts.manage_users", "accounts.view_users"])
    lead = make_user(roles=("helpdesk-lead",))
    me = Actor(kind="user", id=str(lead.id), label=lead.email)
    # then granting administrator (to themselves or anyone) or defining a role with admin
    # permissions is refused, while handing out a business role works
    from safeguard.accounts.contracts import SelfGrant

    with pytest.raises(SelfGrant):  # to themselves: refused before anything else
        services.role_grant(actor=me, user_id=lead.id, role_slug="administrator")
    with pytest.raises(ScopeNotHeld):
        services.role_grant(actor=me, user_id=make_user().id, role_slug="administrator")
    with pytest.raises(ScopeNotHeld):
        services.role_create(actor=me, slug="sneaky", name="Sneaky",
                             permissions=["accounts.manage_roles"])
    agent = make_user()
    assert services.role_grant(actor=me, user_id=agent.id, role_slug="agent").roles == ("agent",)


@pytest.mark.django_db
def test_webauthn_rule_follows_admin_permissions_not_the_role_name(settings):
    from safeguard.accounts import selectors, services

    settings.SAFEGUARD_REQUIRE_WEBAUTHN_FOR_ADMINS = True
    services.role_create(actor=SYSTEM_ACTOR, slug="ops-lead", name="Ops lead",
                         permissions=["accounts.manage_tokens"])
    user = make_user(roles=("ops-lead",))
    assert selectors.mfa_state(user_id=user.id, require_webauthn_for_admins=True) == \
        "webauthn_required"

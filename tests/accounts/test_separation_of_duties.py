"""Separation of duties and four eyes (R-OPS-8, R-WORK-4, R-IR-5): nobody grants themselves a
role, conflicting permission sets are refused at grant time and in custom-role edits, and a
role carrying a sensitive permission is granted only when a second administrator approves it
with a fresh second factor. Every refusal and decision is in the audit log."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from safeguard.accounts import rbac, selectors, services
from safeguard.accounts.contracts import (
    DutiesConflict,
    GrantStepUpRequired,
    SecondApproverRequired,
    SelfGrant,
)
from safeguard.audit.contracts import Actor
from safeguard.audit.models import Event
from tests.factories import SYSTEM, make_user, signed_in_client

pytestmark = pytest.mark.django_db


def _actor(user):
    return Actor(kind="user", id=str(user.id), label=user.email)


def _events(action):
    return list(Event.objects.filter(action=action).order_by("seq"))


def _gateway_role():
    services.role_create(actor=SYSTEM, slug="card-handoff", name="Card hand-off",
                         permissions=["protection.detokenize", "protection.token_metadata"])


# --- the table -------------------------------------------------------------------------------


def test_the_conflict_table_names_only_registered_permissions_and_no_builtin_role_breaks_it():
    for conflict in rbac.CONFLICTS:
        assert all(rbac.get(p) is not None for p in conflict.left | conflict.right), conflict
    for spec in rbac.BUILTIN_ROLES:
        assert rbac.conflicts_in(rbac.builtin_role_permissions(spec.slug)) == [], spec.slug
    assert rbac.sensitive_permissions() >= {"protection.detokenize", "protection.keys_manage"}


def test_the_generated_permissions_page_carries_the_conflict_table():
    page = rbac.permissions_markdown()
    row = ("| `access-admin/detokenize` | `accounts.manage_roles`, `accounts.manage_tokens`, "
           "`accounts.manage_users`, `accounts.scim_provision` | `protection.detokenize` |")
    assert row in page
    assert "| `protection.detokenize` |" in page
    assert "| yes | —" in page


# --- self-grant and conflicts ----------------------------------------------------------------


def test_an_administrator_cannot_grant_themselves_a_role_and_the_attempt_is_audited():
    admin = make_user(roles=("administrator",))
    with pytest.raises(SelfGrant):
        services.role_grant(actor=_actor(admin), user_id=admin.id, role_slug="supervisor")
    assert selectors.user_get(user_id=admin.id).roles == ("administrator",)
    event = _events("role.grant_denied")[-1]
    assert (event.outcome, event.actor_id, event.data) == (
        "denied", str(admin.id), {"role": "supervisor", "why": "self-grant"})


def test_self_grant_through_the_page_is_refused():
    admin = make_user(roles=("administrator",))
    client = signed_in_client(admin)
    response = client.post(f"/staff/users/{admin.id}/roles/grant/", {"role": "supervisor"},
                           follow=True)
    assert "Nobody grants a role to themselves" in response.content.decode()
    assert selectors.user_get(user_id=admin.id).roles == ("administrator",)


def test_conflicting_grant_is_refused_and_audited():
    # given an administrator (access admin) and another administrator granting
    target = make_user(roles=("administrator",))
    granter = make_user(roles=("administrator",))
    # when the auditor role (audit.view) is granted to the access administrator
    with pytest.raises(DutiesConflict) as refused:
        services.role_grant(actor=_actor(granter), user_id=target.id, role_slug="auditor")
    # then it is refused naming the conflict, nothing changed, and it is in the log
    assert "access-admin/audit-review" in refused.value.detail
    assert selectors.user_get(user_id=target.id).roles == ("administrator",)
    event = _events("role.grant_denied")[-1]
    assert (event.data["why"], event.data["conflicts"]) == (
        "separation of duties", "access-admin/audit-review")


def test_conflicts_hold_for_system_actors_too():
    _gateway_role()
    admin = make_user(roles=("administrator",))
    with pytest.raises(DutiesConflict):
        services.role_grant(actor=SYSTEM, user_id=admin.id, role_slug="card-handoff")


def test_a_custom_role_holding_both_sides_is_refused():
    with pytest.raises(DutiesConflict):
        services.role_create(actor=SYSTEM, slug="god", name="God",
                             permissions=["accounts.manage_roles", "protection.detokenize"])
    assert _events("role.change_denied")[-1].data["conflicts"] == "access-admin/detokenize"


def test_editing_a_custom_role_cannot_give_a_holder_conflicting_permissions():
    # given a custom reviewer role (audit.view) held by a non-administrator
    services.role_create(actor=SYSTEM, slug="reviewer", name="Reviewer",
                         permissions=["audit.view"])
    admin = make_user(roles=("administrator",))
    editor = make_user(roles=("administrator",))
    services.role_grant(actor=SYSTEM, user_id=make_user().id, role_slug="reviewer")
    with pytest.raises(DutiesConflict):
        services.role_grant(actor=_actor(editor), user_id=admin.id, role_slug="reviewer")
    # and a role an administrator holds cannot be edited into a conflict with their admin role
    services.role_create(actor=SYSTEM, slug="notes", name="Notes", permissions=["kpi.view"])
    services.role_grant(actor=SYSTEM, user_id=admin.id, role_slug="notes")
    with pytest.raises(DutiesConflict):
        services.role_update(actor=_actor(editor), slug="notes", name="Notes", description="",
                             permissions=["kpi.view", "audit.view"])
    assert selectors.role_get(slug="notes").permissions == frozenset({"kpi.view"})


def test_editing_a_held_role_to_add_a_sensitive_permission_is_refused():
    services.role_create(actor=SYSTEM, slug="payments", name="Payments",
                         permissions=["protection.token_metadata"])
    holder = make_user(roles=("payments",))
    editor = make_user(roles=("administrator",))
    with pytest.raises(SecondApproverRequired):
        services.role_update(actor=_actor(editor), slug="payments", name="Payments",
                             description="", permissions=["protection.token_metadata",
                                                          "protection.detokenize"])
    assert "protection.detokenize" not in selectors.user_permissions(user_id=holder.id)


def test_role_edit_page_refuses_a_conflicting_definition():
    editor = signed_in_client(make_user(roles=("administrator",)))
    response = editor.post("/staff/roles/new/", {
        "slug": "bad", "name": "Bad", "description": "",
        "permissions": ["accounts.manage_tokens", "protection.detokenize"]})
    assert response.status_code == 200
    assert "Separation of duties" in response.content.decode()
    from safeguard.accounts.models import Role
    assert not Role.objects.filter(slug="bad").exists()


# --- four eyes -------------------------------------------------------------------------------


def test_a_sensitive_grant_cannot_be_made_directly():
    _gateway_role()
    admin = make_user(roles=("administrator",))
    gateway = make_user(is_service_account=True, mfa=False, password="")
    with pytest.raises(SecondApproverRequired):
        services.role_grant(actor=_actor(admin), user_id=gateway.id, role_slug="card-handoff")
    assert selectors.user_get(user_id=gateway.id).roles == ()


def test_four_eyes_grant_request_then_approval_by_another_admin_with_step_up():
    _gateway_role()
    alice, bob = make_user(roles=("administrator",)), make_user(roles=("administrator",))
    gateway = make_user(is_service_account=True, mfa=False, password="")
    # when alice requests the grant
    req = services.role_grant_request(actor=_actor(alice), user_id=gateway.id,
                                      role_slug="card-handoff",
                                      reason="payment gateway go-live, change 7781")
    assert (req.status, req.sensitive) == ("pending", ("protection.detokenize",))
    assert selectors.user_get(user_id=gateway.id).roles == ()
    # then alice cannot approve her own request, even with a fresh factor
    with pytest.raises(SelfGrant):
        services.role_grant_decide(actor=_actor(alice), request_id=req.id, approve=True,
                                   step_up_fresh=True)
    # and bob cannot approve without a fresh second factor
    with pytest.raises(GrantStepUpRequired):
        services.role_grant_decide(actor=_actor(bob), request_id=req.id, approve=True,
                                   step_up_fresh=False)
    assert selectors.user_get(user_id=gateway.id).roles == ()
    # when bob approves with a fresh factor, the grant takes effect
    done = services.role_grant_decide(actor=_actor(bob), request_id=req.id, approve=True,
                                      step_up_fresh=True)
    assert (done.status, done.decided_by) == ("approved", bob.email)
    assert "protection.detokenize" in selectors.user_permissions(user_id=gateway.id)
    # and every step is in the audit log
    assert [e.data["why"] for e in _events("role.grant_decision_denied")] == [
        "requester or grantee", "step-up required"]
    assert _events("role.grant_requested")[-1].actor_id == str(alice.id)
    approved = _events("role.grant_approved")[-1]
    assert (approved.actor_id, approved.data["requested_by"]) == (str(bob.id), alice.id)
    granted = _events("role.granted")[-1]
    assert (granted.actor_id, granted.data["role"], granted.data["request"]) == (
        str(bob.id), "card-handoff", req.id)


def test_the_person_named_cannot_approve_their_own_grant():
    alice, bob = make_user(roles=("administrator",)), make_user(roles=("administrator",))
    services.role_create(actor=SYSTEM, slug="keys", name="Keys",
                         permissions=["protection.keys_manage"])
    target = make_user(roles=("administrator",))  # a third administrator
    req = services.role_grant_request(actor=_actor(alice), user_id=bob.id, role_slug="keys",
                                      reason="second key custodian for rotation")
    with pytest.raises(SelfGrant):
        services.role_grant_decide(actor=_actor(bob), request_id=req.id, approve=True,
                                   step_up_fresh=True)
    done = services.role_grant_decide(actor=_actor(target), request_id=req.id, approve=False,
                                      step_up_fresh=True)
    assert done.status == "refused"
    assert _events("role.grant_refused")[-1].actor_id == str(target.id)
    assert "keys" not in selectors.user_get(user_id=bob.id).roles


def test_grant_requests_expire_after_the_configured_period_and_are_audited(settings):
    settings.SAFEGUARD_GRANT_REQUEST_HOURS = 2
    _gateway_role()
    alice, bob = make_user(roles=("administrator",)), make_user(roles=("administrator",))
    gateway = make_user(is_service_account=True, mfa=False, password="")
    req = services.role_grant_request(actor=_actor(alice), user_id=gateway.id,
                                      role_slug="card-handoff", reason="gateway go-live 7781")
    with time_machine.travel(timezone.now() + timedelta(hours=2, minutes=1)):
        from safeguard.accounts.contracts import GrantRequestClosed
        with pytest.raises(GrantRequestClosed):
            services.role_grant_decide(actor=_actor(bob), request_id=req.id, approve=True,
                                       step_up_fresh=True)
    assert selectors.grant_request_list(status="expired")[0].id == req.id
    assert _events("role.grant_expired")[-1].data == {"request": req.id, "role": "card-handoff"}
    assert selectors.user_get(user_id=gateway.id).roles == ()


def test_four_eyes_through_the_pages():
    _gateway_role()
    alice, bob = make_user(roles=("administrator",)), make_user(roles=("administrator",))
    gateway = make_user(is_service_account=True, mfa=False, password="")
    a = signed_in_client(alice)
    # the grant form turns a sensitive role into a request (a reason is required)
    refused = a.post(f"/staff/users/{gateway.id}/roles/grant/", {"role": "card-handoff"},
                     follow=True)
    assert "at least 10 characters" in refused.content.decode()
    a.post(f"/staff/users/{gateway.id}/roles/grant/",
           {"role": "card-handoff", "reason": "gateway go-live 7781"})
    page = a.get("/staff/grant-requests/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "gateway go-live 7781" in body
    assert "another administrator decides" in body
    req_id = selectors.grant_request_list()[0].id
    # bob with a stale second factor is sent to re-authenticate; nothing is granted
    stale = signed_in_client(bob, mfa_at=time.time() - 3600)
    response = stale.post(f"/staff/grant-requests/{req_id}/decide/", {"decision": "approve"})
    assert response.status_code == 302
    assert "reauthenticate" in response["Location"]
    assert selectors.user_get(user_id=gateway.id).roles == ()
    # bob with a fresh one approves
    b = signed_in_client(bob)
    assert 'aria-label="Approve Card hand-off' in b.get("/staff/grant-requests/").content.decode()
    b.post(f"/staff/grant-requests/{req_id}/decide/", {"decision": "approve"})
    assert selectors.user_get(user_id=gateway.id).roles == ("card-handoff",)


def test_system_check_flags_a_broken_conflict_table(monkeypatch):
    from safeguard.accounts import checks

    assert checks.conflict_table_is_sound() == []
    monkeypatch.setattr(rbac, "CONFLICTS", (
        rbac.Conflict("typo", frozenset({"accounts.manage_userz"}), frozenset({"audit.view"}), ""),
        rbac.Conflict("agents", frozenset({"cases.view"}), frozenset({"cases.reply"}), ""),
    ))
    assert sorted(e.id for e in checks.conflict_table_is_sound()) == [
        "safeguard.E120", "safeguard.E121", "safeguard.E121"]


def test_the_periodic_job_expires_requests_nobody_looked_at(settings):
    from safeguard.accounts import tasks
    from safeguard.accounts.models import GrantRequest

    settings.SAFEGUARD_GRANT_REQUEST_HOURS = 1
    _gateway_role()
    alice = make_user(roles=("administrator",))
    gateway = make_user(is_service_account=True, mfa=False, password="")
    req = services.role_grant_request(actor=_actor(alice), user_id=gateway.id,
                                      role_slug="card-handoff", reason="gateway go-live 7781")
    tasks.grant_requests_expire.call_local()
    assert GrantRequest.objects.get(id=req.id).status == "pending"
    with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=1)):
        tasks.grant_requests_expire.call_local()
        tasks.grant_requests_expire.call_local()  # idempotent: one event
    assert GrantRequest.objects.get(id=req.id).status == "expired"
    assert len(_events("role.grant_expired")) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_grants_of_both_sides_of_a_conflict_let_at_most_one_through():
    """Two administrators grant the two sides of a conflict at the same moment: the user's row
    lock serialises them and the second is refused (PostgreSQL; SQLite serialises writers)."""
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need a server database (run with DATABASE_URL=postgres)")
    services.roles_ensure_builtin()
    services.role_create(actor=SYSTEM, slug="user-lead", name="User lead",
                         permissions=["accounts.manage_users"])
    services.role_create(actor=SYSTEM, slug="log-reader", name="Log reader",
                         permissions=["audit.view"])
    target = make_user()
    granters = [make_user(roles=("administrator",)) for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def grant(granter, role):
        try:
            barrier.wait()
            services.role_grant(actor=_actor(granter), user_id=target.id, role_slug=role)
            outcomes.append("granted")
        except DutiesConflict:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=grant, args=(g, r))
               for g, r in zip(granters, ("user-lead", "log-reader"), strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["granted", "refused"]
    assert rbac.conflicts_in(selectors.user_permissions(user_id=target.id)) == []


def test_creating_a_user_with_a_sensitive_role_on_the_page_asks_for_a_request_instead():
    admin = signed_in_client(make_user(roles=("administrator",)))
    response = admin.post("/staff/users/new/", {
        "email": "new.admin@example.test", "password": "correct-horse-battery-staple-42",
        "roles": ["administrator"]})
    assert response.status_code == 200
    assert "request the grant" in response.content.decode()
    from safeguard.accounts.models import User
    assert not User.objects.filter(email="new.admin@example.test").exists()

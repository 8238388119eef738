"""Four-eyes and separation of duties cannot be bypassed by creating a user with the roles
already on it, and that refusal is on record although the creation rolls back (issue 9 items 2
and 9; R-OPS-8, R-IR-5). Transactional tests: the rollback is the real one."""

from __future__ import annotations

import pytest

from safeguard.accounts import services
from safeguard.accounts.contracts import DutiesConflict, SecondApproverRequired
from safeguard.accounts.models import User
from safeguard.audit import selectors as audit
from safeguard.audit.contracts import Actor
from tests.factories import SYSTEM, make_user, signed_in_client

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _builtin_roles():
    services.roles_ensure_builtin()  # a transactional test starts from a flushed database


def test_the_new_user_page_refuses_a_sensitive_role_and_the_refusal_survives():
    # given a signed-in administrator
    admin = make_user(roles=("administrator",))
    client = signed_in_client(admin)
    # when they create a user holding the administrator role (sensitive: four eyes)
    response = client.post("/staff/users/new/", {
        "email": "new.admin@example.test", "password": "correct-horse-battery-staple-42",
        "roles": ["administrator"]})
    # then the page answers with the way forward and nobody is created
    assert response.status_code == 200
    assert "request the grant" in response.content.decode()
    assert not User.objects.filter(email="new.admin@example.test").exists()
    # and the refusal is recorded (committed, after the creation's rollback)
    [event] = audit.event_list(action="user.create_denied")
    assert (event.outcome, event.actor.id, event.data["roles"], event.data["why"]) == (
        "denied", str(admin.id), ["administrator"], "four-eyes-required")
    # and the rolled-back creation left no event behind (one user.created per existing user)
    assert sorted(e.subject_id for e in audit.event_list(action="user.created")) == sorted(
        str(u.id) for u in User.objects.all())


def test_creating_a_user_with_conflicting_roles_is_refused_even_for_the_operator():
    # given a custom role holding detokenize (the gateway's) and the administrator role
    services.role_create(actor=SYSTEM, slug="gateway", name="Gateway",
                         permissions=["protection.detokenize"])
    # when the operator's CLI actor creates one user with both
    with pytest.raises(DutiesConflict):
        services.user_create(actor=SYSTEM, email="both@example.test",
                             password="correct-horse-battery-staple-42",
                             roles=["administrator", "gateway"])
    # then nobody is created and the refusal is on record
    assert not User.objects.filter(email="both@example.test").exists()
    [event] = audit.event_list(action="user.create_denied")
    assert (event.data["roles"], event.data["why"]) == (
        ["administrator", "gateway"], "separation-of-duties")


def test_a_sensitive_role_cannot_be_slipped_in_through_user_create_by_a_person():
    admin = make_user(roles=("administrator",))
    actor = Actor(kind="user", id=str(admin.id), label=admin.email)
    with pytest.raises(SecondApproverRequired):
        services.user_create(actor=actor, email="svc@example.test", is_service_account=True,
                             roles=["administrator"])
    assert not User.objects.filter(email="svc@example.test").exists()
    assert [e.data["why"] for e in audit.event_list(action="user.create_denied")] == [
        "four-eyes-required"]

"""A user's manager (issue 13 section 2; R-OPS-8, R-WORK-3): set through the accounts service
(permission, audit), never oneself, never a loop of any length; the staff page's manager field."""

from __future__ import annotations

import re

import pytest

from safeguard.accounts import selectors, services
from safeguard.accounts.contracts import InvalidManager, ScopeNotHeld
from safeguard.accounts.models import User
from safeguard.audit.contracts import Actor
from safeguard.audit.models import Event
from tests.factories import SYSTEM, make_user, signed_in_client

pytestmark = pytest.mark.django_db


def _actor(user: User) -> Actor:
    return Actor(kind="user", id=str(user.id), label=user.email)


def _manager_of(user: User) -> int | None:
    return User.objects.values_list("manager_id", flat=True).get(id=user.id)


@pytest.fixture
def people():
    admin = make_user(email="admin@example.test", roles=("administrator",))
    a = make_user(email="a@example.test", roles=("agent",))
    b = make_user(email="b@example.test", roles=("agent",))
    c = make_user(email="c@example.test", roles=("agent",))
    return admin, a, b, c


def test_an_administrator_sets_and_clears_a_manager_and_each_change_is_audited(people):
    admin, a, b, _ = people
    # when the administrator puts a under b
    view = services.user_set_manager(actor=_actor(admin), user_id=a.id, manager_id=b.id)
    # then a reports to b, and the view says so
    assert _manager_of(a) == b.id
    assert (view.manager_id, view.manager_email) == (b.id, "b@example.test")
    event = Event.objects.filter(action="user.manager_set").get()
    assert event.subject_id == str(a.id)
    assert event.data == {"manager": b.id, "previous": None}
    assert event.actor_id == str(admin.id)
    # when the same manager is set again, nothing is recorded
    services.user_set_manager(actor=_actor(admin), user_id=a.id, manager_id=b.id)
    assert Event.objects.filter(action="user.manager_set").count() == 1
    # when it is cleared
    view = services.user_set_manager(actor=_actor(admin), user_id=a.id, manager_id=None)
    assert _manager_of(a) is None
    assert view.manager_email == ""
    last = Event.objects.filter(action="user.manager_set").order_by("-seq").first()
    assert last.data == {"manager": None, "previous": b.id}


def test_nobody_is_their_own_manager(people):
    admin, a, _, _ = people
    with pytest.raises(InvalidManager, match="their own manager"):
        services.user_set_manager(actor=_actor(admin), user_id=a.id, manager_id=a.id)
    assert _manager_of(a) is None
    denied = Event.objects.get(action="user.manager_denied")
    assert denied.outcome == "denied"
    assert denied.data == {"manager": a.id, "why": "self"}


def test_a_loop_of_two_or_three_is_refused_and_changes_nothing(people):
    admin, a, b, c = people
    services.user_set_manager(actor=_actor(admin), user_id=a.id, manager_id=b.id)  # a -> b
    # a two-person loop: b under a
    with pytest.raises(InvalidManager, match="cannot loop"):
        services.user_set_manager(actor=_actor(admin), user_id=b.id, manager_id=a.id)
    assert _manager_of(b) is None
    # a three-person loop: b -> c, then c under a (a -> b -> c -> a)
    services.user_set_manager(actor=_actor(admin), user_id=b.id, manager_id=c.id)
    with pytest.raises(InvalidManager) as exc:
        services.user_set_manager(actor=_actor(admin), user_id=c.id, manager_id=a.id)
    assert exc.value.detail.startswith("a@example.test reports to c@example.test")
    assert f"({a.id} > {b.id} > {c.id})" in exc.value.detail
    assert (_manager_of(a), _manager_of(b), _manager_of(c)) == (b.id, c.id, None)
    whys = [e.data["why"] for e in Event.objects.filter(action="user.manager_denied")]
    assert whys == ["cycle", "cycle"]
    # and the chain selector walks it, nearest first
    assert selectors.manager_chain(user_id=a.id) == [b.id, c.id]


def test_unknown_users_service_accounts_and_actors_without_the_permission_are_refused(people):
    admin, a, b, _ = people
    robot = make_user(email="robot@example.test", is_service_account=True, mfa=False,
                      password="")
    with pytest.raises(InvalidManager, match="No user with id 999999"):
        services.user_set_manager(actor=_actor(admin), user_id=a.id, manager_id=999_999)
    with pytest.raises(InvalidManager, match="service account"):
        services.user_set_manager(actor=_actor(admin), user_id=a.id, manager_id=robot.id)
    # an agent (no accounts.manage_users) cannot set anyone's manager, their own included
    with pytest.raises(ScopeNotHeld):
        services.user_set_manager(actor=_actor(b), user_id=a.id, manager_id=b.id)
    assert _manager_of(a) is None
    whys = sorted(e.data["why"] for e in Event.objects.filter(action="user.manager_denied"))
    assert whys == ["permission", "service account", "unknown"]
    # the system actor (the operator's CLI) may
    services.user_set_manager(actor=SYSTEM, user_id=a.id, manager_id=b.id)
    assert _manager_of(a) == b.id


def test_the_candidates_leave_out_the_user_everyone_below_them_and_service_accounts(people):
    _admin, a, b, c = people
    make_user(email="robot@example.test", is_service_account=True, mfa=False, password="")
    services.user_set_manager(actor=SYSTEM, user_id=b.id, manager_id=a.id)  # b under a
    services.user_set_manager(actor=SYSTEM, user_id=c.id, manager_id=b.id)  # c under b
    emails = [u.email for u in selectors.manager_candidates(user_id=a.id)]
    assert emails == ["admin@example.test"]
    emails = [u.email for u in selectors.manager_candidates(user_id=c.id)]
    assert emails == ["a@example.test", "admin@example.test", "b@example.test"]


def test_the_staff_page_sets_the_manager_with_a_labelled_select(people):
    admin, a, b, c = people
    services.user_set_manager(actor=SYSTEM, user_id=b.id, manager_id=a.id)
    client = signed_in_client(admin)
    page = client.get(f"/staff/users/{a.id}/").content.decode()
    # a native select with its label (keyboard-operable), listing candidates but not b (below a)
    assert '<label for="manager">Manager</label>' in page
    select = re.search(r'<select id="manager" name="manager".*?</select>', page, re.S).group(0)
    assert f'value="{c.id}"' in select
    assert f'value="{admin.id}"' in select
    assert f'value="{b.id}"' not in select
    assert f'value="{a.id}"' not in select
    # when the administrator saves c as a's manager
    response = client.post(f"/staff/users/{a.id}/manager/", {"manager": str(c.id)})
    assert response.status_code == 302
    assert _manager_of(a) == c.id
    # a loop posted by hand is refused with the reason and changes nothing
    response = client.post(f"/staff/users/{c.id}/manager/", {"manager": str(b.id)},
                           follow=True)
    assert "cannot loop" in response.content.decode()
    assert _manager_of(c) is None
    # a value that is not an id is refused too
    response = client.post(f"/staff/users/{a.id}/manager/", {"manager": "x1"}, follow=True)
    assert "Choose a manager from the list." in response.content.decode()
    assert _manager_of(a) == c.id
    # clearing
    client.post(f"/staff/users/{a.id}/manager/", {"manager": ""})
    assert _manager_of(a) is None


def test_someone_without_manage_users_cannot_post_the_manager_form(people):
    _, a, b, _ = people
    response = signed_in_client(b).post(f"/staff/users/{a.id}/manager/", {"manager": str(b.id)})
    assert response.status_code == 403
    assert _manager_of(a) is None


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_changes_cannot_close_a_loop_between_them():
    """a under b and b under a at the same moment: the hierarchy lock serialises them and the
    second sees the first, so exactly one is refused (PostgreSQL; SQLite serialises writers)."""
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need a server database (run with DATABASE_URL=postgres)")
    services.roles_ensure_builtin()
    for _ in range(5):
        a, b = make_user(), make_user()
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def put(user, manager, barrier=barrier, outcomes=outcomes):
            try:
                barrier.wait()
                services.user_set_manager(actor=SYSTEM, user_id=user.id, manager_id=manager.id)
                outcomes.append("set")
            except InvalidManager:
                outcomes.append("refused")
            finally:
                connection.close()

        threads = [threading.Thread(target=put, args=pair) for pair in ((a, b), (b, a))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["refused", "set"]
        # one reporting line, not a loop
        assert [_manager_of(a), _manager_of(b)] in ([b.id, None], [None, a.id])

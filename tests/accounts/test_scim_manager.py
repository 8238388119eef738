"""The RFC 7643 §4.3 enterprise extension's ``manager`` over SCIM (issue 13 section 2; R-WORK-3):
set on POST, PUT and PATCH (the standard forms and Entra ID's / Okta's bare-id forms), returned
on GET with $ref and displayName, listed in discovery; a bad manager is 400 invalidValue and
changes nothing."""

from __future__ import annotations

import pytest

from safeguard.accounts import selectors, services
from safeguard.accounts.models import User
from safeguard.accounts.scim import services as scim
from safeguard.audit.contracts import Actor
from safeguard.audit.models import Event
from tests.accounts.test_scim_api import PATCH_SCHEMA, USER_SCHEMA, Scim, _new_user
from tests.factories import SYSTEM, make_user

pytestmark = pytest.mark.django_db

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MANAGER_PATH = f"{ENTERPRISE}:manager"


@pytest.fixture
def token() -> str:
    admin = make_user(roles=("administrator",))
    issued = scim.scim_token_issue(
        actor=Actor(kind="user", id=str(admin.id), label=admin.email), name="entra",
        caller_permissions=selectors.user_permissions(user_id=admin.id))
    return issued.secret


def _manager_of(user_id: int | str) -> int | None:
    return User.objects.values_list("manager_id", flat=True).get(id=int(user_id))


def _patch(api: Scim, uid: str, *operations: dict):
    return api.call("PATCH", f"Users/{uid}", {"schemas": [PATCH_SCHEMA],
                                               "Operations": list(operations)})


@pytest.fixture
def boss(token):
    api = Scim(token)
    response, body = _new_user(api, "boss@example.com", displayName="Grace Hopper")
    assert response.status_code == 201, body
    return api, body["id"]


def test_post_with_a_manager_stores_it_and_get_returns_value_ref_and_display_name(boss):
    api, boss_id = boss
    # when the provider creates a user with the enterprise manager (value only, as IdPs send)
    response, body = _new_user(api, "ada@example.com",
                               schemas=[USER_SCHEMA, ENTERPRISE],
                               **{ENTERPRISE: {"manager": {"value": boss_id},
                                               "department": "Support"}})
    assert response.status_code == 201, body
    assert _manager_of(body["id"]) == int(boss_id)
    # then GET shows it as RFC 7643 §4.3 describes
    _, got = api.call("GET", f"Users/{body['id']}")
    manager = got[ENTERPRISE]["manager"]
    assert manager["value"] == boss_id
    assert manager["$ref"].endswith(f"/scim/v2/Users/{boss_id}")
    assert manager["displayName"] == "Grace Hopper"
    assert ENTERPRISE in got["schemas"]
    # the department is accepted but not stored
    assert "department" not in got[ENTERPRISE]
    # and the change is audited with the SCIM token as the actor
    event = Event.objects.get(action="user.manager_set", subject_id=body["id"])
    assert event.actor_kind == "token"
    assert event.data == {"manager": int(boss_id), "previous": None}
    # a filter on the manager finds the report
    _, listed = api.call("GET", f'Users?filter={MANAGER_PATH}.value eq "{boss_id}"')
    assert [r["userName"] for r in listed["Resources"]] == ["ada@example.com"]


def test_an_unknown_manager_on_post_is_invalid_value_and_creates_nobody(boss):
    api, _ = boss
    before = User.objects.count()
    response, body = _new_user(api, "ada@example.com",
                               **{ENTERPRISE: {"manager": {"value": "987654"}}})
    assert response.status_code == 400
    assert body["scimType"] == "invalidValue"
    assert "987654" in body["detail"]
    assert User.objects.count() == before
    # a service account's id is not a user SCIM knows either
    robot = make_user(email="robot@example.com", is_service_account=True, mfa=False,
                      password="")
    response, body = _new_user(api, "ada@example.com",
                               **{ENTERPRISE: {"manager": {"value": str(robot.id)}}})
    assert (response.status_code, body["scimType"]) == (400, "invalidValue")
    assert not User.objects.filter(email="ada@example.com").exists()


def test_entra_patch_with_a_bare_id_sets_replaces_and_clears_the_manager(boss):
    api, boss_id = boss
    _, ada = _new_user(api, "ada@example.com")
    _, other = _new_user(api, "lin@example.com")
    # Entra ID: Add with the manager path and a plain string value
    response, body = _patch(api, ada["id"], {"op": "Add", "path": MANAGER_PATH,
                                             "value": boss_id})
    assert response.status_code == 200, body
    assert _manager_of(ada["id"]) == int(boss_id)
    assert body[ENTERPRISE]["manager"]["value"] == boss_id
    # Okta-style path-less Replace with the attribute URN as a key
    response, body = _patch(api, ada["id"], {"op": "Replace",
                                             "value": {MANAGER_PATH: other["id"]}})
    assert response.status_code == 200, body
    assert _manager_of(ada["id"]) == int(other["id"])
    # the standard form: manager.value
    response, _ = _patch(api, ada["id"], {"op": "replace", "path": f"{MANAGER_PATH}.value",
                                          "value": boss_id})
    assert response.status_code == 200
    assert _manager_of(ada["id"]) == int(boss_id)
    # Entra ID clears the manager with an empty value
    response, body = _patch(api, ada["id"], {"op": "Replace", "path": MANAGER_PATH,
                                             "value": ""})
    assert response.status_code == 200, body
    assert _manager_of(ada["id"]) is None
    assert ENTERPRISE not in body
    # and a standard remove of a manager that is not there is a no-op
    response, _ = _patch(api, ada["id"], {"op": "remove", "path": MANAGER_PATH})
    assert response.status_code == 200
    assert _manager_of(ada["id"]) is None
    sets = [e.data["manager"] for e in
            Event.objects.filter(action="user.manager_set", subject_id=ada["id"]).order_by("seq")]
    assert sets == [int(boss_id), int(other["id"]), int(boss_id), None]


def test_patch_to_an_unknown_manager_self_or_a_loop_is_400_and_changes_nothing(boss):
    api, boss_id = boss
    _, ada = _new_user(api, "ada@example.com")
    _patch(api, ada["id"], {"op": "Add", "path": MANAGER_PATH, "value": boss_id})
    # unknown id, alongside a name change in the same request: neither happens
    response, body = _patch(api, ada["id"],
                            {"op": "replace", "path": "displayName", "value": "Changed"},
                            {"op": "Add", "path": MANAGER_PATH, "value": "424242"})
    assert (response.status_code, body["scimType"]) == (400, "invalidValue")
    user = User.objects.get(id=int(ada["id"]))
    assert (user.manager_id, user.full_name) == (int(boss_id), "Ada Lovelace")
    # self
    response, body = _patch(api, ada["id"], {"op": "Add", "path": MANAGER_PATH,
                                             "value": ada["id"]})
    assert (response.status_code, body["scimType"]) == (400, "invalidValue")
    assert "their own manager" in body["detail"]
    # a loop: the boss under ada, who reports to the boss
    response, body = _patch(api, boss_id, {"op": "Add", "path": MANAGER_PATH,
                                           "value": ada["id"]})
    assert (response.status_code, body["scimType"]) == (400, "invalidValue")
    assert "cannot loop" in body["detail"]
    assert _manager_of(boss_id) is None
    # not an id at all
    response, body = _patch(api, ada["id"], {"op": "Add", "path": MANAGER_PATH,
                                             "value": "boss@example.com"})
    assert (response.status_code, body["scimType"]) == (400, "invalidValue")
    assert _manager_of(ada["id"]) == int(boss_id)
    # each refusal is recorded
    assert Event.objects.filter(action="scim.request_refused").count() >= 4


def test_put_sets_keeps_or_clears_the_manager(boss):
    api, boss_id = boss
    _, ada = _new_user(api, "ada@example.com")
    base = {"schemas": [USER_SCHEMA], "userName": "ada@example.com",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "ada@example.com", "type": "work", "primary": True}],
            "externalId": "ext-ada@example.com", "active": True}
    # with the extension and a manager: set
    response, body = api.call("PUT", f"Users/{ada['id']}",
                              {**base, ENTERPRISE: {"manager": {"value": boss_id}}})
    assert response.status_code == 200, body
    assert _manager_of(ada["id"]) == int(boss_id)
    # without the extension: left as it is
    response, _ = api.call("PUT", f"Users/{ada['id']}", base)
    assert response.status_code == 200
    assert _manager_of(ada["id"]) == int(boss_id)
    # with the extension but no manager: cleared
    response, _ = api.call("PUT", f"Users/{ada['id']}", {**base, ENTERPRISE: {"department": "x"}})
    assert response.status_code == 200
    assert _manager_of(ada["id"]) is None
    # unknown: 400, nothing changed
    response, body = api.call("PUT", f"Users/{ada['id']}",
                              {**base, "displayName": "Other",
                               ENTERPRISE: {"manager": {"value": "31337"}}})
    assert (response.status_code, body["scimType"]) == (400, "invalidValue")
    assert User.objects.get(id=int(ada["id"])).full_name == "Ada Lovelace"


def test_discovery_lists_the_enterprise_extension(token):
    api = Scim(token)
    _, types = api.call("GET", "ResourceTypes")
    user_type = next(t for t in types["Resources"] if t["id"] == "User")
    assert user_type["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False}]
    _, schemas = api.call("GET", "Schemas")
    ids = [s["id"] for s in schemas["Resources"]]
    assert ENTERPRISE in ids
    _, enterprise = api.call("GET", f"Schemas/{ENTERPRISE}")
    manager = next(a for a in enterprise["attributes"] if a["name"] == "manager")
    assert sorted(s["name"] for s in manager["subAttributes"]) == ["$ref", "displayName",
                                                                   "value"]


def test_a_manager_set_in_safeguard_shows_over_scim(boss):
    api, boss_id = boss
    _, ada = _new_user(api, "ada@example.com")
    services.user_set_manager(actor=SYSTEM, user_id=int(ada["id"]), manager_id=int(boss_id))
    _, got = api.call("GET", f"Users/{ada['id']}")
    assert got[ENTERPRISE]["manager"]["value"] == boss_id


def test_a_path_less_patch_of_the_whole_extension_sets_the_manager(boss):
    api, boss_id = boss
    _, ada = _new_user(api, "ada@example.com")
    # the extension as an object, its manager a bare id, beside an attribute not stored
    response, body = _patch(api, ada["id"], {"op": "add", "value": {
        ENTERPRISE: {"manager": boss_id, "department": "Support"}}})
    assert response.status_code == 200, body
    assert _manager_of(ada["id"]) == int(boss_id)
    # and as RFC 7643 writes it, {"value": id}, with displayName (read-only) ignored
    _, other = _new_user(api, "lin@example.com")
    response, body = _patch(api, ada["id"], {"op": "replace", "value": {
        ENTERPRISE: {"manager": {"value": other["id"], "displayName": "Someone"}}}})
    assert response.status_code == 200, body
    assert _manager_of(ada["id"]) == int(other["id"])
    # the stored manager's own name, not the one sent (lin was created with Ada's name parts)
    assert body[ENTERPRISE]["manager"]["displayName"] == "Ada Lovelace"

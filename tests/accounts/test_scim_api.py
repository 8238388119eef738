"""SCIM 2.0 provisioning at /scim/v2/ (issue 13 section 2; R-WORK-3, R-OPS-8): resources,
filters, paging, discovery, PATCH quirks of Okta and Entra ID, errors that change nothing, and
the token that gates it. The loopback HTTP journeys are in test_scim_live.py."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from safeguard.accounts import selectors, services
from safeguard.accounts.models import ApiToken, RoleAssignment, ScimIdentity, User
from safeguard.accounts.scim import services as scim
from safeguard.audit import selectors as audit
from safeguard.audit.contracts import Actor
from tests.factories import SYSTEM, make_user, signed_in_client

pytestmark = pytest.mark.django_db

SCIM_JSON = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


def _actor(user: User) -> Actor:
    return Actor(kind="user", id=str(user.id), label=user.email)


@pytest.fixture
def admin() -> User:
    return make_user(roles=("administrator",))


@pytest.fixture
def token(admin) -> str:
    issued = scim.scim_token_issue(actor=_actor(admin), name="okta",
                                   caller_permissions=selectors.user_permissions(
                                       user_id=admin.id))
    return issued.secret


class Scim:
    """A SCIM client over Django's test client (the live-server tests use real HTTP)."""

    def __init__(self, secret: str) -> None:
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    def call(self, method: str, path: str, body: object = None, raw: bytes | None = None):
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        response = getattr(self.client, method.lower())(
            f"/scim/v2/{path}", data=data, content_type=SCIM_JSON, **self.headers)
        payload = json.loads(response.content) if response.content else None
        return response, payload


def _new_user(api: Scim, user_name: str = "ada@example.com", **extra: object):
    body = {"schemas": [USER_SCHEMA], "userName": user_name,
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": user_name, "type": "work", "primary": True}],
            "externalId": f"ext-{user_name}", "active": True, **extra}
    return api.call("POST", "Users", body)


def _user_state() -> list[tuple]:
    return sorted(User.objects.values_list("id", "email", "full_name", "is_active"))


def test_create_returns_the_resource_and_makes_a_user_without_password(token):
    # given a SCIM token
    api = Scim(token)
    # when the provider creates a user
    response, body = _new_user(api)
    # then the answer is 201 scim+json with the stored resource
    assert response.status_code == 201, body
    assert response["Content-Type"] == SCIM_JSON
    user = User.objects.get(email="ada@example.com")
    assert body["id"] == str(user.id)
    assert body["userName"] == "ada@example.com"
    assert body["externalId"] == "ext-ada@example.com"
    assert body["name"] == {"formatted": "Ada Lovelace", "givenName": "Ada",
                            "familyName": "Lovelace"}
    assert body["active"] is True
    assert body["meta"]["resourceType"] == "User"
    assert response["Location"] == body["meta"]["location"]
    assert body["meta"]["location"].endswith(f"/scim/v2/Users/{user.id}")
    # and the joiner has no password and no second factor: MFA enrolment waits at sign-in
    assert user.has_usable_password() is False
    assert selectors.mfa_types(user_id=user.id) == ()
    # and the creation is audited with the SCIM token as the actor
    created = audit.event_list(action="user.created")[0]
    assert created.actor.kind == "token"
    assert created.actor.id == str(ApiToken.objects.get(name="okta").id)
    assert created.subject_id == str(user.id)


def test_a_scim_joiner_must_enrol_mfa_at_first_sign_in(token):
    # given a user created over SCIM who later set a password (via the reset)
    _new_user(Scim(token))
    user = User.objects.get(email="ada@example.com")
    client = Client()
    client.force_login(user)
    # when they open the console
    response = client.get("/staff/me/")
    # then the MFA gate sends them to enrolment
    assert response.status_code == 302
    assert response["Location"] == "/staff/mfa-required/"


def test_password_is_refused_and_nothing_is_created(token):
    api = Scim(token)
    before = _user_state()
    response, body = _new_user(api, password="Secret-1234567")
    assert response.status_code == 400
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["scimType"] == "invalidValue"
    assert _user_state() == before


def test_duplicate_user_name_is_a_409_uniqueness_error(token):
    api = Scim(token)
    _new_user(api)
    before = _user_state()
    # when a second user with the same userName (another e-mail) gets to the insert
    response, body = _new_user(api, emails=[{"value": "twin@example.com", "primary": True}])
    # then the database's constraint answers 409 and the half-made user is rolled back
    assert response.status_code == 409
    assert body["scimType"] == "uniqueness"
    assert _user_state() == before
    assert audit.event_list(action="scim.request_refused")[0].data == {
        "request": "user.create", "error": "UniquenessException"}


@pytest.mark.parametrize(("raw", "status", "scim_type"), [
    (b"{not json", 400, "invalidSyntax"),
    (b"[1, 2]", 400, "invalidSyntax"),
    (json.dumps({"schemas": [USER_SCHEMA], "userName": "x@example.com",
                 "favouriteColour": "blue"}).encode(), 400, None),
    (json.dumps({"schemas": [USER_SCHEMA]}).encode(), 400, None),
    (json.dumps({"schemas": [USER_SCHEMA], "userName": "not-an-address"}).encode(), 400,
     "invalidValue"),
])
def test_bad_bodies_are_scim_errors_and_change_nothing(token, raw, status, scim_type):
    api = Scim(token)
    before = _user_state()
    response, body = api.call("POST", "Users", raw=raw)
    assert response.status_code == status
    assert response["Content-Type"] == SCIM_JSON
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == str(status)
    if scim_type:
        assert body["scimType"] == scim_type
    assert _user_state() == before


def test_filters_select_users(token):
    api = Scim(token)
    _new_user(api, "ada@example.com")
    _new_user(api, "alan@example.com", name={"givenName": "Alan", "familyName": "Turing"})
    _new_user(api, "grace@example.org", name={"givenName": "Grace", "familyName": "Hopper"})

    def names(flt: str) -> list[str]:
        response, body = api.call("GET", f"Users?filter={flt}")
        assert response.status_code == 200, body
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
        return sorted(r["userName"] for r in body.get("Resources", []))

    assert names('userName eq "ALAN@example.com"') == ["alan@example.com"]
    assert names('userName sw "a"') == ["ada@example.com", "alan@example.com"]
    assert names('userName co "example.org"') == ["grace@example.org"]
    assert names('name.familyName eq "Hopper" or userName eq "ada@example.com"') == [
        "ada@example.com", "grace@example.org"]
    assert names('userName sw "a" and name.givenName eq "Alan"') == ["alan@example.com"]
    assert names('externalId pr and emails[type eq "work" and value ew "example.org"]') == [
        "grace@example.org"]
    assert names('emails[type eq "work"].value eq "ada@example.com"') == ["ada@example.com"]
    assert names('not (userName sw "a") and externalId pr') == ["grace@example.org"]
    assert names('title pr') == []


@pytest.mark.parametrize("flt", ['userName eq', 'userName zz "x"', 'nosuchattr eq "x"',
                                 'userName eq "x" and'])
def test_a_bad_filter_is_invalid_filter(token, flt):
    response, body = Scim(token).call("GET", f"Users?filter={flt}")
    assert response.status_code == 400
    assert body["scimType"] == "invalidFilter"


def test_pagination_start_index_count_and_total(token):
    api = Scim(token)
    for i in range(5):
        _new_user(api, f"p{i}@example.com")
    response, body = api.call("GET", 'Users?filter=userName sw "p"&startIndex=2&count=2')
    assert body["totalResults"] == 5
    assert body["startIndex"] == 2
    assert body["itemsPerPage"] == 2
    assert [r["userName"] for r in body["Resources"]] == ["p1@example.com", "p2@example.com"]
    _, tail = api.call("GET", 'Users?filter=userName sw "p"&startIndex=5&count=10')
    assert [r["userName"] for r in tail["Resources"]] == ["p4@example.com"]
    _, count_only = api.call("GET", 'Users?filter=userName sw "p"&count=0')
    assert count_only["totalResults"] == 5
    assert count_only.get("Resources", []) == []
    response, _bad = api.call("GET", "Users?count=lots")
    assert response.status_code == 400


def test_count_is_capped_by_the_setting(token, settings):
    settings.SAFEGUARD_SCIM_MAX_RESULTS = 2
    api = Scim(token)
    for i in range(3):
        _new_user(api, f"c{i}@example.com")
    _, body = api.call("GET", 'Users?filter=userName sw "c"&count=50')
    assert body["totalResults"] == 3
    assert body["itemsPerPage"] == 2


def test_service_accounts_are_not_scim_users(token):
    _, body = Scim(token).call("GET", "Users")
    assert scim.SERVICE_ACCOUNT_EMAIL not in [r["userName"] for r in body["Resources"]]
    svc = User.objects.get(email=scim.SERVICE_ACCOUNT_EMAIL)
    response, _ = Scim(token).call("GET", f"Users/{svc.id}")
    assert response.status_code == 404


def test_patch_okta_style_replace_and_entra_style_quirks(token):
    api = Scim(token)
    _, created = _new_user(api)
    uid = created["id"]
    # Okta: replace without a path, a value object
    response, body = api.call("PATCH", f"Users/{uid}", {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "replace", "value": {"name": {"givenName": "Augusta",
                                                            "familyName": "King"},
                                                   "displayName": "Augusta King"}}]})
    assert response.status_code == 200, body
    assert body["displayName"] == "Augusta King"
    assert User.objects.get(id=uid).full_name == "Augusta King"
    # Entra: capitalised op, a filtered path on emails, "Add" of externalId
    response, body = api.call("PATCH", f"Users/{uid}", {
        "schemas": [PATCH_SCHEMA],
        "Operations": [
            {"op": "Replace", "path": 'emails[type eq "work"].value',
             "value": "augusta@example.com"},
            {"op": "Add", "path": "externalId", "value": "entra-42"}]})
    assert response.status_code == 200, body
    assert User.objects.get(id=uid).email == "augusta@example.com"
    assert ScimIdentity.objects.get(user_id=uid).external_id == "entra-42"
    changed = audit.event_list(action="user.changed")[0]
    assert changed.actor.kind == "token"
    assert changed.data == {"fields": ["email", "external_id"], "via": "scim"}


def test_patch_of_an_unknown_attribute_is_refused_and_changes_nothing(token):
    api = Scim(token)
    _, created = _new_user(api)
    before = _user_state()
    response, body = api.call("PATCH", f"Users/{created['id']}", {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "replace", "path": "displayName", "value": "New Name"},
                       {"op": "replace", "path": "shoeSize", "value": 44}]})
    assert response.status_code == 400
    assert body["schemas"] == [ERROR_SCHEMA]
    assert _user_state() == before


def test_put_replaces_and_can_deactivate(token):
    api = Scim(token)
    _, created = _new_user(api)
    uid = created["id"]
    response, body = api.call("PUT", f"Users/{uid}", {
        "schemas": [USER_SCHEMA], "userName": "ada@example.com", "active": False,
        "name": {"givenName": "Ada", "familyName": "Byron"},
        "emails": [{"value": "ada@example.com", "primary": True}]})
    assert response.status_code == 200, body
    assert body["active"] is False
    assert body["name"]["familyName"] == "Byron"
    assert "externalId" not in body  # PUT replaces: what is not sent is cleared
    user = User.objects.get(id=uid)
    assert user.is_active is False
    assert audit.event_list(action="user.disabled")[0].actor.kind == "token"


def test_reactivation_re_admits_without_reviving_sessions(token):
    api = Scim(token)
    _, created = _new_user(api)
    uid = created["id"]
    off = {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "path": "active",
                                                       "value": False}]}
    on = {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "path": "active",
                                                      "value": True}]}
    api.call("PATCH", f"Users/{uid}", off)
    epoch = User.objects.get(id=uid).session_epoch
    _response, body = api.call("PATCH", f"Users/{uid}", on)
    assert body["active"] is True
    user = User.objects.get(id=uid)
    assert user.is_active is True
    assert user.session_epoch == epoch  # the bump at disable stays: old sessions stay void


def test_delete_runs_the_leaver_path_and_the_user_is_gone_for_scim(token):
    api = Scim(token)
    _, created = _new_user(api)
    uid = created["id"]
    response, _ = api.call("DELETE", f"Users/{uid}")
    assert response.status_code == 204
    assert api.call("GET", f"Users/{uid}")[0].status_code == 404
    assert User.objects.get(id=uid).is_active is False  # kept, disabled: the trail names it
    assert audit.event_list(action="scim.user_deleted")[0].subject_id == str(uid)
    assert api.call("DELETE", f"Users/{uid}")[0].status_code == 404


def test_unknown_user_is_404(token):
    response, body = Scim(token).call("GET", "Users/999999")
    assert response.status_code == 404
    assert body["status"] == "404"
    assert Scim(token).call("GET", "Users/abc")[0].status_code == 404


def test_existing_staff_can_be_matched_and_managed(token):
    staff = make_user(email="existing@example.com", full_name="Existing Person")
    _, body = Scim(token).call("GET", 'Users?filter=userName eq "existing@example.com"')
    assert body["totalResults"] == 1
    assert body["Resources"][0]["id"] == str(staff.id)


# --- discovery -----------------------------------------------------------------------------

def test_service_provider_config_schemas_and_resource_types(token):
    api = Scim(token)
    response, config = api.call("GET", "ServiceProviderConfig")
    assert response.status_code == 200
    assert config["patch"] == {"supported": True}
    assert config["bulk"]["supported"] is False
    assert config["filter"] == {"supported": True, "maxResults": 100}
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    _, schemas = api.call("GET", "Schemas")
    ids = sorted(s["id"] for s in schemas["Resources"])
    assert ids == ["urn:ietf:params:scim:schemas:core:2.0:Group", USER_SCHEMA,
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
    _, user_schema = api.call("GET", f"Schemas/{USER_SCHEMA}")
    assert "userName" in [a["name"] for a in user_schema["attributes"]]
    _, types = api.call("GET", "ResourceTypes")
    assert sorted((t["id"], t["endpoint"]) for t in types["Resources"]) == [
        ("Group", "/Groups"), ("User", "/Users")]
    assert api.call("GET", "ResourceTypes/User")[1]["schema"] == USER_SCHEMA
    assert api.call("GET", "ResourceTypes/Nope")[0].status_code == 404


def test_enterprise_extension_is_accepted(token):
    response, body = _new_user(Scim(token), **{
        "schemas": [USER_SCHEMA, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Ops"}})
    assert response.status_code == 201, body


# --- groups are roles ----------------------------------------------------------------------

def test_groups_list_roles_with_mapped_names(token, settings):
    settings.SAFEGUARD_SCIM_GROUP_ROLES = "Support Agents=agent"
    api = Scim(token)
    _, body = api.call("GET", 'Groups?filter=displayName eq "support agents"')
    assert [(g["id"], g["displayName"]) for g in body["Resources"]] == [
        ("agent", "Support Agents")]
    _, sup = api.call("GET", 'Groups?filter=displayName eq "Supervisor"')
    assert [g["id"] for g in sup["Resources"]] == ["supervisor"]


def test_group_patch_grants_and_revokes_the_role(token):
    api = Scim(token)
    _, created = _new_user(api)
    uid = int(created["id"])
    response, body = api.call("PATCH", "Groups/agent", {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "Add", "path": "members", "value": [{"value": str(uid)}]}]})
    assert response.status_code == 200, body
    assert [m["value"] for m in body["members"]] == [str(uid)]
    assert "cases.view" in selectors.user_permissions(user_id=uid)
    assert audit.event_list(action="role.granted")[0].actor.kind == "token"
    _, user = api.call("GET", f"Users/{uid}")
    assert user["groups"][0]["value"] == "agent"
    # Okta-style removal by a filtered path
    response, body = api.call("PATCH", "Groups/agent", {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "remove", "path": f'members[value eq "{uid}"]'}]})
    assert response.status_code == 200, body
    assert body.get("members") is None
    assert selectors.user_permissions(user_id=uid) == frozenset()
    assert audit.event_list(action="role.revoked")[0].actor.kind == "token"


def test_group_patch_with_an_unknown_member_changes_nothing(token):
    api = Scim(token)
    _, created = _new_user(api)
    response, body = api.call("PATCH", "Groups/agent", {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "add", "path": "members",
                        "value": [{"value": created["id"]}, {"value": "987654"}]}]})
    assert response.status_code == 400
    assert body["scimType"] == "invalidValue"
    assert not RoleAssignment.objects.filter(user_id=int(created["id"])).exists()


@pytest.mark.parametrize(("role", "status"), [
    ("administrator", 403),  # access administration: the SCIM account does not hold it
    ("security_analyst", 409),  # a sensitive permission: four eyes, never a SCIM push
])
def test_privileged_roles_are_not_granted_over_scim(token, role, status):
    api = Scim(token)
    _, created = _new_user(api)
    response, body = api.call("PATCH", f"Groups/{role}", {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": created["id"]}]}]})
    assert response.status_code == status
    assert body["schemas"] == [ERROR_SCHEMA]
    assert not RoleAssignment.objects.filter(user_id=int(created["id"])).exists()
    assert audit.event_list(action="scim.request_refused")[0].data["request"] == "group.patch"


def test_group_post_links_a_role_and_refuses_an_unknown_one(token, settings):
    settings.SAFEGUARD_SCIM_GROUP_ROLES = "Support Leads=supervisor"
    api = Scim(token)
    response, body = api.call("POST", "Groups", {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Support Leads"})
    assert response.status_code == 201
    assert body["id"] == "supervisor"
    roles_before = selectors.role_list()
    response, body = api.call("POST", "Groups", {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Pilots"})
    assert response.status_code == 400
    assert body["scimType"] == "invalidValue"
    assert selectors.role_list() == roles_before


def test_group_rename_and_delete_are_refused(token):
    api = Scim(token)
    response, body = api.call("PATCH", "Groups/agent", {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Pilots"}]})
    assert response.status_code == 400
    assert body["scimType"] == "mutability"
    response, body = api.call("DELETE", "Groups/agent")
    assert response.status_code == 403
    assert selectors.role_get(slug="agent").slug == "agent"


# --- the token -----------------------------------------------------------------------------

def test_no_token_or_a_bad_token_is_401(token):
    response = Client().get("/scim/v2/Users")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert json.loads(response.content)["schemas"] == [ERROR_SCHEMA]
    assert Scim("sgt_nope_nope").call("GET", "Users")[0].status_code == 401


def test_a_token_without_the_scim_scope_is_403(admin):
    other = services.token_issue(actor=SYSTEM, user_id=admin.id, name="reports",
                                 scopes=["accounts.view_users"], expires_in_days=5)
    before = _user_state()
    response, body = _new_user(Scim(other.secret))
    assert response.status_code == 403
    assert body["status"] == "403"
    assert _user_state() == before


def test_a_staff_session_is_not_a_scim_credential(admin, token):
    response = signed_in_client(admin).get("/scim/v2/Users")
    assert response.status_code == 401


def test_a_revoked_scim_token_is_401(admin, token):
    row = ApiToken.objects.get(name="okta")
    services.token_revoke(actor=_actor(admin), token_id=row.id)
    assert Scim(token).call("GET", "Users")[0].status_code == 401


def test_scim_token_belongs_to_the_service_account_and_carries_only_the_scope(admin, token):
    row = ApiToken.objects.get(name="okta")
    assert row.user.email == scim.SERVICE_ACCOUNT_EMAIL
    assert row.user.is_service_account is True
    assert row.scopes == ["accounts.scim_provision"]
    assert row.secret_hash != token
    assert token not in str(row.__dict__)
    assert audit.event_list(action="api_token.created")[0].actor.id == str(admin.id)


def test_issuing_a_scim_token_on_the_page_needs_step_up(admin):
    import time

    stale = signed_in_client(admin, mfa_at=time.time() - 3600)
    response = stale.post("/staff/scim/tokens/new/", {"name": "okta"})
    assert response.status_code == 302
    assert "reauthenticate" in response["Location"]
    assert not ApiToken.objects.filter(name="okta").exists()
    fresh = signed_in_client(admin)
    response = fresh.post("/staff/scim/tokens/new/", {"name": "okta"})
    assert response.status_code == 200
    secret = response.content.decode().split('id="token-secret">')[1].split("<")[0]
    assert Scim(secret).call("GET", "ServiceProviderConfig")[0].status_code == 200
    page = fresh.get("/staff/scim/").content.decode()
    assert "/scim/v2" in page
    assert "okta" in page
    assert secret not in page


def test_the_page_refuses_a_nameless_token(admin):
    response = signed_in_client(admin).post("/staff/scim/tokens/new/", {"name": " "})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_entra_style_member_removal_by_value_list_and_put_of_the_member_list(token):
    api = Scim(token)
    a = int(_new_user(api, "a@example.com")[1]["id"])
    b = int(_new_user(api, "b@example.com")[1]["id"])
    # PUT with the full member list: both become agents
    response, body = api.call("PUT", "Groups/agent", {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Agent",
        "members": [{"value": str(a)}, {"value": str(b)}]})
    assert response.status_code == 200, body
    assert sorted(int(m["value"]) for m in body["members"]) == [a, b]
    # Entra: "Remove" with a value list on the members path
    response, body = api.call("PATCH", "Groups/agent", {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "Remove", "path": "members", "value": [{"value": str(a)}]}]})
    assert response.status_code == 200, body
    assert [int(m["value"]) for m in body["members"]] == [b]
    assert selectors.user_role_slugs(user_id=a) == ()
    assert selectors.user_role_slugs(user_id=b) == ("agent",)


def test_attributes_and_excluded_attributes_shape_the_answer(token):
    api = Scim(token)
    uid = _new_user(api)[1]["id"]
    _, only = api.call("GET", f"Users/{uid}?attributes=userName")
    assert set(only) == {"schemas", "id", "userName"}
    _, without = api.call("GET", f"Users/{uid}?excludedAttributes=emails,name")
    assert "emails" not in without
    assert "name" not in without
    assert without["userName"] == "ada@example.com"


def test_an_oversized_body_is_413_and_changes_nothing(token, settings):
    settings.SAFEGUARD_SCIM_MAX_BODY_BYTES = 1024
    before = _user_state()
    response, body = _new_user(Scim(token), displayName="x" * 2000)
    assert response.status_code == 413
    assert body["status"] == "413"
    assert _user_state() == before


def test_the_last_active_administrator_is_not_disabled_over_scim(admin, token):
    response, _body = Scim(token).call("PATCH", f"Users/{admin.id}", {
        "schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "path": "active",
                                                    "value": False}]})
    assert response.status_code == 409
    assert User.objects.get(id=admin.id).is_active is True


def test_a_changed_email_no_longer_signs_in(token):
    from allauth.account.models import EmailAddress

    api = Scim(token)
    uid = int(_new_user(api)[1]["id"])
    EmailAddress.objects.create(user_id=uid, email="ada@example.com", primary=True,
                                verified=True)
    api.call("PATCH", f"Users/{uid}", {"schemas": [PATCH_SCHEMA], "Operations": [
        {"op": "replace", "path": "emails", "value": [{"value": "countess@example.com",
                                                       "primary": True}]}]})
    assert User.objects.get(id=uid).email == "countess@example.com"
    assert not EmailAddress.objects.filter(email="ada@example.com").exists()


def test_group_settings_check_refuses_a_malformed_map(settings):
    from safeguard.accounts.checks import scim_settings

    settings.SAFEGUARD_SCIM_GROUP_ROLES = "Agents=agent;no equals sign"
    settings.SAFEGUARD_SCIM_MAX_RESULTS = 0
    settings.SAFEGUARD_SCIM_TOKEN_DAYS = 100000
    settings.SAFEGUARD_SCIM_MAX_BODY_BYTES = 10
    assert sorted(e.id for e in scim_settings()) == [
        "safeguard.E320", "safeguard.E321", "safeguard.E322", "safeguard.E323"]
    settings.SAFEGUARD_SCIM_GROUP_ROLES = "Agents=agent;agents=supervisor"
    assert next(e.id for e in scim_settings()) == "safeguard.E320"


def test_group_map_parsing():
    from safeguard.accounts.scim.groupmap import parse_group_roles
    from safeguard.accounts.scim.mapping import resolve_group

    mapping = parse_group_roles(" Support Agents = agent ; Leads=supervisor;")
    assert mapping == {"support agents": "agent", "leads": "supervisor"}
    roles = [("agent", "Agent"), ("supervisor", "Supervisor")]
    assert resolve_group("SUPPORT  agents", roles=roles, mapping=mapping) == "agent"
    assert resolve_group("Supervisor", roles=roles, mapping=mapping) == "supervisor"
    assert resolve_group("Pilots", roles=roles, mapping=mapping) is None
    assert resolve_group("x", roles=roles, mapping={"x": "gone"}) is None


def test_a_put_without_active_does_not_re_admit_a_leaver(token):
    api = Scim(token)
    uid = _new_user(api, active=False)[1]["id"]
    assert User.objects.get(id=uid).is_active is False
    response, body = api.call("PUT", f"Users/{uid}", {
        "schemas": [USER_SCHEMA], "userName": "ada@example.com", "displayName": "Ada"})
    assert response.status_code == 200, body
    assert body["active"] is False
    assert User.objects.get(id=uid).is_active is False


def test_a_race_on_the_same_user_name_is_a_409(token, monkeypatch):
    # given the uniqueness pre-check misses a concurrent insert
    monkeypatch.setattr(scim, "_taken", lambda **kwargs: None)
    api = Scim(token)
    _new_user(api)
    before = _user_state()
    # when a second user with the same userName (another e-mail) gets to the insert
    response, body = _new_user(api, emails=[{"value": "twin@example.com", "primary": True}])
    # then the database's constraint answers 409 and the half-made user is rolled back
    assert response.status_code == 409
    assert body["scimType"] == "uniqueness"
    assert _user_state() == before


def test_an_administrators_sign_in_address_is_not_changed_over_scim(admin, token):
    make_user(roles=("administrator",))
    response, body = Scim(token).call("PATCH", f"Users/{admin.id}", {
        "schemas": [PATCH_SCHEMA], "Operations": [
            {"op": "replace", "path": "emails", "value": [{"value": "mallory@example.com",
                                                           "primary": True}]}]})
    assert response.status_code == 403
    assert body["schemas"] == [ERROR_SCHEMA]
    assert User.objects.get(id=admin.id).email == admin.email


def test_okta_style_group_replace_and_a_filter_on_group_membership(token):
    api = Scim(token)
    a = _new_user(api, "a@example.com")[1]["id"]
    b = _new_user(api, "b@example.com")[1]["id"]
    # Okta: replace with the group's own id and name, then replace the member list
    response, body = api.call("PATCH", "Groups/agent", {"schemas": [PATCH_SCHEMA], "Operations": [
        {"op": "replace", "value": {"id": "agent", "displayName": "Agent"}},
        {"op": "replace", "path": "members", "value": [{"value": a}, {"value": b}]}]})
    assert response.status_code == 200, body
    _, agents = api.call("GET", 'Users?filter=groups.value eq "agent"')
    assert sorted(r["id"] for r in agents["Resources"]) == sorted([a, b])
    api.call("PATCH", "Groups/agent", {"schemas": [PATCH_SCHEMA], "Operations": [
        {"op": "replace", "path": "members", "value": [{"value": b}]}]})
    _, agents = api.call("GET", 'Users?filter=groups.value eq "agent"')
    assert [r["id"] for r in agents["Resources"]] == [b]

"""Security probe of SCIM provisioning at /scim/v2/ (R-WORK-3, R-OPS-8, R-OPS-2; decisions
0125-0127, 0132): what an attacker holding, or imitating, the identity provider tries. Each test
states the attack; a refused request is a 4xx SCIM Error and changes nothing."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from safeguard.accounts import selectors, services
from safeguard.accounts.models import ApiToken, ScimIdentity, User
from safeguard.accounts.scim import services as scim
from safeguard.audit.contracts import Actor
from safeguard.audit.models import Event
from tests.factories import SYSTEM, make_user, signed_in_client

pytestmark = pytest.mark.django_db

SCIM_JSON = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PAN = "4111 1111 1111 1111"


@pytest.fixture
def admin() -> User:
    return make_user(email="root@example.test", roles=("administrator",))


@pytest.fixture
def secret(admin) -> str:
    actor = Actor(kind="user", id=str(admin.id), label=admin.email)
    return scim.scim_token_issue(actor=actor, name="okta", caller_permissions=(
        selectors.user_permissions(user_id=admin.id))).secret


def _call(secret: str, method: str, path: str, body: object = None, raw: bytes | None = None,
          client: Client | None = None):
    data = raw if raw is not None else (json.dumps(body) if body is not None else "")
    response = getattr(client or Client(), method.lower())(
        f"/scim/v2/{path}", data=data, content_type=SCIM_JSON,
        HTTP_AUTHORIZATION=f"Bearer {secret}")
    return response, (json.loads(response.content) if response.content else None)


def _user(name: str = "ada@example.com", **extra: object) -> dict:
    return {"schemas": [USER_SCHEMA], "userName": name,
            "emails": [{"value": name, "primary": True}], "displayName": "Ada", **extra}


def _patch(path: str, value: object) -> dict:
    return {"schemas": [PATCH_SCHEMA],
            "Operations": [{"op": "replace", "path": path, "value": value}]}


def _state() -> list[tuple]:
    return sorted(User.objects.values_list("id", "email", "full_name", "is_active")) + sorted(
        ScimIdentity.objects.values_list("user_id", "user_name", "external_id", "given_name",
                                         "family_name"))


# --- values that must never be stored ------------------------------------------------------

@pytest.mark.parametrize("value", ["Ada\x00Lovelace", "Ada\x07", "Ada\u202eecalevoL"])
def test_a_control_character_in_a_name_is_refused_not_a_server_error(secret, value):
    # a NUL made PostgreSQL fail the UPDATE (a 500) and was stored as sent on SQLite
    response, body = _call(secret, "POST", "Users", _user())
    uid = body["id"]
    before = _state()
    for payload in (_patch("displayName", value), _patch("name.givenName", value),
                    _patch("externalId", value)):
        response, body = _call(secret, "PATCH", f"Users/{uid}", payload)
        assert response.status_code == 400, body
        assert body["scimType"] == "invalidValue"
        assert "control character" in body["detail"]
    response, body = _call(secret, "POST", "Users", _user("eve@example.com", displayName=value))
    assert response.status_code == 400, body
    assert _state() == before


@pytest.mark.parametrize("name", ["ａda@example.com", "adⅠ@example.com", "ﬁle@example.com"])
def test_a_user_name_in_compatibility_characters_is_refused(secret, name):
    # fullwidth letters, the Roman numeral Ⅰ and ligatures read as another person's address
    before = _state()
    response, body = _call(secret, "POST", "Users", _user(name))
    assert response.status_code == 400, body
    assert body["scimType"] == "invalidValue"
    response, body = _call(secret, "POST", "Users", {**_user("plain@example.com"),
                                                     "emails": [{"value": name,
                                                                 "primary": True}]})
    assert response.status_code == 400, body
    assert _state() == before


@pytest.mark.parametrize("pan", [PAN, "４１１１１１１１１１１１１１１１", "٤١١١١١١١١١١١١١١١",
                                 ("four one one one one one one one one one one one one one "
                                 "one one")])
def test_a_card_number_in_any_attribute_in_any_script_is_never_stored(secret, pan):
    response, body = _call(secret, "POST", "Users", _user())
    uid = body["id"]
    before = _state()
    for payload in (_patch("displayName", pan), _patch("name.familyName", pan),
                    _patch("externalId", pan)):
        response, body = _call(secret, "PATCH", f"Users/{uid}", payload)
        assert response.status_code == 400, body
    response, body = _call(secret, "POST", "Users", _user("eve@example.com", externalId=pan))
    assert response.status_code == 400, body
    assert _state() == before
    # every refusal recorded, and neither the number nor the token secret in the trail
    refused = Event.objects.filter(action="scim.request_refused")
    assert refused.count() == 4
    trail = json.dumps(list(Event.objects.values("data", "actor_label")), default=str)
    digits = "".join(c for c in pan if c.isdigit())
    assert PAN not in trail
    assert (not digits or digits not in trail)
    assert secret not in trail


# --- edges of the protocol ------------------------------------------------------------------

@pytest.mark.parametrize(("query", "status"), [
    ("startIndex=0", 200), ("startIndex=-5", 200), ("count=-3", 200), ("count=0", 200),
    ("startIndex=99999999999999999999", 200), ("count=abc", 400), ("startIndex=1.5", 400),
    ("filter=" + "(" * 3000 + 'userName eq "a"' + ")" * 3000, None),
    ("filter=" + " or ".join(['userName eq "a"'] * 1000), 200),
    ('filter=userName eq "a" and', 400),
])
def test_paging_and_filter_edges_are_answered_never_a_server_error(secret, query, status):
    _call(secret, "POST", "Users", _user())
    response, body = _call(secret, "GET", f"Users?{query}")
    assert response.status_code < 500, body
    if status is not None:
        assert response.status_code == status, body
    if response.status_code == 200:
        assert body["startIndex"] >= 1
        assert body["itemsPerPage"] == len(body["Resources"])


@pytest.mark.parametrize("raw", [b'{"userName": ["a@example.com"]}', b"[1,2]", b"\xff\xfe",
                                 b'{"userName": {"$ne": 1}}', b"null"])
def test_type_confusion_in_the_body_is_a_400(secret, raw):
    before = _state()
    response, body = _call(secret, "POST", "Users", raw=raw)
    assert response.status_code == 400, body
    assert _state() == before


def test_duplicate_keys_take_the_last_and_still_meet_uniqueness(secret):
    _call(secret, "POST", "Users", _user())
    before = _state()
    raw = (b'{"schemas":["' + USER_SCHEMA.encode() + b'"],"userName":"new@example.com",'
           b'"userName":"ADA@example.com"}')
    response, body = _call(secret, "POST", "Users", raw=raw)
    assert response.status_code == 409, body
    assert _state() == before


def test_an_oversized_body_is_a_413(secret, settings):
    settings.SAFEGUARD_SCIM_MAX_BODY_BYTES = 1000
    before = _state()
    response, body = _call(secret, "POST", "Users", _user(displayName="A" * 2000))
    assert response.status_code == 413, body
    assert _state() == before


# --- token confusion --------------------------------------------------------------------------

def test_a_staff_session_or_a_staff_token_without_the_scope_gets_nothing(admin):
    client = signed_in_client(admin)
    assert client.get("/scim/v2/Users").status_code == 401
    staff = services.token_issue(actor=SYSTEM, user_id=admin.id, name="api",
                                 scopes=["accounts.view_users"], expires_in_days=5)
    response, _ = _call(staff.secret, "GET", "Users")
    assert response.status_code == 403


def test_the_scim_token_opens_nothing_outside_scim(secret):
    client = Client()
    for path in ("/api/v1/cases/", "/api/v1/customers/", "/staff/users/", "/staff/"):
        response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {secret}")
        assert response.status_code in (401, 403, 404) or (
            response.status_code == 302 and "login" in response["Location"]), path


# --- privilege escalation through groups -------------------------------------------------------

def test_groups_cannot_make_an_administrator_nor_grant_a_sensitive_role(secret):
    response, body = _call(secret, "POST", "Users", _user())
    uid = body["id"]
    service = User.objects.get(email=scim.SERVICE_ACCOUNT_EMAIL)
    for slug in ("administrator", "compliance_manager"):
        for member in (uid, str(service.id)):
            response, body = _call(secret, "PATCH", f"Groups/{slug}", {
                "schemas": [PATCH_SCHEMA],
                "Operations": [{"op": "add", "path": "members",
                                "value": [{"value": str(member)}]}]})
            assert response.status_code in (400, 403, 409), body
            assert selectors.user_role_slugs(user_id=int(member)) in ((), ("scim-provisioner",))


# --- the leaver who comes back -----------------------------------------------------------------

def test_a_user_disabled_in_safeguard_is_not_re_admitted_by_the_identity_provider(secret, admin):
    # an administrator disables a suspected compromised account; the IdP still says active
    response, body = _call(secret, "POST", "Users", _user())
    uid = int(body["id"])
    services.user_disable(actor=Actor(kind="user", id=str(admin.id), label=admin.email),
                          user_id=uid, reason="suspected compromise")
    before = _state()
    for method, payload in (("PATCH", _patch("active", True)),
                            ("PUT", _user(active=True, displayName="Ada L"))):
        response, body = _call(secret, method, f"Users/{uid}", payload)
        assert response.status_code == 403, body
        assert "disabled in Safeguard" in body["detail"]
    assert _state() == before
    assert not User.objects.get(id=uid).is_active
    assert Event.objects.filter(action="scim.request_refused").count() == 2


def test_a_leaver_the_provider_disabled_comes_back_without_old_sessions_or_tokens(secret):
    uid = make_user(email="ada@example.com", roles=("agent",)).id
    token = services.token_issue(actor=SYSTEM, user_id=uid, name="t",
                                 scopes=sorted(selectors.user_permissions(user_id=uid))[:1],
                                 expires_in_days=5)
    user = User.objects.get(id=uid)
    epoch = user.session_epoch
    assert _call(secret, "PATCH", f"Users/{uid}", _patch("active", False))[0].status_code == 200
    response, body = _call(secret, "PATCH", f"Users/{uid}", _patch("active", True))
    assert response.status_code == 200
    assert body["active"] is True
    user.refresh_from_db()
    assert user.session_epoch == epoch + 1
    assert ApiToken.objects.get(id=token.token.id).revoked_at is not None
    assert services.token_authenticate(raw=token.secret, source_ip=None) is None


# --- takeover by renaming ---------------------------------------------------------------------

def test_renaming_onto_another_account_is_a_409_whatever_the_case(secret, admin):
    make_user(email="root@example.com", roles=("agent",))
    _call(secret, "POST", "Users", _user("bob@example.com"))
    response, body = _call(secret, "POST", "Users", _user())
    uid = body["id"]
    before = _state()
    for value in ("BOB@example.com", "Root@Example.COM"):
        response, body = _call(secret, "PATCH", f"Users/{uid}", {
            "schemas": [PATCH_SCHEMA], "Operations": [
                {"op": "replace", "path": "userName", "value": value},
                {"op": "replace", "path": "emails", "value": [{"value": value,
                                                               "primary": True}]}]})
        assert response.status_code == 409, body
    assert _state() == before


# --- ids that are digits only to str.isdigit() ---------------------------------------------

@pytest.mark.parametrize("raw", ["²", "٣", "１", "9" * 40])
def test_an_id_in_non_ascii_digits_is_unknown_never_a_server_error_or_an_alias(secret, raw):
    # "²" passed str.isdigit() and failed int() (a 500); "٣" and "１" were read as user 3 / 1
    response, body = _call(secret, "POST", "Users", _user())
    for method in ("GET", "DELETE"):
        response, body = _call(secret, method, f"Users/{raw}")
        assert response.status_code == 404, body
    before = _state()
    response, body = _call(secret, "PATCH", "Groups/agent", {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": raw}]}]})
    assert response.status_code == 400, body
    assert body["scimType"] == "invalidValue"
    assert _state() == before


# --- every refusal in the audit trail ---------------------------------------------------------

def test_every_refused_request_is_recorded_without_the_secret_or_the_body(secret):
    # before: only refusals inside a service were recorded; a bad body, a control character, a
    # password, a wrong method, a missing or unknown token left no trace
    _call(secret, "POST", "Users", _user())
    uid = User.objects.get(email="ada@example.com").id
    client = Client()
    assert client.get("/scim/v2/Users").status_code == 401
    assert client.get("/scim/v2/Users",
                      HTTP_AUTHORIZATION="Bearer sgt_nothing_here").status_code == 401
    wrong = secret[:-4] + "AAAA"
    assert client.get("/scim/v2/Users", HTTP_AUTHORIZATION=f"Bearer {wrong}").status_code == 401
    refusals = [
        _call(secret, "POST", "Users", raw=b"{not json"),
        _call(secret, "POST", "Users", _user("eve@example.com", displayName="E\x00ve")),
        _call(secret, "POST", "Users",
              _user("eve@example.com", password="Sesame-4111111111111111")),
        _call(secret, "PATCH", "Users", _user()),
        _call(secret, "DELETE", "Groups/agent"),
        _call(secret, "PATCH", f"Users/{uid}", _patch("displayName", PAN)),
    ]
    assert [r.status_code for r, _ in refusals] == [400, 400, 400, 405, 403, 400]
    events = list(Event.objects.filter(action="scim.request_refused").order_by("seq"))
    assert len(events) == 3 + len(refusals)  # each once, none twice
    assert [e.data.get("status") for e in events[:3]] == [401, 401, 401]
    assert {e.outcome for e in events} == {"denied"}
    trail = json.dumps(list(Event.objects.values("data", "actor_label", "actor_id")),
                       default=str)
    for needle in (secret, wrong, secret.split("_")[-1], "Sesame", "4111", "E\\u0000ve"):
        assert needle not in trail

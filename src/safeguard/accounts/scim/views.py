"""The SCIM 2.0 HTTP endpoints at ``/scim/v2/`` (RFC 7644): thin — authenticate the bearer
token, parse with scim2-models, call one SCIM service or selector, render
``application/scim+json``.

Deny by default: only a bearer API token whose effective permissions include
``accounts.scim_provision`` gets in (401 without a usable token, 403 without the scope); a
staff session cookie counts for nothing here. Every error is a SCIM Error (RFC 7644 §3.12)
with its status and, where one applies, its ``scimType``; bad input changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError
from scim2_models import (
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    EnterpriseUser,
    Error,
    ETag,
    Filter,
    ForbiddenException,
    Group,
    InvalidSyntaxException,
    InvalidValueException,
    ListResponse,
    MutabilityException,
    NotFoundException,
    Patch,
    PatchOp,
    PayloadTooLargeException,
    ResourceType,
    ResponseParameters,
    SCIMException,
    ScimFilter,
    SearchRequest,
    ServiceProviderConfig,
    Sort,
    UniquenessException,
)

from safeguard.accounts import services as account_services
from safeguard.accounts.contracts import Principal
from safeguard.accounts.guards import PERMISSION_ATTR
from safeguard.accounts.scim import selectors
from safeguard.accounts.scim import services as scim
from safeguard.accounts.scim.mapping import (
    ENTERPRISE,
    UserModel,
    enterprise_manager,
    group_resource,
    manager_id,
    member_ids,
    user_changes,
    user_resource,
)
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.audit.middleware import client_ip
from safeguard.web.errors import ApplicationError

CONTENT_TYPE = "application/scim+json"
_MANAGER_PATHS = (f"{ENTERPRISE}:manager".lower(), f"{ENTERPRISE}:manager.value".lower())

View = Callable[..., HttpResponse]


def _respond(payload: dict[str, Any] | None, status: int = 200,
             location: str = "") -> HttpResponse:
    body = b"" if payload is None else json.dumps(payload, default=str).encode()
    response = HttpResponse(body, status=status,
                            content_type=CONTENT_TYPE if payload is not None else None)
    if location:
        response["Location"] = location
    return response


def _error(status: int, detail: str, scim_type: str | None = None) -> HttpResponse:
    error = Error(status=status, scim_type=scim_type, detail=detail)
    response = _respond(error.model_dump(), status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="scim"'
    return response


def _from_exception(exc: Exception) -> HttpResponse:
    """Every refusal as a SCIM Error: scim2-models' own, pydantic's (400 with the attribute),
    and the accounts domain errors (their 4xx; a 400 is ``invalidValue``)."""
    if isinstance(exc, SCIMException):
        return _respond(exc.to_error().model_dump(), int(exc.to_error().status or 400))
    if isinstance(exc, ValidationError):
        errors = Error.from_validation_errors(exc)
        first = errors[0] if errors else Error(status=400, detail="Invalid request.")
        return _respond(first.model_dump(), int(first.status or 400))
    if isinstance(exc, ApplicationError):
        scim_type = "invalidValue" if exc.status == 400 else None
        return _error(exc.status, exc.detail, scim_type)
    raise exc


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/scim/v2").rstrip("/")


def _refused(request: HttpRequest, actor: Actor, response: HttpResponse,
             error: str) -> HttpResponse:
    """Record a refused SCIM request (``scim.request_refused``): the method, the resource kind,
    the status and the error's type — never the body, the token or the path's values."""
    parts = request.path.split("/scim/v2/", 1)[-1].split("/")
    audit.record(action="scim.request_refused", actor=actor, outcome="denied",
                 data={"request": f"{request.method} {parts[0][:40]}",
                       "status": response.status_code, "error": error})
    return response


def _principal(request: HttpRequest) -> Principal | HttpResponse:
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return _refused(request, Actor.anonymous(client_ip(request) or ""),
                        _error(401, "A SCIM bearer token is required."), "no bearer token")
    principal = account_services.token_authenticate(raw=raw.strip(),
                                                    source_ip=client_ip(request))
    if principal is None:
        return _refused(request, Actor.anonymous(client_ip(request) or ""),
                        _error(401, "The token is unknown, expired or revoked."),
                        "unknown token")
    if not principal.has(scim.SCOPE):
        audit.record(action="access.denied", actor=principal.actor, outcome="denied",
                     data={"permission": scim.SCOPE, "route": "scim"})
        return _error(403, f"This token does not carry {scim.SCOPE}.")
    return principal


def scim_endpoint(methods: tuple[str, ...]) -> Callable[[View], View]:
    """A SCIM view: bearer token with the SCIM scope (deny by default), the methods it serves,
    and every refusal rendered as a SCIM Error."""

    def decorator(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            principal = _principal(request)
            if isinstance(principal, HttpResponse):
                return principal
            if request.method not in methods:
                response = _error(405, f"{request.method} is not supported here.")
                response["Allow"] = ", ".join(methods)
                return _refused(request, principal.actor, response, "method not allowed")
            try:
                return view(request, principal, *args, **kwargs)
            except (SCIMException, ValidationError, ApplicationError) as exc:
                response = _from_exception(exc)
                if getattr(exc, scim.RECORDED, False):  # the service recorded it already
                    return response
                return _refused(request, principal.actor, response, type(exc).__name__)
            except IntegrityError:
                # a concurrent request took the same userName or e-mail between our check and
                # the insert: the database's unique constraint answers, as a SCIM 409
                return _from_exception(UniquenessException(
                    detail="Another user already has this userName or e-mail."))

        setattr(wrapped, PERMISSION_ATTR, scim.SCOPE)
        return wrapped

    return decorator


def _body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > settings.SAFEGUARD_SCIM_MAX_BODY_BYTES:
        raise PayloadTooLargeException(detail="The request body is too large.")
    try:
        data = json.loads(request.body or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidSyntaxException(detail="The body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise InvalidSyntaxException(detail="The body must be a JSON object.")
    return data


def _params(request: HttpRequest) -> ResponseParameters[Any]:
    return ResponseParameters.model_validate({
        k: request.GET[k] for k in ("attributes", "excludedAttributes") if k in request.GET})


def _dump(resource: Any, request: HttpRequest) -> dict[str, Any]:
    out: dict[str, Any] = resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE,
                                              response_parameters=_params(request))
    return out


def _search(request: HttpRequest, model: type) -> SearchRequest[Any]:
    query = {k: request.GET[k] for k in ("filter", "startIndex", "count") if k in request.GET}
    return SearchRequest[model].model_validate(query)  # type: ignore[valid-type]


def _list(request: HttpRequest, model: type, resources: list[Any]) -> HttpResponse:
    search = _search(request, model)
    if search.filter:
        bound = ScimFilter[model](str(search.filter))  # type: ignore[valid-type]
        resources = [r for r in resources if bound.match(r)]
    start = search.start_index or 1
    count = settings.SAFEGUARD_SCIM_MAX_RESULTS if search.count is None else min(
        search.count, settings.SAFEGUARD_SCIM_MAX_RESULTS)
    page = resources[start - 1:start - 1 + count]
    listing = ListResponse[model](  # type: ignore[valid-type]
        total_results=len(resources), start_index=start, items_per_page=len(page),
        resources=page)
    return _respond(listing.model_dump(scim_ctx=Context.SEARCH_RESPONSE,
                                       response_parameters=_params(request)))


# --- discovery (RFC 7644 §4) ------------------------------------------------------------------

def _config() -> ServiceProviderConfig:
    return ServiceProviderConfig(
        documentation_uri=None,
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=settings.SAFEGUARD_SCIM_MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=False),
        authentication_schemes=[AuthenticationScheme(
            type=AuthenticationScheme.Type.oauthbearertoken, name="OAuth Bearer Token",
            primary=True,
            description="A SCIM token issued by a Safeguard administrator (Staff > SCIM "
                        "provisioning), sent as 'Authorization: Bearer <token>'.")],
    )


@scim_endpoint(("GET",))
def service_provider_config(request: HttpRequest, principal: Principal) -> HttpResponse:
    return _respond(_config().model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


def _schemas() -> list[Any]:
    return [UserModel.to_schema(), Group.to_schema(), EnterpriseUser.to_schema()]


def _resource_types() -> list[ResourceType]:
    return [ResourceType.from_resource(model) for model in (UserModel, Group)]


@scim_endpoint(("GET",))
def schema_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    items = [s.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE) for s in _schemas()]
    return _respond({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                     "totalResults": len(items), "startIndex": 1, "itemsPerPage": len(items),
                     "Resources": items})


@scim_endpoint(("GET",))
def schema_detail(request: HttpRequest, principal: Principal, schema_id: str) -> HttpResponse:
    for schema in _schemas():
        if schema.id == schema_id:
            return _respond(schema.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    return _error(404, f"No schema {schema_id}.")


@scim_endpoint(("GET",))
def resource_type_list(request: HttpRequest, principal: Principal) -> HttpResponse:
    items = [rt.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
             for rt in _resource_types()]
    return _respond({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                     "totalResults": len(items), "startIndex": 1, "itemsPerPage": len(items),
                     "Resources": items})


@scim_endpoint(("GET",))
def resource_type_detail(request: HttpRequest, principal: Principal,
                         type_id: str) -> HttpResponse:
    for rt in _resource_types():
        if rt.id == type_id:
            return _respond(rt.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))
    return _error(404, f"No resource type {type_id}.")


# --- Users ----------------------------------------------------------------------------------

def _user_out(request: HttpRequest, user_id: int) -> Any:
    data = selectors.scim_user_get(user_id=user_id)
    if data is None:
        raise NotFoundException(detail=f"No user {user_id}.")
    return user_resource(data, base_url=_base_url(request))


def _user_id(raw: str) -> int:
    # ASCII digits only: str.isdigit() takes "²" (int() then fails: a 500) and "٣" (an alias)
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise NotFoundException(detail=f"No user {raw}.")
    return int(raw)


def _sent_manager(payload: dict[str, Any]) -> tuple[bool, int | None]:
    """(sent, manager id) from a POST or PUT body's enterprise extension (its URN compared
    case-insensitively, RFC 7643 §3.3): the extension absent leaves the manager as it is; present
    without ``manager`` (or with a null one) clears it; ``manager`` may be ``{"value": id}`` or
    the bare id."""
    extension = next((v for k, v in payload.items() if k.lower() == ENTERPRISE.lower()), None)
    if extension is None:
        return False, None
    if not isinstance(extension, dict):
        raise InvalidValueException(detail=f"{ENTERPRISE} must be an object.")
    return True, manager_id(next((v for k, v in extension.items() if k.lower() == "manager"),
                                 None))


def _validated_user(payload: dict[str, Any], ctx: Context) -> tuple[Any, bool, int | None]:
    """The User a POST or PUT body asks for, and its manager (sent?, id). The extension is read
    here and left out of the model's validation: scim2-models requires ``manager.$ref``, which
    identity providers do not send (Entra ID and Okta send ``value`` only)."""
    sent, manager = _sent_manager(payload)
    payload = {k: v for k, v in payload.items() if k.lower() != ENTERPRISE.lower()}
    if isinstance(payload.get("schemas"), list):
        payload["schemas"] = [s for s in payload["schemas"]
                              if not (isinstance(s, str) and s.lower() == ENTERPRISE.lower())]
    return UserModel.model_validate(payload, scim_ctx=ctx), sent, manager


_MANAGER = f"{ENTERPRISE}:manager"


def _set_manager_op(op: dict[str, Any], raw: Any) -> dict[str, Any]:
    """The standard operation for a manager sent as ``raw`` (an object or a bare id): a
    remove when it names nobody, else an add/replace of ``{"value": id}``."""
    wanted = manager_id(raw)
    if wanted is None:
        return {"op": "remove", "path": _MANAGER}
    return {"op": op.get("op"), "path": _MANAGER, "value": {"value": str(wanted)}}


def _key(mapping: dict[str, Any], name: str) -> str | None:
    """The key of ``mapping`` equal to ``name`` ignoring case (URNs and attribute names)."""
    return next((k for k in mapping if str(k).lower() == name.lower()), None)


def _manager_op(op: Any) -> list[Any]:
    """One PATCH operation in its standard form (see :func:`_manager_operations`)."""
    if not isinstance(op, dict):
        return [op]
    path = str(op.get("path") or "").strip().lower()
    value = op.get("value")
    if path in _MANAGER_PATHS:
        removing = str(op.get("op", "")).lower() == "remove"
        return [{"op": "remove", "path": _MANAGER} if removing else _set_manager_op(op, value)]
    if path or not isinstance(value, dict):
        return [op]
    key = _key(value, _MANAGER)
    if key is not None:  # {"<URN>:manager": "<id>", ...}
        rest = {k: v for k, v in value.items() if k != key}
        return [_set_manager_op(op, value[key]), *([{**op, "value": rest}] if rest else [])]
    ext = _key(value, ENTERPRISE)
    inner = value[ext] if ext is not None else None
    mkey = _key(inner, "manager") if isinstance(inner, dict) else None
    if ext is None or not isinstance(inner, dict) or mkey is None:
        return [op]
    # {"<URN>": {"manager": "<id>" or {...}, ...}}: the manager as its own operation
    rest = {k: v for k, v in inner.items() if k != mkey}
    return [_set_manager_op(op, inner[mkey]), {**op, "value": {**value, ext: rest}}]


def _manager_operations(body: dict[str, Any]) -> dict[str, Any]:
    """Entra ID and Okta set the manager with ``{"op": "Add", "path": "<enterprise URN>:manager",
    "value": "<id>"}`` (a bare id where RFC 7643 has an object) and clear it with an empty or
    null value, or a remove carrying one; a path-less operation may carry ``"<URN>:manager":
    "<id>"`` among its values. Rewrite each into its standard form before validation."""
    operations = body.get("Operations")
    if not isinstance(operations, list):
        return body
    return {**body, "Operations": [new for op in operations for new in _manager_op(op)]}


@scim_endpoint(("GET", "POST"))
def users(request: HttpRequest, principal: Principal) -> HttpResponse:
    if request.method == "POST":
        user, sent, manager = _validated_user(_body(request), Context.RESOURCE_CREATION_REQUEST)
        changes = replace(user_changes(user), manager_sent=sent, manager_id=manager)
        user_id = scim.scim_user_create(actor=principal.actor, changes=changes)
        resource = _user_out(request, user_id)
        return _respond(_dump(resource, request), 201, location=str(resource.meta.location))
    base = _base_url(request)
    resources = [user_resource(d, base_url=base) for d in selectors.scim_user_list()]
    return _list(request, UserModel, resources)


@scim_endpoint(("GET", "PUT", "PATCH", "DELETE"))
def user_detail(request: HttpRequest, principal: Principal, user_id: str) -> HttpResponse:
    uid = _user_id(user_id)
    current = _user_out(request, uid)
    if request.method == "GET":
        return _respond(_dump(current, request))
    if request.method == "DELETE":
        scim.scim_user_delete(actor=principal.actor, user_id=uid)
        return _respond(None, 204)
    if request.method == "PUT":
        wanted, sent, manager = _validated_user(_body(request),
                                                Context.RESOURCE_REPLACEMENT_REQUEST)
        if wanted.id is not None and str(wanted.id) != str(uid):
            raise MutabilityException(detail="id cannot change.")
    else:
        patch = PatchOp[UserModel].model_validate(
            _manager_operations(_body(request)), scim_ctx=Context.RESOURCE_PATCH_REQUEST)
        wanted = current.model_copy(deep=True)
        patch.patch(wanted)
        if str(wanted.id) != str(uid):
            raise MutabilityException(detail="id cannot change.")
        sent, manager = True, enterprise_manager(wanted)
    changes = replace(user_changes(wanted), manager_sent=sent, manager_id=manager)
    scim.scim_user_apply(actor=principal.actor, user_id=uid, changes=changes,
                         what=f"user.{(request.method or '').lower()}")
    return _respond(_dump(_user_out(request, uid), request))


# --- Groups (roles, decision 0126) ------------------------------------------------------------

def _group_out(request: HttpRequest, slug: str) -> Group:
    data = selectors.scim_group_get(slug=slug)
    if data is None:
        raise NotFoundException(detail=f"No group {slug}.")
    return group_resource(data, base_url=_base_url(request))


def _same_role(group: Group, slug: str) -> None:
    name = str(group.display_name or "")
    if selectors.group_for_name(name) != slug:
        raise MutabilityException(
            detail="A group's displayName names its role; roles are renamed in Safeguard.")


@scim_endpoint(("GET", "POST"))
def groups(request: HttpRequest, principal: Principal) -> HttpResponse:
    if request.method == "POST":
        group = Group.model_validate(_body(request), scim_ctx=Context.RESOURCE_CREATION_REQUEST)
        slug = selectors.group_for_name(str(group.display_name or ""))
        if slug is None:
            raise InvalidValueException(
                detail="No Safeguard role matches this group: roles are made in Safeguard; map "
                       "the group to one in SAFEGUARD_SCIM_GROUP_ROLES.")
        if group.members:
            current = {int(m.value) for m in (_group_out(request, slug).members or [])
                       if m.value}
            scim.scim_group_set_members(actor=principal.actor, slug=slug,
                                        members=current | member_ids(group), what="group.create")
        resource = _group_out(request, slug)
        return _respond(_dump(resource, request), 201,
                        location=f"{_base_url(request)}/Groups/{slug}")
    base = _base_url(request)
    resources = [group_resource(d, base_url=base) for d in selectors.scim_group_list()]
    return _list(request, Group, resources)


def _entra_member_removal(body: dict[str, Any]) -> dict[str, Any]:
    """Entra ID removes members as ``{"op": "Remove", "path": "members", "value": [{"value":
    id}]}``, which RFC 7644 §3.5.2.2 has no place for (a remove carries no value): rewrite each
    into the standard ``members[value eq "id"]`` removal before validation."""
    operations = body.get("Operations")
    if not isinstance(operations, list):
        return body
    out: list[Any] = []
    for op in operations:
        if (isinstance(op, dict) and str(op.get("op", "")).lower() == "remove"
                and str(op.get("path", "")).strip().lower() == "members"
                and isinstance(op.get("value"), list)):
            for member in op["value"]:
                value = member.get("value") if isinstance(member, dict) else None
                if not isinstance(value, str | int):
                    raise InvalidValueException(detail="A member to remove needs a value.")
                out.append({"op": "remove",
                            "path": f"members[value eq {ScimFilter.quote(str(value))}]"})
        else:
            out.append(op)
    return {**body, "Operations": out}


@scim_endpoint(("GET", "PUT", "PATCH", "DELETE"))
def group_detail(request: HttpRequest, principal: Principal, group_id: str) -> HttpResponse:
    current = _group_out(request, group_id)
    if request.method == "GET":
        return _respond(_dump(current, request))
    if request.method == "DELETE":
        raise ForbiddenException(detail="Roles are not deleted over SCIM: remove the group's "
                                        "assignment in the identity provider.")
    if request.method == "PUT":
        wanted = Group.model_validate(_body(request),
                                      scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST)
    else:
        patch = PatchOp[Group].model_validate(_entra_member_removal(_body(request)),
                                              scim_ctx=Context.RESOURCE_PATCH_REQUEST)
        wanted = current.model_copy(deep=True)
        patch.patch(wanted)
    _same_role(wanted, group_id)
    scim.scim_group_set_members(actor=principal.actor, slug=group_id,
                                members=member_ids(wanted),
                                what=f"group.{(request.method or '').lower()}")
    return _respond(_dump(_group_out(request, group_id), request))

"""API of the accounts app: the caller's identity and API token management."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from safeguard.accounts import permissions as perm
from safeguard.accounts import rbac, selectors, services
from safeguard.accounts.api_guards import access
from safeguard.accounts.contracts import Principal, TokenStatus, TokenView
from safeguard.web.pagination import MAX_LIMIT

router = Router(tags=["accounts"])


class MeOut(Schema):
    id: int
    email: str
    full_name: str
    roles: list[str]
    permissions: list[str]
    via: str = Field(description="'session' or 'token'")
    mfa: list[str]


class ApiTokenOut(Schema):
    """A personal or service API token (never its secret); not the card vault's tokens."""

    id: int
    name: str
    prefix: str
    user_email: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    status: TokenStatus = Field(
        description="suspended: a personal token whose person has no second factor; refused "
                    "at every use until one is enrolled again")


class ApiTokenIn(Schema):
    user_id: int
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1)
    expires_in_days: int = Field(ge=1, le=3650)


class ApiTokenIssuedOut(Schema):
    token: ApiTokenOut
    secret: str = Field(description="Shown once; only a hash is stored.")


class ApiTokenPage(Schema):
    items: list[ApiTokenOut]
    next_cursor: str | None


class PermissionOut(Schema):
    codename: str
    label: str
    read_only: bool
    roles: list[str]


def _token_out(t: TokenView) -> ApiTokenOut:
    return ApiTokenOut(id=t.id, name=t.name, prefix=t.prefix, user_email=t.user_email,
                    scopes=list(t.scopes), created_at=t.created_at, expires_at=t.expires_at,
                    last_used_at=t.last_used_at, revoked_at=t.revoked_at, status=t.status)


@router.get("/me", response=MeOut, auth=access(rbac.AUTHENTICATED), summary="Who am I")
def me(request: HttpRequest) -> MeOut:
    principal: Principal = request.auth  # type: ignore[attr-defined]
    user = selectors.user_get(user_id=principal.user_id)
    return MeOut(id=user.id, email=user.email, full_name=user.full_name, roles=list(user.roles),
                 permissions=sorted(principal.permissions), via=principal.via,
                 mfa=list(user.mfa_types))


@router.get("/permissions", response=list[PermissionOut], auth=access(perm.USERS_VIEW))
def permission_list(request: HttpRequest) -> list[PermissionOut]:
    return [PermissionOut(codename=p.codename, label=p.label, read_only=p.read_only,
                          roles=sorted(p.roles)) for p in rbac.all_permissions()]


@router.get("/tokens", response=ApiTokenPage, auth=access(perm.TOKENS_MANAGE))
def token_list(request: HttpRequest, cursor: str | None = None,
               limit: int = Query(50, ge=1, le=MAX_LIMIT)) -> ApiTokenPage:
    """API tokens (never their secrets), by id, cursor-paginated."""
    page = selectors.token_page(cursor=cursor, limit=limit)
    return ApiTokenPage(items=[_token_out(t) for t in page.items], next_cursor=page.next_cursor)


@router.post("/tokens", response={201: ApiTokenIssuedOut},
             auth=access(perm.TOKENS_MANAGE, people_only=True, step_up=True))
def token_create(request: HttpRequest, body: ApiTokenIn) -> Status:
    principal: Principal = request.auth  # type: ignore[attr-defined]
    issued = services.token_issue(actor=principal.actor, user_id=body.user_id, name=body.name,
                                  scopes=body.scopes, expires_in_days=body.expires_in_days,
                                  caller_permissions=principal.permissions)
    return Status(201, ApiTokenIssuedOut(token=_token_out(issued.token), secret=issued.secret))


@router.delete("/tokens/{token_id}", response={204: None},
               auth=access(perm.TOKENS_MANAGE, people_only=True, step_up=True))
def token_revoke(request: HttpRequest, token_id: int) -> Status:
    principal: Principal = request.auth  # type: ignore[attr-defined]
    services.token_revoke(actor=principal.actor, token_id=token_id, reason="revoked via API")
    return Status(204, None)

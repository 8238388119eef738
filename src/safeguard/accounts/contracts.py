"""Public contracts of the accounts app: frozen views and domain errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from safeguard.audit.contracts import Actor
from safeguard.web.errors import ApplicationError, Conflict, NotFound, PermissionDenied


@dataclass(frozen=True)
class Principal:
    """Who is calling, how, and what they may do (token scopes already intersected)."""

    user_id: int
    email: str
    permissions: frozenset[str]
    via: str  # "session" or "token"
    token_id: int | None = None

    def has(self, codename: str) -> bool:
        return codename in self.permissions

    @property
    def actor(self) -> Actor:
        if self.via == "token":
            return Actor(kind="token", id=str(self.token_id), label=self.email)
        return Actor(kind="user", id=str(self.user_id), label=self.email)


@dataclass(frozen=True)
class UserView:
    id: int
    email: str
    full_name: str
    is_active: bool
    is_service_account: bool
    roles: tuple[str, ...]
    mfa_types: tuple[str, ...]
    date_joined: datetime
    disabled_at: datetime | None
    last_login: datetime | None
    manager_id: int | None = None
    manager_email: str = ""


@dataclass(frozen=True)
class RoleView:
    id: int
    slug: str
    name: str
    description: str
    is_builtin: bool
    permissions: frozenset[str]
    holders: int


TokenStatus = Literal["active", "expired", "revoked", "suspended"]


@dataclass(frozen=True)
class TokenView:
    id: int
    name: str
    prefix: str
    user_email: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    # A personal token whose person has no usable second factor: refused at every use until
    # one is enrolled again (issue 9 item 5).
    suspended: bool = False

    @property
    def status(self) -> TokenStatus:
        """revoked, expired, suspended (its person lacks a second factor) or active."""
        from django.utils import timezone

        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        if self.suspended:
            return "suspended"
        return "active"


@dataclass(frozen=True)
class IssuedToken:
    """A fresh token: ``secret`` is the only time the full token exists outside its client."""

    token: TokenView
    secret: str


@dataclass(frozen=True)
class GrantRequestView:
    """A pending or decided four-eyes grant (R-OPS-8)."""

    id: int
    user_id: int
    user_email: str
    role_slug: str
    role_name: str
    sensitive: tuple[str, ...]
    requested_by: str
    requested_by_id: int | None
    requested_at: datetime
    reason: str
    expires_at: datetime
    status: str
    decided_by: str
    decided_at: datetime | None


@dataclass(frozen=True)
class OrganisationView:
    name: str
    dpo_name: str
    dpo_email: str
    security_hotline: str
    security_email: str


class AccountError(ApplicationError):
    code = "account-error"


class UserNotFound(NotFound):
    code = "user-not-found"


class RoleNotFound(NotFound):
    code = "role-not-found"


class TokenNotFound(NotFound):
    code = "token-not-found"


class UnknownPermission(AccountError):
    code = "unknown-permission"
    title = "Unknown permission"


class ScopeNotHeld(PermissionDenied):
    code = "scope-not-held"
    title = "A token cannot carry a permission its user does not hold"


class BuiltinRoleReadOnly(Conflict):
    code = "builtin-role"
    title = "Built-in roles are defined in code"


class LastAdministrator(Conflict):
    code = "last-administrator"
    title = "The last active administrator cannot be removed"


class SelfAction(Conflict):
    code = "self-action"
    title = "You cannot do this to your own account"


class InvalidManager(AccountError):
    """A manager that cannot be: the user themselves, someone who (directly or through others)
    reports to the user (a cycle), an unknown user or a service account."""

    code = "invalid-manager"
    title = "This person cannot be the user's manager"


class SelfGrant(PermissionDenied):
    code = "self-grant"
    title = "Nobody grants a role to themselves"


class DutiesConflict(Conflict):
    code = "separation-of-duties"
    title = "These permissions must not be held by one person"


class SecondApproverRequired(Conflict):
    code = "four-eyes-required"
    title = "A sensitive permission needs a second administrator's approval"


class GrantRequestNotFound(NotFound):
    code = "grant-request-not-found"


class GrantRequestClosed(Conflict):
    code = "grant-request-closed"
    title = "This grant request is no longer pending"


class GrantStepUpRequired(PermissionDenied):
    code = "step-up-required"
    title = "A fresh second factor is needed"


@dataclass(frozen=True)
class NotificationView:
    """One notification as its recipient sees it (no customer value in clear)."""

    id: int
    kind: str
    kind_label: str
    title: str
    url: str
    created_at: datetime
    read_at: datetime | None

    @property
    def unread(self) -> bool:
        return self.read_at is None


class NotificationNotFound(NotFound):
    """No such notification for this user."""


class NotificationInvalid(AccountError):
    """A notification that cannot be recorded (unknown kind, empty title, outside link)."""


@dataclass(frozen=True)
class SessionView:
    """One signed-in session of a user as administrators see it (issue 15, item 9): the listing
    id (never the session key), device, address and times."""

    id: int
    user_agent: str
    ip: str
    created_at: datetime
    last_seen_at: datetime

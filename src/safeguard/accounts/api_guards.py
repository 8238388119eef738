"""API authorization: every ninja operation declares its permission through ``auth=access(...)``.

A caller is either a bearer API token (scopes ∩ the user's permissions) or a signed-in staff
session that passed MFA (CSRF-checked on unsafe methods). Unknown callers get 401, known callers
without the permission 403 — both as RFC 9457 problems. Public to every app above ``accounts``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.security.base import AuthBase
from ninja.utils import check_csrf

from safeguard.accounts import rbac, selectors, services
from safeguard.accounts.contracts import Principal
from safeguard.accounts.enums import MFAState
from safeguard.audit import services as audit
from safeguard.audit.middleware import client_ip
from safeguard.web.errors import PermissionDenied


class MFARequiredError(PermissionDenied):
    code = "mfa-required"
    title = "MFA required"


class StepUpRequired(PermissionDenied):
    """A sensitive operation by a session whose second factor is older than the window."""

    code = "step-up-required"
    title = "Step-up authentication required"


class Access(AuthBase):
    """Authenticate a token or an MFA-passed session, then demand ``permission``."""

    openapi_type = "http"
    openapi_scheme = "bearer"

    def __init__(self, permission: str, *, people_only: bool = False,
                 step_up: bool = False, step_up_in_service: bool = False) -> None:
        if permission == rbac.PUBLIC:
            raise ValueError("public operations use auth=None through access_public()")
        self.permission = permission
        self.people_only = people_only  # refuse API tokens: a signed-in person must act
        self.step_up = step_up  # a session must have passed its factor within the window
        # The operation's service demands the fresh factor itself (and audits the refusal):
        # nothing is checked here, but the OpenAPI document states it like ``step_up``.
        self.step_up_in_service = step_up_in_service
        super().__init__()

    @property
    def needs_step_up(self) -> bool:
        """Whether a session needs a fresh second factor, checked here or by the service."""
        return self.step_up or self.step_up_in_service

    def __call__(self, request: HttpRequest) -> Principal | None:
        principal = authenticate(request)
        if principal is None:
            return None
        if self.permission != rbac.AUTHENTICATED and not principal.has(self.permission):
            from safeguard.accounts.guards import route_name

            audit.record(action="access.denied", actor=principal.actor, outcome="denied",
                         data={"permission": self.permission, "route": route_name(request)})
            raise PermissionDenied(f"This operation needs the permission {self.permission}.")
        if self.people_only and principal.via != "session":
            raise PermissionDenied("This operation is for a signed-in person, not an API token.")
        if self.step_up and principal.via == "session":
            from safeguard.accounts.guards import has_recent_mfa, reauthenticate_url

            if not has_recent_mfa(request):
                raise StepUpRequired("Confirm your second factor again, then retry.",
                                     reauthenticate=reauthenticate_url(request))
        return principal


def authenticate(request: HttpRequest) -> Principal | None:
    """The principal behind a request: bearer token first, else the session; None if neither."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            return None
        return services.token_authenticate(raw=raw.strip(), source_ip=client_ip(request))
    user = request.user
    if not user.is_authenticated:
        return None
    state = getattr(request, "mfa_state", None) or selectors.mfa_state(
        user_id=user.pk, require_webauthn_for_admins=settings.SAFEGUARD_REQUIRE_WEBAUTHN_FOR_ADMINS)
    if state != MFAState.OK:
        raise MFARequiredError("Enrol a second factor before using the API.")
    from safeguard.accounts.guards import session_passed_required_factor

    if not session_passed_required_factor(request):
        raise MFARequiredError("This session has not passed the second factor its user must use.")
    if request.method not in ("GET", "HEAD", "OPTIONS", "TRACE"):
        error = check_csrf(request)
        if error:
            raise PermissionDenied("CSRF check failed: send the X-CSRFToken header.")
    from safeguard.accounts.guards import request_permissions

    return Principal(user_id=user.pk, email=user.email,
                     permissions=request_permissions(request), via="session")


def access(permission: str, *, people_only: bool = False, step_up: bool = False,
           step_up_in_service: bool = False) -> Access:
    """``auth=access("cases.view")`` on a ninja operation: its declared permission; sensitive
    writes add ``step_up=True`` (sessions re-prove their factor) and ``people_only=True``;
    ``step_up_in_service=True`` declares a fresh-factor rule its service enforces and audits."""
    return Access(permission, people_only=people_only, step_up=step_up,
                  step_up_in_service=step_up_in_service)


PUBLIC_OPERATIONS_ATTR = "safeguard_public"


def public_operation(func: Any) -> Any:
    """Mark a ninja view function as deliberately public (``auth=None``)."""
    setattr(func, PUBLIC_OPERATIONS_ATTR, True)
    return func

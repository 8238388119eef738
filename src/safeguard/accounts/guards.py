"""Entry-point guards: every view declares a permission (deny by default) and sensitive actions
demand a fresh second factor (step-up, R-WORK-4).

Public to every app above ``accounts``. Usage::

    @permission_required("cases.view")
    def case_detail(request, case_id): ...

    @permission_required("customers.reveal")
    @step_up_required
    def customer_reveal(request, customer_id): ...

The decorators stamp ``safeguard_permission`` on the view; the deny-by-default test walks the URL
conf and fails on any route without it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from allauth.account.authentication import get_authentication_records
from allauth.account.internal.flows.reauthentication import suspend_request
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from safeguard.accounts import rbac, selectors
from safeguard.accounts.contracts import Principal
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor

View = TypeVar("View", bound=Callable[..., Any])
PERMISSION_ATTR = "safeguard_permission"


def request_permissions(request: HttpRequest) -> frozenset[str]:
    """The signed-in user's effective permissions, computed once per request."""
    cached: frozenset[str] | None = getattr(request, "_safeguard_perms", None)
    if cached is None:
        user = request.user
        cached = (selectors.user_permissions(user_id=user.pk)
                  if user.is_authenticated else frozenset())
        request._safeguard_perms = cached  # type: ignore[attr-defined]
    return cached


def route_name(request: HttpRequest) -> str:
    """The named route of a request — recorded instead of its path, which may carry anything a
    caller typed (an id, a search term, a card number)."""
    match = getattr(request, "resolver_match", None)
    return match.view_name if match is not None else ""


def request_actor(request: HttpRequest) -> Actor:
    """The audit actor for a page request."""
    user = request.user
    if user.is_authenticated:
        return Actor(kind="user", id=str(user.pk), label=user.email)
    return Actor.anonymous()


def request_principal(request: HttpRequest) -> Principal:
    """The signed-in user of a page request as a Principal (what selectors scope by)."""
    user = request.user
    if not user.is_authenticated:
        raise PermissionDenied("Sign in first.")
    return Principal(user_id=user.pk, email=user.email,
                     permissions=request_permissions(request), via="session")


def declared_permission(view: Callable[..., Any]) -> str | None:
    """The permission a view declares, or None when it declares nothing (a bug)."""
    return getattr(view, PERMISSION_ATTR, None) or getattr(
        getattr(view, "view_class", None), PERMISSION_ATTR, None
    )


def permission_required(codename: str) -> Callable[[View], View]:
    """Let the view run only for a signed-in user holding ``codename`` (or a marker)."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not rbac.is_known(codename):
                raise ImproperlyConfigured(f"{view.__qualname__} declares unknown {codename!r}")
            if codename == rbac.PUBLIC:
                return view(request, *args, **kwargs)
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if codename != rbac.AUTHENTICATED and codename not in request_permissions(request):
                audit.record(action="access.denied", actor=request_actor(request),
                             outcome="denied", data={"permission": codename,
                                                     "route": route_name(request)})
                raise PermissionDenied(f"This page needs the permission {codename}.")
            return view(request, *args, **kwargs)

        setattr(wrapped, PERMISSION_ATTR, codename)
        return wrapped  # type: ignore[return-value]

    return decorator


def public(view: View) -> View:
    """Declare a view open to anyone (login, health probes)."""
    return permission_required(rbac.PUBLIC)(view)


def authenticated(view: View) -> View:
    """Declare a view open to any signed-in staff user who passed MFA (own profile, dashboard)."""
    return permission_required(rbac.AUTHENTICATED)(view)


def webauthn_only(request: HttpRequest) -> bool:
    """Must this session's second factor be a security key? Administrators, when
    SAFEGUARD_REQUIRE_WEBAUTHN_FOR_ADMINS is on (R-OPS-1: phishing-resistant for privilege)."""
    cached: bool | None = getattr(request, "_safeguard_webauthn_only", None)
    if cached is None:
        cached = bool(settings.SAFEGUARD_REQUIRE_WEBAUTHN_FOR_ADMINS
                      and request.user.is_authenticated
                      and selectors.is_administrator(user_id=request.user.pk))
        request._safeguard_webauthn_only = cached  # type: ignore[attr-defined]
    return cached


def _mfa_records(request: HttpRequest, *, any_factor: bool = False) -> list[dict[str, Any]]:
    """The session's passed second factors, restricted to security keys where required."""
    records = [r for r in get_authentication_records(request, request.user)
               if r.get("method") == "mfa"]
    if webauthn_only(request) and not any_factor:
        records = [r for r in records if r.get("type") == "webauthn"]
    return records


def session_passed_required_factor(request: HttpRequest) -> bool:
    """Did this session pass the kind of second factor its user must use (any, or a key)?"""
    return bool(_mfa_records(request))


def has_recent_mfa(request: HttpRequest, minutes: int | None = None, *,
                   any_factor: bool = False) -> bool:
    """Did this session pass a second factor within the step-up window (default 5 min)?

    For administrators under the WebAuthn rule only a security key counts (unless
    ``any_factor``: an administrator enrolling a first key proves the session with a code).
    """
    window = 60 * (minutes if minutes is not None else settings.SAFEGUARD_STEP_UP_MINUTES)
    now = time.time()
    return any(now - float(r.get("at", 0)) < window
               for r in _mfa_records(request, any_factor=any_factor))


def reauthenticate_url(request: HttpRequest) -> str:
    """Where to ask for the second factor again: the security-key prompt where only a key
    counts, else allauth's code prompt (which also offers a key)."""
    return reverse("mfa_reauthenticate_webauthn" if webauthn_only(request)
                   else "mfa_reauthenticate")


def step_up_required(view: View) -> View:
    """Ask for the second factor again unless passed within the window, then resume the action.

    A POST is stashed by allauth and replayed after the re-prompt, so the user lands back on the
    action they asked for (R-WORK-4).
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and not has_recent_mfa(request):
            return suspend_request(request, reauthenticate_url(request))
        return view(request, *args, **kwargs)

    wrapped.safeguard_step_up = True  # type: ignore[attr-defined]
    return wrapped  # type: ignore[return-value]

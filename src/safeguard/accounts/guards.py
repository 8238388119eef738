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

import json
import logging
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from allauth.account.authentication import get_authentication_records
from allauth.account.internal.flows.reauthentication import STATE_SESSION_KEY, suspend_request
from allauth.account.utils import get_next_redirect_url
from allauth.core.internal.urlkit import script_aware_resolve
from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.urls import reverse

from safeguard.accounts import rbac, selectors
from safeguard.accounts.contracts import Principal
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.protection import services as protection
from safeguard.protection.contracts import KeysError

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


STEP_UP_ACTION_KEY = "safeguard_step_up_action"  # what the re-prompt confirms (issue 15)
STEP_UP_ACTION_AT_KEY = "safeguard_step_up_action_at"


def step_up_required(view: View | None = None, *, action: str = "") -> Any:
    """Ask for the second factor again unless passed within the window, then resume the action.

    A POST is stashed and replayed after the re-prompt, so the user lands back on the action they
    asked for (R-WORK-4); the stash is sealed before the session is saved
    (:func:`seal_suspended_request`), so no form field reaches the session store in clear.
    ``action`` (``@step_up_required(action="Grant a role")``) is what the re-prompt page says it
    confirms; it is a fixed phrase of the view, never anything the user typed.
    """
    if view is None:
        return lambda v: step_up_required(v, action=action)
    label = action or "the action you asked for"

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and not has_recent_mfa(request):
            request.session[STEP_UP_ACTION_KEY] = label
            request.session[STEP_UP_ACTION_AT_KEY] = time.time()
            return suspend_request(request, reauthenticate_url(request))
        if STEP_UP_ACTION_KEY in request.session:
            del request.session[STEP_UP_ACTION_KEY]
            request.session.pop(STEP_UP_ACTION_AT_KEY, None)
        return view(request, *args, **kwargs)

    wrapped.safeguard_step_up = True  # type: ignore[attr-defined]
    wrapped.safeguard_step_up_action = label  # type: ignore[attr-defined]
    return wrapped


def step_up_action_pending(request: HttpRequest) -> str:
    """The action a step-up re-prompt of this session confirms, if one was asked within the
    step-up window (an abandoned one is not shown on a later, unrelated re-authentication)."""
    session = getattr(request, "session", None)
    if session is None or STEP_UP_ACTION_KEY not in session:
        return ""
    age = time.time() - float(session.get(STEP_UP_ACTION_AT_KEY, 0))
    if age > 60 * settings.SAFEGUARD_STEP_UP_MINUTES:
        return ""
    return str(session[STEP_UP_ACTION_KEY])


# --- the form held across step-up (issue 8 item 5, R-OPS-2, R-DATA-2) -----------------------------
#
# allauth keeps a POST interrupted by re-authentication in the session as JSON — path, GET, POST
# and every string of request.META — signed but not encrypted, so a card number typed into a
# reveal reason would sit in django_session. StepUpStashMiddleware calls seal_suspended_request
# on the way out of every request, before the session is saved: the stash is replaced by one
# holding only path, method, query and form fields (card numbers masked, CSRF token dropped),
# encrypted under the keyring's data keyset and bound to the user. allauth's resume step calls
# resume_sealed_request back (its "callback" form of the stash). When the keys are unavailable
# nothing is kept and the user submits the form again after step-up.

_STASH_CALLBACK = "safeguard.accounts.guards.resume_sealed_request"
_STASH_FIELDS = ("path", "path_info", "method")

logger = logging.getLogger(__name__)


def _stash_context(user_id: object) -> str:
    return f"accounts.step-up-stash:user:{user_id}"


def _masked_query(encoded: str, *, drop: frozenset[str] = frozenset()) -> str:
    """A query string with card numbers masked in every key and value (the scanner's mask)."""
    out = QueryDict(mutable=True)
    for key, values in QueryDict(encoded).lists():
        if key not in drop:
            out.setlist(protection.mask_pans(key), [protection.mask_pans(v) for v in values])
    return out.urlencode()


def seal_suspended_request(request: HttpRequest) -> None:
    """Replace a plaintext stash of a suspended POST in the session by a sealed, screened one
    (or by nothing when it cannot be sealed); a no-op when there is none."""
    session = getattr(request, "session", None)
    if session is None:
        return
    state = session.get(STATE_SESSION_KEY)
    if not isinstance(state, dict) or "request" not in state:
        return
    del session[STATE_SESSION_KEY]  # whatever follows, the plaintext is never saved
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return
    try:
        data = json.loads(state["request"])
        payload = {k: str(data[k]) for k in _STASH_FIELDS} | {
            "GET": _masked_query(str(data["GET"])),
            "POST": _masked_query(str(data["POST"]), drop=frozenset({"csrfmiddlewaretoken"})),
        }
        sealed = protection.stash_seal(json.dumps(payload).encode(),
                                       context=_stash_context(user.pk))
    except (KeysError, KeyError, TypeError, ValueError) as exc:
        logger.warning("step-up: form not kept across re-authentication (%s)",
                       type(exc).__name__)
        return
    session[STATE_SESSION_KEY] = {"callback": _STASH_CALLBACK, "state": {"sealed": sealed}}


def resume_sealed_request(request: HttpRequest, state: dict[str, Any]) -> HttpResponse | None:
    """allauth's resume callback: replay the sealed POST when ``next`` names its path (as allauth
    does with its own stash), else go to ``next``; None (allauth's default) without ``next``."""
    url = get_next_redirect_url(request, REDIRECT_FIELD_NAME)
    if not url:
        return None
    raw = protection.stash_open(str(state.get("sealed", "")),
                                context=_stash_context(request.user.pk))
    if raw is None:
        return HttpResponseRedirect(url)
    data = json.loads(raw)
    if data["path"] != url:
        return HttpResponseRedirect(url)
    meta = dict(request.META)
    meta.update(QUERY_STRING=data["GET"], REQUEST_METHOD=data["method"],
                PATH_INFO=data["path_info"])
    request.META = meta
    request.GET = QueryDict(data["GET"])
    request.POST = QueryDict(data["POST"])
    request.path = data["path"]
    request.path_info = data["path_info"]
    request.method = data["method"]
    resolved = script_aware_resolve(request.path)
    response: HttpResponse = resolved.func(request, *resolved.args, **resolved.kwargs)
    return response

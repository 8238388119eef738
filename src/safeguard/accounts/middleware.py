"""Session gates allauth has no switch for: idle timeout and the MFA enrolment gate (R-OPS-1)."""

from __future__ import annotations

import time
from collections.abc import Callable

from allauth.account.internal.flows.reauthentication import suspend_request
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import Resolver404, resolve, reverse

from safeguard.accounts import selectors, services
from safeguard.accounts.enums import MFAState
from safeguard.accounts.guards import (
    has_recent_mfa,
    reauthenticate_url,
    seal_suspended_request,
    session_passed_required_factor,
)
from safeguard.web.problem import problem_response

_LAST_SEEN = "safeguard_last_seen"
_STARTED = "safeguard_session_started"

# What a user without a second factor may reach: enrolment, sign-out, and the probes.
ENROLMENT_URLS = frozenset({
    "account_logout", "account_reauthenticate", "mfa_reauthenticate", "mfa_index",
    "mfa_activate_totp", "mfa_add_webauthn", "mfa_view_recovery_codes",
    "mfa_generate_recovery_codes", "mfa_download_recovery_codes", "accounts:mfa_required",
    "ops:healthz", "ops:readyz",
})
WEBAUTHN_ENROLMENT_URLS = frozenset({
    "account_logout", "account_reauthenticate", "mfa_reauthenticate",
    "mfa_reauthenticate_webauthn", "mfa_index", "mfa_view_recovery_codes",
    "mfa_download_recovery_codes",
    "mfa_add_webauthn", "mfa_list_webauthn", "accounts:mfa_required", "ops:healthz",
    "ops:readyz",
})
# What a session that has not passed its user's required factor may reach: the re-prompt.
CONFIRM_URLS = frozenset({
    "account_logout", "mfa_reauthenticate", "mfa_reauthenticate_webauthn",
    "accounts:mfa_required", "ops:healthz", "ops:readyz",
})
# Changing second factors needs a fresh second factor once the user has one: a stolen session
# plus the password must never plant a factor of the thief's.
FACTOR_CHANGE_URLS = frozenset({
    "mfa_activate_totp", "mfa_deactivate_totp", "mfa_add_webauthn", "mfa_remove_webauthn",
    "mfa_edit_webauthn", "mfa_generate_recovery_codes", "mfa_view_recovery_codes",
    "mfa_download_recovery_codes",
})


def _url_name(request: HttpRequest) -> str:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return ""
    return match.view_name


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


# Automatic requests (polling, timed refreshes) send this header; they are not activity.
PASSIVE_HEADER = "X-Safeguard-Passive"


class IdleTimeoutMiddleware:
    """Sign a staff session out after N idle minutes (default 15) and after an absolute
    lifetime (SAFEGUARD_SESSION_MAX_HOURS, default 12), however busy it is. Polling and timed
    refreshes (marked with the X-Safeguard-Passive header) do not count as activity, so an
    unattended console still idles out. Activity is stored at most once a minute
    (SAFEGUARD_SESSION_ACTIVITY_WRITE_SECONDS), together with the session list's "last seen"."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            session = request.session
            started = float(session.setdefault(_STARTED, now))
            last = session.get(_LAST_SEEN)
            idle = settings.SAFEGUARD_SESSION_IDLE_MINUTES * 60
            if now - started > settings.SESSION_COOKIE_AGE:
                return self._expire(request, "Your session reached its maximum length.")
            if last is not None and now - float(last) > idle:
                return self._expire(request, "You were signed out after "
                                    f"{settings.SAFEGUARD_SESSION_IDLE_MINUTES} minutes of "
                                    "inactivity.")
            active = request.headers.get(PASSIVE_HEADER) != "1"
            # Activity is written at most once per SAFEGUARD_SESSION_ACTIVITY_WRITE_SECONDS, not
            # on every request (each write is a session UPDATE and a commit, issue 10): the idle
            # clock can then start up to that much early, never late.
            if last is None or (active and now - float(last)
                                >= settings.SAFEGUARD_SESSION_ACTIVITY_WRITE_SECONDS):
                session[_LAST_SEEN] = now
                services.session_activity_record(request=request)
        return self.get_response(request)

    @staticmethod
    def _expire(request: HttpRequest, why: str) -> HttpResponse:
        logout(request)
        if _is_api(request):
            return problem_response(request, status=401, code="session-expired",
                                    title="Session expired", detail=why)
        messages.info(request, why)
        return redirect_to_login(request.get_full_path())


class MFARequiredMiddleware:
    """A signed-in staff user without a second factor reaches nothing but MFA enrolment.

    With SAFEGUARD_REQUIRE_WEBAUTHN_FOR_ADMINS on, an administrator without a security key reaches
    nothing but WebAuthn enrolment.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            refusal = self._gate(request)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    def _gate(self, request: HttpRequest) -> HttpResponse | None:
        state = selectors.mfa_state(
            user_id=request.user.pk,  # type: ignore[arg-type]  # signed in: the key is set
            require_webauthn_for_admins=settings.SAFEGUARD_REQUIRE_WEBAUTHN_FOR_ADMINS,
        )
        request.mfa_state = state  # type: ignore[attr-defined]
        name = _url_name(request)
        if state != MFAState.OK:
            allowed = ENROLMENT_URLS if state == MFAState.MISSING else WEBAUTHN_ENROLMENT_URLS
            if name not in allowed:
                if _is_api(request):
                    return problem_response(
                        request, status=403, code="mfa-required", title="MFA required",
                        detail="Enrol a second factor before using the API.")
                return HttpResponseRedirect(reverse("accounts:mfa_required"))
        elif not session_passed_required_factor(request) and name not in CONFIRM_URLS:
            # This session never passed the factor its user must use: it was opened before the
            # user enrolled (elsewhere), or it is an administrator's opened with a code. A
            # phishable or missing factor never opens a session.
            if _is_api(request):
                return problem_response(
                    request, status=403, code="mfa-required", title="MFA required",
                    detail="Confirm this session with your second factor first.")
            return suspend_request(request, reauthenticate_url(request))
        if name in FACTOR_CHANGE_URLS and state != MFAState.MISSING:
            # An administrator adding a first key proves the session with the code it has.
            fresh = (has_recent_mfa(request, any_factor=True)
                     if state == MFAState.WEBAUTHN_REQUIRED else has_recent_mfa(request))
            if not fresh:
                target = ("mfa_reauthenticate" if state == MFAState.WEBAUTHN_REQUIRED
                          else None)
                return suspend_request(
                    request, reverse(target) if target else reauthenticate_url(request))
        return None


class StepUpStashMiddleware:
    """Seal the form a re-authentication interrupted before the session is saved: allauth (and
    our step-up guards, which use its flow) keep it in the session in clear otherwise. Listed
    after AuthenticationMiddleware, so every stash made further in is sealed on the way out."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        seal_suspended_request(request)
        return response

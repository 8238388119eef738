"""Root URL conf. Every route declares a permission (deny by default, R-OPS-8).

allauth's views are third-party; :func:`declare` stamps each with the policy below, and any
allauth route missing from the table is left out, so a new allauth release cannot silently add
an open route. A few are served by a view of ours under the same name (``ALLAUTH_VIEWS``).
"""

from __future__ import annotations

from typing import Any

from allauth.account import urls as account_urls
from allauth.mfa import urls as mfa_urls
from allauth.usersessions import urls as usersessions_urls
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, include, path
from django.views.defaults import page_not_found

from safeguard.accounts import rbac
from safeguard.accounts.guards import permission_required
from safeguard.accounts.urls import ALLAUTH_VIEWS
from safeguard.api import api
from safeguard.web.problem import problem_response

# allauth route name -> the policy it runs under. Sign-up and e-mail management are not mounted:
# staff are created by administrators (R-WORK-3).
ALLAUTH_POLICY: dict[str, str] = {
    "account_login": rbac.PUBLIC,
    "account_logout": rbac.PUBLIC,
    "account_inactive": rbac.PUBLIC,
    "account_reauthenticate": rbac.AUTHENTICATED,
    "account_change_password": rbac.AUTHENTICATED,
    "account_reset_password": rbac.PUBLIC,
    "account_reset_password_done": rbac.PUBLIC,
    "account_reset_password_from_key": rbac.PUBLIC,
    "account_reset_password_from_key_done": rbac.PUBLIC,
    "mfa_index": rbac.AUTHENTICATED,
    "mfa_authenticate": rbac.PUBLIC,  # the second step of sign-in: no session user yet
    "mfa_reauthenticate": rbac.AUTHENTICATED,
    "mfa_reauthenticate_webauthn": rbac.AUTHENTICATED,
    "mfa_activate_totp": rbac.AUTHENTICATED,
    "mfa_deactivate_totp": rbac.AUTHENTICATED,
    "mfa_view_recovery_codes": rbac.AUTHENTICATED,
    "mfa_generate_recovery_codes": rbac.AUTHENTICATED,
    "mfa_download_recovery_codes": rbac.AUTHENTICATED,
    "mfa_add_webauthn": rbac.AUTHENTICATED,
    "mfa_list_webauthn": rbac.AUTHENTICATED,
    "mfa_remove_webauthn": rbac.AUTHENTICATED,
    "mfa_edit_webauthn": rbac.AUTHENTICATED,
    "mfa_trust": rbac.PUBLIC,  # part of the sign-in flow
    "usersessions_list": rbac.AUTHENTICATED,
}


def declare(patterns: list[Any]) -> list[Any]:
    """Wrap allauth's routes with their declared policy; drop any route without one."""
    out: list[Any] = []
    for p in patterns:
        if isinstance(p, URLResolver):
            out.append(URLResolver(p.pattern, declare(p.url_patterns), p.default_kwargs,
                                   p.app_name, p.namespace))
        elif isinstance(p, URLPattern) and p.name in ALLAUTH_POLICY:
            view = ALLAUTH_VIEWS.get(p.name, p.callback)
            out.append(URLPattern(p.pattern, permission_required(ALLAUTH_POLICY[p.name])(
                view), p.default_args, p.name))
    return out


# ninja's own views: the schema is public (it describes, it grants nothing); the interactive docs
# are for signed-in staff. Operation views are checked per operation (auth=access(...)).
API_POLICY: dict[str, str] = {
    "openapi-json": rbac.PUBLIC,
    "openapi-view": rbac.AUTHENTICATED,
    "api-root": rbac.AUTHENTICATED,
}


def _api_urls() -> tuple[list[Any], str, str]:
    patterns, app_name, namespace = api.urls
    wrapped = [
        URLPattern(p.pattern, permission_required(API_POLICY[p.name])(p.callback),
                   p.default_args, p.name)
        if isinstance(p, URLPattern) and p.name in API_POLICY else p
        for p in patterns
    ]
    return wrapped, app_name, namespace


urlpatterns = [
    path("", include("safeguard.ops.urls")),
    path("account/", include(declare(account_urls.urlpatterns))),
    path("account/mfa/", include(declare(mfa_urls.urlpatterns))),
    path("account/sessions/", include(declare(usersessions_urls.urlpatterns))),
    path("staff/", include("safeguard.accounts.urls")),
    path("audit/", include("safeguard.audit.urls")),
    # Channels: /channels/voice/events, /channels/settings/, /contact/, /chat/… (public pages
    # declare @public; the voice webhook is authenticated by its HMAC signature).
    path("", include("safeguard.channels.urls")),
    path("customers/", include("safeguard.customers.urls")),
    path("cases/", include("safeguard.cases.urls")),
    path("privacy/", include("safeguard.privacy.urls")),
    # Data-subject requests from anyone (public pages: request, status, letter, bundle link)
    path("data-request/", include("safeguard.privacy.public_urls")),
    path("detection/", include("safeguard.detection.urls")),
    # Metrics: /metrics/kpis/ (staff), /trust/, /trust.json, /.well-known/security.txt (public).
    path("", include("safeguard.metrics.urls")),
    path("governance/", include("safeguard.governance.urls")),
    path("incidents/", include("safeguard.incidents.urls")),
    path("api/v1/", _api_urls()),
    # SCIM 2.0 provisioning for identity providers (bearer token with accounts.scim_provision)
    path("scim/v2/", include("safeguard.accounts.scim.urls")),
]


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Under /api/ an unmatched address (e.g. a malformed UUID in the path) is a problem like
    every other API error; elsewhere the HTML page."""
    if request.path.startswith("/api/"):
        return problem_response(request, status=404, code="not-found", title="Not found")
    return page_not_found(request, exception)

"""Staff pages of SCIM provisioning: the base URL to give the identity provider, its tokens, and
issuing one (an administrator past a fresh second factor; the secret is shown once)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from safeguard.accounts import permissions as perm
from safeguard.accounts import selectors
from safeguard.accounts.guards import (
    permission_required,
    request_actor,
    request_permissions,
    step_up_required,
)
from safeguard.accounts.scim import tokens as scim
from safeguard.web.errors import ApplicationError


def _context(request: HttpRequest) -> dict[str, object]:
    tokens = [t for t in selectors.token_list() if t.user_email == scim.SERVICE_ACCOUNT_EMAIL]
    return {"base_url": request.build_absolute_uri("/scim/v2"), "tokens": tokens,
            "error": ""}


@permission_required(perm.TOKENS_MANAGE)
@require_http_methods(["GET"])
def scim_tokens(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/scim_tokens.html", _context(request))


@permission_required(perm.SCIM_PROVISION)
@step_up_required(action="Issue a SCIM token")
@require_POST
def scim_token_issue(request: HttpRequest) -> HttpResponse:
    """Issue the identity provider's token; its secret is rendered once, here."""
    name = " ".join(request.POST.get("name", "").split())[:100]
    try:
        issued = scim.scim_token_issue(actor=request_actor(request), name=name,
                                       caller_permissions=request_permissions(request))
    except ApplicationError as exc:
        context = _context(request)
        context["error"] = exc.detail
        return render(request, "accounts/scim_tokens.html", context, status=400)
    response = render(request, "accounts/token_issued.html", {"issued": issued})
    response["Cache-Control"] = "no-store"
    return response

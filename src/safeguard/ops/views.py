"""Dashboard, health probes, health page and the restricted metrics endpoint."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django_prometheus.exports import ExportToDjangoView

from safeguard.accounts import selectors as accounts
from safeguard.accounts.api_guards import authenticate
from safeguard.accounts.guards import (
    authenticated,
    permission_required,
    public,
    request_principal,
)
from safeguard.cases import selectors as cases
from safeguard.ops import health_history, selectors
from safeguard.ops.permissions import HEALTH_VIEW, METRICS_SCRAPE
from safeguard.web.errors import PermissionDenied
from safeguard.web.problem import problem_response


@authenticated
def dashboard(request: HttpRequest) -> HttpResponse:
    """The landing page after sign-in. An agent (``cases.view``) lands on their work — my open
    cases, SLA clocks ending soon or missed, recent updates, my queues (issue 15, R-WORK-4:
    only their scope); others see their access and the organisation's contacts."""
    principal = request_principal(request)
    profile = accounts.user_get(user_id=principal.user_id)
    home = cases.agent_home(principal=principal) if principal.has("cases.view") else None
    return render(request, "ops/dashboard.html", {
        "profile": profile, "home": home,
        "warn_minutes": settings.SAFEGUARD_SLA_WARN_MINUTES})


@public
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Says nothing else, so it is safe to leave open."""
    return JsonResponse({"status": "ok"})


@public
@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: database and job storage reachable, migrations applied, keys unsealed, audit
    signer usable; 503 when any is not (issue 17). Names only, never details: it is public."""
    checks = selectors.readiness_checks()
    ok = all(c.ok for c in checks)
    return JsonResponse({"status": "ok" if ok else "unavailable",
                         "checks": {c.name: "ok" if c.ok else "fail" for c in checks}},
                        status=200 if ok else 503)


@permission_required(HEALTH_VIEW)
def health(request: HttpRequest) -> HttpResponse:
    checks = selectors.readiness_checks()
    return render(request, "ops/health.html", {
        "checks": checks, "heartbeat": selectors.heartbeat(),
        "mfa": accounts.mfa_coverage(),
        "history": health_history.summary(days=90),
    })


@public  # authorized below: a bearer token or session holding ops.metrics
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition, for callers holding ops.metrics (token or session)."""
    try:
        principal = authenticate(request)
    except PermissionDenied as exc:
        return problem_response(request, status=exc.status, code=exc.code, title=exc.title)
    if principal is None:
        response = problem_response(request, status=401, code="unauthenticated",
                                    title="Authentication required")
        response["WWW-Authenticate"] = 'Bearer realm="safeguard"'
        return response
    if not principal.has(METRICS_SCRAPE):
        return problem_response(request, status=403, code="permission-denied",
                                title="Permission denied", detail="Needs ops.metrics.")
    return ExportToDjangoView(request)

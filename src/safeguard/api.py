"""The API shell: django-ninja at /api/v1/, RFC 9457 errors, every operation permissioned.

Apps contribute routers; this module only mounts them and maps errors to problem responses.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from safeguard.accounts.api import router as accounts_router
from safeguard.audit.api import router as audit_router
from safeguard.protection.api import router as protection_router
from safeguard.web.errors import ApplicationError
from safeguard.web.problem import problem_response

logger = logging.getLogger("safeguard.api")

api = NinjaAPI(
    title="Safeguard API",
    version="1",
    description="Customer-service platform with the safeguards built in. Authenticate with "
    "`Authorization: Bearer sgt_…` (API tokens are scoped to permissions) or a staff session.",
    urls_namespace="api",
    auth=None,  # each operation declares its own; the deny-by-default test checks every one
)


@api.exception_handler(ApplicationError)
def _application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return problem_response(request, status=exc.status, code=exc.code, title=exc.title,
                            detail=exc.detail, **exc.extra)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
              for e in exc.errors]
    return problem_response(request, status=422, code="validation-error",
                            title="The request body or parameters are invalid",
                            detail=f"{len(errors)} invalid field(s).", errors=errors)


@api.exception_handler(AuthenticationError)
def _authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = problem_response(request, status=401, code="unauthenticated",
                                title="Authentication required",
                                detail="Send a valid API token or sign in.")
    response["WWW-Authenticate"] = 'Bearer realm="safeguard"'
    return response


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return problem_response(request, status=exc.status_code, code=f"http-{exc.status_code}",
                            title=str(exc.message))


@api.exception_handler(RequestDataTooBig)
def _too_large(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    limit = settings.SAFEGUARD_REQUEST_MAX_BODY_BYTES
    return problem_response(request, status=413, code="payload-too-large",
                            title="Request body too large",
                            detail=f"The request body is larger than {limit} bytes "
                                   "(SAFEGUARD_REQUEST_MAX_BODY_BYTES).", limit_bytes=limit)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem_response(request, status=404, code="not-found", title="Not found")


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.error("api.unhandled_error", extra={"path": request.path}, exc_info=exc)
    return problem_response(request, status=500, code="server-error",
                            title="Internal error",
                            detail="The error was logged; quote the request id.")


api.add_router("/", accounts_router)
api.add_router("/protection/", protection_router)
api.add_router("/audit/", audit_router)
api.add_router("/customers", "safeguard.customers.api.router")
api.add_router("/cases/", "safeguard.cases.api.router")
api.add_router("/channels/", "safeguard.channels.api.router")

"""The API shell: django-ninja at /api/v1/, RFC 9457 errors, every operation permissioned.

Apps contribute routers; this module mounts them, maps errors to problem responses and makes
the OpenAPI document say what the server does (R-OPS-8, docs/api.md): every operation lists the
error responses it can give with the problem schema, and names the permission (and step-up)
its ``auth=access(...)`` declaration demands. ``/api/v1/docs`` is the vendored Swagger UI.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import DocsBase
from ninja.openapi.schema import OpenAPISchema
from ninja.operation import Operation
from pydantic import ConfigDict

from safeguard.accounts import rbac
from safeguard.accounts.api import router as accounts_router
from safeguard.accounts.api_guards import Access
from safeguard.audit.api import router as audit_router
from safeguard.protection.api import router as protection_router
from safeguard.web.errors import ApplicationError
from safeguard.web.problem import PROBLEM_CONTENT_TYPE, problem_response

logger = logging.getLogger("safeguard.api")


class Problem(Schema):
    """RFC 9457 problem details. Members beyond these are specific to the problem type:
    ``errors`` (422), ``reauthenticate`` (step-up), ``limit_bytes`` (413), ``retry_after``."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None


ERROR_TEXT = {
    400: "A domain rule refused the request; nothing changed.",
    401: "No, unknown, expired or revoked credentials.",
    403: "Authenticated, but the permission (or a fresh second factor, or a person rather "
         "than a token) is missing.",
    404: "Absent, or outside the caller's scope (the same answer for both).",
    409: "The object's state forbids the operation.",
    413: "The request body is larger than SAFEGUARD_REQUEST_MAX_BODY_BYTES.",
    422: "A parameter or body field is invalid; `errors` lists each one.",
    429: "Too many requests; retry after `Retry-After` seconds.",
}
# Statuses an operation gives beyond the general rule of ``error_statuses`` (by operation id).
EXTRA_STATUSES: dict[str, set[int]] = {
    # per-caller rate limit of tokenize (issue 9 item 3): 429 with Retry-After
    "safeguard_protection_api_token_tokenize": {429},
}


def error_statuses(operation: Operation, method: str, path: str) -> set[int]:
    """The error statuses an operation can answer: 400 (domain refusals), 401 and 403 (every
    operation is permissioned), 422 when it takes parameters or a body, 404 when it names an
    object (path parameter or body), 409 for writes, 413 when it reads a body."""
    has_body = any(m.__ninja_param_source__ in ("body", "form", "file")
                   for m in operation.models)
    has_params = bool(operation.models)
    statuses = {400, 401, 403}
    if has_params:
        statuses.add(422)
    if "{" in path or has_body:
        statuses.add(404)
    if method != "get":
        statuses.add(409)
    if has_body:
        statuses.add(413)
    return statuses


def permission_text(access: Access) -> str:
    """The sentence each operation's description starts with: what its declaration demands."""
    text = f"**Permission:** `{access.permission}`"
    if access.permission == rbac.AUTHENTICATED:
        text = "**Permission:** any signed-in principal (token or session)"
    if access.people_only:
        text += "; a signed-in person only (API tokens are refused)"
    if access.needs_step_up:
        text += ("; **step-up:** a session must have passed its second factor within "
                 "the step-up window (else 403 `step-up-required`)")
    return text + "."


class SafeguardAPI(NinjaAPI):
    """NinjaAPI whose OpenAPI document declares errors and permissions (see the module doc)."""

    def get_openapi_schema(self, *, path_prefix: str | None = None,
                           path_params: dict[str, Any] | None = None) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        operations = {self.get_openapi_operation_id(op): op
                      for router in self._get_bound_routers()
                      for view in router.path_operations.values()
                      for op in view.operations}
        components = schema["components"]
        components["schemas"]["Problem"] = Problem.model_json_schema()
        components["securitySchemes"] = {
            "apiToken": {"type": "http", "scheme": "bearer",
                         "description": "An API token, `Authorization: Bearer sgt_…`: its "
                                        "scopes ∩ its user's permissions."},
            "staffSession": {"type": "apiKey", "in": "cookie",
                             "name": settings.SESSION_COOKIE_NAME,
                             "description": "A staff session that passed MFA; unsafe methods "
                                            "need the X-CSRFToken header."},
        }
        for path, methods in schema["paths"].items():
            for method, details in methods.items():
                operation = operations[details["operationId"]]
                self._declare(operation, method, path, details)
        return schema

    def _declare(self, operation: Operation, method: str, path: str,
                 details: dict[str, Any]) -> None:
        [access] = [a for a in operation.auth_callbacks if isinstance(a, Access)]
        # OpenAPI 3.1 lets non-OAuth schemes list the roles a requirement needs.
        details["security"] = [{"apiToken": [access.permission]},
                               {"staffSession": [access.permission]}]
        if access.people_only:
            details["security"] = [{"staffSession": [access.permission]}]
        details["x-permission"] = access.permission
        details["x-step-up"] = access.needs_step_up
        details["description"] = "\n\n".join(
            part for part in (permission_text(access), details.get("description", "")) if part)
        statuses = error_statuses(operation, method, path) | EXTRA_STATUSES.get(
            details["operationId"], set())
        responses = details["responses"]
        for status in sorted(statuses):
            responses.setdefault(status, {  # ninja keys responses by int
                "description": ERROR_TEXT[status],
                "content": {PROBLEM_CONTENT_TYPE: {
                    "schema": {"$ref": "#/components/schemas/Problem"}}},
            })


class VendoredSwagger(DocsBase):
    """``/api/v1/docs``: Swagger UI from the web app's static files, started by a script file
    (no CDN, no inline script: it renders under the strict CSP)."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        return render(request, "web/api_docs.html", {
            "title": api.title, "openapi_url": self.get_openapi_url(api, kwargs)})


api = SafeguardAPI(
    title="Safeguard API",
    version="1",
    description="Customer-service platform with the safeguards built in. Authenticate with "
    "`Authorization: Bearer sgt_…` (API tokens are scoped to permissions) or a staff session. "
    "Each operation names the permission it needs; every error is an RFC 9457 problem "
    "(`application/problem+json`).",
    urls_namespace="api",
    auth=None,  # each operation declares its own; the deny-by-default test checks every one
    docs=VendoredSwagger(),
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
api.add_router("/alerts", "safeguard.detection.api.router")
api.add_router("/incidents", "safeguard.incidents.api.router")

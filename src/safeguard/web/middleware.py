"""Response headers every dynamic page and API answer carries, and input no view accepts,
whatever the app."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import render

from safeguard.web.errors import ApplicationError
from safeguard.web.problem import problem_response


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every dynamic response (issue 9 §10, R-WORK-4).

    Pages and API answers carry customer data (case pages, customer pages, revealed values,
    the cases and customers API) or are a step away from it, and a shared or browser cache must
    keep none of it: the back button on a shared desk, a proxy, a disk cache. Rather than a
    list of views that could miss the next one, every response that passes through Django gets
    it; one that already says ``no-store`` (``never_cache``) keeps its header. Static files are
    served by WhiteNoise before this middleware and stay cacheable (they carry no data).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "no-store" not in response.get("Cache-Control", "").lower():
            response["Cache-Control"] = "no-store"
        return response


class NulInputMiddleware:
    """A request whose query or form fields hold a NUL character is refused with 400 and
    reaches no view (R-OPS-8: input outside its domain is a 4xx and changes nothing).

    No field of a page or of the API means a NUL, PostgreSQL text refuses it (every lookup with
    one raised a 500 there while SQLite answered), and a NUL that reached a log or a file could
    cut what a reader sees. API bodies (JSON) are validated by their schemas; this covers the
    query string of every request and form-encoded bodies.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _holds_nul(request.GET) or (_form_readable(request) and _holds_nul(request.POST)):
            return _nul_refused(request)
        return self.get_response(request)


def _form_readable(request: HttpRequest) -> bool:
    """Whether the form fields can be read here without taking the body from the view: an
    urlencoded body is kept by Django as it parses; a multipart one is read into memory first
    (within the body limit; a larger one is a file upload the view streams, not checked here),
    so a view that verifies a signature over ``request.body`` still can."""
    if request.method != "POST":
        return False
    if request.content_type == "application/x-www-form-urlencoded":
        return True
    if request.content_type != "multipart/form-data":
        return False
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    if not 0 < length <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        return False
    request.body  # noqa: B018 - kept in memory, so POST parses from it and body stays readable
    return True


def _holds_nul(params: QueryDict) -> bool:
    return any("\x00" in key or any("\x00" in v for v in values)
               for key, values in params.lists())


def _nul_refused(request: HttpRequest) -> HttpResponse:
    detail = "A field of the request contains a NUL character, which no field accepts."
    if request.path.startswith("/api/"):
        return problem_response(request, status=400, code="bad-request", title="Bad request",
                                detail=detail)
    return HttpResponseBadRequest(detail, content_type="text/plain; charset=utf-8")


class ApplicationErrorPageMiddleware:
    """A domain rule broken by a page's input is a 4xx page with the reason, never a 500
    (R-OPS-8: bad input gets a clear message). Views catch the errors they expect; this is the
    net for the rest — above all :class:`~safeguard.protection.contracts.PanRefused`, raised by
    the no-card-number guard at the write itself, wherever a form field let a card number
    through. The API and SCIM answer in their own formats and are left alone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not isinstance(exc, ApplicationError) or request.path.startswith(("/api/", "/scim/")):
            return None
        return render(request, "web/error.html",
                      {"error": {"title": exc.title, "detail": exc.detail}}, status=exc.status)

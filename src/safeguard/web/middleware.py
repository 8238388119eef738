"""Response headers every dynamic page and API answer carries, whatever the app."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


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

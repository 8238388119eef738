"""Binds a request id and the caller's address to the audit context for the request's duration."""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from safeguard.audit import context

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: SAFEGUARD_CLIENT_IP_HEADER when a trusted proxy sets it, else the
    connection's. A value that is not an IP address is ignored, never recorded."""
    header = settings.SAFEGUARD_CLIENT_IP_HEADER
    raw = (request.headers.get(header, "") if header else "") or request.META.get(
        "REMOTE_ADDR", "")
    try:
        return ipaddress.ip_address(raw.strip()).compressed
    except ValueError:
        return None


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # A request id is taken from the caller only behind the trusted proxy (which sets it);
        # otherwise a client could make its events share another request's id.
        incoming = (request.headers.get("X-Request-ID", "")
                    if settings.SAFEGUARD_CLIENT_IP_HEADER else "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = context.bind(
            context.RequestContext(
                source_ip=client_ip(request),
                user_agent=request.headers.get("User-Agent", "")[:400],
                request_id=request_id,
            )
        )
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        response["X-Request-ID"] = request_id
        return response

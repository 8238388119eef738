"""Binds a request id and the caller's address to the audit context for the request's duration,
and holds the response until the audit entries its view handed to the read writer are committed
(decision 0282)."""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from safeguard.audit import context, readwriter
from safeguard.audit.siem.formats import TRUNCATED, neutralise

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


# What is read of a User-Agent at all: the masker's work per request stays bounded.
_USER_AGENT_READ = 400


@lru_cache(maxsize=1024)
def _user_agent_kept(raw: str, limit: int, masker: str) -> str:
    kept = neutralise(raw, import_string(masker)).strip()
    if len(kept) > limit:
        kept = kept[:max(limit - len(TRUNCATED), 0)] + TRUNCATED[:limit]
    return kept


def user_agent_for_audit(raw: str) -> str:
    """The caller's User-Agent as audit events keep it: attacker-chosen text, so control and
    bidirectional characters removed, masked by SAFEGUARD_SIEM_TEXT_MASKER (card numbers,
    e-mail addresses, phone numbers ...) and cut to SAFEGUARD_AUDIT_USER_AGENT_MAX characters
    (issue 17 item 10, R-IR-5; docs/audit.md). The same string is masked once (cached)."""
    if not raw or settings.SAFEGUARD_AUDIT_USER_AGENT_MAX == 0:
        return ""
    return _user_agent_kept(raw[:_USER_AGENT_READ], settings.SAFEGUARD_AUDIT_USER_AGENT_MAX,
                            settings.SAFEGUARD_SIEM_TEXT_MASKER)


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
                user_agent=user_agent_for_audit(request.headers.get("User-Agent", "")),
                request_id=request_id,
            )
        )
        try:
            # Entries recorded outside a transaction commit on the read writer while the view
            # goes on; leaving the scope waits for them, and a failed or late one raises
            # ReadEntryFailed here: Django answers 500 and the view's response is never sent.
            with readwriter.scope():
                response = self.get_response(request)
        finally:
            context.reset(token)
        response["X-Request-ID"] = request_id
        return response

"""Request context (source address, user agent, request id) for events recorded during a request.

Set by :class:`safeguard.audit.middleware.RequestContextMiddleware`; jobs and commands leave it
empty. A contextvar, so threads and async tasks each see their own.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    source_ip: str | None = None
    user_agent: str = ""
    request_id: str = ""


_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "safeguard_audit_request_context", default=RequestContext()  # noqa: B039 - frozen dataclass
)


def current() -> RequestContext:
    """The context of the request being served, or an empty one outside a request."""
    return _current.get()


def bind(ctx: RequestContext) -> contextvars.Token[RequestContext]:
    return _current.set(ctx)


def reset(token: contextvars.Token[RequestContext]) -> None:
    _current.reset(token)

"""Forced step-up for a queue's cases (incident containment, decision 0226).

Runs before every view of the case pages (``/cases/<number>/...``) and of the cases API
(``/api/v1/cases/<number>...``), except a page marked ``@queue_step_up_in_view`` (the case
page itself), which checks it on the case it loads, before reading anything of it. When the
case's queue is under forced step-up, a page request needs a second factor passed within the
step-up window (the usual re-prompt, then back to the page); an API call needs a signed-in
session with a fresh factor, so API tokens are refused (403 problem). Nothing else changes:
scope and permissions are still checked by the view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from pydantic import TypeAdapter, ValidationError

from safeguard.accounts.guards import has_recent_mfa, step_up_required
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.cases.selectors.stepup import case_needs_step_up
from safeguard.web.problem import problem_response

STEP_UP_ACTION = "Open a case of a queue under incident step-up"
_API_PREFIX = "/api/v1/cases/"
# The API's path parameters are parsed by pydantic (django-ninja): read the number the same way,
# or "/api/v1/cases/7.0" (7 to pydantic, not a number to int()) would slip past the check.
_AS_INT = TypeAdapter(int)


def _number(view_kwargs: dict[str, Any]) -> int | None:
    raw = view_kwargs.get("number")
    if raw is None:
        return None
    try:
        return _AS_INT.validate_python(raw)
    except ValidationError:
        pass
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


_IN_VIEW = "safeguard_queue_step_up_in_view"


def queue_step_up_in_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Mark a case page that checks its queue's forced step-up itself, on the case it loads
    (the case page, issue 10: one statement fewer per view). It must ask for the second factor
    again, like this middleware, before it reads or records anything of the case."""
    setattr(view, _IN_VIEW, True)
    return view


class QueueStepUpMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Callable[..., HttpResponse],
                     view_args: tuple[Any, ...], view_kwargs: dict[str, Any]
                     ) -> HttpResponse | None:
        match = request.resolver_match
        is_page = match is not None and match.app_name == "cases"
        is_api = request.path.startswith(_API_PREFIX)
        if not (is_page or is_api):
            return None
        if is_page and getattr(view_func, _IN_VIEW, False):
            return None  # the view checks it on the case it loads (queue_step_up_in_view)
        number = _number(view_kwargs)
        if number is None or not case_needs_step_up(number=number):
            return None
        user = getattr(request, "user", None)
        signed_in = bool(user is not None and user.is_authenticated)
        if is_api:
            if signed_in and has_recent_mfa(request):
                return None
            audit.record(action="case.step_up_refused", outcome="failure",
                         actor=(Actor(kind="user", id=str(user.pk), label=user.email)
                                if signed_in and user is not None
                                else Actor.anonymous("api")),
                         subject=("case", number), data={"via": "api"})
            return problem_response(
                request, status=403, code="queue-step-up",
                title="This case's queue needs a fresh second factor",
                detail="Its queue is under forced step-up (incident containment): API tokens "
                       "are refused; open the case in the console with a fresh second factor.")
        # Pages: the usual re-prompt; after it the view runs (and checks scope) as always.
        return step_up_required(view_func, action=STEP_UP_ACTION)(request, *view_args,
                                                                 **view_kwargs)

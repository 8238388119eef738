"""Supervisor pages of issue 15: the live wallboard (server-sent events) and the automations
editor. Thin: parse, authorize, call one service or selector, render (STYLE.md)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from django.conf import settings
from django.contrib import messages
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from safeguard.accounts.guards import permission_required, request_principal
from safeguard.cases import forms_desk, selectors, services
from safeguard.cases import permissions as perm
from safeguard.cases.enums import AssignmentStrategy
from safeguard.cases.selectors.wallboard import wallboard as wallboard_figures
from safeguard.web.errors import ApplicationError, NotFound

# --- wallboard ---------------------------------------------------------------------------------


@permission_required(perm.WALLBOARD_VIEW)
@require_GET
def wallboard(request: HttpRequest) -> HttpResponse:
    """The board, rendered once; static/cases/wallboard.js keeps it live from the stream."""
    return render(request, "cases/wallboard.html", {
        "board": wallboard_figures(),
        "risk_minutes": settings.SAFEGUARD_WALLBOARD_SLA_RISK_MINUTES,
        "seen_minutes": settings.SAFEGUARD_WALLBOARD_AGENT_SEEN_MINUTES,
        "csat_alert_below": settings.SAFEGUARD_WALLBOARD_CSAT_ALERT_BELOW,
        "asa_alert_seconds": settings.SAFEGUARD_WALLBOARD_ASA_ALERT_SECONDS,
    })


def _board_events() -> Iterator[str]:
    """The event stream of one response: the board now and every interval, for at most
    SAFEGUARD_WALLBOARD_STREAM_SECONDS; then the response ends and the browser's EventSource
    reconnects after the ``retry`` it was told. Bounded, so a sync gunicorn worker is held for
    seconds, never for ever; each board is read in its own short query set."""
    deadline = time.monotonic() + settings.SAFEGUARD_WALLBOARD_STREAM_SECONDS
    interval = settings.SAFEGUARD_WALLBOARD_INTERVAL_SECONDS
    yield f"retry: {settings.SAFEGUARD_WALLBOARD_RETRY_MS}\n\n"
    try:
        while True:
            data = json.dumps(wallboard_figures().as_dict(), separators=(",", ":"))
            yield f"event: wallboard\ndata: {data}\n\n"
            if time.monotonic() + interval >= deadline:
                break
            time.sleep(interval)
    finally:
        close_old_connections()


@permission_required(perm.WALLBOARD_VIEW)
@require_GET
def wallboard_stream(request: HttpRequest) -> StreamingHttpResponse:
    """Server-sent events of the board (``text/event-stream``), bounded in time."""
    response = StreamingHttpResponse(_board_events(), content_type="text/event-stream")
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass events on as they come
    return response


# --- automations (supervisors) -------------------------------------------------------------------


def _queue_choices() -> list[tuple[str, str]]:
    return [(q.slug, q.name) for q in selectors.queue_list() if q.is_active]


@permission_required(perm.AUTOMATIONS_MANAGE)
@require_GET
def automations(request: HttpRequest) -> HttpResponse:
    """Assignment rules per queue, agents' skills, and the triggers in the order they run."""
    return render(request, "cases/automations.html", {
        "rules": selectors.assignment_rules(), "triggers": selectors.trigger_list(),
        "strategies": AssignmentStrategy.choices,
        "autoclose_days": settings.SAFEGUARD_AUTOCLOSE_DAYS,
        "csat_auto": settings.SAFEGUARD_CSAT_AUTO_SEND,
    })


def _failed(request: HttpRequest, exc: ApplicationError | str, status: int = 422) -> HttpResponse:
    detail = exc if isinstance(exc, str) else exc.detail
    messages.error(request, detail)
    response = automations(request)
    response.status_code = exc.status if isinstance(exc, ApplicationError) else status
    return response


@permission_required(perm.AUTOMATIONS_MANAGE)
@require_POST
def assignment_rule(request: HttpRequest, slug: str) -> HttpResponse:
    form = forms_desk.AssignmentRuleForm(request.POST)
    if not form.is_valid():
        return _failed(request, "Choose round-robin or load-balanced.")
    try:
        services.assignment_rule_save(principal=request_principal(request), queue=slug,
                                      **form.cleaned_data)
    except ApplicationError as exc:
        return _failed(request, exc)
    messages.success(request, f"Assignment rule of {slug} saved.")
    return redirect("cases:automations")


@permission_required(perm.AUTOMATIONS_MANAGE)
@require_POST
def agent_skills(request: HttpRequest, user_id: int) -> HttpResponse:
    form = forms_desk.SkillsForm(request.POST)
    if not form.is_valid():
        return _failed(request, "Skills are tags separated by spaces (at most 900 characters).")
    try:
        saved = services.agent_skills_set(principal=request_principal(request), user_id=user_id,
                                          tags=form.tags())
    except ApplicationError as exc:
        return _failed(request, exc)
    messages.success(request, f"Skills saved: {', '.join(saved) or 'none'}.")
    return redirect("cases:automations")


@permission_required(perm.AUTOMATIONS_MANAGE)
@require_http_methods(["GET", "POST"])
def trigger_edit(request: HttpRequest, trigger_id: int | None = None) -> HttpResponse:
    """Create or edit a trigger; a wrong field is a 422 with the form again, nothing saved."""
    current = None
    if trigger_id is not None:
        current = selectors.trigger_get(trigger_id=trigger_id)
        if current is None:
            return render(request, "web/error.html", {"error": NotFound("No such trigger.")},
                          status=404)
    form = forms_desk.TriggerForm(request.POST or None, queues=_queue_choices(),
                                  initial=current.as_form() if current else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.trigger_save(principal=request_principal(request),
                                      trigger_id=trigger_id, data=form.data_for_service())
            except ApplicationError as exc:
                form.add_error(None, exc.detail)
            else:
                messages.success(request, "Trigger saved.")
                return redirect("cases:automations")
        status = 422
    return render(request, "cases/trigger_edit.html", {"form": form, "trigger": current},
                  status=status)


@permission_required(perm.AUTOMATIONS_MANAGE)
@require_POST
def trigger_delete(request: HttpRequest, trigger_id: int) -> HttpResponse:
    try:
        services.trigger_delete(principal=request_principal(request), trigger_id=trigger_id)
    except ApplicationError as exc:
        return _failed(request, exc)
    messages.success(request, "Trigger deleted.")
    return redirect("cases:automations")

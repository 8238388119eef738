"""Supervisor pages of issue 15: the live wallboard (server-sent events) and the automations
editor. Thin: parse, authorize, call one service or selector, render (STYLE.md)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from django.conf import settings
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from safeguard.accounts.guards import permission_required
from safeguard.cases import permissions as perm
from safeguard.cases.selectors.wallboard import wallboard as wallboard_figures

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

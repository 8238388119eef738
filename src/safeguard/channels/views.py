"""Pages and endpoints of the channels app.

Customer-facing (``@public``, no staff login): the web chat (a per-conversation secret link,
HTMX polling) and the contact form; both CSRF-protected and rate-limited. The voice webhook is
``@public`` too but authenticated by its HMAC signature (CSRF does not apply to a machine
caller). The settings overview is for ``channels.manage``.
"""

from __future__ import annotations

import json
from functools import wraps
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from safeguard.accounts.guards import permission_required, public
from safeguard.audit.middleware import client_ip
from safeguard.cases import services as cases
from safeguard.cases.contracts import CallView, ChatMessageView, ChatNotFound
from safeguard.channels import config, schemas, selectors, services, webhooks
from safeguard.channels.contracts import RateLimited, SignatureError
from safeguard.channels.forms import ChatPostForm, ChatStartForm, ContactForm
from safeguard.channels.permissions import MANAGE
from safeguard.web.bounds import MAX_SEQ, ascii_int
from safeguard.web.errors import ApplicationError
from safeguard.web.problem import problem_response

_WIDGET = Path(__file__).parent / "static" / "channels" / "widget.js"


def _client(request: HttpRequest) -> str:
    return client_ip(request) or "unknown"


def _private(view: Any) -> Any:
    """Headers for pages behind a secret link: not cached, not indexed, no Referer sent on."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "no-referrer"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return wrapped


def _rate_limited(response: HttpResponse, exc: RateLimited) -> HttpResponse:
    response.status_code = 429
    response["Retry-After"] = str(exc.retry_after)
    return response


# --- voice webhook ------------------------------------------------------------------------------

def _call_json(view: CallView) -> dict[str, Any]:
    return {
        "call_id": view.call_id, "case_number": view.case_number, "queue": view.queue,
        "queued_at": view.queued_at, "answered_at": view.answered_at, "ended_at": view.ended_at,
        "speed_to_answer_seconds": view.speed_to_answer_seconds,
        "payment_paused": view.payment_paused,
    }


@public  # authenticated by the HMAC signature in request_verify (docs/channels.md)
@csrf_exempt
@never_cache
def voice_events(request: HttpRequest) -> HttpResponse:
    """One signed voice event per request; any refusal is a problem+json 4xx and stores nothing."""
    if request.method != "POST":
        response = problem_response(request, status=405, code="method-not-allowed",
                                    title="Use POST")
        response["Allow"] = "POST"
        return response
    try:
        try:
            body = webhooks.request_verify(request)
        except SignatureError as exc:
            services.channel_auth_refused(
                endpoint="voice-webhook", code=exc.code, client=_client(request),
                evidence=[request.headers.get(webhooks.HEADER, "").encode()[:4096],
                          request.body[:settings.SAFEGUARD_WEBHOOK_MAX_BYTES]])
            raise
        event = schemas.voice_event_parse(body)
        view = services.voice_event(**event)
    except ApplicationError as exc:
        response = problem_response(request, status=exc.status, code=exc.code, title=exc.title,
                                    detail=exc.detail, **exc.extra)
        if exc.status == 401:
            response["WWW-Authenticate"] = 'HMAC-SHA256 realm="safeguard-webhooks"'
        return response
    return JsonResponse(_call_json(view))


# --- contact form -------------------------------------------------------------------------------

@public
def contact(request: HttpRequest) -> HttpResponse:
    """The public contact form: a message becomes a case (channel "web")."""
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if form.is_bot():
            return render(request, "channels/contact_done.html", {"case_number": None})
        data = form.cleaned_data
        try:
            result = services.contact_submit(name=data["name"], email=data["email"],
                                             subject=data["subject"], text=data["message"],
                                             client=_client(request))
        except RateLimited as exc:
            form.add_error(None, "Too many messages from your network; please try later.")
            return _rate_limited(render(request, "channels/contact.html", {"form": form}), exc)
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
        else:
            return render(request, "channels/contact_done.html",
                          {"case_number": result.case_number})
    return render(request, "channels/contact.html", {"form": form},
                  status=400 if form.errors else 200)


# --- web chat -----------------------------------------------------------------------------------

def _chat_urls(conversation_id: str, secret: str) -> dict[str, str]:
    args = [conversation_id, secret]
    return {"page": reverse("channels:chat", args=args),
            "poll": reverse("channels:chat_poll", args=args),
            "post": reverse("channels:chat_post", args=args)}


def _chat_context(conversation_id: str, secret: str,
                  messages: list[ChatMessageView]) -> dict[str, Any]:
    return {"chat_messages": messages, "urls": _chat_urls(conversation_id, secret),
            "last_id": messages[-1].id if messages else 0,
            "poll_seconds": max(1, settings.SAFEGUARD_CHAT_POLL_SECONDS),
            "status": cases.chat_status(conversation_id=conversation_id, secret=secret)}


def _embedded(request: HttpRequest) -> bool:
    """The chat runs inside the widget's frame (``?embed=1``)."""
    return request.GET.get("embed") == "1"


def _chat_page(request: HttpRequest, template: str, context: dict[str, Any],
               status: int = 200) -> HttpResponse:
    """Render a customer chat page; inside the widget it is a bare page that the origins of
    ``SAFEGUARD_CHAT_WIDGET_ORIGINS`` (and only they) may frame (issue 15)."""
    embed = _embedded(request)
    context = {**context, "embed": embed,
               "base_template": "channels/embed_base.html" if embed else "web/base.html"}
    response = render(request, template, context, status=status)
    if embed and settings.SAFEGUARD_CHAT_WIDGET_ORIGINS:
        response._csp_replace = {  # type: ignore[attr-defined]  # django-csp's per-response hook
            "frame-ancestors": ["'self'", *settings.SAFEGUARD_CHAT_WIDGET_ORIGINS]}
        response.xframe_options_exempt = True
    return response


@public
@never_cache
def chat_start(request: HttpRequest) -> HttpResponse:
    """Start a chat: name, e-mail and a first message; answers with the conversation's link.
    Outside business hours it shows the out-of-hours message and starts nothing (409)."""
    form = ChatStartForm(request.POST or None)
    suffix = "?embed=1" if _embedded(request) else ""
    context: dict[str, Any] = {"form": form, "action": reverse("channels:chat_start") + suffix}
    if not selectors.chat_is_open():
        context.update(closed=True, closed_message=settings.SAFEGUARD_CHAT_OUT_OF_HOURS_MESSAGE)
        return _chat_page(request, "channels/chat_start.html", context,
                          status=409 if request.method == "POST" else 200)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            started = services.chat_open(name=data["name"], email=data["email"],
                                         text=data["message"], client=_client(request))
        except RateLimited as exc:
            form.add_error(None, "Too many chats started from your network; please try later.")
            return _rate_limited(_chat_page(request, "channels/chat_start.html", context), exc)
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
        else:
            return redirect(_chat_urls(started.conversation_id, started.secret)["page"] + suffix)
    return _chat_page(request, "channels/chat_start.html", context,
                      status=400 if form.errors else 200)


@public
@require_GET
def chat_widget(request: HttpRequest) -> HttpResponse:
    """The embeddable widget script (issue 15), with the allowed origins and whether the chat
    is open written into it; loadable from any origin (a script tag needs no CORS, the
    ``Cross-Origin-Resource-Policy`` says it may be embedded). Not cached, like every dynamic
    response: opening hours change."""
    config = json.dumps({"origins": settings.SAFEGUARD_CHAT_WIDGET_ORIGINS,
                         "open": selectors.chat_is_open(),
                         "closed_label": "Leave us a message"})
    source = _WIDGET.read_text(encoding="utf-8")
    head, rest = source.split("/*SAFEGUARD_CONFIG*/", 1)
    _, tail = rest.split("/*END*/", 1)
    response = HttpResponse(head + config + tail, content_type="text/javascript; charset=utf-8")
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    response["Access-Control-Allow-Origin"] = "*"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _messages_or_404(conversation_id: str, secret: str, after: int = 0) -> list[ChatMessageView]:
    try:
        return cases.chat_messages(conversation_id=conversation_id, secret=secret,
                                   after_id=after)
    except ChatNotFound as exc:
        raise Http404("No such conversation.") from exc


@public
@never_cache
@_private
def chat(request: HttpRequest, conversation_id: str, secret: str) -> HttpResponse:
    """The customer's conversation page behind its secret link."""
    messages = _messages_or_404(conversation_id, secret)
    context = _chat_context(conversation_id, secret, messages)
    context["form"] = ChatPostForm()
    context["link"] = request.build_absolute_uri(context["urls"]["page"])
    return _chat_page(request, "channels/chat.html", context)


@public
@never_cache
@_private
def chat_poll(request: HttpRequest, conversation_id: str, secret: str) -> HttpResponse:
    """HTMX partial: messages after ``?after=`` and a fresh poller that remembers the last id."""
    after = ascii_int(request.GET.get("after"), maximum=MAX_SEQ) or 0
    messages = _messages_or_404(conversation_id, secret, after)
    context = _chat_context(conversation_id, secret, messages)
    context["last_id"] = messages[-1].id if messages else after
    return render(request, "channels/partials/_chat_poll.html", context)


@public
@never_cache
@_private
def chat_post(request: HttpRequest, conversation_id: str, secret: str) -> HttpResponse:
    """The customer's message; HTMX gets 204 and a ``chat-posted`` event that polls at once."""
    if request.method != "POST":
        return redirect(_chat_urls(conversation_id, secret)["page"])
    htmx = request.headers.get("HX-Request") == "true"
    form = ChatPostForm(request.POST)
    if not form.is_valid():
        return HttpResponse("Write a message of at most 5000 characters.", status=400,
                            content_type="text/plain")
    try:
        services.chat_post(conversation_id=conversation_id, secret=secret,
                           text=form.cleaned_data["message"])
    except ChatNotFound as exc:
        services.channel_auth_refused(endpoint="chat-post", code=exc.code,
                                      client=_client(request),
                                      evidence=[conversation_id.encode()[:200]])
        raise Http404("No such conversation.") from exc
    except RateLimited as exc:
        return _rate_limited(HttpResponse("You are sending messages too quickly; wait a moment.",
                                          content_type="text/plain"), exc)
    except ApplicationError as exc:
        return HttpResponse(exc.detail, status=exc.status, content_type="text/plain")
    if htmx:
        response = HttpResponse(status=204)
        response["HX-Trigger"] = "chat-posted"
        return response
    return redirect(_chat_urls(conversation_id, secret)["page"])


# --- settings overview --------------------------------------------------------------------------

@permission_required(MANAGE)
def channel_settings(request: HttpRequest) -> HttpResponse:
    """Read-only overview of the channel configuration (it comes from the environment)."""
    return render(request, "channels/settings.html", {
        "overview": selectors.overview(),
        "chat_url": request.build_absolute_uri(reverse("channels:chat_start")),
        "contact_url": request.build_absolute_uri(reverse("channels:contact")),
        "voice_url": request.build_absolute_uri(reverse("channels:voice_events")),
        "own_addresses": sorted(config.own_addresses()),
    })

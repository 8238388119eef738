"""Public pages of data-subject requests (R-DATA-7; decision 0117): the request form, the
status page (reference + code) with the reply letter, and the signed bundle link. No staff
login (``@public``), CSRF-protected forms, rate-limited per client address, not cached and not
indexed, no inline script or style (the strict CSP of every page)."""

from __future__ import annotations

import json
from functools import wraps
from typing import Any
from uuid import UUID

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from safeguard.accounts import selectors as account_selectors
from safeguard.accounts.guards import public
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.audit.middleware import client_ip
from safeguard.privacy import fulfil, intake
from safeguard.privacy import requests as dsr
from safeguard.privacy.contracts import RequestError, RequestThrottled
from safeguard.privacy.pdf import render_pdf
from safeguard.web.errors import ApplicationError
from safeguard.web.problem import problem_response

SESSION_KEY = "privacy_dsr_status"


def _client(request: HttpRequest) -> str:
    return client_ip(request) or "unknown"


def _private(view: Any) -> Any:
    """Pages with a requester's own answer: not cached, not indexed, no Referer sent to another
    site (``same-origin``: with ``no-referrer`` Chromium posts the forms with ``Origin: null``,
    which the CSRF check rightly refuses)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "same-origin"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return never_cache(wrapped)


def _kind_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    return [(r["label"], [(k, f"{k.replace('_', ' ').capitalize()} — {v}")
                          for k, v in r["kinds"].items()])
            for r in dsr.jurisdictions().values()]


class PublicRequestForm(forms.Form):
    kind = forms.ChoiceField(label="What would you like us to do?", choices=_kind_choices)
    email = forms.EmailField(label="Your e-mail address", max_length=254,
                             help_text="We send a code there. If you are our customer, use the "
                                       "address we have on file for you.")
    details = forms.CharField(label="Details (optional)", required=False,
                              max_length=intake.DETAILS_MAX,
                              widget=forms.Textarea(attrs={"rows": 4}),
                              help_text="Which data, or what to correct. Never send card "
                                        "numbers or passwords.")


class StatusForm(forms.Form):
    reference = forms.CharField(label="Reference", max_length=64)
    code = forms.CharField(label="Code from the e-mail", max_length=16,
                           widget=forms.TextInput(attrs={"inputmode": "numeric",
                                                         "autocomplete": "one-time-code"}))


def _throttled(response: HttpResponse, exc: RequestThrottled) -> HttpResponse:
    response.status_code = 429
    response["Retry-After"] = str(exc.retry_after)
    return response


@public
@_private
def request_form(request: HttpRequest) -> HttpResponse:
    """File a request: the answer is the same whoever the address belongs to."""
    form = PublicRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            receipt = intake.dsr_public_submit(
                regime=dsr.regime_of(data["kind"]), kind=data["kind"], email=data["email"],
                details=data["details"], client=_client(request))
        except RequestThrottled as exc:
            form.add_error(None, exc.detail)
            return _throttled(render(request, "privacy/public_request.html", {"form": form}),
                              exc)
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
        else:
            return render(request, "privacy/public_submitted.html", {"receipt": receipt})
    return render(request, "privacy/public_request.html", {"form": form},
                  status=400 if form.errors else 200)


@public
@_private
def status(request: HttpRequest) -> HttpResponse:
    """Reference + code: the first correct code confirms the request; then the status, the
    reply and (for an access request) a fresh signed link to the bundle."""
    form = StatusForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            view = intake.dsr_public_status(reference=form.cleaned_data["reference"],
                                            code=form.cleaned_data["code"],
                                            client=_client(request))
        except RequestThrottled as exc:
            form.add_error(None, exc.detail)
            return _throttled(render(request, "privacy/public_status.html", {"form": form}),
                              exc)
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
        else:
            request.session[SESSION_KEY] = view.request_id  # the letter link below
            return render(request, "privacy/public_status.html", {
                "form": None, "s": view,
                "bundle_url": request.build_absolute_uri(view.bundle_url)
                if view.bundle_url else ""})
    return render(request, "privacy/public_status.html", {"form": form},
                  status=400 if form.errors else 200)


@public
@_private
def letter(request: HttpRequest, request_id: UUID) -> HttpResponse:
    """The reply as a PDF, for the requester who opened the status page in this session."""
    if request.session.get(SESSION_KEY) != str(request_id):
        raise Http404
    view = dsr.dsr_get(request_id=str(request_id))
    if not view.reply:
        raise Http404
    audit.record(action="dsr.letter_downloaded", actor=Actor.system("privacy.public"),
                 subject=("dsr", view.id), data={"by": "requester"})
    body = render_pdf("privacy/pdf_letter.html", {
        "org": account_selectors.organisation(), "r": view, "today": timezone.localdate()})
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="reply-{view.id}.pdf"'
    return response


@public
@_private
def bundle(request: HttpRequest, token: str) -> HttpResponse:
    """The access bundle behind a signed, expiring, single-customer link (audited)."""
    try:  # an export freeze (incident containment, decision 0225) refuses and records
        audit.export_guard(actor=Actor.anonymous("privacy.bundle_link"),
                           export="privacy.bundle_link")
    except ApplicationError as exc:
        # The requester sees no internal reason (that is for staff); the link stays valid.
        return render(request, "privacy/public_link_invalid.html", {
            "detail": "Downloads are paused for a short while. Your link still works: please "
                      "try again later."}, status=exc.status)
    try:
        file = fulfil.bundle_by_link(token=token, client=_client(request))
    except ApplicationError as exc:
        return render(request, "privacy/public_link_invalid.html", {"detail": exc.detail},
                      status=404)
    response = HttpResponse(file.content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    return response


# --- the intake API (JSON; public like the page, decision 0117) ------------------------------

_API_MAX_BYTES = 8192


def _problem(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    response = problem_response(request, status=exc.status, code=exc.code, title=exc.title,
                                detail=exc.detail)
    if isinstance(exc, RequestThrottled):
        response["Retry-After"] = str(exc.retry_after)
    return response


def _json_body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > _API_MAX_BYTES:
        raise RequestError(f"The body must be at most {_API_MAX_BYTES} bytes.")
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError("The body must be a JSON object.") from exc
    if not isinstance(data, dict) or any(not isinstance(v, str) for v in data.values()):
        raise RequestError("The body must be a JSON object of strings.")
    return data


@csrf_exempt  # a machine endpoint: no cookie, no session, nothing a forged form could ride on
@public
@_private
@require_POST
def api_submit(request: HttpRequest) -> HttpResponse:
    """``POST /data-request/api/requests`` ``{"regime", "kind", "email", "details"}`` ->
    ``201 {"reference", "due_on"}``; the same for every address (a code is e-mailed)."""
    try:
        data = _json_body(request)
        receipt = intake.dsr_public_submit(
            regime=data.get("regime", ""), kind=data.get("kind", ""),
            email=data.get("email", ""), details=data.get("details", ""),
            client=_client(request))
    except ApplicationError as exc:
        return _problem(request, exc)
    return JsonResponse({"reference": receipt.reference, "due_on": receipt.due_on.isoformat(),
                         "status_url": request.build_absolute_uri(
                             reverse("privacy_public:status"))}, status=201)


@csrf_exempt
@public
@_private
@require_POST
def api_status(request: HttpRequest) -> HttpResponse:
    """``POST /data-request/api/status`` ``{"reference", "code"}`` -> the request's status
    (the first correct code confirms it), its reply, and a bundle link once there is one."""
    try:
        data = _json_body(request)
        view = intake.dsr_public_status(reference=data.get("reference", ""),
                                        code=data.get("code", ""), client=_client(request))
    except ApplicationError as exc:
        return _problem(request, exc)
    return JsonResponse({
        "kind": view.kind, "regime": view.regime_label, "status": view.status,
        "received_on": view.received_on.isoformat(), "due_on": view.due_on.isoformat(),
        "reply": view.reply,
        "bundle_url": request.build_absolute_uri(view.bundle_url) if view.bundle_url else None})

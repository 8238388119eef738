"""Privacy pages: the data inventory and its CSV export, the retention matrix with sweeps,
legal holds (R-DATA-1, R-DATA-3, R-REG-4). Thin: parse, authorize, call, render."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from safeguard.accounts import selectors as account_selectors
from safeguard.accounts.guards import (
    permission_required,
    request_actor,
    request_permissions,
    request_principal,
)
from safeguard.audit import services as audit
from safeguard.privacy import fulfil, selectors, services
from safeguard.privacy import inventory as inv
from safeguard.privacy import requests as dsr
from safeguard.privacy.enums import HoldScope, Regime, RequestKind
from safeguard.privacy.pdf import render_pdf
from safeguard.privacy.permissions import INVENTORY_VIEW, REQUESTS_MANAGE, RETENTION_MANAGE
from safeguard.web.errors import ApplicationError


@permission_required(INVENTORY_VIEW)
def inventory(request: HttpRequest) -> HttpResponse:
    columns = inv.personal_columns()
    return render(request, "privacy/inventory.html", {
        "columns": columns, "bases": inv.LEGAL_BASES, "taxonomy": inv.taxonomy(),
        "models": len(inv.declarations()),
    })


@permission_required(INVENTORY_VIEW)
def inventory_csv(request: HttpRequest) -> HttpResponse:
    audit.record(action="privacy.inventory_exported", actor=request_actor(request),
                 data={"format": "csv"})
    response = HttpResponse(inv.inventory_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="data-inventory.csv"'
    return response


@permission_required(INVENTORY_VIEW)
def inventory_pdf(request: HttpRequest) -> HttpResponse:
    audit.record(action="privacy.inventory_exported", actor=request_actor(request),
                 data={"format": "pdf"})
    body = render_pdf("privacy/pdf_inventory.html", {
        "org": account_selectors.organisation(), "header": inv.HEADER,
        "rows": inv.inventory_rows(), "now": timezone.now()})
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="records-of-processing.pdf"'
    return response


@permission_required(INVENTORY_VIEW)
def retention(request: HttpRequest) -> HttpResponse:
    from safeguard.privacy.matrix import matrix_version_number
    from safeguard.privacy.matrix_edit import matrix_versions

    return render(request, "privacy/retention.html", {
        "rows": selectors.matrix_rows(), "sweeps": selectors.sweep_list(),
        "can_manage": RETENTION_MANAGE in request_permissions(request),
        "governing": selectors.governing_rules(), "versions": matrix_versions(),
        "version": matrix_version_number(),
    })


@permission_required(RETENTION_MANAGE)
@require_POST
def sweep_start(request: HttpRequest) -> HttpResponse:
    """Run a dry run now (the report of what the next sweep would do); real sweeps run daily
    in the worker or by `safeguard privacy sweep`."""
    view = services.sweep_run(actor=request_actor(request), dry_run=True)
    return redirect("privacy:sweep", run_id=view.id)


@permission_required(INVENTORY_VIEW)
def sweep_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = selectors.sweep_get(run_id=run_id)
    if run is None:
        raise Http404
    return render(request, "privacy/sweep.html", {
        "run": run, "dispositions": selectors.sweep_dispositions(run_id=run_id)})


class HoldForm(forms.Form):
    scope = forms.ChoiceField(choices=HoldScope.choices)
    target_id = forms.CharField(max_length=64, label="Customer or case id", required=False,
                                help_text="For a customer or case hold: the id shown on the "
                                          "customer's or case's page")
    queue = forms.CharField(max_length=50, required=False,
                            help_text="For a query hold: every case in this queue (slug)")
    tag = forms.CharField(max_length=40, required=False,
                          help_text="For a query hold: every case with this tag")
    created_from = forms.DateField(required=False, label="Created from",
                                   widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(required=False, label="Created to",
                                 widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(max_length=services.REASON_MAX, widget=forms.Textarea(
        attrs={"rows": 3}), help_text="The matter or request the hold preserves evidence for")


@permission_required(RETENTION_MANAGE)
def holds(request: HttpRequest) -> HttpResponse:
    form = HoldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        query = {k: (data[k].isoformat() if hasattr(data[k], "isoformat") else data[k])
                 for k in services.QUERY_FIELDS if data.get(k)}
        try:
            services.legal_hold_place(principal=request_principal(request),
                                      scope=data["scope"], target_id=data["target_id"],
                                      reason=data["reason"], query=query or None)
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, "Legal hold placed.")
            return redirect("privacy:holds")
    status = 400 if request.method == "POST" else 200
    return render(request, "privacy/holds.html", {
        "form": form, "holds": selectors.hold_list(),
        "me": str(request_principal(request).user_id)}, status=status)


@permission_required(RETENTION_MANAGE)
@require_POST
def hold_release(request: HttpRequest, hold_id: UUID) -> HttpResponse:
    try:
        services.legal_hold_release(principal=request_principal(request), hold_id=str(hold_id))
    except ApplicationError as exc:
        messages.error(request, exc.detail)
        return redirect("privacy:holds")
    messages.success(request, "Legal hold released.")
    return redirect("privacy:holds")


class RequestForm(forms.Form):
    kind = forms.ChoiceField(choices=RequestKind.choices)
    regime = forms.ChoiceField(choices=Regime.choices)
    customer_id = forms.CharField(max_length=64, label="Customer id",
                                  help_text="The id shown on the customer's page")
    received_on = forms.DateField(label="Received on",
                                  widget=forms.DateInput(attrs={"type": "date"}),
                                  help_text="The day the request reached the organisation")


@permission_required(REQUESTS_MANAGE)
def requests_list(request: HttpRequest) -> HttpResponse:
    form = RequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            view = dsr.dsr_create(principal=request_principal(request), **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
        else:
            return redirect("privacy:request", request_id=view.id)
    status = 400 if request.method == "POST" else 200
    return render(request, "privacy/requests.html", {
        "form": form, "requests": dsr.dsr_list(), "today": timezone.localdate()},
        status=status)


@permission_required(REQUESTS_MANAGE)
def request_detail(request: HttpRequest, request_id: UUID) -> HttpResponse:
    view = dsr.dsr_get(request_id=str(request_id))
    plan = None
    if view.action == "erase" and view.open and view.customer_id:
        plan = dsr.erasure_plan(customer_id=view.customer_id, as_of=timezone.localdate())
    link = ""
    if view.action == "export" and view.status == "fulfilled" and view.customer_id:
        link = request.build_absolute_uri(fulfil.bundle_link(request_id=view.id))
    return render(request, "privacy/request.html", {
        "r": view, "plan": plan, "today": timezone.localdate(), "bundle_link": link,
        "rectifiable": fulfil.RECTIFIABLE, "reasons": fulfil.UNVERIFIABLE_REASONS,
        "link_hours": settings.SAFEGUARD_DSR_LINK_HOURS})


@permission_required(REQUESTS_MANAGE)
def request_letter(request: HttpRequest, request_id: UUID) -> HttpResponse:
    """The reply letter of a fulfilled request as PDF (with the DPO contact, R-ORG-1)."""
    view = dsr.dsr_get(request_id=str(request_id))
    if not view.reply:
        raise Http404
    audit.record(action="dsr.letter_downloaded", actor=request_actor(request),
                 subject=("dsr", view.id))
    body = render_pdf("privacy/pdf_letter.html", {
        "org": account_selectors.organisation(), "r": view, "today": timezone.localdate()})
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="reply-{view.id}.pdf"'
    return response


@permission_required(REQUESTS_MANAGE)
def request_export(request: HttpRequest, request_id: UUID) -> HttpResponse:
    """The bundle of a fulfilled export request as a zip (JSON + CSV per table; audited)."""
    try:  # an export freeze (incident containment, decision 0225) refuses and records
        audit.export_guard(actor=request_actor(request), export="privacy.dsr_bundle")
    except ApplicationError as exc:
        return HttpResponse(exc.detail, status=exc.status, content_type="text/plain")
    try:
        bundle = fulfil.bundle_build(request_id=str(request_id), actor=request_actor(request))
    except ApplicationError as exc:
        raise Http404(exc.detail) from exc
    response = HttpResponse(bundle.content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{bundle.filename}"'
    return response


def _fulfil(request: HttpRequest, request_id: str) -> object:
    return fulfil.dsr_fulfil(principal=request_principal(request), request_id=request_id,
                             origin=request.build_absolute_uri("/"))


def _verify(request: HttpRequest, request_id: str) -> object:
    return dsr.dsr_verify(principal=request_principal(request), request_id=request_id)


def _extend(request: HttpRequest, request_id: str) -> object:
    return dsr.dsr_extend(principal=request_principal(request), request_id=request_id)


def _acknowledge(request: HttpRequest, request_id: str) -> object:
    return fulfil.dsr_acknowledge(principal=request_principal(request), request_id=request_id)


def _restrict(request: HttpRequest, request_id: str) -> object:
    return fulfil.dsr_fulfil_restrict(principal=request_principal(request),
                                      request_id=request_id,
                                      note=request.POST.get("note", ""))


def _rectify(request: HttpRequest, request_id: str) -> object:
    corrections = {k: request.POST.get(k, "") for k in fulfil.RECTIFIABLE
                   if request.POST.get(k, "").strip()}
    return fulfil.dsr_fulfil_rectify(principal=request_principal(request),
                                     request_id=request_id, corrections=corrections,
                                     note=request.POST.get("note", ""))


def _unverifiable(request: HttpRequest, request_id: str) -> object:
    return fulfil.dsr_close_unverifiable(actor=request_actor(request), request_id=request_id,
                                         reason=request.POST.get("reason", ""))


_STEPS: dict[str, tuple[Callable[[HttpRequest, str], object], str]] = {
    "verify": (_verify, "Identity verified."),
    "extend": (_extend, "Deadline extended."),
    "acknowledge": (_acknowledge, "Acknowledgement recorded."),
    "fulfil": (_fulfil, "Request fulfilled; the reply is below."),
    "restrict": (_restrict, "Restriction recorded; the reply is below."),
    "rectify": (_rectify, "Rectification closed; the reply is below."),
    "unverifiable": (_unverifiable, "Closed as unverifiable; the letter says why."),
}


@permission_required(REQUESTS_MANAGE)
@require_POST
def request_step(request: HttpRequest, request_id: UUID, step: str) -> HttpResponse:
    entry = _STEPS.get(step)
    if entry is None:
        raise Http404
    action, done = entry
    try:
        action(request, str(request_id))
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, done)
    return redirect("privacy:request", request_id=request_id)

"""Privacy pages: the data inventory and its CSV export, the retention matrix with sweeps,
legal holds (R-DATA-1, R-DATA-3, R-REG-4). Thin: parse, authorize, call, render."""

from __future__ import annotations

import json
from collections.abc import Callable
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from safeguard.accounts import selectors as account_selectors
from safeguard.accounts.contracts import Principal
from safeguard.accounts.guards import (
    permission_required,
    request_actor,
    request_permissions,
    request_principal,
)
from safeguard.audit import services as audit
from safeguard.privacy import inventory as inv
from safeguard.privacy import requests as dsr
from safeguard.privacy import selectors, services
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
    if view.kind == RequestKind.ERASURE and view.open:
        plan = dsr.erasure_plan(customer_id=view.customer_id, as_of=timezone.localdate())
    return render(request, "privacy/request.html", {
        "r": view, "plan": plan, "today": timezone.localdate()})


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
    """The access export of a fulfilled access or portability request, as JSON (audited)."""
    view = dsr.dsr_get(request_id=str(request_id))
    if view.kind not in (RequestKind.ACCESS, RequestKind.PORTABILITY) or view.status != "fulfilled":
        raise Http404
    audit.record(action="dsr.access_exported", actor=request_actor(request),
                 subject=("dsr", view.id), data={"customer": view.customer_id})
    body = json.dumps(dsr.access_bundle(request_id=view.id), indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="personal-data-{view.id}.json"'
    return response


def _fulfil(*, principal: Principal, request_id: str) -> object:
    if dsr.dsr_get(request_id=request_id).kind == RequestKind.ERASURE:
        return dsr.dsr_fulfil_erasure(principal=principal, request_id=request_id)
    return dsr.dsr_fulfil_access(principal=principal, request_id=request_id)


_STEPS: dict[str, Callable[..., object]] = {"verify": dsr.dsr_verify, "extend": dsr.dsr_extend,
                                            "fulfil": _fulfil}


@permission_required(REQUESTS_MANAGE)
@require_POST
def request_step(request: HttpRequest, request_id: UUID, step: str) -> HttpResponse:
    action = _STEPS.get(step)
    if action is None:
        raise Http404
    try:
        action(principal=request_principal(request), request_id=str(request_id))
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, {"verify": "Identity verified.", "extend": "Deadline extended.",
                                   "fulfil": "Request fulfilled; the reply is below."}[step])
    return redirect("privacy:request", request_id=request_id)

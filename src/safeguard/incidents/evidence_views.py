"""Evidence locker pages of an incident (R-IR-5). Thin: parse, authorize, call one evidence
service, render. Every open of an item states a purpose and is integrity-checked; the export
package needs a fresh step-up."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from safeguard.accounts.guards import (
    permission_required,
    request_actor,
    request_permissions,
    step_up_required,
)
from safeguard.incidents import evidence, selectors
from safeguard.incidents.contracts import IncidentNotFound
from safeguard.incidents.permissions import (
    INCIDENTS_EVIDENCE,
    INCIDENTS_EVIDENCE_EXPORT,
    INCIDENTS_VIEW,
)
from safeguard.web.errors import ApplicationError

_PURPOSE = {"max_length": 500, "help_text": "Why (kept in the chain of custody)"}


class UploadForm(forms.Form):
    file = forms.FileField()
    description = forms.CharField(required=False, max_length=500)
    purpose = forms.CharField(**_PURPOSE)  # type: ignore[arg-type]


class SliceForm(forms.Form):
    first_seq = forms.IntegerField(min_value=1, label="First event (seq)")
    last_seq = forms.IntegerField(min_value=1, label="Last event (seq)")
    purpose = forms.CharField(**_PURPOSE)  # type: ignore[arg-type]


class FilteredSliceForm(forms.Form):
    actor_id = forms.CharField(required=False, max_length=64, label="Actor id",
                               help_text="A staff user's or API token's number")
    customer_id = forms.CharField(required=False, max_length=36, label="Customer id")
    since = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                           format="%Y-%m-%dT%H:%M"))
    until = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                           format="%Y-%m-%dT%H:%M"))
    purpose = forms.CharField(**_PURPOSE)  # type: ignore[arg-type]


class PurposeForm(forms.Form):
    purpose = forms.CharField(**_PURPOSE)  # type: ignore[arg-type]


class TransferForm(forms.Form):
    to = forms.CharField(max_length=200, label="Transferred to")
    purpose = forms.CharField(**_PURPOSE)  # type: ignore[arg-type]


def _errors(form: forms.Form) -> str:
    return "; ".join(f"{k}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items())


def _back(incident_id: int) -> HttpResponse:
    return redirect("incidents:evidence", incident_id=incident_id)


@permission_required(INCIDENTS_VIEW)
def locker(request: HttpRequest, incident_id: int) -> HttpResponse:
    try:
        view = selectors.incident_get(incident_id=incident_id)
    except IncidentNotFound:
        return render(request, "404.html", status=404)
    perms = request_permissions(request)
    return render(request, "incidents/evidence.html", {
        "i": view, "items": evidence.item_list(incident_id=incident_id),
        "can_collect": INCIDENTS_EVIDENCE in perms,
        "can_export": INCIDENTS_EVIDENCE_EXPORT in perms,
        "max_bytes": settings.SAFEGUARD_EVIDENCE_MAX_UPLOAD_BYTES,
        "upload_form": UploadForm(auto_id="up_%s"), "slice_form": SliceForm(auto_id="sl_%s"),
        "filtered_form": FilteredSliceForm(auto_id="fs_%s"),
        "export_form": PurposeForm(auto_id="ex_%s")})


@permission_required(INCIDENTS_EVIDENCE)
@require_POST
def upload(request: HttpRequest, incident_id: int) -> HttpResponse:
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, f"Nothing stored - {_errors(form)}")
        return _back(incident_id)
    f = form.cleaned_data["file"]
    if f.size > settings.SAFEGUARD_EVIDENCE_MAX_UPLOAD_BYTES:  # before reading it into memory
        messages.error(request, "Nothing stored - the file is larger than "
                                f"{settings.SAFEGUARD_EVIDENCE_MAX_UPLOAD_BYTES} bytes.")
        return _back(incident_id)
    try:
        item = evidence.upload_add(
            actor=request_actor(request), incident_id=incident_id, name=f.name or "",
            content_type=f.content_type or "", content=f.read(),
            description=form.cleaned_data["description"], purpose=form.cleaned_data["purpose"])
    except ApplicationError as exc:
        messages.error(request, f"Nothing stored - {exc.detail}")
    else:
        messages.success(request, f"Stored item {item.id}, SHA-256 {item.sha256}.")
    return _back(incident_id)


@permission_required(INCIDENTS_EVIDENCE)
@require_POST
def capture(request: HttpRequest, incident_id: int) -> HttpResponse:
    form = SliceForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Nothing captured - {_errors(form)}")
        return _back(incident_id)
    d = form.cleaned_data
    try:
        item = evidence.slice_capture(actor=request_actor(request), incident_id=incident_id,
                                      first_seq=d["first_seq"], last_seq=d["last_seq"],
                                      purpose=d["purpose"])
    except ApplicationError as exc:
        messages.error(request, f"Nothing captured - {exc.detail}")
    else:
        messages.success(request, f"Captured item {item.id}, SHA-256 {item.sha256}.")
    return _back(incident_id)


@permission_required(INCIDENTS_EVIDENCE)
@require_POST
def capture_filtered(request: HttpRequest, incident_id: int) -> HttpResponse:
    """An audit-log slice by actor and/or customer in a window (R-IR-5)."""
    form = FilteredSliceForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Nothing captured - {_errors(form)}")
        return _back(incident_id)
    d = form.cleaned_data
    try:
        item = evidence.slice_capture_filtered(
            actor=request_actor(request), incident_id=incident_id, since=d["since"],
            until=d["until"], actor_id=d["actor_id"], customer_id=d["customer_id"],
            purpose=d["purpose"])
    except ApplicationError as exc:
        messages.error(request, f"Nothing captured - {exc.detail}")
    else:
        messages.success(request, f"Captured item {item.id}, SHA-256 {item.sha256}.")
    return _back(incident_id)


@permission_required(INCIDENTS_VIEW)
def item(request: HttpRequest, incident_id: int, item_id: int) -> HttpResponse:
    """An item's facts and chain of custody (no content: opening it needs a purpose)."""
    rows = [i for i in evidence.item_list(incident_id=incident_id) if i.id == item_id]
    if not rows:
        return render(request, "404.html", status=404)
    perms = request_permissions(request)
    return render(request, "incidents/evidence_item.html", {
        "incident_id": incident_id, "item": rows[0],
        "custody": evidence.custody_list(item_id=item_id),
        "can_collect": INCIDENTS_EVIDENCE in perms,
        "open_form": PurposeForm(auto_id="op_%s"), "transfer_form": TransferForm(auto_id="tr_%s")})


@permission_required(INCIDENTS_EVIDENCE)
@require_POST
def item_open(request: HttpRequest, incident_id: int, item_id: int) -> HttpResponse:
    """Download the item's bytes after the integrity check; refused (409) when tampered."""
    form = PurposeForm(request.POST)
    if not form.is_valid():
        return HttpResponse(f"State a purpose - {_errors(form)}", status=400,
                            content_type="text/plain")
    try:
        view, content = evidence.item_view(actor=request_actor(request),
                                           incident_id=incident_id, item_id=item_id,
                                           purpose=form.cleaned_data["purpose"])
    except ApplicationError as exc:
        return HttpResponse(exc.detail, status=exc.status, content_type="text/plain")
    response = HttpResponse(content, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="evidence-{view.id}"'
    response["X-Content-SHA256"] = view.sha256
    return response


@permission_required(INCIDENTS_EVIDENCE)
@require_POST
def transfer(request: HttpRequest, incident_id: int, item_id: int) -> HttpResponse:
    form = TransferForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Nothing recorded - {_errors(form)}")
    else:
        try:
            evidence.item_transfer(actor=request_actor(request), incident_id=incident_id,
                                   item_id=item_id, purpose=form.cleaned_data["purpose"],
                                   to=form.cleaned_data["to"])
        except ApplicationError as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, "Transfer recorded.")
    return redirect("incidents:evidence_item", incident_id=incident_id, item_id=item_id)


@permission_required(INCIDENTS_EVIDENCE_EXPORT)
@step_up_required(action="Export an incident's evidence package")
@require_POST
def export(request: HttpRequest, incident_id: int) -> HttpResponse:
    """The evidence package: items, custody logs, manifest.json, manifest.sig, public_key.pem."""
    form = PurposeForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Nothing exported - {_errors(form)}")
        return _back(incident_id)
    try:
        name, body = evidence.package_export(actor=request_actor(request),
                                             incident_id=incident_id,
                                             purpose=form.cleaned_data["purpose"])
    except ApplicationError as exc:
        messages.error(request, f"Nothing exported - {exc.detail}")
        return _back(incident_id)
    response = HttpResponse(body, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response

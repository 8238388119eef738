"""Pages of the governance registers: manual controls and their attestations, external
validation, vendors, the compliance calendar and its iCalendar feed (decisions 0246-0248).
Thin: parse, authorize, call one service or selector, render. Refused input re-renders the page
with the reason and status 400; nothing is stored."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from safeguard.accounts import selectors as accounts
from safeguard.accounts.guards import permission_required, request_actor, request_permissions
from safeguard.audit import services as audit
from safeguard.governance import attestations, certifications, evidence, registers
from safeguard.governance import calendar as compliance_calendar
from safeguard.governance.contracts import UnknownControl
from safeguard.governance.permissions import CONTROLS_ATTEST, REGISTERS_MANAGE, REGISTERS_VIEW
from safeguard.web.errors import ApplicationError

_FORM_FIELDS_VALIDATION = ("kind", "title", "provider", "scope", "performed_on",
                           "report_received_on", "next_due_on", "cost", "currency")
_FORM_FIELDS_VENDOR = ("name", "services", "risk_tier", "review_due_on", "last_reviewed_on",
                       "contract_start", "contract_end", "dpa_signed_on")


def _upload(request: HttpRequest, field: str = "file") -> tuple[bytes, str]:
    """The uploaded file's bytes and name; an oversize file is refused before it is read."""
    f = request.FILES.get(field)
    if f is None:
        return b"", ""
    if f.size is not None and f.size > settings.SAFEGUARD_GOVERNANCE_EVIDENCE_MAX_BYTES:
        raise evidence.EvidenceRefused(
            f"The evidence file is larger than {settings.SAFEGUARD_GOVERNANCE_EVIDENCE_MAX_BYTES} "
            "bytes.")
    return f.read(), f.name or ""


def _can(request: HttpRequest, permission: str) -> bool:
    return permission in request_permissions(request)


# --- manual controls and attestations ----------------------------------------------------------

@permission_required(REGISTERS_VIEW)
def attestation_list(request: HttpRequest) -> HttpResponse:
    return render(request, "governance/registers/attestations.html", {
        "controls": attestations.manual_control_list()})


def _attestation_page(request: HttpRequest, control_id: str, *, status: int = 200,
                      error: str = "", form: dict[str, Any] | None = None) -> HttpResponse:
    try:
        control = attestations.manual_control_get(control_id=control_id)
    except UnknownControl:
        raise Http404("No such manual control") from None
    user_id = request.user.pk
    return render(request, "governance/registers/attestation.html", {
        "control": control, "history": attestations.attestation_list(control_id=control_id),
        "staff": [u for u in accounts.user_list(include_disabled=False)
                  if not u.is_service_account] if _can(request, REGISTERS_MANAGE) else [],
        "can_assign": _can(request, REGISTERS_MANAGE),
        "can_attest": _can(request, CONTROLS_ATTEST) and control.owner_id == user_id,
        "max_bytes": settings.SAFEGUARD_GOVERNANCE_EVIDENCE_MAX_BYTES,
        "accepted": evidence.ACCEPTED, "error": error, "form": form or {},
    }, status=status)


@permission_required(REGISTERS_VIEW)
def attestation(request: HttpRequest, control_id: str) -> HttpResponse:
    return _attestation_page(request, control_id)


@permission_required(REGISTERS_MANAGE)
@require_POST
def attestation_owner(request: HttpRequest, control_id: str) -> HttpResponse:
    try:
        owner_id = int(request.POST.get("owner", ""))
    except ValueError:
        return _attestation_page(request, control_id, status=400,
                                 error="Nothing changed - choose a staff member.")
    try:
        view = attestations.owner_assign(control_id=control_id, owner_id=owner_id,
                                         actor=request_actor(request))
    except UnknownControl:
        raise Http404("No such manual control") from None
    except ApplicationError as exc:
        return _attestation_page(request, control_id, status=exc.status,
                                 error=f"Nothing changed - {exc.detail}")
    messages.success(request, f"{view.owner} now owns {view.id}.")
    return redirect("governance:attestation", control_id=view.id)


@permission_required(CONTROLS_ATTEST)
@require_POST
def attestation_add(request: HttpRequest, control_id: str) -> HttpResponse:
    statement = request.POST.get("statement", "")
    try:
        content, name = _upload(request)
        if not content:
            raise attestations.AttestationRefused("Attach the evidence file.")
        attestations.attest(control_id=control_id, statement=statement, content=content,
                            file_name=name, actor=request_actor(request),
                            user_id=int(request.user.pk or 0))
    except UnknownControl:
        raise Http404("No such manual control") from None
    except ApplicationError as exc:
        return _attestation_page(request, control_id, status=exc.status,
                                 error=f"Nothing stored - {exc.detail}",
                                 form={"statement": statement})
    messages.success(request, f"Attestation of {control_id} recorded. The framework view shows "
                              "it from the next evaluation run.")
    return redirect("governance:attestation", control_id=control_id)


@permission_required(REGISTERS_VIEW)
def evidence_download(request: HttpRequest, file_id: str) -> HttpResponse:
    """Serve an evidence file after its integrity check; 409 when it was altered or lost."""
    try:
        view, content = evidence.open_checked(file_id=str(file_id), actor=request_actor(request),
                                              purpose="downloaded from the registers")
    except ApplicationError as exc:
        return HttpResponse(exc.detail, status=exc.status, content_type="text/plain")
    response = HttpResponse(content, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="evidence-{view.id}"'
    response["X-Content-SHA256"] = view.sha256
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- external validation -----------------------------------------------------------------------

@permission_required(REGISTERS_VIEW)
def validation_list(request: HttpRequest) -> HttpResponse:
    return render(request, "governance/registers/validations.html", {
        "validations": registers.validation_list(),
        "can_manage": _can(request, REGISTERS_MANAGE)})


def _validation_form(request: HttpRequest, *, validation: registers.ValidationView | None,
                     data: dict[str, Any], error: str = "", status: int = 200) -> HttpResponse:
    return render(request, "governance/registers/validation_form.html", {
        "validation": validation, "form": data, "error": error, "kinds": registers.KINDS,
    }, status=status)


def _validation_initial(v: registers.ValidationView) -> dict[str, Any]:
    return {"kind": v.kind, "title": v.title, "provider": v.provider, "scope": v.scope,
            "performed_on": v.performed_on.isoformat(),
            "report_received_on": v.report_received_on.isoformat()
            if v.report_received_on else "",
            "next_due_on": v.next_due_on.isoformat() if v.next_due_on else "",
            "cost": str(v.cost) if v.cost is not None else "", "currency": v.currency}


@permission_required(REGISTERS_MANAGE)
def validation_add(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _validation_form(request, validation=None, data={"kind": "pentest"})
    data = {k: request.POST.get(k, "") for k in _FORM_FIELDS_VALIDATION}
    try:
        view = registers.validation_save(data=data, actor=request_actor(request))
    except ApplicationError as exc:
        return _validation_form(request, validation=None, data=data, status=exc.status,
                                error=f"Nothing stored - {exc.detail}")
    messages.success(request, f"External validation {view.id} recorded.")
    return redirect("governance:validation", validation_id=view.id)


def _validation_or_404(validation_id: int) -> registers.ValidationView:
    try:
        return registers.validation_get(validation_id=validation_id)
    except registers.RegisterNotFound:
        raise Http404("No such external validation") from None


@permission_required(REGISTERS_MANAGE)
def validation_edit(request: HttpRequest, validation_id: int) -> HttpResponse:
    current = _validation_or_404(validation_id)
    if request.method != "POST":
        return _validation_form(request, validation=current, data=_validation_initial(current))
    data = {k: request.POST.get(k, "") for k in _FORM_FIELDS_VALIDATION}
    try:
        registers.validation_save(data=data, actor=request_actor(request),
                                  validation_id=validation_id)
    except ApplicationError as exc:
        return _validation_form(request, validation=current, data=data, status=exc.status,
                                error=f"Nothing changed - {exc.detail}")
    messages.success(request, "External validation updated.")
    return redirect("governance:validation", validation_id=validation_id)


def _validation_page(request: HttpRequest, validation_id: int, *, error: str = "",
                     status: int = 200) -> HttpResponse:
    return render(request, "governance/registers/validation.html", {
        "v": _validation_or_404(validation_id), "severities": registers.SEVERITIES,
        "statuses": registers.FINDING_STATUSES, "can_manage": _can(request, REGISTERS_MANAGE),
        "error": error}, status=status)


@permission_required(REGISTERS_VIEW)
def validation(request: HttpRequest, validation_id: int) -> HttpResponse:
    return _validation_page(request, validation_id)


@permission_required(REGISTERS_MANAGE)
@require_POST
def finding_save(request: HttpRequest, validation_id: int,
                 finding_id: int | None = None) -> HttpResponse:
    _validation_or_404(validation_id)
    data = {k: request.POST.get(k, "") for k in ("title", "severity", "status", "due_on",
                                                 "closed_on")}
    try:
        registers.finding_save(validation_id=validation_id, data=data,
                               actor=request_actor(request), finding_id=finding_id)
    except registers.RegisterNotFound:
        raise Http404("No such finding") from None
    except ApplicationError as exc:
        return _validation_page(request, validation_id, status=exc.status,
                                error=f"Nothing changed - {exc.detail}")
    messages.success(request, "Finding saved.")
    return redirect("governance:validation", validation_id=validation_id)


# --- vendors -----------------------------------------------------------------------------------

@permission_required(REGISTERS_VIEW)
def vendor_list(request: HttpRequest) -> HttpResponse:
    return render(request, "governance/registers/vendors.html", {
        "vendors": registers.vendor_list(), "can_manage": _can(request, REGISTERS_MANAGE)})


def _vendor_form(request: HttpRequest, *, vendor: registers.VendorView | None,
                 data: dict[str, Any], error: str = "", status: int = 200) -> HttpResponse:
    return render(request, "governance/registers/vendor_form.html", {
        "vendor": vendor, "form": data, "error": error, "tiers": registers.TIERS,
        "categories": sorted(registers.data_categories().items()),
    }, status=status)


def _vendor_data(request: HttpRequest) -> dict[str, Any]:
    data: dict[str, Any] = {k: request.POST.get(k, "") for k in _FORM_FIELDS_VENDOR}
    data["data_categories"] = request.POST.getlist("data_categories")
    return data


def _vendor_or_404(vendor_id: int) -> registers.VendorView:
    try:
        return registers.vendor_get(vendor_id=vendor_id)
    except registers.RegisterNotFound:
        raise Http404("No such vendor") from None


@permission_required(REGISTERS_MANAGE)
def vendor_add(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _vendor_form(request, vendor=None, data={"risk_tier": "medium",
                                                        "data_categories": []})
    data = _vendor_data(request)
    try:
        view = registers.vendor_save(data=data, actor=request_actor(request))
    except ApplicationError as exc:
        return _vendor_form(request, vendor=None, data=data, status=exc.status,
                            error=f"Nothing stored - {exc.detail}")
    messages.success(request, f"Vendor {view.name} added.")
    return redirect("governance:vendor", vendor_id=view.id)


@permission_required(REGISTERS_MANAGE)
def vendor_edit(request: HttpRequest, vendor_id: int) -> HttpResponse:
    current = _vendor_or_404(vendor_id)
    if request.method != "POST":
        data: dict[str, Any] = {k: getattr(current, k) for k in _FORM_FIELDS_VENDOR}
        data = {k: (v.isoformat() if hasattr(v, "isoformat") else v or "")
                for k, v in data.items()}
        data["data_categories"] = list(current.data_categories)
        return _vendor_form(request, vendor=current, data=data)
    data = _vendor_data(request)
    try:
        registers.vendor_save(data=data, actor=request_actor(request), vendor_id=vendor_id)
    except ApplicationError as exc:
        return _vendor_form(request, vendor=current, data=data, status=exc.status,
                            error=f"Nothing changed - {exc.detail}")
    messages.success(request, "Vendor updated.")
    return redirect("governance:vendor", vendor_id=vendor_id)


def _vendor_page(request: HttpRequest, vendor_id: int, *, error: str = "",
                 status: int = 200) -> HttpResponse:
    return render(request, "governance/registers/vendor.html", {
        "v": _vendor_or_404(vendor_id), "can_manage": _can(request, REGISTERS_MANAGE),
        "categories": registers.data_categories(), "accepted": evidence.ACCEPTED,
        "max_bytes": settings.SAFEGUARD_GOVERNANCE_EVIDENCE_MAX_BYTES, "error": error,
    }, status=status)


@permission_required(REGISTERS_VIEW)
def vendor(request: HttpRequest, vendor_id: int) -> HttpResponse:
    return _vendor_page(request, vendor_id)


@permission_required(REGISTERS_MANAGE)
@require_POST
def vendor_evidence(request: HttpRequest, vendor_id: int) -> HttpResponse:
    _vendor_or_404(vendor_id)
    try:
        content, name = _upload(request)
        registers.vendor_evidence_add(vendor_id=vendor_id, actor=request_actor(request),
                                      note=request.POST.get("note", ""),
                                      url=request.POST.get("url", ""), content=content,
                                      file_name=name)
    except ApplicationError as exc:
        return _vendor_page(request, vendor_id, status=exc.status,
                            error=f"Nothing stored - {exc.detail}")
    messages.success(request, "Evidence added.")
    return redirect("governance:vendor", vendor_id=vendor_id)


# --- compliance calendar -----------------------------------------------------------------------

@permission_required(REGISTERS_VIEW)
def calendar_page(request: HttpRequest) -> HttpResponse:
    return render(request, "governance/registers/calendar.html", {
        "cal": compliance_calendar.calendar(),
        "certifications": certifications.expiry_dates(),
        "horizon_days": settings.SAFEGUARD_CALENDAR_HORIZON_DAYS})


@permission_required(REGISTERS_VIEW)
def calendar_ics(request: HttpRequest) -> HttpResponse:
    """The calendar as iCalendar (RFC 5545), for import into a calendar client; signed-in
    users with the register permission only."""
    cal = compliance_calendar.calendar()
    body = compliance_calendar.ics(cal, base_url=request.build_absolute_uri("/"))
    audit.record(action="governance.calendar_exported", actor=request_actor(request),
                 data={"format": "ics", "events": len(cal.events)})
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="safeguard-compliance.ics"'
    return response

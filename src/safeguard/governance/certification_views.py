"""Pages of the certification register (decision 0249). Thin: parse, authorize, call one
service or selector, render. Refused input re-renders the page with the reason and status 400;
nothing is stored."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from safeguard.accounts.guards import permission_required, request_actor, request_permissions
from safeguard.governance import certifications, evidence, registers
from safeguard.governance.permissions import REGISTERS_MANAGE, REGISTERS_VIEW
from safeguard.governance.register_views import _upload
from safeguard.web.errors import ApplicationError

_FIELDS = ("name", "framework_id", "issuer", "reference", "scope", "issued_on", "expires_on",
           "validation_id", "evidence_url")


def _can_manage(request: HttpRequest) -> bool:
    return REGISTERS_MANAGE in request_permissions(request)


def _data(request: HttpRequest) -> dict[str, Any]:
    data: dict[str, Any] = {k: request.POST.get(k, "") for k in _FIELDS}
    data["published"] = request.POST.get("published", "") == "on"
    return data


def _or_404(certification_id: int) -> certifications.CertificationView:
    try:
        return certifications.certification_get(certification_id=certification_id)
    except registers.RegisterNotFound:
        raise Http404("No such certification") from None


@permission_required(REGISTERS_VIEW)
def certification_list(request: HttpRequest) -> HttpResponse:
    return render(request, "governance/registers/certifications.html", {
        "certifications": certifications.certification_list(),
        "can_manage": _can_manage(request)})


def _form(request: HttpRequest, *, cert: certifications.CertificationView | None,
          data: dict[str, Any], error: str = "", status: int = 200) -> HttpResponse:
    return render(request, "governance/registers/certification_form.html", {
        "cert": cert, "form": data, "error": error,
        "frameworks": sorted(certifications.frameworks().items(), key=lambda kv: kv[1].lower()),
        "validations": registers.validation_list()}, status=status)


@permission_required(REGISTERS_MANAGE)
def certification_add(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _form(request, cert=None, data={})
    data = _data(request)
    try:
        view = certifications.certification_save(data=data, actor=request_actor(request))
    except ApplicationError as exc:
        return _form(request, cert=None, data=data, status=exc.status,
                     error=f"Nothing stored - {exc.detail}")
    messages.success(request, f"Certification {view.name} recorded.")
    return redirect("governance:certification", certification_id=view.id)


@permission_required(REGISTERS_MANAGE)
def certification_edit(request: HttpRequest, certification_id: int) -> HttpResponse:
    current = _or_404(certification_id)
    if request.method != "POST":
        data = {k: getattr(current, k) for k in _FIELDS}
        data = {k: (v.isoformat() if hasattr(v, "isoformat") else "" if v is None else v)
                for k, v in data.items()}
        data["published"] = current.published
        return _form(request, cert=current, data=data)
    data = _data(request)
    try:
        certifications.certification_save(data=data, actor=request_actor(request),
                                          certification_id=certification_id)
    except ApplicationError as exc:
        return _form(request, cert=current, data=data, status=exc.status,
                     error=f"Nothing changed - {exc.detail}")
    messages.success(request, "Certification updated.")
    return redirect("governance:certification", certification_id=certification_id)


def _page(request: HttpRequest, certification_id: int, *, error: str = "",
          status: int = 200) -> HttpResponse:
    return render(request, "governance/registers/certification.html", {
        "c": _or_404(certification_id), "can_manage": _can_manage(request),
        "accepted": evidence.ACCEPTED,
        "max_bytes": settings.SAFEGUARD_GOVERNANCE_EVIDENCE_MAX_BYTES, "error": error,
    }, status=status)


@permission_required(REGISTERS_VIEW)
def certification(request: HttpRequest, certification_id: int) -> HttpResponse:
    return _page(request, certification_id)


@permission_required(REGISTERS_MANAGE)
@require_POST
def certification_withdraw(request: HttpRequest, certification_id: int) -> HttpResponse:
    _or_404(certification_id)
    try:
        certifications.certification_withdraw(
            certification_id=certification_id, withdrawn_on=request.POST.get("withdrawn_on", ""),
            reason=request.POST.get("reason", ""), actor=request_actor(request))
    except ApplicationError as exc:
        return _page(request, certification_id, status=exc.status,
                     error=f"Nothing changed - {exc.detail}")
    messages.success(request, "Certification withdrawn; it is no longer shown publicly.")
    return redirect("governance:certification", certification_id=certification_id)


@permission_required(REGISTERS_MANAGE)
@require_POST
def certification_evidence(request: HttpRequest, certification_id: int) -> HttpResponse:
    _or_404(certification_id)
    try:
        content, name = _upload(request)
        certifications.certification_evidence_file(
            certification_id=certification_id, content=content, file_name=name,
            actor=request_actor(request))
    except ApplicationError as exc:
        return _page(request, certification_id, status=exc.status,
                     error=f"Nothing stored - {exc.detail}")
    messages.success(request, "Certificate file attached.")
    return redirect("governance:certification", certification_id=certification_id)

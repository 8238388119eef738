"""Pages of the review packs (R-MEAS-1, R-MEAS-4): the quarterly security review and the yearly
programme review (page and PDF), and the archive of generated packs with audited downloads."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from safeguard.accounts.guards import permission_required, request_actor, request_permissions
from safeguard.audit import services as audit
from safeguard.metrics import archive, packs
from safeguard.metrics import permissions as perm
from safeguard.metrics.contracts import MetricsError


def _text(status: int, message: str) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _pack(kind: str, period: str) -> packs.Pack | HttpResponse:
    try:
        p = packs.parse_period(kind, period)
    except MetricsError as exc:
        return _text(400, exc.detail)
    return packs.build(p)


@permission_required(perm.KPIS_VIEW)
@require_GET
def review_pack(request: HttpRequest, kind: str, period: str) -> HttpResponse:
    """A quarterly or yearly review pack as a page; a malformed or future period is a 400."""
    pack = _pack(kind, period)
    if isinstance(pack, HttpResponse):
        return pack
    audit.record(action="metrics.review_viewed", actor=request_actor(request),
                 data={"kind": kind, "period": pack.period.label, "format": "html"})
    return render(request, "metrics/pack.html", {"pack": pack,
                                                 "pdf_url": f"metrics:review_{kind}_pdf"})


@permission_required(perm.KPIS_VIEW)
@require_GET
def review_pack_pdf(request: HttpRequest, kind: str, period: str) -> HttpResponse:
    """The same pack as a PDF, generated now (the archive keeps the copies made on schedule)."""
    pack = _pack(kind, period)
    if isinstance(pack, HttpResponse):
        return pack
    audit.record(action="metrics.review_exported", actor=request_actor(request),
                 data={"kind": kind, "period": pack.period.label, "format": "pdf"})
    response = HttpResponse(archive.render(pack), content_type="application/pdf")
    response["Content-Disposition"] = (f'attachment; filename="review-{kind}-'
                                       f'{pack.period.label}.pdf"')
    return response


@permission_required(perm.KPIS_VIEW)
@require_GET
def review_archive(request: HttpRequest) -> HttpResponse:
    """The archived packs with their SHA-256 and downloads; the form to archive one now."""
    today = timezone.now().date()
    return render(request, "metrics/review_archive.html", {
        "archived": archive.pack_list(),
        "scheduled": archive.scheduled_kinds(),
        "offset": settings.SAFEGUARD_REVIEW_PACK_DAY_OFFSET,
        "kinds": [(k, packs.TITLES[k]) for k in packs.KINDS],
        "last_month": (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m"),
        "last_quarter": packs.previous_period(packs.QUARTERLY, today).label,
        "last_year": packs.previous_period(packs.YEARLY, today).label,
        "can_archive": perm.REVIEWS_ARCHIVE in request_permissions(request),
    })


@permission_required(perm.REVIEWS_ARCHIVE)
@require_POST
def review_archive_create(request: HttpRequest) -> HttpResponse:
    """Archive the pack of a closed period now (once: an archived one is kept as it is)."""
    kind = request.POST.get("kind", "")
    period = request.POST.get("period", "").strip()
    try:
        view, created = archive.pack_archive(kind=kind, period=period,
                                             actor=request_actor(request),
                                             user_id=request.user.pk)
    except MetricsError as exc:
        return _text(400, f"Nothing was archived: {exc.detail}")
    if created:
        messages.success(request, f"Archived the {view.title.lower()} {view.period}.")
    else:
        messages.info(request, f"The {view.title.lower()} {view.period} was already archived; "
                               "it was kept as it is.")
    return redirect("metrics:review_archive")


@permission_required(perm.KPIS_VIEW)
@require_GET
def review_archive_download(request: HttpRequest, pack_id: int) -> HttpResponse:
    """The archived PDF as stored, after its SHA-256 check; audited."""
    try:
        view, pdf = archive.pack_open(pack_id=pack_id, actor=request_actor(request))
    except MetricsError as exc:
        return _text(404, exc.detail)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (f'attachment; filename="review-{view.kind}-'
                                       f'{view.period}.pdf"')
    response["X-Content-SHA256"] = view.sha256
    return response

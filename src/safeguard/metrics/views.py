"""Pages of the metrics app: the KPI page (staff), the trust page and security.txt (public)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from safeguard.accounts.guards import (
    permission_required,
    public,
    request_actor,
    request_permissions,
)
from safeguard.audit import services as audit
from safeguard.cases import selectors as cases
from safeguard.metrics import kpis, reviews, securitytxt, selectors, services, spc, svg, trust
from safeguard.metrics import permissions as perm
from safeguard.metrics.contracts import KpiResult, KpiSeries, MetricsError
from safeguard.metrics.forms import KpiFilterForm, ProcessChangeForm
from safeguard.privacy.pdf import render_pdf


@dataclass(frozen=True)
class _Row:
    result: KpiResult
    series: KpiSeries | None
    chart_svg: str
    explanations: list[svg.Explanation]
    filters_ignored: tuple[str, ...]


def _chart_fmt(unit: str) -> svg.Formatter:
    if unit == kpis.RATIO:
        return lambda v: f"{v * 100:.1f}%"
    return lambda v: f"{v:.3g}"


@permission_required(perm.KPIS_VIEW)
@require_GET
def kpis_page(request: HttpRequest) -> HttpResponse:
    """Every KPI over the range against its target, each with its control chart and signals."""
    today = timezone.now().date()
    queues = [(q.slug, q.name) for q in cases.queue_list()]
    start: date = today - timedelta(days=settings.SAFEGUARD_KPI_DEFAULT_DAYS)
    end: date = today
    granularity: str = selectors.WEEKLY
    form = KpiFilterForm(request.GET or None, queues=queues,
                         initial={"start": start, "end": end, "granularity": granularity})
    queue = channel = None
    status = 200
    if request.GET:
        if form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
            granularity = form.cleaned_data["granularity"]
            queue = form.cleaned_data["queue"] or None
            channel = form.cleaned_data["channel"] or None
        else:
            status = 400
    rows: list[_Row] = []
    if status == 200:
        try:
            selectors.buckets(start=start, end=end, granularity=granularity)
        except MetricsError as exc:
            form.add_error(None, exc.detail)
            status = 400
    if status == 200:
        period = selectors.period_of(start, end)
        for result in selectors.kpi_results(period=period, queue=queue, channel=channel):
            defn = kpis.BY_KEY[result.key]
            series = selectors.kpi_series(key=result.key, start=start, end=end,
                                          granularity=granularity, queue=queue, channel=channel)
            chart_svg, notes = "", []
            plot = selectors.series_plot(series)
            if plot is not None:
                labels = [series.points[i].label for i in series.charted]
                fmt = _chart_fmt(defn.unit)
                chart_svg = svg.render(plot, labels=labels, fmt=fmt,
                                       title=f"{result.name}, {granularity}")
                notes = svg.explanations(plot, labels)
            ignored = tuple(f for f, v in ((kpis.QUEUE, queue), (kpis.CHANNEL, channel))
                            if v and f not in defn.filters)
            rows.append(_Row(result=result, series=series, chart_svg=chart_svg, explanations=notes,
                             filters_ignored=ignored))
    return render(request, "metrics/kpis.html", {
        "form": form, "rows": rows, "start": start, "end": end, "granularity": granularity,
        "rules": spc.RULE_DESCRIPTIONS,
        "last_month": (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m"),
        "changes": selectors.process_changes(),
        "change_form": ProcessChangeForm() if perm.CHANGES_ANNOTATE in request_permissions(
            request) else None,
    }, status=status)



@public
@require_GET
def security_txt(request: HttpRequest) -> HttpResponse:
    """RFC 9116 security.txt from the organisation's contacts; 404 until it can be complete."""
    built = securitytxt.build(host=request.get_host())
    if built.problems:
        return HttpResponse("security.txt is not configured.\n", status=404,
                            content_type="text/plain; charset=utf-8")
    return HttpResponse(built.text(), content_type="text/plain; charset=utf-8")


@public
@require_GET
def trust_page(request: HttpRequest) -> HttpResponse:
    """The public trust page, generated from live state (R-MEAS-5, R-ORG-1)."""
    doc = trust.current_signed()["document"]
    up = doc["uptime_90_days"]
    bars = ""
    if up.get("days"):
        bars = svg.uptime_bars([(d["date"] or "", d["up_ratio"]) for d in up["days"]],
                               title="Share of health samples up, per day")
    return render(request, "metrics/trust.html", {"doc": doc, "uptime_svg": bars})


@public
@require_GET
def trust_json(request: HttpRequest) -> HttpResponse:
    """The trust page's signed JSON twin for machines."""
    return JsonResponse(trust.current_signed(), json_dumps_params={"ensure_ascii": False})


def _pack_or_400(request: HttpRequest, month: str) -> reviews.MonthlyPack | HttpResponse:
    try:
        first = reviews.parse_month(month)
    except MetricsError as exc:
        return HttpResponse(exc.detail, status=400, content_type="text/plain; charset=utf-8")
    return reviews.monthly_pack(first_day=first)


@permission_required(perm.KPIS_VIEW)
@require_GET
def review_monthly(request: HttpRequest, month: str) -> HttpResponse:
    """The monthly operations review pack as a page (R-MEAS-1)."""
    pack = _pack_or_400(request, month)
    if isinstance(pack, HttpResponse):
        return pack
    audit.record(action="metrics.review_viewed", actor=request_actor(request),
                 data={"month": pack.month, "format": "html"})
    return render(request, "metrics/review_monthly.html", {"pack": pack})


@permission_required(perm.KPIS_VIEW)
@require_GET
def review_monthly_pdf(request: HttpRequest, month: str) -> HttpResponse:
    """The same pack as a PDF (WeasyPrint; no external resource is fetched)."""
    pack = _pack_or_400(request, month)
    if isinstance(pack, HttpResponse):
        return pack
    audit.record(action="metrics.review_exported", actor=request_actor(request),
                 data={"month": pack.month, "format": "pdf"})
    body = render_pdf("metrics/review_monthly_pdf.html", {"pack": pack})
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="review-{pack.month}.pdf"'
    return response


@permission_required(perm.CHANGES_ANNOTATE)
@require_POST
def process_change_add(request: HttpRequest) -> HttpResponse:
    """Annotate a process change on a KPI: its chart starts a new baseline phase there."""
    form = ProcessChangeForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        return HttpResponse(f"The change was not recorded: {errors}", status=400,
                            content_type="text/plain; charset=utf-8")
    try:
        view = services.process_change_record(
            actor=request_actor(request), user_id=request.user.pk,
            kpi_key=form.cleaned_data["kpi"], effective_on=form.cleaned_data["effective_on"],
            label=form.cleaned_data["label"])
    except MetricsError as exc:
        return HttpResponse(f"The change was not recorded: {exc.detail}", status=400,
                            content_type="text/plain; charset=utf-8")
    messages.success(request, f"Recorded: {view.kpi_key} changed on "
                              f"{view.effective_on.isoformat()} ({view.label}).")
    return redirect("metrics:kpis")

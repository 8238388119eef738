"""Pages of the metrics app: the KPI page (staff), the trust page and security.txt (public)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from safeguard.accounts.guards import permission_required, public, request_actor
from safeguard.audit import services as audit
from safeguard.cases import selectors as cases
from safeguard.metrics import kpis, reviews, securitytxt, selectors, spc, svg, trust
from safeguard.metrics import permissions as perm
from safeguard.metrics.contracts import KpiResult, KpiSeries, MetricsError
from safeguard.metrics.forms import KpiFilterForm
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
            if series.chart is not None:
                labels = [series.points[i].label for i in series.charted]
                fmt = _chart_fmt(defn.unit)
                chart_svg = svg.render(series.chart, labels=labels, fmt=fmt,
                                       title=f"{result.name}, {granularity}")
                notes = svg.explanations(series.chart, labels)
            ignored = tuple(f for f, v in ((kpis.QUEUE, queue), (kpis.CHANNEL, channel))
                            if v and f not in defn.filters)
            rows.append(_Row(result=result, series=series, chart_svg=chart_svg, explanations=notes,
                             filters_ignored=ignored))
    return render(request, "metrics/kpis.html", {
        "form": form, "rows": rows, "start": start, "end": end, "granularity": granularity,
        "rules": spc.RULE_DESCRIPTIONS,
        "last_month": (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m"),
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
    return render(request, "metrics/trust.html", {"doc": trust.current_signed()["document"]})


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

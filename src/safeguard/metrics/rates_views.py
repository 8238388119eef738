"""The rates page: u-charts of rates per unit of exposure (R-KPI-9), same range and granularity
filters as the KPI page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from safeguard.accounts.guards import permission_required
from safeguard.metrics import permissions as perm
from safeguard.metrics import rates, selectors, spc, svg
from safeguard.metrics.contracts import MetricsError
from safeguard.web.bounds import date_check


class RateFilterForm(forms.Form):
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), help_text="Inclusive.")
    granularity = forms.ChoiceField(choices=[(g, g.capitalize())
                                             for g in selectors.GRANULARITIES])

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        for name in ("start", "end"):
            if data.get(name):
                try:
                    data[name] = date_check(data[name])
                except ValueError as exc:
                    self.add_error(name, str(exc))
        return data


@dataclass(frozen=True)
class _Row:
    defn: rates.RateDef
    series: rates.RateSeries
    chart_svg: str
    explanations: list[svg.Explanation]


@permission_required(perm.KPIS_VIEW)
@require_GET
def rates_page(request: HttpRequest) -> HttpResponse:
    """Every rate over the range on a u-chart, with its signals in words."""
    today = timezone.now().date()
    start: date = today - timedelta(days=settings.SAFEGUARD_KPI_DEFAULT_DAYS)
    end: date = today
    granularity = selectors.WEEKLY
    form = RateFilterForm(request.GET or None,
                          initial={"start": start, "end": end, "granularity": granularity})
    status = 200
    if request.GET:
        if form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
            granularity = form.cleaned_data["granularity"]
        else:
            status = 400
    rows: list[_Row] = []
    if status == 200:
        try:
            for defn in rates.RATES:
                series = rates.rate_series(key=defn.key, start=start, end=end,
                                           granularity=granularity)
                chart_svg, notes = "", []
                if series.chart is not None:
                    labels = [series.points[i].label for i in series.charted]
                    chart_svg = svg.render(series.chart, labels=labels,
                                           title=f"{defn.name}, {granularity}",
                                           fmt=lambda v: f"{v:.3g}")
                    notes = svg.explanations(series.chart, labels)
                rows.append(_Row(defn=defn, series=series, chart_svg=chart_svg,
                                 explanations=notes))
        except MetricsError as exc:
            form.add_error(None, exc.detail)
            status, rows = 400, []
    return render(request, "metrics/rates.html", {
        "form": form, "rows": rows, "start": start, "end": end, "granularity": granularity,
        "rules": spc.RULE_DESCRIPTIONS}, status=status)

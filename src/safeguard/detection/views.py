"""Analysts' pages: the alert queue (filters, keyboard, bulk acknowledge), one alert with its
evidence timeline and clocks, and suppressions (R-OPS-9).

Thin: parse, check the permission (the decorator), call one service or selector, render. A
refused action re-renders the page with the reason and the error's 4xx status; nothing changed.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from safeguard.accounts.guards import (
    permission_required,
    request_permissions,
    request_principal,
    step_up_required,
)
from safeguard.detection import notify, selectors, services
from safeguard.detection import permissions as perms
from safeguard.detection.enums import AlertStatus, Resolution, Severity
from safeguard.web import providers
from safeguard.web.bounds import ascii_int, date_check
from safeguard.web.errors import ApplicationError

INCIDENT_PROVIDER = "incidents.open_from_alert"
PAGE = 50


class QueueFilter(forms.Form):
    status = forms.ChoiceField(required=False, choices=[
        ("open", "Open (not closed)"), ("", "Any"), *AlertStatus.choices])
    severity = forms.ChoiceField(required=False, choices=[("", "Any"), *Severity.choices])
    rule = forms.CharField(required=False, max_length=100, label="Rule id")
    entity = forms.CharField(required=False, max_length=200,
                             help_text="Exact, like user:3 or ip:192.0.2.7")
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                            label="Raised since")

    def clean_since(self) -> Any:
        value = self.cleaned_data.get("since")
        if value is None:
            return None
        try:
            return date_check(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def filters(self) -> dict[str, Any]:
        d = self.cleaned_data
        since = d.get("since")
        return {"status": d.get("status") or None, "severity": d.get("severity") or None,
                "rule": d.get("rule") or None, "entity": d.get("entity") or None,
                "since": datetime.combine(since, time.min, timezone.get_current_timezone())
                if since else None}


class CloseForm(forms.Form):
    resolution = forms.ChoiceField(choices=Resolution.choices, widget=forms.RadioSelect)
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(
        attrs={"rows": 3}), help_text="Why (screened before it is stored)")


class SuppressionForm(forms.Form):
    rule_id = forms.CharField(max_length=100, label="Rule id")
    entity = forms.CharField(max_length=200)
    hours = forms.IntegerField(min_value=1, initial=24, label="For (hours)")
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


@permission_required(perms.VIEW)
def queue(request: HttpRequest) -> HttpResponse:
    """The alert queue: open alerts newest first, filterable; checkboxes for bulk acknowledge."""
    data = request.GET.copy() if request.GET else None
    form = QueueFilter(data or None, initial={"status": "open"})
    raw_before = request.GET.get("before_id", "")
    before = ascii_int(raw_before, minimum=1)
    valid = form.is_valid() if data else True
    if raw_before and before is None:
        form.add_error(None, "before_id must be an alert number (ASCII digits, 1 or more).")
        valid = False
    alerts = []
    if valid:
        filters = form.filters() if data else {"status": "open"}
        alerts = selectors.alert_list(before_id=before, limit=PAGE, **filters)
    query = request.GET.copy()
    query.pop("before_id", None)
    return render(request, "detection/queue.html", {
        "form": form, "alerts": alerts, "query": query.urlencode(),
        "next_before": alerts[-1].id if len(alerts) == PAGE else None,
        "counts": selectors.alert_counts(), "run": selectors.run_position(),
        "can_triage": perms.TRIAGE in request_permissions(request),
        "ack_minutes": settings.SAFEGUARD_DETECTION_ACK_MINUTES,
        "no_targets": not notify.targets(),
    }, status=200 if valid else 400)


@permission_required(perms.TRIAGE)
@require_POST
def bulk_acknowledge(request: HttpRequest) -> HttpResponse:
    """Acknowledge the ticked alerts that are still new."""
    raw = request.POST.getlist("ids")
    ids = [ascii_int(v, minimum=1) for v in raw]
    if not raw or any(i is None for i in ids):
        messages.error(request, "Tick one or more alerts (alert numbers only).")
        return redirect("detection:queue")
    try:
        done = services.alerts_acknowledge_bulk(alert_ids=[i for i in ids if i is not None],
                                                principal=request_principal(request))
    except ApplicationError as exc:
        messages.error(request, exc.detail)
        return redirect("detection:queue")
    messages.success(request, f"Acknowledged {len(done)} alert(s)"
                     + (f"; {len(ids) - len(done)} were no longer new." if len(done) < len(ids)
                        else "."))
    return redirect("detection:queue")


def _detail(request: HttpRequest, alert_id: int, *, close_form: CloseForm | None = None,
            suppress_form: SuppressionForm | None = None, error: str = "",
            status: int = 200) -> HttpResponse:
    alert = selectors.alert_get(alert_id=alert_id)
    granted = request_permissions(request)
    return render(request, "detection/alert.html", {
        "alert": alert, "evidence": selectors.alert_evidence(alert_id=alert_id),
        "close_form": close_form or CloseForm(),
        "suppress_form": suppress_form or SuppressionForm(initial={
            "rule_id": alert.rule_id, "entity": alert.entity}),
        "can_triage": perms.TRIAGE in granted, "can_suppress": perms.SUPPRESS in granted,
        "can_open_incident": perms.TRIAGE in granted and providers.get(INCIDENT_PROVIDER)
        is not None and alert.status != AlertStatus.CLOSED,
        "error": error,
    }, status=status)


@permission_required(perms.VIEW)
def alert_detail(request: HttpRequest, alert_id: int) -> HttpResponse:
    """One alert: explanation, clocks, evidence timeline (each event linked to the audit log)."""
    try:
        return _detail(request, alert_id)
    except ApplicationError as exc:
        raise Http404(exc.detail) from exc


def _act(request: HttpRequest, alert_id: int, action: str) -> HttpResponse:
    principal = request_principal(request)
    try:
        if action == "acknowledge":
            services.alert_acknowledge(alert_id=alert_id, principal=principal)
        else:
            services.alert_investigate(alert_id=alert_id, principal=principal)
    except ApplicationError as exc:
        if exc.status == 404:
            raise Http404(exc.detail) from exc
        return _detail(request, alert_id, error=exc.detail, status=exc.status)
    messages.success(request, f"Alert {alert_id}: {action}d." if action == "acknowledge"
                     else f"Alert {alert_id}: investigating.")
    return redirect("detection:alert", alert_id=alert_id)


@permission_required(perms.TRIAGE)
@require_POST
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    return _act(request, alert_id, "acknowledge")


@permission_required(perms.TRIAGE)
@require_POST
def alert_investigate(request: HttpRequest, alert_id: int) -> HttpResponse:
    return _act(request, alert_id, "investigate")


@permission_required(perms.TRIAGE)
@require_POST
def alert_close(request: HttpRequest, alert_id: int) -> HttpResponse:
    """Close with a resolution and a note."""
    form = CloseForm(request.POST)
    try:
        if not form.is_valid():
            return _detail(request, alert_id, close_form=form, status=400)
        services.alert_close(alert_id=alert_id, principal=request_principal(request),
                             resolution=form.cleaned_data["resolution"],
                             note=form.cleaned_data["note"])
    except ApplicationError as exc:
        if exc.status == 404:
            raise Http404(exc.detail) from exc
        return _detail(request, alert_id, close_form=form, error=exc.detail, status=exc.status)
    messages.success(request, f"Alert {alert_id} closed.")
    return redirect("detection:alert", alert_id=alert_id)


@permission_required(perms.TRIAGE)
@require_POST
def alert_open_incident(request: HttpRequest, alert_id: int) -> HttpResponse:
    """The seam to incident response: the provider ``incidents.open_from_alert`` opens an
    incident from the alert and returns its page's URL (docs/detection.md)."""
    provider = providers.get(INCIDENT_PROVIDER)
    if provider is None:
        raise Http404("Incident response is not installed.")
    try:
        alert = selectors.alert_get(alert_id=alert_id)
        url = provider(alert=alert, principal=request_principal(request))
    except ApplicationError as exc:
        if exc.status == 404:
            raise Http404(exc.detail) from exc
        return _detail(request, alert_id, error=exc.detail, status=exc.status)
    return redirect(str(url))


def _suppressions(request: HttpRequest, form: SuppressionForm, status: int = 200) -> HttpResponse:
    now = timezone.now()
    return render(request, "detection/suppressions.html", {
        "form": form, "rows": [(s, s.active_at(now)) for s in selectors.suppression_list()],
        "can_suppress": perms.SUPPRESS in request_permissions(request),
    }, status=status)


@permission_required(perms.VIEW)
def suppressions(request: HttpRequest) -> HttpResponse:
    """Suppressions, active and past; analysts with detection.suppress add one here."""
    return _suppressions(request, SuppressionForm())


@permission_required(perms.SUPPRESS)
@require_POST
@step_up_required(action="Suppress alerts")
def suppression_add(request: HttpRequest) -> HttpResponse:
    """Add a suppression (from this page or an alert's page)."""
    form = SuppressionForm(request.POST)
    if not form.is_valid():
        return _suppressions(request, form, status=400)
    try:
        services.suppression_create(principal=request_principal(request), **form.cleaned_data)
    except ApplicationError as exc:
        form.add_error(None, exc.detail)
        return _suppressions(request, form, status=exc.status)
    messages.success(request, "Suppression added.")
    return redirect("detection:suppressions")


@permission_required(perms.SUPPRESS)
@require_POST
def suppression_revoke(request: HttpRequest, suppression_id: int) -> HttpResponse:
    try:
        services.suppression_revoke(principal=request_principal(request),
                                    suppression_id=suppression_id)
    except ApplicationError as exc:
        if exc.status == 404:
            raise Http404(exc.detail) from exc
        messages.error(request, exc.detail)
        return redirect("detection:suppressions")
    messages.success(request, "Suppression revoked.")
    return redirect("detection:suppressions")

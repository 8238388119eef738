"""Governance pages: frameworks, a framework's requirements with their controls, a control
with its history, the CSV export (R-REG-1). Thin: parse, authorize, call, render."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from safeguard.accounts import selectors as account_selectors
from safeguard.accounts.guards import (
    permission_required,
    request_actor,
    request_permissions,
    step_up_required,
)
from safeguard.audit import services as audit
from safeguard.governance import backup, selectors, services, vulnformats, vulns
from safeguard.governance.contracts import UnknownControl
from safeguard.governance.pdf import render_pdf
from safeguard.governance.permissions import (
    BACKUP_DRILL,
    CONTROLS_RUN,
    CONTROLS_VIEW,
    VULNS_MANAGE,
    VULNS_VIEW,
)


@permission_required(CONTROLS_VIEW)
def frameworks(request: HttpRequest) -> HttpResponse:
    return render(request, "governance/frameworks.html", {
        "summaries": selectors.framework_summaries(), "controls": selectors.control_states(),
        "run": selectors.run_latest(),
        "can_run": CONTROLS_RUN in request_permissions(request),
    })


@permission_required(CONTROLS_VIEW)
def framework(request: HttpRequest, framework_id: str) -> HttpResponse:
    fw = selectors.library().framework(framework_id)
    if fw is None:
        raise Http404("No such framework")
    return render(request, "governance/framework.html", {
        "framework": fw, "requirements": selectors.requirement_states(framework_id=fw.id),
    })


@permission_required(CONTROLS_VIEW)
def framework_csv(request: HttpRequest, framework_id: str) -> HttpResponse:
    if selectors.library().framework(framework_id) is None:
        raise Http404("No such framework")
    body = selectors.framework_csv(framework_id=framework_id)
    audit.record(action="governance.framework_exported", actor=request_actor(request),
                 subject=("framework", framework_id), data={"format": "csv"})
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{framework_id}-controls.csv"'
    return response


@permission_required(CONTROLS_VIEW)
def framework_pdf(request: HttpRequest, framework_id: str) -> HttpResponse:
    """The statement of applicability: each requirement, whether a control of ours covers it,
    its status, evidence and last check."""
    fw = selectors.library().framework(framework_id)
    if fw is None:
        raise Http404("No such framework")
    body = render_pdf("governance/pdf_statement.html", {
        "framework": fw, "requirements": selectors.requirement_states(framework_id=fw.id),
        "run": selectors.run_latest(), "org": account_selectors.organisation(),
        "now": timezone.now()})
    audit.record(action="governance.framework_exported", actor=request_actor(request),
                 subject=("framework", framework_id), data={"format": "pdf"})
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = (f'attachment; filename="{framework_id}-statement-of-'
                                       'applicability.pdf"')
    return response


@permission_required(CONTROLS_VIEW)
def control(request: HttpRequest, control_id: str) -> HttpResponse:
    try:
        state = selectors.control_state(control_id=control_id)
    except UnknownControl:
        raise Http404("No such control") from None
    lib = selectors.library()
    mapped = [(lib.framework(fid), rid) for fid, rid in state.maps]
    return render(request, "governance/control.html", {
        "control": state, "mapped": mapped,
        "spans": selectors.spans(control_id=control_id),
        "history": selectors.history(control_id=control_id, limit=100),
    })


@permission_required(CONTROLS_RUN)
@require_POST
def run_now(request: HttpRequest) -> HttpResponse:
    run = services.evaluate_all(actor=request_actor(request))
    summary = ", ".join(f"{n} {k}" for k, n in sorted(run.counts.items()))
    messages.success(request, f"Every control evaluated (run {run.id}): {summary}.")
    return redirect("governance:frameworks")


@permission_required(CONTROLS_VIEW)
def backups(request: HttpRequest) -> HttpResponse:
    """Backups written and restore drills run, with the continuity control's state."""
    return render(request, "governance/backups.html", {
        "backups": backup.backup_list(), "drills": backup.drill_list(),
        "control": backup.control_backups_restored(),
        "max_days": settings.SAFEGUARD_BACKUP_DRILL_MAX_DAYS,
        "can_drill": BACKUP_DRILL in request_permissions(request),
    })


@permission_required(BACKUP_DRILL)
@require_POST
def backup_drill(request: HttpRequest, backup_id: str) -> HttpResponse:
    try:
        drill = backup.drill_on_record(backup_id=str(backup_id), actor=request_actor(request))
    except backup.BackupError as exc:
        messages.error(request, exc.detail)
        return redirect("governance:backups")
    if drill.outcome == backup.VERIFIED:
        messages.success(request, f"Restore drill {drill.id} verified in {drill.seconds:.2f} s.")
    else:
        messages.error(request, f"Restore drill {drill.id} failed: " + "; ".join(
            c["detail"] for c in drill.checks if not c["ok"]))
    return redirect("governance:backups")


@permission_required(VULNS_VIEW)
def vulnerabilities(request: HttpRequest) -> HttpResponse:
    """The vulnerability register with status and severity filters (R-OPS-7)."""
    status = request.GET.get("status", "open")
    severity = request.GET.get("severity", "")
    if status not in (*vulns.STATUSES, "all"):
        return HttpResponse("Unknown status filter.", status=400)
    if severity and severity not in vulnformats.SEVERITIES:
        return HttpResponse("Unknown severity filter.", status=400)
    rows = vulns.register(status="" if status == "all" else status, severity=severity)
    audit.record(action="governance.vulnerabilities_viewed", actor=request_actor(request),
                 data={"status": status, "severity": severity, "rows": len(rows)})
    return render(request, "governance/vulnerabilities.html", {
        "rows": rows, "counts": vulns.counts(), "last": vulns.last_import(),
        "status": status, "severity": severity, "statuses": (*vulns.STATUSES, "all"),
        "severities": vulnformats.SEVERITIES,
        "can_manage": VULNS_MANAGE in request_permissions(request)})


@permission_required(VULNS_MANAGE)
@step_up_required(action="Approve a vulnerability exception")
@require_POST
def vulnerability_exception(request: HttpRequest) -> HttpResponse:
    """Approve an exception: the approver is the signed-in user, the requester is named."""
    try:
        vid = int(request.POST.get("vulnerability", ""))
        expires = date.fromisoformat(request.POST.get("expires", ""))
    except ValueError:
        messages.error(request, "Give the finding and an expiry date (YYYY-MM-DD).")
        return redirect("governance:vulnerabilities")
    expires_at = datetime.combine(expires, time(23, 59, 59), tzinfo=UTC)
    try:
        vulns.grant_exception(vulnerability_id=vid, reason=request.POST.get("reason", ""),
                              expires_at=expires_at,
                              requested_by=request.POST.get("requested_by", ""),
                              approver=request_actor(request))
    except vulns.ExceptionRefused as exc:
        messages.error(request, f"Exception refused: {exc}")
        return redirect("governance:vulnerabilities")
    messages.success(request, f"Exception recorded until {expires:%Y-%m-%d}.")
    return redirect(f"{reverse('governance:vulnerabilities')}?status=excepted")

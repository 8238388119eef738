"""Workforce pages (issue 13 section 3; decision 0243): the overview per person and team,
training, phishing simulations with the GoPhish upload. Thin: parse, authorize, call, render."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from safeguard.accounts.guards import (
    permission_required,
    request_actor,
    request_permissions,
    step_up_required,
)
from safeguard.audit import services as audit
from safeguard.governance import phishing, workforce
from safeguard.governance.gophish import ResultsRefused
from safeguard.governance.permissions import (
    BACKGROUND_CHECKS_RECORD,
    WORKFORCE_MANAGE,
    WORKFORCE_VIEW,
)
from safeguard.governance.workforce import WorkforceRefused
from safeguard.protection.contracts import PanRefused


def _opt_date(value: str, label: str) -> date | None:
    return _date(value, label) if (value or "").strip() else None


def _date(value: str, label: str) -> date:
    value = (value or "").strip()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise WorkforceRefused(f"{label} must be a date (YYYY-MM-DD).") from None


def _int(value: str, label: str) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        raise WorkforceRefused(f"{label} must be a whole number.") from None


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f} %"


def _team_rows(pairs: list[tuple[str, phishing.Rates]]) -> list[dict[str, Any]]:
    return [{"team": team, "rates": r, "click": _pct(r.click_rate),
             "report": _pct(r.report_rate),
             "click_permille": round((r.click_rate or 0) * 1000)} for team, r in pairs]


@permission_required(WORKFORCE_VIEW)
def overview(request: HttpRequest) -> HttpResponse:
    """Per person: checks, training hours this year against the target, overdue assignments;
    per team: phishing rates over the last 12 months, QA scores and attrition."""
    today = timezone.localdate()
    rows = workforce.people(today=today)
    year_ago = timezone.now() - timedelta(days=365)
    audit.record(action="governance.workforce_viewed", actor=request_actor(request),
                 data={"page": "overview", "people": len(rows)})
    perms = request_permissions(request)
    target = phishing.click_target()
    return render(request, "governance/workforce/overview.html", {
        "people": rows, "today": today, "hours_target": workforce.training_target_hours(),
        "click_target": _pct(target), "click_target_permille": round((target or 0) * 1000),
        "team_rates": _team_rows(phishing.team_rates(start=year_ago)),
        "overall": phishing.overall(start=year_ago),
        "overall_click": _pct(phishing.overall(start=year_ago).click_rate),
        "team_months": workforce.team_months(since=today.replace(day=1) - timedelta(days=366)),
        "required_checks": settings.SAFEGUARD_WORKFORCE_REQUIRED_CHECKS,
        "warn_days": settings.SAFEGUARD_WORKFORCE_CHECK_WARN_DAYS,
        "check_types": workforce.CHECK_TYPES, "check_results": workforce.CHECK_RESULTS,
        "can_manage": WORKFORCE_MANAGE in perms,
        "can_record": BACKGROUND_CHECKS_RECORD in perms,
    })


@permission_required(BACKGROUND_CHECKS_RECORD)
@step_up_required(action="Record a background check")
@require_POST
def check_record(request: HttpRequest) -> HttpResponse:
    p = request.POST
    try:
        workforce.background_check_record(
            user_id=_int(p.get("user", ""), "The staff member"),
            check_type=p.get("check_type", ""), result=p.get("result", ""),
            checked_on=_date(p.get("checked_on", ""), "The check date"),
            expires_on=_opt_date(p.get("expires_on", ""), "The expiry"),
            reference=p.get("reference", ""), provider=p.get("provider", ""),
            actor=request_actor(request))
    except (WorkforceRefused, PanRefused) as exc:  # a card number: refused, nothing stored
        messages.error(request, f"Check not recorded: {exc}")
        return redirect("governance:workforce")
    messages.success(request, "Background check recorded.")
    return redirect("governance:workforce")


@permission_required(WORKFORCE_MANAGE)
@require_POST
def team_set(request: HttpRequest) -> HttpResponse:
    try:
        workforce.staff_team_set(user_id=_int(request.POST.get("user", ""), "The staff member"),
                                 team=request.POST.get("team", ""),
                                 actor=request_actor(request))
    except (WorkforceRefused, PanRefused) as exc:  # a card number: refused, nothing stored
        messages.error(request, f"Team not set: {exc}")
        return redirect("governance:workforce")
    messages.success(request, "Team recorded.")
    return redirect("governance:workforce")


@permission_required(WORKFORCE_MANAGE)
@require_POST
def team_month(request: HttpRequest) -> HttpResponse:
    p = request.POST
    try:
        month = p.get("month", "").strip()
        workforce.team_month_record(
            team=p.get("team", ""),
            month=_date(f"{month}-01" if len(month) == 7 else month,
                        "The month"),
            qa_score=p.get("qa_score", ""),
            headcount_start=_int(p.get("headcount_start", ""), "Headcount at the start"),
            headcount_end=_int(p.get("headcount_end", ""), "Headcount at the end"),
            leavers=_int(p.get("leavers", ""), "Leavers"), actor=request_actor(request))
    except (WorkforceRefused, PanRefused) as exc:  # a card number: refused, nothing stored
        messages.error(request, f"Team month not recorded: {exc}")
        return redirect("governance:workforce")
    messages.success(request, "Team month recorded.")
    return redirect("governance:workforce")


# --- training -------------------------------------------------------------------------------

@permission_required(WORKFORCE_VIEW)
def training(request: HttpRequest) -> HttpResponse:
    """Courses, open assignments (overdue first), refreshers falling due; the forms."""
    assignments = workforce.open_assignments()
    audit.record(action="governance.workforce_viewed", actor=request_actor(request),
                 data={"page": "training", "assignments": len(assignments)})
    return render(request, "governance/workforce/training.html", {
        "courses": workforce.courses(), "assignments": assignments,
        "refreshers": workforce.refreshers_due(), "staff": workforce.staff(),
        "roles": sorted({r for u in workforce.staff() for r in u.roles}),
        "lead_days": settings.SAFEGUARD_WORKFORCE_REFRESHER_LEAD_DAYS,
        "hours_target": workforce.training_target_hours(),
        "can_manage": WORKFORCE_MANAGE in request_permissions(request),
    })


def _training_action(request: HttpRequest, fn: Any, done: str) -> HttpResponse:
    try:
        result = fn()
    except (WorkforceRefused, PanRefused) as exc:  # a card number: refused, nothing stored
        messages.error(request, f"Not done: {exc}")
        return redirect("governance:workforce_training")
    messages.success(request, done.format(result))
    return redirect("governance:workforce_training")


@permission_required(WORKFORCE_MANAGE)
@require_POST
def training_course(request: HttpRequest) -> HttpResponse:
    p = request.POST
    return _training_action(request, lambda: workforce.course_create(
        title=p.get("title", ""), hours=p.get("hours", ""), roles=p.getlist("roles"),
        refresher_months=_int(p.get("refresher_months", "0") or "0", "The refresher cadence"),
        actor=request_actor(request)), "Course created.")


@permission_required(WORKFORCE_MANAGE)
@require_POST
def training_assign(request: HttpRequest) -> HttpResponse:
    """Assign a course to its roles' holders (no person given) or to one person."""
    p = request.POST

    def act() -> int:
        course = _int(p.get("course", ""), "The course")
        due = _date(p.get("due_on", ""), "The due date")
        if p.get("user"):
            workforce.assignment_create(course_id=course, user_id=_int(p["user"], "The person"),
                                        due_on=due, actor=request_actor(request))
            return 1
        return workforce.assign_by_role(course_id=course, due_on=due,
                                        actor=request_actor(request))

    return _training_action(request, act, "{} assignment(s) created.")


@permission_required(WORKFORCE_MANAGE)
@require_POST
def training_completion(request: HttpRequest) -> HttpResponse:
    p = request.POST
    return _training_action(request, lambda: workforce.completion_record(
        course_id=_int(p.get("course", ""), "The course"),
        user_id=_int(p.get("user", ""), "The person"),
        completed_on=_date(p.get("completed_on", ""), "The completion date"),
        hours=p.get("hours", ""), actor=request_actor(request)), "Completion recorded.")


@permission_required(WORKFORCE_MANAGE)
@require_POST
def training_refreshers(request: HttpRequest) -> HttpResponse:
    return _training_action(request, lambda: workforce.refreshers_assign(
        actor=request_actor(request)), "{} refresher assignment(s) created.")


# --- phishing -------------------------------------------------------------------------------

def _phishing_page(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    target = phishing.click_target()
    rows = [{"c": c, "click": _pct(c.rates.click_rate), "report": _pct(c.rates.report_rate)}
            for c in phishing.campaigns()]
    return render(request, "governance/workforce/phishing.html", {
        "campaigns": rows, "team_rates": _team_rows(phishing.team_rates()),
        "click_target": _pct(target), "click_target_permille": round((target or 0) * 1000),
        "max_bytes": settings.SAFEGUARD_WORKFORCE_IMPORT_MAX_BYTES, "error": error,
        "can_manage": WORKFORCE_MANAGE in request_permissions(request),
    }, status=status)


@permission_required(WORKFORCE_VIEW)
def phishing_list(request: HttpRequest) -> HttpResponse:
    """Imported simulations with click and report rates, per team over all of them."""
    return _phishing_page(request)


@permission_required(WORKFORCE_MANAGE)
@require_POST
def phishing_import(request: HttpRequest) -> HttpResponse:
    """Upload a GoPhish results file; a refused file answers 400 with the line and reason."""
    upload = request.FILES.get("file")
    if upload is None:
        return _phishing_page(request, error="Choose a GoPhish results file.", status=400)
    if upload.size is not None and upload.size > settings.SAFEGUARD_WORKFORCE_IMPORT_MAX_BYTES:
        return _phishing_page(request, status=400, error=(
            f"Refused, nothing imported: larger than "
            f"{settings.SAFEGUARD_WORKFORCE_IMPORT_MAX_BYTES} bytes."))
    stem = (upload.name or "").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    try:
        r = phishing.import_results(raw=upload.read(), name=request.POST.get("name", ""),
                                    fallback_name=stem, actor=request_actor(request))
    except ResultsRefused as exc:
        return _phishing_page(request, error=f"Refused, nothing imported: {exc}", status=400)
    messages.success(request, f"{r.name}: {r.recipients} recipients, {r.sent} sent, "
                              f"{r.clicked} clicked, {r.reported} reported; "
                              f"{len(r.unmatched)} not matched to staff"
                              f"{' (replaced the earlier import)' if r.replaced else ''}.")
    return redirect("governance:workforce_campaign", campaign_id=r.campaign_id)


@permission_required(WORKFORCE_VIEW)
def phishing_campaign(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """One simulation: rates, per team, recipients matched to no staff account."""
    campaign = phishing.campaign_get(campaign_id=campaign_id)
    if campaign is None:
        raise Http404("No such campaign")
    unmatched = phishing.unmatched(campaign_id=campaign_id)
    audit.record(action="governance.workforce_viewed", actor=request_actor(request),
                 subject=("phishing_campaign", campaign_id),
                 data={"page": "campaign", "unmatched": len(unmatched)})
    target = phishing.click_target()
    return render(request, "governance/workforce/campaign.html", {
        "c": campaign, "click": _pct(campaign.rates.click_rate),
        "report": _pct(campaign.rates.report_rate), "unmatched": unmatched,
        "team_rates": _team_rows(phishing.team_rates(campaign_id=campaign_id)),
        "click_target": _pct(target), "click_target_permille": round((target or 0) * 1000),
    })

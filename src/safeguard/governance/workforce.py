"""Workforce records: background checks, security training, teams, and QA and attrition per team
(issue 13 section 3; R-WORK-1, R-WORK-2, R-WORK-5, R-OPS-10; decision 0243). Writes and reads
live here; pages, the command and the providers call these functions. Phishing simulations are in
``phishing``.

Staff = active human accounts (not service accounts) of the accounts app. Targets are the metrics
KPI targets in settings (SAFEGUARD_KPI_TARGETS ``training_hours``); periods and warning windows are
SAFEGUARD_WORKFORCE_* settings.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from safeguard.accounts import rbac
from safeguard.accounts import selectors as accounts
from safeguard.accounts.contracts import UserView
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.governance.enums import ControlStatus
from safeguard.governance.models import (
    BackgroundCheck,
    StaffTeam,
    TeamMonth,
    TrainingAssignment,
    TrainingCompletion,
    TrainingCourse,
)
from safeguard.protection import services as protection

CHECK_TYPES = ("identity", "criminal", "employment", "education", "right_to_work", "credit",
               "reference")
# not_permitted: the law where the person works does not allow this check (R-WORK-1).
CHECK_RESULTS = ("clear", "consider", "adverse", "pending", "not_permitted")
MAX_COURSE_HOURS = Decimal("100")


class WorkforceRefused(ValueError):
    """A workforce record that cannot be written as asked (the message says why)."""


# --- helpers --------------------------------------------------------------------------------

def staff() -> list[UserView]:
    """Active human staff (no service account), by email."""
    return [u for u in accounts.user_list(include_disabled=False)
            if u.is_active and not u.is_service_account]


def _staff_by_id(user_id: int) -> UserView:
    for u in staff():
        if u.id == user_id:
            return u
    raise WorkforceRefused("No active staff member with that id.")


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months; the 31st becomes the month's last day."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _hours(value: Any, *, field: str = "hours") -> Decimal:
    try:
        hours = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise WorkforceRefused(f"{field} must be a number.") from None
    if not hours.is_finite() or hours <= 0 or hours > MAX_COURSE_HOURS:
        raise WorkforceRefused(f"{field} must be more than 0 and at most {MAX_COURSE_HOURS}.")
    return hours.quantize(Decimal("0.01"))


def training_target_hours() -> float | None:
    """Hours per person per year: the metrics KPI target ``training_hours`` (min)."""
    target = settings.SAFEGUARD_KPI_TARGETS.get("training_hours", {}).get("min")
    return float(target) if target is not None else None


def _day_bounds(start: datetime, end: datetime) -> tuple[date, date]:
    """The days d with start <= local midnight of d < end, as [first, stop)."""
    tz = timezone.get_current_timezone()
    s, e = timezone.localtime(start, tz), timezone.localtime(end, tz)
    first = s.date() if s.time() == datetime.min.time() else s.date() + timedelta(days=1)
    stop = e.date() if e.time() == datetime.min.time() else e.date() + timedelta(days=1)
    return first, stop


# --- teams ----------------------------------------------------------------------------------

def teams() -> dict[int, str]:
    """Each staff member's team: the one recorded here, else their roles joined by ``+``."""
    recorded = dict(StaffTeam.objects.values_list("user_id", "team"))
    return {u.id: recorded.get(u.id) or ("+".join(u.roles) or "no role")
            for u in accounts.user_list(include_disabled=True)}


@transaction.atomic
def staff_team_set(*, user_id: int, team: str, actor: Actor) -> None:
    """Record the team of an active staff member ("" = back to their roles)."""
    _staff_by_id(user_id)
    team = team.strip()[:80]
    if not team:
        StaffTeam.objects.filter(user_id=user_id).delete()
    else:
        StaffTeam.objects.update_or_create(user_id=user_id, defaults={
            "team": team, "updated_at": timezone.now()})
    audit.record(action="governance.staff_team_set", actor=actor, subject=("user", user_id),
                 data={"team": team})


# --- background checks (R-WORK-1) -----------------------------------------------------------

@dataclass(frozen=True)
class CheckView:
    id: int
    user_id: int
    check_type: str
    result: str
    checked_on: date
    expires_on: date | None
    reference: str
    provider: str
    state: str  # valid, expiring, expired, pending, adverse, not_permitted


def _check_state(c: BackgroundCheck, today: date) -> str:
    if c.result in ("pending", "adverse", "not_permitted"):
        return c.result
    if c.expires_on is not None:
        if c.expires_on < today:
            return "expired"
        if c.expires_on <= today + timedelta(days=settings.SAFEGUARD_WORKFORCE_CHECK_WARN_DAYS):
            return "expiring"
    return "valid"


def _check_view(c: BackgroundCheck, today: date) -> CheckView:
    return CheckView(id=c.id, user_id=c.user_id, check_type=c.check_type, result=c.result,
                     checked_on=c.checked_on, expires_on=c.expires_on, reference=c.reference,
                     provider=c.provider, state=_check_state(c, today))


@transaction.atomic
def background_check_record(*, user_id: int, check_type: str, result: str, checked_on: date,
                            expires_on: date | None, reference: str, provider: str,
                            actor: Actor) -> int:
    """Record a check's outcome and the provider's reference (never the report itself)."""
    _staff_by_id(user_id)
    if check_type not in CHECK_TYPES:
        raise WorkforceRefused(f"Unknown check type {check_type!r}.")
    if result not in CHECK_RESULTS:
        raise WorkforceRefused(f"Unknown result {result!r}.")
    today = timezone.localdate()
    if checked_on > today:
        raise WorkforceRefused("The check date is in the future.")
    if expires_on is not None and expires_on <= checked_on:
        raise WorkforceRefused("The expiry must be after the check date.")
    reference = reference.strip()
    if not reference:
        raise WorkforceRefused("The provider's reference is required.")
    for label, text in (("reference", reference), ("provider", provider)):
        if protection.card_numbers_in(text):  # R-OPS-2: refuse with a reason, store nothing
            raise WorkforceRefused(f"The {label} holds a card number; remove it.")
    row = BackgroundCheck.objects.create(
        user_id=user_id, check_type=check_type, result=result, checked_on=checked_on,
        expires_on=expires_on, reference=reference[:120], provider=provider.strip()[:120],
        recorded_by=actor.label[:254], recorded_at=timezone.now())
    audit.record(action="governance.background_check_recorded", actor=actor,
                 subject=("user", user_id),
                 data={"check": row.id, "type": check_type, "result": result,
                       "expires_on": expires_on.isoformat() if expires_on else None})
    return row.id


def checks_latest(*, today: date | None = None) -> dict[int, dict[str, CheckView]]:
    """Per user, the latest check of each type (by check date, then record order)."""
    today = today or timezone.localdate()
    out: dict[int, dict[str, CheckView]] = defaultdict(dict)
    for c in BackgroundCheck.objects.order_by("checked_on", "id"):
        out[c.user_id][c.check_type] = _check_view(c, today)
    return out


def checks_needing_attention(*, today: date | None = None) -> list[tuple[UserView, CheckView]]:
    """Latest checks of active staff that are expired, expiring, pending or adverse."""
    latest = checks_latest(today=today)
    return [(u, c) for u in staff() for c in latest.get(u.id, {}).values()
            if c.state != "valid"]


# --- training (R-WORK-2) --------------------------------------------------------------------

@transaction.atomic
def course_create(*, title: str, hours: Any, roles: list[str], refresher_months: int,
                  actor: Actor) -> int:
    """A course; ``roles`` empty = for everyone; ``refresher_months`` 0 = taken once."""
    title = title.strip()
    if not title:
        raise WorkforceRefused("A title is required.")
    if TrainingCourse.objects.filter(title__iexact=title).exists():
        raise WorkforceRefused(f"A course named {title!r} exists.")
    known = {r.slug for r in accounts.role_list()} | set(rbac.ROLE_SLUGS)
    unknown = sorted(set(roles) - known)
    if unknown:
        raise WorkforceRefused(f"Unknown roles: {', '.join(unknown)}.")
    if not 0 <= refresher_months <= 120:
        raise WorkforceRefused("The refresher cadence is 0 (none) to 120 months.")
    row = TrainingCourse.objects.create(title=title[:200], hours=_hours(hours),
                                        roles=sorted(set(roles)),
                                        refresher_months=refresher_months,
                                        created_at=timezone.now())
    audit.record(action="governance.training_course_created", actor=actor,
                 subject=("training_course", row.id),
                 data={"title": row.title, "hours": str(row.hours), "roles": row.roles,
                       "refresher_months": refresher_months})
    return row.id


def _course(course_id: int) -> TrainingCourse:
    course = TrainingCourse.objects.filter(id=course_id, active=True).first()
    if course is None:
        raise WorkforceRefused("No such course.")
    return course


def audience(course: TrainingCourse) -> list[UserView]:
    """Active staff the course is for: holders of one of its roles, or everyone."""
    wanted = set(course.roles)
    return [u for u in staff() if not wanted or wanted & set(u.roles)]


def _open_pairs() -> set[tuple[int, int]]:
    return set(TrainingAssignment.objects.filter(completion__isnull=True)
               .values_list("user_id", "course_id"))


@transaction.atomic
def assign_by_role(*, course_id: int, due_on: date, actor: Actor) -> int:
    """Assign the course to everyone in its audience without an open assignment of it."""
    course = _course(course_id)
    if due_on < timezone.localdate():
        raise WorkforceRefused("The due date is in the past.")
    open_pairs = _open_pairs()
    now = timezone.now()
    rows = [TrainingAssignment(course=course, user_id=u.id, due_on=due_on, reason="role",
                               assigned_by=actor.label[:254], assigned_at=now)
            for u in audience(course) if (u.id, course.id) not in open_pairs]
    TrainingAssignment.objects.bulk_create(rows)
    audit.record(action="governance.training_assigned", actor=actor,
                 subject=("training_course", course.id),
                 data={"assigned": len(rows), "due_on": due_on.isoformat(), "reason": "role",
                       "roles": course.roles})
    return len(rows)


@transaction.atomic
def assignment_create(*, course_id: int, user_id: int, due_on: date, actor: Actor) -> int:
    """Assign one course to one active staff member (refused when one is already open)."""
    course = _course(course_id)
    _staff_by_id(user_id)
    if (user_id, course.id) in _open_pairs():
        raise WorkforceRefused("That person already has this course assigned.")
    row = TrainingAssignment.objects.create(course=course, user_id=user_id, due_on=due_on,
                                            reason="manual", assigned_by=actor.label[:254],
                                            assigned_at=timezone.now())
    audit.record(action="governance.training_assigned", actor=actor, subject=("user", user_id),
                 data={"course": course.id, "due_on": due_on.isoformat(), "reason": "manual"})
    return row.id


@transaction.atomic
def completion_record(*, course_id: int, user_id: int, completed_on: date,
                      hours: Any = None, actor: Actor) -> int:
    """Record a completion (hours default to the course's) and close the person's open
    assignments of that course."""
    course = _course(course_id)
    _staff_by_id(user_id)
    if completed_on > timezone.localdate():
        raise WorkforceRefused("The completion date is in the future.")
    counted = course.hours if hours in (None, "") else _hours(hours)
    row = TrainingCompletion.objects.create(course=course, user_id=user_id,
                                            completed_on=completed_on, hours=counted,
                                            recorded_by=actor.label[:254],
                                            recorded_at=timezone.now())
    closed = (TrainingAssignment.objects.filter(course=course, user_id=user_id,
                                                completion__isnull=True)
              .update(completion=row))
    audit.record(action="governance.training_completed", actor=actor, subject=("user", user_id),
                 data={"course": course.id, "completed_on": completed_on.isoformat(),
                       "hours": str(counted), "assignments_closed": closed})
    return row.id


@dataclass(frozen=True)
class RefresherDue:
    user_id: int
    email: str
    course_id: int
    course: str
    last_completed: date
    due_on: date
    assigned: bool


def refreshers_due(*, today: date | None = None) -> list[RefresherDue]:
    """Refreshers falling due within SAFEGUARD_WORKFORCE_REFRESHER_LEAD_DAYS (or past due):
    last completion + the course's cadence, for everyone in the course's audience."""
    today = today or timezone.localdate()
    horizon = today + timedelta(days=settings.SAFEGUARD_WORKFORCE_REFRESHER_LEAD_DAYS)
    last: dict[tuple[int, int], date] = {}
    for uid, cid, on in TrainingCompletion.objects.values_list("user_id", "course_id",
                                                               "completed_on"):
        last[(uid, cid)] = max(on, last.get((uid, cid), on))
    open_pairs = _open_pairs()
    out = []
    for course in TrainingCourse.objects.filter(active=True, refresher_months__gt=0):
        for u in audience(course):
            done = last.get((u.id, course.id))
            if done is None:
                continue
            due = add_months(done, course.refresher_months)
            if due <= horizon:
                out.append(RefresherDue(user_id=u.id, email=u.email, course_id=course.id,
                                        course=course.title, last_completed=done, due_on=due,
                                        assigned=(u.id, course.id) in open_pairs))
    return sorted(out, key=lambda r: (r.due_on, r.email, r.course))


@transaction.atomic
def refreshers_assign(*, actor: Actor, today: date | None = None) -> int:
    """Assign every refresher falling due that is not assigned yet, due on its due date."""
    now = timezone.now()
    rows = [TrainingAssignment(course_id=r.course_id, user_id=r.user_id, due_on=r.due_on,
                               reason="refresher", assigned_by=actor.label[:254],
                               assigned_at=now)
            for r in refreshers_due(today=today) if not r.assigned]
    TrainingAssignment.objects.bulk_create(rows)
    audit.record(action="governance.training_refreshers_assigned", actor=actor,
                 data={"assigned": len(rows)})
    return len(rows)


def hours_by_user(*, first: date, stop: date) -> dict[int, Decimal]:
    """Training hours completed per user on days in [first, stop)."""
    rows = (TrainingCompletion.objects.filter(completed_on__gte=first, completed_on__lt=stop)
            .values("user_id").annotate(total=Sum("hours")).values_list("user_id", "total"))
    return dict(rows)


def courses() -> list[dict[str, Any]]:
    """Active courses with how many open, overdue and completed."""
    today = timezone.localdate()
    out = []
    for c in TrainingCourse.objects.filter(active=True).order_by("title"):
        open_qs = c.assignments.filter(completion__isnull=True)
        out.append({"id": c.id, "title": c.title, "hours": c.hours, "roles": c.roles,
                    "refresher_months": c.refresher_months, "open": open_qs.count(),
                    "overdue": open_qs.filter(due_on__lt=today).count(),
                    "completions": c.completions.count()})
    return out


@dataclass(frozen=True)
class AssignmentView:
    id: int
    user_id: int
    email: str
    course: str
    due_on: date
    reason: str
    overdue: bool


def open_assignments(*, today: date | None = None) -> list[AssignmentView]:
    """Open assignments of active staff, earliest due first."""
    today = today or timezone.localdate()
    emails = {u.id: u.email for u in staff()}
    return [AssignmentView(id=a.id, user_id=a.user_id, email=emails[a.user_id],
                           course=a.course.title, due_on=a.due_on, reason=a.reason,
                           overdue=a.due_on < today)
            for a in TrainingAssignment.objects.filter(completion__isnull=True,
                                                       user_id__in=list(emails))
            .select_related("course").order_by("due_on", "id")]


# --- the overview ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PersonRow:
    user_id: int
    email: str
    name: str
    team: str
    checks: tuple[CheckView, ...]
    missing_checks: tuple[str, ...]
    hours_this_year: Decimal
    below_target: bool
    open_assignments: int
    overdue: int


def people(*, today: date | None = None) -> list[PersonRow]:
    """Per active staff member: latest checks, required types without a current check,
    training hours this calendar year against the target, open and overdue assignments."""
    today = today or timezone.localdate()
    latest = checks_latest(today=today)
    hours = hours_by_user(first=date(today.year, 1, 1), stop=date(today.year + 1, 1, 1))
    target = training_target_hours()
    team_of = teams()
    open_n: dict[int, int] = defaultdict(int)
    overdue_n: dict[int, int] = defaultdict(int)
    for uid, due in TrainingAssignment.objects.filter(completion__isnull=True).values_list(
            "user_id", "due_on"):
        open_n[uid] += 1
        overdue_n[uid] += due < today
    out = []
    for u in staff():
        mine = latest.get(u.id, {})
        # No current check: none, expired, or still pending. ``not_permitted`` (the law does not
        # allow it) and ``adverse`` are outcomes, shown as such, not missing checks.
        missing = tuple(t for t in settings.SAFEGUARD_WORKFORCE_REQUIRED_CHECKS
                        if t not in mine or mine[t].state in ("expired", "pending"))
        h = hours.get(u.id, Decimal("0"))
        out.append(PersonRow(user_id=u.id, email=u.email, name=u.full_name, team=team_of[u.id],
                             checks=tuple(mine[t] for t in sorted(mine)),
                             missing_checks=missing, hours_this_year=h,
                             below_target=target is not None and float(h) < target,
                             open_assignments=open_n[u.id], overdue=overdue_n[u.id]))
    return out


# --- QA scores and attrition per team (R-WORK-5) --------------------------------------------

@transaction.atomic
def team_month_record(*, team: str, month: date, qa_score: Any, headcount_start: int,
                      headcount_end: int, leavers: int, actor: Actor) -> int:
    """Record (or correct) one team's month: QA score average 0-100 (blank = none measured),
    headcount at the start and end, leavers in the month."""
    team = team.strip()[:80]
    if not team:
        raise WorkforceRefused("A team is required.")
    month = month.replace(day=1)
    if month > timezone.localdate():
        raise WorkforceRefused("The month is in the future.")
    if min(headcount_start, headcount_end, leavers) < 0:
        raise WorkforceRefused("Headcounts and leavers cannot be negative.")
    if leavers > headcount_start + headcount_end:
        raise WorkforceRefused("More leavers than people in the team.")
    score: Decimal | None = None
    if qa_score not in (None, ""):
        try:
            score = Decimal(str(qa_score).strip())
        except (InvalidOperation, ValueError):
            raise WorkforceRefused("The QA score must be a number.") from None
        if not score.is_finite() or not 0 <= score <= 100:
            raise WorkforceRefused("The QA score is 0 to 100.")
        score = score.quantize(Decimal("0.01"))
    row, created = TeamMonth.objects.update_or_create(team=team, month=month, defaults={
        "qa_score": score, "headcount_start": headcount_start, "headcount_end": headcount_end,
        "leavers": leavers, "recorded_by": actor.label[:254], "recorded_at": timezone.now()})
    audit.record(action="governance.team_month_recorded", actor=actor,
                 subject=("team_month", row.id),
                 data={"team": team, "month": month.isoformat(), "created": created})
    return row.id


def attrition_rate(*, leavers: int, headcount_start: int, headcount_end: int) -> float | None:
    """Leavers ÷ average headcount ((start + end) / 2); None when the team was empty."""
    average = (headcount_start + headcount_end) / 2
    return leavers / average if average else None


@dataclass(frozen=True)
class TeamMonthView:
    team: str
    month: date
    qa_score: Decimal | None
    headcount_start: int
    headcount_end: int
    leavers: int
    attrition: float | None

    @property
    def attrition_percent(self) -> str:
        return "—" if self.attrition is None else f"{self.attrition * 100:.1f} %"


def team_months(*, since: date | None = None) -> list[TeamMonthView]:
    """Team months, newest first, each with its monthly attrition rate."""
    qs = TeamMonth.objects.order_by("-month", "team")
    if since is not None:
        qs = qs.filter(month__gte=since.replace(day=1))
    return [TeamMonthView(team=r.team, month=r.month, qa_score=r.qa_score,
                          headcount_start=r.headcount_start, headcount_end=r.headcount_end,
                          leavers=r.leavers,
                          attrition=attrition_rate(leavers=r.leavers,
                                                   headcount_start=r.headcount_start,
                                                   headcount_end=r.headcount_end))
            for r in qs]


# --- the control and the KPI ----------------------------------------------------------------

def control_training_complete() -> dict[str, str]:
    """Provider ``control.training_complete``: fail while any active staff member has an
    assignment past its due date; not applicable while no training is assigned to active
    staff; the evidence adds hours this year against the target (R-WORK-2)."""
    today = timezone.localdate()
    people_rows = people(today=today)
    ids = [p.user_id for p in people_rows]
    if not TrainingAssignment.objects.filter(user_id__in=ids).exists():
        return {"status": ControlStatus.NOT_APPLICABLE,
                "evidence": f"No training is assigned to any of {len(ids)} active staff."}
    target = training_target_hours()
    below = sum(p.below_target for p in people_rows)
    hours_text = (f"{len(ids) - below} of {len(ids)} at or above {target:g} h this year"
                  if target is not None else "no hours target set")
    late = [p for p in people_rows if p.overdue]
    open_n = sum(p.open_assignments for p in people_rows)
    if late:
        names = ", ".join(f"{p.email} ({p.overdue})" for p in late[:5])
        more = f" and {len(late) - 5} more" if len(late) > 5 else ""
        return {"status": ControlStatus.FAIL,
                "evidence": f"{sum(p.overdue for p in late)} overdue training assignment(s) "
                            f"for {len(late)} of {len(ids)} active staff: {names}{more}; "
                            f"{hours_text}."}
    return {"status": ControlStatus.PASS,
            "evidence": f"No overdue training assignment ({open_n} open, none past due) for "
                        f"{len(ids)} active staff; {hours_text}."}


def kpi_training_hours_per_person(*, start: datetime, end: datetime) -> float | None:
    """Provider ``kpi.training_hours_per_person`` (R-OPS-10, R-WORK-2): hours of completions on
    days in [start, end) by active staff ÷ active staff; None without staff, and None while
    the training register holds no course (no data: training kept elsewhere is not 0 hours)."""
    ids = [u.id for u in staff()]
    if not ids or not TrainingCourse.objects.exists():
        return None
    first, stop = _day_bounds(start, end)
    total = (TrainingCompletion.objects.filter(user_id__in=ids, completed_on__gte=first,
                                               completed_on__lt=stop)
             .aggregate(total=Sum("hours"))["total"]) or Decimal("0")
    return float(total) / len(ids)

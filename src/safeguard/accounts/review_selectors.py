"""Reads of access reviews (decision 0128): periods, reviewers, campaigns with their progress,
queues, the signed report, and the control ``control.access_reviews_done`` (decision 0130).
Hands out frozen views, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from safeguard.accounts import rbac, selectors
from safeguard.accounts.models import ApiToken, Role, RoleAssignment
from safeguard.accounts.review_contracts import (
    CampaignNotFound,
    CampaignNotOpen,
    CampaignView,
    ReviewItemView,
)
from safeguard.accounts.review_models import AccessReviewCampaign, AccessReviewItem
from safeguard.accounts.review_permissions import REVIEW_ACCESS, REVIEWS_MANAGE

Status = AccessReviewCampaign.Status
Decision = AccessReviewItem.Decision


def clock_now() -> datetime:
    """The current time (one place, so tests move it with the clock)."""
    return timezone.now()


def local_day(at: datetime) -> date:
    """The local calendar day of ``at`` (TIME_ZONE)."""
    return timezone.localdate(at)


# --- periods (pure date arithmetic) -----------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """One review period: [start, end) in calendar months counted from 1 January."""

    start: date
    end: date

    @property
    def label(self) -> str:
        months = settings.SAFEGUARD_ACCESS_REVIEW_PERIOD_MONTHS
        if months == 3:
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start:%Y-%m} to {self.end - timedelta(days=1):%Y-%m}"


def _add_months(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 + months
    return date(total // 12, total % 12 + 1, 1)


def period_of(day: date, months: int | None = None) -> Period:
    """The review period holding ``day`` (SAFEGUARD_ACCESS_REVIEW_PERIOD_MONTHS long)."""
    months = months or settings.SAFEGUARD_ACCESS_REVIEW_PERIOD_MONTHS
    start = date(day.year, ((day.month - 1) // months) * months + 1, 1)
    return Period(start, _add_months(start, months))


def period_label(start: date, end: date) -> str:
    return Period(start, end).label


def current_period() -> Period:
    """The review period holding today."""
    return period_of(local_day(clock_now()))


# --- who reviews ------------------------------------------------------------------------------

def holders_of(codename: str) -> list[int]:
    """Active people (not service accounts) holding ``codename`` through any role, by id."""
    slugs = [r.slug for r in rbac.BUILTIN_ROLES
             if codename in rbac.builtin_role_permissions(r.slug)]
    custom = [r.slug for r in Role.objects.filter(is_builtin=False)
              if codename in selectors.role_permissions(r)]
    return sorted(set(
        RoleAssignment.objects.filter(role__slug__in=slugs + custom, user__is_active=True,
                                      user__is_service_account=False)
        .values_list("user_id", flat=True)))


def reassign_targets(*, items: list[ReviewItemView]
                     ) -> list[tuple[ReviewItemView, list[tuple[int, str]]]]:
    """Each item with who it may be handed to, as (id, e-mail): the active holders of
    accounts.review_access but the person whose grant it is and its current reviewer."""
    from safeguard.accounts.models import User

    pool = list(User.objects.filter(id__in=holders_of(REVIEW_ACCESS)).order_by("email")
                .values_list("id", "email"))
    return [(i, [(uid, email) for uid, email in pool if uid not in (i.user_id, i.reviewer_id)])
            for i in items]


# --- reads ------------------------------------------------------------------------------------

def items(campaign_id: int) -> Any:
    """Every item row of a campaign, by user then grant (for this app's writes and reads)."""
    return (AccessReviewItem.objects.filter(campaign_id=campaign_id)
            .select_related("reviewer", "escalation_reviewer").order_by("user_email", "grant_key"))


def item_view(i: AccessReviewItem) -> ReviewItemView:
    return ReviewItemView(
        id=i.id, campaign_id=i.campaign_id, user_id=i.user_id, user_email=i.user_email,
        kind=i.kind, grant_key=i.grant_key, grant_label=i.grant_label,
        grant_permissions=tuple(i.grant_permissions),
        effective_permissions=tuple(i.effective_permissions), token_id=i.token_id,
        token_last_used_at=i.token_last_used_at, last_login_at=i.last_login_at,
        last_activity_at=i.last_activity_at, snapshot_at=i.snapshot_at,
        reviewer_id=i.reviewer_id, reviewer_email=i.reviewer.email if i.reviewer else "",
        escalation_reviewer_id=i.escalation_reviewer_id,
        escalation_reviewer_email=(i.escalation_reviewer.email if i.escalation_reviewer
                                   else ""),
        escalated_at=i.escalated_at, decision=i.decision, comment=i.comment,
        decided_by_email=i.decided_by_email, decided_at=i.decided_at,
        assigned_as=i.assigned_as)


def campaign_view(c: AccessReviewCampaign, now: datetime) -> CampaignView:
    counts = AccessReviewItem.objects.filter(campaign=c).aggregate(
        total=Count("id"),
        kept=Count("id", filter=Q(decision=Decision.KEEP)),
        revoked=Count("id", filter=Q(decision=Decision.REVOKE)),
        escalated=Count("id", filter=Q(escalated_at__isnull=False)),
        unassigned=Count("id", filter=Q(reviewer__isnull=True)))
    pending = counts["total"] - counts["kept"] - counts["revoked"]
    overdue = pending if (c.status == Status.OPEN and now > c.due_at) else 0
    return CampaignView(
        id=c.id, period_start=c.period_start, period_end=c.period_end,
        label=period_label(c.period_start, c.period_end), status=c.status, started_at=c.started_at,
        started_by=c.started_by, due_at=c.due_at, escalate_at=c.escalate_at,
        closed_at=c.closed_at, closed_by=c.closed_by, close_reason=c.close_reason,
        total=counts["total"], decided=counts["kept"] + counts["revoked"], kept=counts["kept"],
        revoked=counts["revoked"], pending=pending, overdue=overdue,
        escalated=counts["escalated"], unassigned=counts["unassigned"],
        has_report=bool(c.report_sha256), report_sha256=c.report_sha256,
        report_key_id=c.report_key_id)


def campaign_get(*, campaign_id: int, now: datetime | None = None) -> CampaignView:
    """One campaign with its progress and overdue count as of ``now``."""
    c = AccessReviewCampaign.objects.filter(id=campaign_id).first()
    if c is None:
        raise CampaignNotFound(f"No access-review campaign {campaign_id}.")
    return campaign_view(c, now or clock_now())


def campaign_list(*, now: datetime | None = None) -> list[CampaignView]:
    """Every campaign, newest period first."""
    now = now or clock_now()
    return [campaign_view(c, now)
            for c in AccessReviewCampaign.objects.order_by("-period_start")]


def campaign_items(*, campaign_id: int) -> list[ReviewItemView]:
    """Every item of a campaign, by user then grant."""
    if not AccessReviewCampaign.objects.filter(id=campaign_id).exists():
        raise CampaignNotFound(f"No access-review campaign {campaign_id}.")
    return [item_view(i) for i in items(campaign_id)]


def queue_for(*, person_id: int) -> list[ReviewItemView]:
    """The undecided items of open campaigns this person may decide (never their own)."""
    is_owner = person_id in holders_of(REVIEWS_MANAGE)
    mine = Q(reviewer_id=person_id) | Q(escalated_at__isnull=False,
                                        escalation_reviewer_id=person_id)
    if is_owner:
        # unassigned items, and escalated ones neither of whose reviewers can still review
        # (disabled, or review_access taken away; decision 0133)
        able = holders_of(REVIEW_ACCESS)
        mine |= Q(reviewer__isnull=True) | (
            Q(escalated_at__isnull=False) & ~Q(reviewer_id__in=able)
            & (Q(escalation_reviewer__isnull=True) | ~Q(escalation_reviewer_id__in=able)))
    rows = (AccessReviewItem.objects.filter(mine, campaign__status=Status.OPEN,
                                            decision=Decision.PENDING)
            .exclude(user_id=person_id).select_related("reviewer", "escalation_reviewer")
            .order_by("campaign_id", "user_email", "grant_key"))
    return [item_view(i) for i in rows]


def decided_by(*, person_id: int, limit: int = 50) -> list[ReviewItemView]:
    """What this person decided lately (newest first)."""
    rows = (AccessReviewItem.objects.filter(decided_by_id=person_id)
            .select_related("reviewer", "escalation_reviewer").order_by("-decided_at")[:limit])
    return [item_view(i) for i in rows]


def report_get(*, campaign_id: int) -> tuple[bytes, str, str, str]:
    """A closed campaign's report: (PDF bytes, SHA-256, base64 signature, key id)."""
    c = AccessReviewCampaign.objects.filter(id=campaign_id).first()
    if c is None:
        raise CampaignNotFound(f"No access-review campaign {campaign_id}.")
    if not c.report_sha256 or c.report_pdf is None:
        raise CampaignNotOpen("The report exists once the campaign is closed.")
    return bytes(c.report_pdf), c.report_sha256, c.report_signature, c.report_key_id


# --- the governance control (provider control.access_reviews_done) ----------------------------

def _complete(c: AccessReviewCampaign | None) -> bool:
    return (c is not None and c.status == Status.CLOSED
            and not AccessReviewItem.objects.filter(campaign=c,
                                                    decision=Decision.PENDING).exists())


def control_access_reviews_done(now: datetime | None = None) -> dict[str, str]:
    """The control "access reviews done this period" (R-OPS-8), registered as
    ``control.access_reviews_done``:

    * pass — the current period's campaign is closed with every item decided; or we are still
      inside the current period's due window (its campaign's due date, or period start + due
      days when none was started) and the previous period's campaign closed complete;
    * not_applicable — no campaign this period and no active user holds any role or live API
      token (nothing to review);
    * fail — otherwise: no campaign, a campaign past due with items undecided, a campaign closed
      with items undecided, or no complete review of the previous period while this one is due.
    """
    now = now or clock_now()
    period = period_of(local_day(now))
    current = AccessReviewCampaign.objects.filter(period_start=period.start).first()
    if current is not None and current.status == Status.CLOSED:
        return _closed_result(current, period.label)
    has_grants = (RoleAssignment.objects.filter(user__is_active=True).exists()
                  or ApiToken.objects.filter(user__is_active=True, revoked_at__isnull=True,
                                             expires_at__gt=now).exists())
    if current is None and not has_grants:
        return {"status": "not_applicable",
                "evidence": "No active user holds a role or a live API token."}
    return _open_result(current, period, now)


def _closed_result(current: AccessReviewCampaign, label: str) -> dict[str, str]:
    undecided = AccessReviewItem.objects.filter(campaign=current,
                                                decision=Decision.PENDING).count()
    if undecided == 0:
        return {"status": "pass",
                "evidence": f"The {label} access review closed on "
                            f"{current.closed_at or current.started_at:%Y-%m-%d} with every "
                            "grant decided."}
    return {"status": "fail",
            "evidence": f"The {label} access review was closed with {undecided} grants "
                        "undecided."}


def _open_result(current: AccessReviewCampaign | None, period: Period,
                 now: datetime) -> dict[str, str]:
    """The control while the period has no closed campaign: the previous review carries it
    through the due window, nothing does after."""
    label = period.label
    tz = timezone.get_current_timezone()
    due = (current.due_at if current is not None else
           datetime.combine(period.start, datetime.min.time(), tzinfo=tz)
           + timedelta(days=settings.SAFEGUARD_ACCESS_REVIEW_DUE_DAYS))
    previous = AccessReviewCampaign.objects.filter(
        period_start=period_of(period.start - timedelta(days=1)).start).first()
    if now <= due and previous is not None and _complete(previous):
        before = period_label(previous.period_start, previous.period_end)
        return {"status": "pass",
                "evidence": f"The previous access review ({before}) closed complete; the "
                            f"{label} review is due by {due:%Y-%m-%d}."}
    if current is None:
        return {"status": "fail",
                "evidence": f"No access review was started for {label} (due by "
                            f"{due:%Y-%m-%d})."}
    pending = AccessReviewItem.objects.filter(campaign=current,
                                              decision=Decision.PENDING).count()
    if now > due:
        return {"status": "fail",
                "evidence": f"The {label} access review is past its due date ({due:%Y-%m-%d}) "
                            f"with {pending} grants undecided."}
    return {"status": "fail",
            "evidence": f"The {label} access review is under way ({pending} grants undecided, "
                        f"due {due:%Y-%m-%d}) and the previous period has no complete review."}

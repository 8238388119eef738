"""Access reviews (R-OPS-8 quarterly reviews, R-WORK-3; decision 0128): campaigns that snapshot
every active user's grants, reviewers who keep or revoke each one, escalation of what is left
undecided past the due date, and a signed report when the campaign closes.

Every write of the two review tables lives here (reads in ``review_selectors.py``); access
changes themselves go through :mod:`safeguard.accounts.services` (``role_revoke``,
``token_revoke``), so a revocation obeys the same rules and audit as any other.

Who reviews (SAFEGUARD_ACCESS_REVIEW_REVIEWER_ORDER, decision 0274): with the default
``manager_then_role_owner``, a user's grants go to their *manager* when the manager is active, is
not the user and holds ``accounts.review_access``; otherwise (and always with ``role_owner``) to
a *role owner*: an active person holding ``accounts.review_access``, the least loaded first.
Never the user themselves (separation of duties, as for grant requests). The manager must hold
the permission because deciding revokes access: a reporting line alone (which the identity
provider sets over SCIM) must not make anyone a reviewer (decision 0132). The escalation
reviewer is a campaign owner (``accounts.manage_access_reviews``) other than both.

An open item can be handed to another eligible reviewer (:func:`item_reassign`) by its reviewer
or a campaign owner, with a reason; audited, and the new reviewer is notified.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, NoReturn

from allauth.usersessions.models import UserSession
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max

from safeguard.accounts import review_selectors as sel
from safeguard.accounts import selectors, services
from safeguard.accounts.enums import NotificationKind
from safeguard.accounts.models import ApiToken, RoleAssignment, User
from safeguard.accounts.review_contracts import (
    CampaignExists,
    CampaignNotFound,
    CampaignNotOpen,
    CampaignView,
    ItemAlreadyDecided,
    NotEligibleReviewer,
    NotYourItem,
    ReviewError,
    ReviewItemNotFound,
    ReviewItemView,
    SelfReview,
)
from safeguard.accounts.review_models import AccessReviewCampaign, AccessReviewItem
from safeguard.accounts.review_permissions import REVIEW_ACCESS, REVIEWS_MANAGE
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.protection import services as protection
from safeguard.web.errors import ApplicationError

Status = AccessReviewCampaign.Status
Decision = AccessReviewItem.Decision
COMMENT_MAX = 500


def _who(actor: Actor) -> str:
    """An actor as the campaign and its report name it: a person's e-mail, else kind:name."""
    if actor.kind == "user" and actor.label:
        return actor.label
    return f"{actor.kind}:{actor.label or actor.id}"


# --- who reviews ---------------------------------------------------------------------------

MANAGER, ROLE_OWNER, REASSIGNED = "manager", "role_owner", "reassigned"


def _escalation_for(user_id: int, reviewer: int | None, pool: list[int],
                    owners: list[int]) -> int | None:
    """A campaign owner other than the user and the reviewer, else any other reviewer."""
    escalation = next((o for o in owners if o not in (user_id, reviewer)), None)
    if escalation is None:
        escalation = next((r for r in pool if r not in (user_id, reviewer)), None)
    return escalation


def _pick_reviewers(campaign: AccessReviewCampaign, user_id: int, pool: list[int],
                    owners: list[int], manager_id: int | None = None,
                    ) -> tuple[int | None, int | None, str]:
    """(reviewer, escalation reviewer, basis) for one user's grants: never the user; their
    manager first when the order says so and the manager is eligible (active, not the user, in
    ``pool`` — the active holders of review_access); else the role owner with the fewest users
    so far in this campaign; the escalation reviewer a campaign owner other than both (else any
    other reviewer)."""
    candidates = [r for r in pool if r != user_id]
    order = settings.SAFEGUARD_ACCESS_REVIEW_REVIEWER_ORDER
    if (order == "manager_then_role_owner" and manager_id is not None
            and manager_id != user_id and manager_id in candidates):
        return manager_id, _escalation_for(user_id, manager_id, pool, owners), MANAGER
    if not candidates:
        reviewer = None
    else:
        load = dict(AccessReviewItem.objects.filter(campaign=campaign, reviewer_id__in=candidates)
                    .values("reviewer_id").annotate(n=Count("user_id", distinct=True))
                    .values_list("reviewer_id", "n"))
        reviewer = min(candidates, key=lambda r: (load.get(r, 0), r))
    return (reviewer, _escalation_for(user_id, reviewer, pool, owners),
            ROLE_OWNER if reviewer is not None else "")


# --- starting a campaign ------------------------------------------------------------------------

def _snapshot_user(campaign: AccessReviewCampaign, user: User, pool: list[int],
                   owners: list[int], now: datetime) -> int:
    """Write one user's items (all or none, in one transaction); returns how many."""
    with transaction.atomic():
        if AccessReviewItem.objects.filter(campaign=campaign, user=user).exists():
            return 0  # written by an earlier, interrupted run
        effective = sorted(selectors.user_permissions(user_id=user.id))
        tokens = list(ApiToken.objects.filter(user=user, revoked_at__isnull=True,
                                              expires_at__gt=now).order_by("id"))
        seen = UserSession.objects.filter(user=user).aggregate(m=Max("last_seen_at"))["m"]
        activity = max((t for t in [user.last_login, seen, *(k.last_used_at for k in tokens)]
                        if t is not None), default=None)
        reviewer, escalation, basis = _pick_reviewers(campaign, user.id, pool, owners,
                                                      user.manager_id)
        base: dict[str, Any] = {
            "campaign": campaign, "user": user, "user_email": user.email,
            "effective_permissions": effective, "last_login_at": user.last_login,
            "last_activity_at": activity, "snapshot_at": now, "reviewer_id": reviewer,
            "escalation_reviewer_id": escalation, "assigned_as": basis,
        }
        rows = [AccessReviewItem(**base, kind=AccessReviewItem.Kind.ROLE,
                                 grant_key=f"role:{user.id}:{a.role.slug}",
                                 grant_label=f"Role: {a.role.name}",
                                 grant_permissions=sorted(selectors.role_permissions(a.role)))
                for a in RoleAssignment.objects.filter(user=user).select_related("role")
                .order_by("role__slug")]
        rows += [AccessReviewItem(**base, kind=AccessReviewItem.Kind.TOKEN,
                                  grant_key=f"token:{t.id}",
                                  grant_label=f"API token: {t.name} ({t.prefix})",
                                  grant_permissions=sorted(t.scopes), token_id=t.id,
                                  token_last_used_at=t.last_used_at)
                 for t in tokens]
        AccessReviewItem.objects.bulk_create(rows)
        return len(rows)


def _create_campaign(*, actor: Actor, period: sel.Period, now: datetime,
                     if_missing: bool) -> tuple[AccessReviewCampaign, bool]:
    due = now + timedelta(days=settings.SAFEGUARD_ACCESS_REVIEW_DUE_DAYS)
    try:
        with transaction.atomic():
            campaign, created = AccessReviewCampaign.objects.get_or_create(
                period_start=period.start,
                defaults={"period_end": period.end, "started_at": now,
                          "started_by": _who(actor),
                          "due_at": due, "escalate_at": due + timedelta(
                              days=settings.SAFEGUARD_ACCESS_REVIEW_ESCALATION_DAYS)})
            if created:
                audit.record(action="access_review.started", actor=actor,
                             subject=("access_review", campaign.id),
                             data={"period": period.label, "due_at": due.isoformat()})
    except IntegrityError:  # a concurrent start of the same period won
        campaign, created = AccessReviewCampaign.objects.get(period_start=period.start), False
    if not created and not if_missing and campaign.status != Status.SNAPSHOTTING:
        raise CampaignExists(f"The review of {period.label} was already started on "
                             f"{campaign.started_at:%Y-%m-%d}.")
    return campaign, created


def campaign_start(*, actor: Actor, if_missing: bool = False,
                   now: datetime | None = None) -> CampaignView:
    """Start (or resume) the current period's campaign: one item per role assignment and per
    live API token of every active user. Idempotent and resumable: users already written are
    skipped, so a run killed half-way and run again writes nothing twice. A second start of a
    period that has its campaign is CampaignExists, unless ``if_missing`` (the periodic job)."""
    now = now or sel.clock_now()
    period = sel.period_of(sel.local_day(now))
    campaign, _ = _create_campaign(actor=actor, period=period, now=now, if_missing=if_missing)
    if campaign.status != Status.SNAPSHOTTING:
        return sel.campaign_get(campaign_id=campaign.id, now=now)
    pool, owners = sel.holders_of(REVIEW_ACCESS), sel.holders_of(REVIEWS_MANAGE)
    for user in User.objects.filter(is_active=True).order_by("id"):
        _snapshot_user(campaign, user, pool, owners, now)
    with transaction.atomic():
        locked = AccessReviewCampaign.objects.select_for_update().get(id=campaign.id)
        if locked.status == Status.SNAPSHOTTING:
            locked.status = Status.OPEN
            locked.save(update_fields=["status"])
            items = AccessReviewItem.objects.filter(campaign=locked)
            audit.record(action="access_review.opened", actor=actor,
                         subject=("access_review", locked.id),
                         data={"items": items.count(),
                               "users": items.values("user_id").distinct().count(),
                               "unassigned": items.filter(reviewer__isnull=True).count(),
                               "by_manager": items.filter(assigned_as=MANAGER).count()})
            label = period.label
            for reviewer_id in sorted(set(items.exclude(reviewer__isnull=True)
                                          .values_list("reviewer_id", flat=True))):
                services.notify(reviewer_id, NotificationKind.ASSIGNMENT,
                                f"Access review {label}: grants to review",
                                url="/staff/reviews/queue/",
                                subject=("access_review", locked.id), actor=actor,
                                dedupe_key=f"access-review:{locked.id}:assigned")
    if not AccessReviewItem.objects.filter(campaign=campaign, decision=Decision.PENDING).exists():
        _close_complete(campaign.id, now)
    return sel.campaign_get(campaign_id=campaign.id, now=now)


# --- deciding ----------------------------------------------------------------------------------

def _refuse(actor: Actor, item: AccessReviewItem, why: str, error: Exception,
            action: str = "access_review.decision_denied") -> NoReturn:
    with transaction.atomic():
        audit.record(action=action, actor=actor, outcome="denied",
                     subject=("access_review", item.campaign_id),
                     data={"item": item.id, "why": why})
    raise error


def _person(actor: Actor) -> int | None:
    return int(actor.id) if actor.kind == "user" and actor.id.isdigit() else None


def may_decide(item: AccessReviewItem | ReviewItemView, person_id: int,
               is_owner: bool, reviewers: Collection[int] = ()) -> bool:
    """The assigned reviewer; once escalated, also the escalation reviewer; for an item nobody
    could be assigned, a campaign owner; and once escalated, a campaign owner when neither
    reviewer is among ``reviewers`` (the active holders of review_access) any more — disabled,
    or the permission taken away mid-campaign (decision 0133). Never the person whose grant it
    is."""
    if item.user_id == person_id:
        return False
    if item.reviewer_id == person_id:
        return True
    if item.escalated_at is not None and item.escalation_reviewer_id == person_id:
        return True
    if not is_owner:
        return False
    return item.reviewer_id is None or (
        item.escalated_at is not None and item.reviewer_id not in reviewers
        and item.escalation_reviewer_id not in reviewers)


def item_decide(*, actor: Actor, item_id: int, decision: str, comment: str,
                now: datetime | None = None) -> ReviewItemView:
    """Keep or revoke one grant. A revocation applies at once through the accounts services
    (the role removed, the token revoked; permissions are read at every request, so the next
    request already lacks them). A comment is required to revoke. Self-review, an item assigned
    to someone else, a decided item or a closed campaign are refused and change nothing; the
    last decision of a campaign closes it (with its signed report)."""
    me = _person(actor)
    item = AccessReviewItem.objects.select_related("campaign").filter(id=item_id).first()
    if item is None:
        raise ReviewItemNotFound(f"No access-review item {item_id}.")
    if decision not in (Decision.KEEP, Decision.REVOKE):
        raise ReviewError("Decide keep or revoke.")
    text = " ".join((comment or "").split())
    if len(text) > COMMENT_MAX:
        raise ReviewError(f"The comment is at most {COMMENT_MAX} characters.")
    if decision == Decision.REVOKE and not text:
        raise ReviewError("Say why the grant is revoked: a comment is required to revoke.")
    if me is None:
        _refuse(actor, item, "not a signed-in person",
                NotYourItem("An access review is decided by a signed-in reviewer."))
    if item.user_id == me:
        _refuse(actor, item, "self-review",
                SelfReview("Nobody reviews their own access: another reviewer decides this."))
    reviewers = sel.holders_of(REVIEW_ACCESS)
    if me not in reviewers:
        # the pages check the permission too; this is the service's own floor: a reviewer
        # disabled or stripped of review_access mid-campaign decides nothing (decision 0133)
        _refuse(actor, item, "not a reviewer",
                NotYourItem("You no longer hold the permission to review access."))
    if not may_decide(item, me, me in sel.holders_of(REVIEWS_MANAGE), reviewers):
        _refuse(actor, item, "not assigned",
                NotYourItem("This item is assigned to another reviewer."))
    if item.campaign.status != Status.OPEN:
        raise CampaignNotOpen(f"The campaign is {item.campaign.status}.")
    text = protection.screen(text, field="access_review.comment").text[:COMMENT_MAX] if text else ""
    now = now or sel.clock_now()
    try:
        _decide_locked(actor, item, me, decision, text, now)
    except ApplicationError as exc:
        # refused after the checks above (the last administrator, a replay, a raced close):
        # recorded after the rollback, like the refusals before it
        _refuse(actor, item, exc.code, exc)
    if not AccessReviewItem.objects.filter(campaign_id=item.campaign_id,
                                           decision=Decision.PENDING).exists():
        _close_complete(item.campaign_id, now)
    return sel.item_view(AccessReviewItem.objects
                         .select_related("reviewer", "escalation_reviewer").get(id=item.id))


def _lock_pending(item: AccessReviewItem) -> AccessReviewItem:
    """Lock the item's campaign, then the item, inside the caller's transaction: the campaign
    row first (as campaign_close locks it), so a decision or a handover and a close are
    serialised and the report never misses one committed beside it. Refused when the campaign
    is no longer open or the item was decided."""
    campaign = (AccessReviewCampaign.objects.select_for_update()
                .filter(id=item.campaign_id).first())
    if campaign is None or campaign.status != Status.OPEN:
        raise CampaignNotOpen("The campaign is no longer open.")
    locked = AccessReviewItem.objects.select_for_update().get(id=item.id)
    if locked.decision != Decision.PENDING:
        raise ItemAlreadyDecided(f"This item was already decided ({locked.decision}).")
    return locked


def _decide_locked(actor: Actor, item: AccessReviewItem, me: int, decision: str, text: str,
                   now: datetime) -> None:
    with transaction.atomic():
        locked = _lock_pending(item)
        applied = _apply(actor, locked) if decision == Decision.REVOKE else "kept"
        email = User.objects.filter(id=me).values_list("email", flat=True).first() or ""
        locked.decision, locked.comment = decision, text
        locked.decided_by_id, locked.decided_by_email, locked.decided_at = me, email, now
        locked.save(update_fields=["decision", "comment", "decided_by", "decided_by_email",
                                   "decided_at"])
        audit.record(action="access_review.decided", actor=actor,
                     subject=("user", locked.user_id) if locked.user_id else None,
                     data={"campaign": locked.campaign_id, "item": locked.id,
                           "grant": locked.grant_key, "decision": decision,
                           "applied": applied, "comment": text})


def _apply(actor: Actor, item: AccessReviewItem) -> str:
    """Revoke the grant through the accounts services; what it did, for the audit event."""
    if item.user_id is None:
        return "user deleted"
    if item.kind == AccessReviewItem.Kind.TOKEN and item.token_id is not None:
        live = ApiToken.objects.filter(id=item.token_id, revoked_at__isnull=True).exists()
        services.token_revoke(actor=actor, token_id=item.token_id,
                              reason=f"access review {item.campaign_id}")
        return "token revoked" if live else "token already revoked"
    slug = item.grant_key.split(":", 2)[2]
    held = RoleAssignment.objects.filter(user_id=item.user_id, role__slug=slug).exists()
    services.role_revoke(actor=actor, user_id=item.user_id, role_slug=slug)
    return "role revoked" if held else "role already gone"


# --- reassignment ------------------------------------------------------------------------------

def item_reassign(*, actor: Actor, item_id: int, to_user_id: int, reason: str,
                  now: datetime | None = None) -> ReviewItemView:
    """Hand an undecided item of an open campaign to another eligible reviewer (an active holder
    of accounts.review_access, never the person whose grant it is), with a reason. Done by
    whoever may decide the item now or by a campaign owner; never by the person whose grant it
    is. Audited as ``access_review.reassigned``; the new reviewer is notified. When the new
    reviewer was the escalation reviewer, another one is chosen, so escalation still reaches
    someone else. Every refusal is recorded (``access_review.reassign_denied``) and changes
    nothing."""
    me = _person(actor)
    item = AccessReviewItem.objects.select_related("campaign").filter(id=item_id).first()
    if item is None:
        raise ReviewItemNotFound(f"No access-review item {item_id}.")
    text = " ".join((reason or "").split())
    if not text:
        raise ReviewError("Say why the item is handed to someone else: a reason is required.")
    if len(text) > COMMENT_MAX:
        raise ReviewError(f"The reason is at most {COMMENT_MAX} characters.")

    reviewers = _reassign_allowed(actor, me, item, to_user_id)
    text = protection.screen(text, field="access_review.comment").text[:COMMENT_MAX]
    now = now or sel.clock_now()
    try:
        with transaction.atomic():
            locked = _lock_pending(item)
            before = locked.reviewer_id
            locked.reviewer_id = to_user_id
            locked.assigned_as = REASSIGNED
            fields = ["reviewer", "assigned_as"]
            if locked.escalation_reviewer_id == to_user_id:
                locked.escalation_reviewer_id = _escalation_for(
                    locked.user_id or 0, to_user_id, reviewers, sel.holders_of(REVIEWS_MANAGE))
                fields.append("escalation_reviewer")
            locked.save(update_fields=fields)
            audit.record(action="access_review.reassigned", actor=actor,
                         subject=("access_review", locked.campaign_id),
                         data={"item": locked.id, "grant": locked.grant_key, "from": before,
                               "to": to_user_id, "reason": text,
                               "escalation_reviewer": locked.escalation_reviewer_id})
            services.notify(to_user_id, NotificationKind.ASSIGNMENT,
                            f"Access review: {locked.grant_label} of {locked.user_email} "
                            "handed to you", url="/staff/reviews/queue/",
                            subject=("access_review", locked.campaign_id), actor=actor,
                            dedupe_key=f"access-review-item:{locked.id}:to:{to_user_id}:"
                                       f"{int(now.timestamp())}")
    except ApplicationError as exc:
        _refuse(actor, item, exc.code, exc, action="access_review.reassign_denied")
    return sel.item_view(AccessReviewItem.objects
                         .select_related("reviewer", "escalation_reviewer").get(id=item.id))


def _reassign_allowed(actor: Actor, me: int | None, item: AccessReviewItem,
                      to_user_id: int) -> list[int]:
    """Refuse (recorded) a reassignment that breaks a rule; the active reviewers when none."""

    def refuse(why: str, error: Exception) -> NoReturn:
        _refuse(actor, item, why, error, action="access_review.reassign_denied")

    if me is None:
        refuse("not a signed-in person",
               NotYourItem("An access review item is reassigned by a signed-in reviewer."))
    if item.user_id == me:
        refuse("self-review", SelfReview("Nobody reassigns the review of their own access."))
    if to_user_id == item.user_id:
        refuse("self-review", SelfReview("Nobody reviews their own access: choose someone "
                                         "other than the person whose grant it is."))
    reviewers = sel.holders_of(REVIEW_ACCESS)
    is_owner = me in sel.holders_of(REVIEWS_MANAGE)
    if not is_owner and not (me in reviewers and may_decide(item, me, False, reviewers)):
        refuse("not assigned", NotYourItem("Only this item's reviewer or a campaign owner "
                                           "reassigns it."))
    if to_user_id not in reviewers:
        refuse("not eligible", NotEligibleReviewer(
            "The new reviewer must be an active person holding accounts.review_access."))
    if to_user_id == item.reviewer_id:
        refuse("same reviewer", NotEligibleReviewer("This person already reviews the item."))
    if item.campaign.status != Status.OPEN:
        refuse("campaign not open", CampaignNotOpen(f"The campaign is {item.campaign.status}."))
    return reviewers


# --- escalation ----------------------------------------------------------------------------

def escalate_overdue(*, now: datetime | None = None) -> int:
    """Escalate every undecided item of an open campaign past its escalation time: notify the
    escalation reviewer (or, without one, every campaign owner but the user), once per item
    (the notification's dedupe key and ``escalated_at`` make a rerun a no-op). Returns how many
    items were escalated now."""
    now = now or sel.clock_now()
    done = 0
    ids = list(AccessReviewItem.objects.filter(
        campaign__status=Status.OPEN, campaign__escalate_at__lte=now,
        decision=Decision.PENDING, escalated_at__isnull=True).values_list("id", flat=True))
    owners = sel.holders_of(REVIEWS_MANAGE)
    able = set(sel.holders_of(REVIEW_ACCESS))
    for item_id in ids:
        with transaction.atomic():
            item = (AccessReviewItem.objects.select_for_update()
                    .filter(id=item_id, decision=Decision.PENDING, escalated_at__isnull=True)
                    .first())
            if item is None:
                continue
            item.escalated_at = now
            item.save(update_fields=["escalated_at"])
            # an escalation reviewer who can no longer review (disabled, permission taken
            # away) is skipped: the campaign owners hear of it, and may decide it
            recipients = ([item.escalation_reviewer_id]
                          if item.escalation_reviewer_id in able
                          else [o for o in owners if o != item.user_id])
            for recipient in recipients:
                services.notify(recipient, NotificationKind.SLA_WARNING,
                                f"Overdue access review: {item.grant_label} of "
                                f"{item.user_email}", url="/staff/reviews/queue/",
                                subject=("access_review", item.campaign_id),
                                dedupe_key=f"access-review-item:{item.id}:escalated")
            audit.record(action="access_review.escalated", actor=Actor.system("access-reviews"),
                         subject=("access_review", item.campaign_id),
                         data={"item": item.id, "grant": item.grant_key,
                               "recipients": recipients})
            done += 1
    return done


# --- closing -------------------------------------------------------------------------------

def campaign_close(*, actor: Actor, campaign_id: int,
                   now: datetime | None = None) -> CampaignView:
    """Close a campaign: render the report of every item (decided or listed as undecided), sign
    it with the audit signer, keep both, and record ``access_review.closed``. Closing with
    items undecided is allowed (the report says so); closing twice is CampaignNotOpen."""
    from safeguard.accounts import review_report

    now = now or sel.clock_now()
    with transaction.atomic():
        campaign = AccessReviewCampaign.objects.select_for_update().filter(id=campaign_id).first()
        if campaign is None:
            raise CampaignNotFound(f"No access-review campaign {campaign_id}.")
        if campaign.status != Status.OPEN:
            raise CampaignNotOpen(f"The campaign is {campaign.status}.")
        pending = AccessReviewItem.objects.filter(campaign=campaign,
                                                  decision=Decision.PENDING).count()
        campaign.status = Status.CLOSED
        campaign.closed_at = now
        campaign.closed_by = _who(actor)
        campaign.close_reason = "complete" if pending == 0 else "closed with undecided"
        view = sel.campaign_view(campaign, now)
        items = [sel.item_view(i) for i in sel.items(campaign.id)]
        pdf = review_report.render(campaign=view, items=items, generated_at=now)
        signed = review_report.sign(pdf)
        campaign.report_pdf = pdf
        campaign.report_sha256 = signed.sha256
        campaign.report_signature = signed.signature
        campaign.report_key_id = signed.key_id
        campaign.save()
        audit.record(action="access_review.closed", actor=actor,
                     subject=("access_review", campaign.id),
                     data={"period": view.label, "items": view.total, "kept": view.kept,
                           "revoked": view.revoked, "undecided": pending,
                           "reason": campaign.close_reason, "report_sha256": signed.sha256,
                           "key_id": signed.key_id})
    return sel.campaign_get(campaign_id=campaign_id, now=now)


def _close_complete(campaign_id: int, now: datetime) -> bool:
    """Close a campaign whose items are all decided; a concurrent close (the other last
    decision, the job) got there first when it is no longer open: nothing to do."""
    try:
        campaign_close(actor=Actor.system("access-reviews"), campaign_id=campaign_id, now=now)
    except CampaignNotOpen:
        return False
    return True


# --- the periodic job ---------------------------------------------------------------------

def run_schedule(*, now: datetime | None = None) -> dict[str, int]:
    """What the periodic job does, each step idempotent: start (or resume) the current period's
    campaign when autostart is on and it does not exist or is still snapshotting, escalate
    overdue items, and close an open campaign whose items are all decided (a close interrupted
    after the last decision)."""
    now = now or sel.clock_now()
    started = 0
    period = sel.period_of(sel.local_day(now))
    existing = AccessReviewCampaign.objects.filter(period_start=period.start).first()
    if settings.SAFEGUARD_ACCESS_REVIEW_AUTOSTART and (
            existing is None or existing.status == Status.SNAPSHOTTING):
        campaign_start(actor=Actor.system("access-reviews"), if_missing=True, now=now)
        started = 1
    escalated = escalate_overdue(now=now)
    closed = 0
    for cid in AccessReviewCampaign.objects.filter(status=Status.OPEN).values_list("id",
                                                                                  flat=True):
        if not AccessReviewItem.objects.filter(campaign_id=cid,
                                               decision=Decision.PENDING).exists():
            closed += int(_close_complete(cid, now))
    return {"started": started, "escalated": escalated, "closed": closed}

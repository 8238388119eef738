"""MFA coverage history (R-KPI-8, R-KPI-9): one snapshot a day, taken by the daily job
(``metrics.mfa_snapshot``), so the KPI can be charted on a p-chart like the other shares.
The first snapshot of a day stands: running the job again that day changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from safeguard.accounts import rbac
from safeguard.accounts import selectors as accounts
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.cases.contracts import Period
from safeguard.metrics.models import MfaSnapshot


@dataclass(frozen=True)
class Coverage:
    privileged: int
    privileged_with_mfa: int
    all_staff: int
    all_with_mfa: int


def coverage_now() -> Coverage:
    """Active staff (no service accounts), those holding a permission beyond the agent role,
    and how many of each have a second factor enrolled (decision 0260, item 4)."""
    agent = rbac.builtin_role_permissions("agent")
    staff = [u for u in accounts.user_list(include_disabled=False)
             if u.is_active and not u.is_service_account]
    privileged = [u for u in staff if accounts.user_permissions(user_id=u.id) - agent]
    return Coverage(privileged=len(privileged),
                    privileged_with_mfa=sum(1 for u in privileged if u.mfa_types),
                    all_staff=len(staff), all_with_mfa=sum(1 for u in staff if u.mfa_types))


@dataclass(frozen=True)
class SnapshotView:
    day: date
    privileged: int
    privileged_with_mfa: int
    all_staff: int
    all_with_mfa: int
    created: bool  # False: the day already had one (the job ran again)


def _view(row: MfaSnapshot, created: bool) -> SnapshotView:
    return SnapshotView(day=row.day, privileged=row.privileged,
                        privileged_with_mfa=row.privileged_with_mfa, all_staff=row.all_staff,
                        all_with_mfa=row.all_with_mfa, created=created)


def mfa_snapshot_take(*, actor: Actor, day: date | None = None) -> SnapshotView:
    """Record today's MFA coverage once; a second call the same day returns the first."""
    day = day or timezone.now().date()
    existing = MfaSnapshot.objects.filter(day=day).first()
    if existing is not None:
        return _view(existing, False)
    c = coverage_now()
    try:
        with transaction.atomic():
            row = MfaSnapshot.objects.create(
                day=day, privileged=c.privileged, privileged_with_mfa=c.privileged_with_mfa,
                all_staff=c.all_staff, all_with_mfa=c.all_with_mfa, taken_at=timezone.now())
            audit.record(action="metrics.mfa_snapshot_taken", actor=actor,
                         subject=("mfa_snapshot", row.id),
                         data={"day": day.isoformat(), "privileged": c.privileged,
                               "privileged_with_mfa": c.privileged_with_mfa})
    except IntegrityError:  # a concurrent run took it first
        return _view(MfaSnapshot.objects.get(day=day), False)
    return _view(row, True)


def snapshot_in(period: Period) -> SnapshotView | None:
    """The last snapshot taken on a day inside ``period`` (half-open), or None."""
    first = period.start.date()
    last = (period.end - period.end.resolution).date()
    row = (MfaSnapshot.objects.filter(day__gte=first, day__lte=last).order_by("-day").first())
    return _view(row, False) if row is not None else None


def snapshots(*, limit: int = 400) -> list[SnapshotView]:
    """The latest snapshots, oldest first."""
    rows = list(MfaSnapshot.objects.order_by("-day")[:limit])
    return [_view(r, False) for r in reversed(rows)]

"""The supervisors' live wallboard (issue 15, R-OPS-5, R-KPI-1..3): per queue the depth, the
longest wait, agents available and cases at SLA risk, and today's CSAT, FCR and ASA from the KPI
selectors. Aggregates only — no customer data — so a tick is not an audited read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone

from safeguard.accounts import selectors as accounts
from safeguard.cases import lifecycle
from safeguard.cases.contracts import Period
from safeguard.cases.models import Queue, QueueMembership
from safeguard.cases.selectors.kpi import asa, csat, fcr

_ACTIVE = [s.value for s in lifecycle.ACTIVE]


@dataclass(frozen=True)
class WallboardQueue:
    """One queue's live figures."""

    slug: str
    name: str
    depth: int  # active cases not yet answered
    open: int  # every active case
    longest_wait_seconds: int | None  # oldest unanswered case's age
    agents_available: int
    agents: int
    sla_at_risk: int  # due within the risk window, not yet breached
    sla_breached: int
    wait_alert: bool  # longest wait over SAFEGUARD_WALLBOARD_WAIT_ALERT_SECONDS


@dataclass(frozen=True)
class Wallboard:
    """The whole board at ``at``; ``today`` KPIs run from 00:00 UTC."""

    at: datetime
    queues: tuple[WallboardQueue, ...]
    csat: float | None
    csat_answers: int
    fcr: float | None
    fcr_cases: int
    asa_seconds: float | None
    asa_calls: int
    csat_alert: bool  # under SAFEGUARD_WALLBOARD_CSAT_ALERT_BELOW
    asa_alert: bool  # over SAFEGUARD_WALLBOARD_ASA_ALERT_SECONDS

    def as_dict(self) -> dict[str, object]:
        """The board as JSON for the event stream (numbers and labels only)."""
        return {
            "at": self.at.isoformat(),
            "totals": {
                "depth": sum(q.depth for q in self.queues),
                "longest_wait_seconds": max((q.longest_wait_seconds or 0 for q in self.queues),
                                            default=0),
                "agents_available": sum(q.agents_available for q in self.queues),
                "sla_at_risk": sum(q.sla_at_risk for q in self.queues),
                "sla_breached": sum(q.sla_breached for q in self.queues),
            },
            "queues": [q.__dict__ for q in self.queues],
            "kpi": {"csat": self.csat, "csat_answers": self.csat_answers, "fcr": self.fcr,
                    "fcr_cases": self.fcr_cases, "asa_seconds": self.asa_seconds,
                    "asa_calls": self.asa_calls, "csat_alert": self.csat_alert,
                    "asa_alert": self.asa_alert},
        }


def wallboard(*, now: datetime | None = None) -> Wallboard:
    """Every active queue's live figures and today's KPIs. Thresholds are settings:
    SAFEGUARD_WALLBOARD_SLA_RISK_MINUTES, _AGENT_SEEN_MINUTES, _WAIT_ALERT_SECONDS,
    _CSAT_ALERT_BELOW, _ASA_ALERT_SECONDS."""
    now = now or timezone.now()
    risk_until = now + timedelta(minutes=settings.SAFEGUARD_WALLBOARD_SLA_RISK_MINUTES)
    seen_since = now - timedelta(minutes=settings.SAFEGUARD_WALLBOARD_AGENT_SEEN_MINUTES)
    active = Q(cases__status__in=_ACTIVE, cases__merged_into__isnull=True)
    waiting = active & Q(cases__first_response_at__isnull=True)
    not_breached = (Q(cases__first_response_breached_at__isnull=True)
                    & Q(cases__resolution_breached_at__isnull=True))
    at_risk = active & not_breached & (
        Q(cases__first_response_at__isnull=True, cases__first_response_due_at__lte=risk_until)
        | Q(cases__resolution_due_at__lte=risk_until))
    breached = active & ~not_breached
    rows = (Queue.objects.filter(is_active=True)
            .annotate(depth=Count("cases", filter=waiting, distinct=True),
                      open_n=Count("cases", filter=active, distinct=True),
                      oldest=Min("cases__created_at", filter=waiting),
                      risk=Count("cases", filter=at_risk, distinct=True),
                      breached_n=Count("cases", filter=breached, distinct=True))
            .order_by("name"))
    members: dict[int, set[int]] = {}
    for queue_id, user_id in QueueMembership.objects.filter(
            queue__is_active=True, user__is_active=True).values_list("queue_id", "user_id"):
        members.setdefault(queue_id, set()).add(user_id)
    seen = accounts.users_active_since(user_ids={u for s in members.values() for u in s},
                                       since=seen_since)
    wait_alert = settings.SAFEGUARD_WALLBOARD_WAIT_ALERT_SECONDS
    queues = []
    for q in rows:
        wait = int((now - q.oldest).total_seconds()) if q.oldest else None
        team = members.get(q.id, set())
        queues.append(WallboardQueue(
            slug=q.slug, name=q.name, depth=q.depth, open=q.open_n, longest_wait_seconds=wait,
            agents_available=len(team & seen), agents=len(team), sla_at_risk=q.risk,
            sla_breached=q.breached_n, wait_alert=wait is not None and wait > wait_alert))
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    today = Period(start=start, end=start + timedelta(days=1))
    c, f, a = csat(period=today), fcr(period=today), asa(period=today)
    return Wallboard(
        at=now, queues=tuple(queues), csat=c.value, csat_answers=c.total, fcr=f.value,
        fcr_cases=f.total, asa_seconds=a.value_seconds, asa_calls=a.answered,
        csat_alert=c.value is not None and c.value < settings.SAFEGUARD_WALLBOARD_CSAT_ALERT_BELOW,
        asa_alert=(a.value_seconds is not None
                   and a.value_seconds > settings.SAFEGUARD_WALLBOARD_ASA_ALERT_SECONDS))

"""The agent's home (issue 15, R-WORK-4): the work of the signed-in agent, in their scope only.

Lists and the counts beside them: my open cases, cases whose SLA clock ends soon or has run
out, cases updated recently, per-queue depth, and the notes that @mentioned the agent. Reads
only case rows of the agent's split-access scope (their queues and their assignments), no
message text and no customer values.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from safeguard.accounts.contracts import Principal
from safeguard.cases import scope
from safeguard.cases.contracts import AgentHome, MentionView
from safeguard.cases.models import Case, Mention
from safeguard.cases.selectors.cases import ACTIVE, summary
from safeguard.cases.selectors.queues import queue_list_for
from safeguard.protection import services as protection


def _rows(qs: QuerySet[Case]) -> QuerySet[Case]:
    return qs.select_related("queue", "assignee", "merged_into").prefetch_related("tags")


def _at_risk(active: QuerySet[Case], now_plus: object) -> QuerySet[Case]:
    """Active cases whose first-response clock (not yet answered) or resolution clock ends
    before ``now_plus``, or that already missed one (breached)."""
    return active.filter(
        Q(first_response_at__isnull=True, first_response_due_at__lte=now_plus)
        | Q(resolution_due_at__lte=now_plus)
        | Q(first_response_breached_at__isnull=False)
        | Q(resolution_breached_at__isnull=False))


def agent_home(*, principal: Principal, limit: int = 8) -> AgentHome:
    """My open cases (oldest due first), SLA at risk (soonest clock first), recently updated,
    and the depth of my queues — all within split access (R-WORK-4)."""
    now = timezone.now()
    visible = scope.visible_cases(principal)
    active = visible.filter(status__in=ACTIVE)
    far = now + timedelta(days=36500)
    due = Least(Coalesce("first_response_due_at", far), Coalesce("resolution_due_at", far))
    mine = active.filter(assignee_id=principal.user_id)
    risky = _at_risk(active, now + timedelta(minutes=settings.SAFEGUARD_SLA_WARN_MINUTES))
    breached = active.filter(Q(first_response_breached_at__isnull=False)
                             | Q(resolution_breached_at__isnull=False)
                             | Q(resolution_due_at__lt=now)
                             | Q(first_response_at__isnull=True, first_response_due_at__lt=now))
    recent = visible.order_by(F("updated_at").desc(), "-number")
    mentions = Mention.objects.filter(user_id=principal.user_id, case__in=visible)
    return AgentHome(
        my_open=tuple(summary(c, now) for c in
                      _rows(mine.annotate(due=due).order_by("due", "number"))[:limit]),
        my_open_count=mine.count(),
        at_risk=tuple(summary(c, now) for c in
                      _rows(risky.annotate(due=due).order_by("due", "number"))[:limit]),
        at_risk_count=risky.count(),
        breached_count=breached.count(),
        recent=tuple(summary(c, now) for c in _rows(recent)[:limit]),
        queues=tuple(queue_list_for(principal=principal)),
        mentions=tuple(MentionView(case_number=m.case.number,
                                   subject=protection.card_refs_for_people(m.case.subject),
                                   by_email=m.message.author.email if m.message.author else "",
                                   at=m.created_at)
                       for m in mentions.select_related("case", "message__author")
                       .order_by("-created_at")[:limit]),
        mentions_count=mentions.count(),
    )

"""Split access (R-WORK-4), in one place: which cases a principal may see and manage.

Used by selectors (reads) and services (writes), so pages, API, tasks and CLI obey the same rule:
an agent sees the cases of the queues they are a member of and the cases assigned to them;
``cases.view_all`` sees everything; without ``cases.view`` nothing.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from safeguard.accounts.contracts import Principal
from safeguard.cases import permissions as perm
from safeguard.cases.models import Case, QueueMembership


def member_queue_ids(principal: Principal) -> QuerySet[QueueMembership, int]:
    return QueueMembership.objects.filter(user_id=principal.user_id).values_list("queue_id",
                                                                               flat=True)


def visible_cases(principal: Principal) -> QuerySet[Case]:
    """Every case ``principal`` may open (deny by default)."""
    if principal.has(perm.CASES_VIEW_ALL):
        return Case.objects.all()
    if not principal.has(perm.CASES_VIEW):
        return Case.objects.none()
    return Case.objects.filter(Q(queue_id__in=member_queue_ids(principal))
                               | Q(assignee_id=principal.user_id))


def is_queue_supervisor(principal: Principal, queue_id: int) -> bool:
    """Holders of ``queues.manage`` who work the queue, or members flagged as its supervisor."""
    memberships = QueueMembership.objects.filter(user_id=principal.user_id, queue_id=queue_id)
    if principal.has(perm.QUEUES_MANAGE):
        return memberships.exists() or principal.has(perm.CASES_VIEW_ALL)
    return memberships.filter(is_supervisor=True).exists()


def may_manage(principal: Principal, case: Case) -> bool:
    """``cases.manage`` on this case: its assignee, or a supervisor of its queue."""
    if not principal.has(perm.CASES_MANAGE):
        return False
    return case.assignee_id == principal.user_id or is_queue_supervisor(principal, case.queue_id)

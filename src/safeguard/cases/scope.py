"""Split access (R-WORK-4), in one place: which cases a principal may see and manage.

Used by selectors (reads) and services (writes), so pages, API, tasks and CLI obey the same rule:
an agent sees the cases of the queues they are a member of and the cases assigned to them;
``cases.view_all`` sees everything; without ``cases.view`` nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet

from safeguard.accounts.contracts import Principal
from safeguard.audit import services as audit
from safeguard.cases import permissions as perm
from safeguard.cases.contracts import CaseNotFound
from safeguard.cases.models import Case, QueueMembership

P = ParamSpec("P")
R = TypeVar("R")


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


def denial(principal: Principal, *, number: object = None, case_id: object = None
           ) -> dict[str, str]:
    """What to record about a refused look-up of a case (R-IR-5): the case asked for (a number
    or id, cut to size; never free text) and whether it is absent or out of scope. The caller
    answers CaseNotFound either way; only the audit log tells the two apart."""
    ref = str(number if number is not None else case_id)[:40]
    exists = False
    try:
        if number is not None:
            exists = Case.objects.filter(number=int(str(number))).exists()
        elif case_id is not None:
            exists = Case.objects.filter(id=str(case_id)).exists()
    except (ValueError, TypeError, ValidationError):
        exists = False
    return {"case": ref, "why": "out of scope" if exists else "absent",
            "permission": "cases.view_all" if principal.has(perm.CASES_VIEW_ALL)
            else "cases.view" if principal.has(perm.CASES_VIEW) else "none"}


def refused(principal: Principal, *, number: object = None, case_id: object = None
            ) -> CaseNotFound:
    """The CaseNotFound to raise for a refused look-up, carrying what to record about it."""
    exc = CaseNotFound(f"No case {number if number is not None else case_id} in your queues.")
    exc.denial = (principal, denial(principal, number=number,  # type: ignore[attr-defined]
                                    case_id=case_id))
    return exc


def record_denial(exc: CaseNotFound) -> None:
    """Record the refused look-up ``exc`` carries as ``case.access_denied`` (once)."""
    found = getattr(exc, "denial", None)
    if found is None:
        return
    exc.denial = None  # type: ignore[attr-defined]
    principal, data = found
    audit.record(action="case.access_denied", actor=principal.actor,
                 subject=("case", data["case"]), outcome="denied", data=data)


def denials_recorded(fn: Callable[P, R]) -> Callable[P, R]:
    """Put outside ``@transaction.atomic`` on a selector or service that looks a case up: a
    refused look-up rolls the transaction back, and its denial is then recorded in a
    transaction of its own, so it survives the refusal (issue 9 §9, R-IR-5)."""

    @wraps(fn)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except CaseNotFound as exc:
            with transaction.atomic():
                record_denial(exc)
            raise

    return wrapped

"""Reads of queues and macros."""

from __future__ import annotations

from django.db.models import Count, Q

from safeguard.accounts.contracts import Principal
from safeguard.cases import lifecycle, placeholders, scope
from safeguard.cases import permissions as perm
from safeguard.cases.contracts import MacroView, QueueNotFound, QueueView
from safeguard.cases.models import Macro, Queue

_ACTIVE = [s.value for s in lifecycle.ACTIVE]
_BREACHED = Q(cases__first_response_breached_at__isnull=False) | Q(
    cases__resolution_breached_at__isnull=False)


def _view(q: Queue, *, members: bool = False) -> QueueView:
    return QueueView(
        id=q.id, slug=q.slug, name=q.name, first_response_minutes=q.first_response_minutes,
        resolution_minutes=q.resolution_minutes, is_active=q.is_active,
        open_cases=getattr(q, "open_count", 0), breached_cases=getattr(q, "breached_count", 0),
        members=tuple(
            f"{m.user.email}{' (supervisor)' if m.is_supervisor else ''}"
            for m in q.memberships.select_related("user").order_by("user__email"))
        if members else ())


def _annotated() -> object:
    return Queue.objects.annotate(
        open_count=Count("cases", filter=Q(cases__status__in=_ACTIVE), distinct=True),
        breached_count=Count("cases", filter=Q(cases__status__in=_ACTIVE) & _BREACHED,
                             distinct=True))


def queue_list_for(*, principal: Principal) -> list[QueueView]:
    """The queues ``principal`` works (all for ``cases.view_all``), with open/breached counts."""
    qs = _annotated()
    if not principal.has(perm.CASES_VIEW_ALL):
        qs = qs.filter(id__in=scope.member_queue_ids(principal))  # type: ignore[attr-defined]
    return [_view(q) for q in qs.filter(is_active=True).order_by("name")]  # type: ignore[attr-defined]


def queue_list() -> list[QueueView]:
    """Every queue with its members (queue administration)."""
    return [_view(q, members=True) for q in _annotated().order_by("name")]  # type: ignore[attr-defined]


def queue_get(*, slug: str) -> QueueView:
    q = _annotated().filter(slug=slug).first()  # type: ignore[attr-defined]
    if q is None:
        raise QueueNotFound(f"No queue {slug!r}.")
    return _view(q, members=True)


def macro_list(*, queue: str | None = None) -> list[MacroView]:
    """Macros for a queue (and those for every queue)."""
    qs = Macro.objects.select_related("queue")
    qs = qs.filter(Q(queue__isnull=True) | Q(queue__slug=queue)) if queue else qs
    return [MacroView(id=m.id, name=m.name, body=m.body, queue=m.queue.slug if m.queue else "")
            for m in qs.order_by("name")]


def _macros_for_case(principal: Principal, case_queue: str, *,
                     member: bool | None = None) -> Q:
    """Which macros fit a case of ``case_queue`` for ``principal`` (issue 9 §12, R-WORK-4):
    those for every queue, and those of the case's own queue when ``principal`` works that
    queue (a member, or ``cases.view_all``). A macro of another queue — fraud wording in a
    billing case — is never offered, nor rendered when asked for by id. ``member``: whether
    ``principal`` is a member of that queue, when the caller has already read its members (the
    case page, issue 10); None: asked here (one EXISTS)."""
    works = (principal.has(perm.CASES_VIEW_ALL)
             or (member if member is not None else
                 Queue.objects.filter(slug=case_queue,
                                      id__in=scope.member_queue_ids(principal)).exists()))
    allowed = Q(queue__isnull=True)
    if works:
        allowed |= Q(queue__slug=case_queue)
    return allowed


def macro_list_for_case(*, principal: Principal, case_queue: str,
                        member: bool | None = None) -> list[MacroView]:
    """The macros offered in a case of ``case_queue`` to ``principal``, by name (``member``:
    see :func:`_macros_for_case`)."""
    qs = Macro.objects.select_related("queue").filter(
        _macros_for_case(principal, case_queue, member=member))
    return [MacroView(id=m.id, name=m.name, body=m.body, queue=m.queue.slug if m.queue else "")
            for m in qs.order_by("name")]


def macro_render(*, principal: Principal, macro_id: int, case_number: int, case_queue: str,
                 agent_name: str) -> str | None:
    """A macro's body with ``{case_number}`` and ``{agent_name}`` filled in (the masked-safe
    ``{customer_first_name}`` stays as written until delivery); None for a macro that does not
    exist or is not offered in this case to ``principal`` (the same answer)."""
    m = (Macro.objects.filter(_macros_for_case(principal, case_queue), id=macro_id).first())
    if m is None:
        return None
    return placeholders.fill(m.body, {placeholders.CASE_NUMBER: str(case_number),
                                      placeholders.AGENT_NAME: agent_name or ""})

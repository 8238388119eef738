"""Split access (R-WORK-4), in one place: which cases a principal may see and manage.

Used by selectors (reads) and services (writes), so pages, API, tasks and CLI obey the same rule:
an agent sees the cases of the queues they are a member of and the cases assigned to them;
``cases.view_all`` sees everything; without ``cases.view`` nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any, ParamSpec, TypeVar
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import connections, router, transaction
from django.db.models import BooleanField, Expression, Q, QuerySet

from safeguard.accounts.contracts import Principal
from safeguard.audit import services as audit
from safeguard.cases import permissions as perm
from safeguard.cases.contracts import CaseNotFound
from safeguard.cases.models import Case, QueueMembership
from safeguard.web.dbbackends import prepared_cursor

P = ParamSpec("P")
R = TypeVar("R")


def member_queue_ids(principal: Principal) -> QuerySet[QueueMembership, int]:
    return QueueMembership.objects.filter(user_id=principal.user_id).values_list("queue_id",
                                                                               flat=True)


def visible_cases(principal: Principal) -> QuerySet[Case]:
    """Every case ``principal`` may open (deny by default).

    The rule of :func:`visible_cases_orm`, with its condition precompiled
    (:class:`InScopeOf`): the same SQL, without building and compiling the membership
    subquery on every call (issue 10 item 6, decision 0279)."""
    if principal.has(perm.CASES_VIEW_ALL):
        return Case.objects.all()
    if not principal.has(perm.CASES_VIEW):
        return Case.objects.none()
    return Case.objects.filter(InScopeOf(principal.user_id))


def visible_cases_orm(principal: Principal) -> QuerySet[Case]:
    """The scope rule written with the ORM: the reference the precompiled forms
    (:func:`visible_cases`, :func:`case_visible_for_customer`) are held to by the tests
    (``tests/cases/test_scope_precompiled.py``). Change the rule here and there together."""
    if principal.has(perm.CASES_VIEW_ALL):
        return Case.objects.all()
    if not principal.has(perm.CASES_VIEW):
        return Case.objects.none()
    return Case.objects.filter(Q(queue_id__in=member_queue_ids(principal))
                               | Q(assignee_id=principal.user_id))


# The inner table's alias: never one Django generates (a letter and digits) nor a table name,
# so a column of the outer query is never shadowed by it, whatever the outer query's aliases.
_MEMBERS = "sg_scope_members"


_SCOPE_SQL: dict[str, str] = {}  # by database vendor: the quoting of names


def _scope_sql(connection: Any, queue: str, assignee: str) -> str:
    """The rule's condition over the outer ``queue`` and ``assignee`` columns (compiled SQL),
    the user id bound twice: what ``visible_cases_orm`` compiles to (its IN subquery, OR the
    assignee), the names quoted from the models' metadata, built once per process."""
    template = _SCOPE_SQL.get(connection.vendor)
    if template is None:
        quote = connection.ops.quote_name
        table = quote(QueueMembership._meta.db_table)
        column = {f.name: quote(f.column) for f in QueueMembership._meta.concrete_fields}
        members = quote(_MEMBERS)
        template = _SCOPE_SQL[connection.vendor] = (
            f"({{queue}} IN (SELECT {members}.{column['queue']} FROM {table} {members}"  # noqa: S608 - quoted names from the models' metadata, values bound
            f" WHERE {members}.{column['user']} = %s) OR {{assignee}} = %s)")
    return template.format(queue=queue, assignee=assignee)


class InScopeOf(Expression):
    """``visible_cases``'s condition on a ``Case`` query for one user: their queues' cases and
    those assigned to them. Resolves to the query's own ``queue_id`` and ``assignee_id``
    columns (relabelled like any column when the query becomes a subquery); compiles to the
    SQL of :func:`_scope_sql` with the user id as a parameter."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, user_id: int, queue: Expression | None = None,
                 assignee: Expression | None = None) -> None:
        super().__init__()
        self.user_id = int(user_id)
        self.queue, self.assignee = queue, assignee

    @property
    def identity(self) -> tuple[object, ...]:
        # By user and by the (relabelled) columns: two scopes on different aliases differ.
        return (InScopeOf, self.user_id, self.queue, self.assignee)

    def get_source_expressions(self) -> list[Any]:
        return [self.queue, self.assignee]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        self.queue, self.assignee = exprs

    def resolve_expression(self, query: Any = None, allow_joins: bool = True,
                           reuse: Any = None, summarize: bool = False,
                           for_save: bool = False) -> InScopeOf:
        if self.queue is not None:
            # Already resolved on its own query, now a subquery of another (``case__in=``):
            # its columns stay those of its query, as any resolved column does.
            return super().resolve_expression(query, allow_joins, reuse, summarize, for_save)
        if getattr(query, "model", None) is not Case:
            raise TypeError("InScopeOf filters a Case query only.")
        alias = query.get_initial_alias()
        resolved = self.copy()
        resolved.queue = Case._meta.get_field("queue").get_col(alias)
        resolved.assignee = Case._meta.get_field("assignee").get_col(alias)
        return resolved

    def as_sql(self, compiler: Any, connection: Any, **extra: Any
               ) -> tuple[str, tuple[int, int]]:
        queue, _ = compiler.compile(self.queue)
        assignee, _ = compiler.compile(self.assignee)
        return _scope_sql(connection, queue, assignee), (self.user_id, self.user_id)


def case_visible_for_customer(principal: Principal, customer_id: UUID | str) -> bool:
    """Whether ``principal`` sees at least one case of this customer: the answer of
    ``visible_cases_orm(principal).filter(customer_id=...).exists()`` (the tests hold it to
    that) as one statement built once per process (decision 0279), the ids bound as
    parameters. What the customer panel's scope check asks (``CustomerScopeProvider.allows``).
    """
    if principal.has(perm.CASES_VIEW_ALL):
        return Case.objects.filter(customer_id=customer_id).exists()
    if not principal.has(perm.CASES_VIEW):
        return False
    connection = connections[router.db_for_read(Case)]
    customer = Case._meta.get_field("customer")
    value = customer.get_db_prep_value(customer.target_field.to_python(customer_id), connection)
    # Prepared on PostgreSQL: parsed and planned once per connection (decision 0281).
    with prepared_cursor(connection) as cursor:
        cursor.execute(_exists_sql(connection),
                       (value, int(principal.user_id), int(principal.user_id)))
        return cursor.fetchone() is not None


_EXISTS_SQL: dict[str, str] = {}  # by database vendor


def _exists_sql(connection: Any) -> str:
    sql = _EXISTS_SQL.get(connection.vendor)
    if sql is None:
        quote = connection.ops.quote_name
        table = quote(Case._meta.db_table)
        col = {f.name: f"{table}.{quote(f.column)}" for f in Case._meta.concrete_fields}
        sql = _EXISTS_SQL[connection.vendor] = (
            f"SELECT 1 FROM {table} WHERE {col['customer']} = %s"  # noqa: S608 - quoted names from the models' metadata, values bound
            f" AND {_scope_sql(connection, col['queue'], col['assignee'])} LIMIT 1")
    return sql


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

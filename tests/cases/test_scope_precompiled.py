"""The scope rule's precompiled forms answer as the ORM's own query of the rule (issue 10 item 6,
decision 0279, R-WORK-4).

``scope.visible_cases`` filters with :class:`scope.InScopeOf` (the rule's condition as SQL built
once per process, the user id bound) and the customer panel's check asks
``scope.case_visible_for_customer`` (one statement built once per process); both are held here
to ``scope.visible_cases_orm``, the rule written with the ORM, for every kind of principal the
rule tells apart — ``cases.view_all``, ``cases.view`` through queue memberships (plain or
supervisor, one queue or several), through assignment only, both, neither; no ``cases.view``;
an API token whose scopes drop ``cases.view``; a disabled (suspended) user; a user id that no
longer exists — and for every shape the callers give the queryset (get by number, EXISTS by
customer, listing customer ids, counts, joins, subqueries of other queries, row locks), on
whichever backend the suite runs (SQLite and PostgreSQL).
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.db import transaction

from safeguard.accounts import services as accounts
from safeguard.accounts.contracts import Principal
from safeguard.cases import scope
from safeguard.cases import selectors as case_selectors
from safeguard.cases.contracts import CaseNotFound
from safeguard.cases.models import Case, Message
from safeguard.cases.selectors.cases import _filtered, customer_scope
from safeguard.customers import selectors as customer_selectors
from tests.cases.conftest import inbound, make_agent, make_queue, principal_for
from tests.factories import SYSTEM, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """Three queues, five cases of four customers, and one principal of each kind."""
    for slug in ("billing", "tech", "vip"):
        make_queue(slug)
    cases: dict[str, Case] = {}
    for name, queue, email in (("billing_a", "billing", "ann@example.com"),
                               ("tech_b", "tech", "bob@example.com"),
                               ("vip_c", "vip", "cid@example.com"),
                               ("vip_d", "vip", "dan@example.com"),
                               ("tech_a", "tech", "ann@example.com")):
        result = inbound(f"Case {name}, please help.", email=email, queue=queue,
                         subject=name, external_id=f"<{name}@customer.example>")
        cases[name] = Case.objects.get(id=result.case_id)
    billing = make_agent("billing")
    both = make_agent("billing", "tech")
    supervisor = make_agent("tech", roles=("supervisor",), supervisor=True)
    assignee_only = make_agent()
    member_and_assignee = make_agent("billing")
    nothing = make_agent()
    suspended = make_agent("billing")
    Case.objects.filter(id=cases["tech_b"].id).update(assignee_id=assignee_only.id)
    Case.objects.filter(id=cases["vip_c"].id).update(assignee_id=member_and_assignee.id)
    accounts.user_disable(actor=SYSTEM, user_id=suspended.id, reason="leaver")
    privacy = make_user(roles=("privacy_officer",))  # cases.view_all
    auditor = make_user(roles=("auditor",))  # no cases.view
    principals = {
        "queue member": principal_for(billing),
        "member of two queues": principal_for(both),
        "queue supervisor": principal_for(supervisor),
        "assignee only": principal_for(assignee_only),
        "member and assignee elsewhere": principal_for(member_and_assignee),
        "no queue, nothing assigned": principal_for(nothing),
        "suspended member": Principal(user_id=suspended.id, email=suspended.email,
                                      permissions=principal_for(billing).permissions,
                                      via="session"),
        "cases.view_all": principal_for(privacy),
        "no cases.view": principal_for(auditor),
        "token without cases.view": Principal(
            user_id=billing.id, email=billing.email, via="token", token_id=1,
            permissions=principal_for(billing).permissions - {"cases.view"}),
        "token with cases.view": Principal(
            user_id=both.id, email=both.email, via="token", token_id=2,
            permissions=principal_for(both).permissions),
        "user that no longer exists": Principal(
            user_id=10**9, email="gone@example.test", via="session",
            permissions=principal_for(billing).permissions),
    }
    return cases, principals


def _numbers(qs) -> set[int]:
    return set(qs.values_list("number", flat=True))


def test_the_world_has_every_kind_of_answer(world) -> None:
    """The fixture is worth its name: the rule answers differently across its principals."""
    cases, principals = world
    seen = {name: {n for n, c in cases.items() if c.number in _numbers(
        scope.visible_cases_orm(p))} for name, p in principals.items()}
    assert seen["queue member"] == {"billing_a"}
    assert seen["member of two queues"] == {"billing_a", "tech_b", "tech_a"}
    assert seen["queue supervisor"] == {"tech_b", "tech_a"}
    assert seen["assignee only"] == {"tech_b"}
    assert seen["member and assignee elsewhere"] == {"billing_a", "vip_c"}
    assert seen["no queue, nothing assigned"] == set()
    assert seen["cases.view_all"] == set(cases)
    assert seen["no cases.view"] == seen["token without cases.view"] == set()
    assert seen["user that no longer exists"] == set()


def test_visible_cases_answers_as_the_orm_rule_for_every_principal_and_shape(world) -> None:
    cases, principals = world
    customers = {c.customer_id for c in cases.values()} | {uuid.uuid4()}
    tags = cases["tech_a"]
    from safeguard.cases.models import Tag

    tag = Tag.objects.create(name="refund")
    tags.tags.add(tag)
    for name, p in principals.items():
        new, orm = scope.visible_cases(p), scope.visible_cases_orm(p)
        assert _numbers(new) == _numbers(orm), name
        assert new.count() == orm.count(), name
        for case in cases.values():
            assert (new.filter(number=case.number).exists()
                    == orm.filter(number=case.number).exists()), (name, case.number)
        for cid in customers:
            assert (new.filter(customer_id=cid).exists()
                    == orm.filter(customer_id=cid).exists()), (name, cid)
        assert (set(new.values_list("customer_id", flat=True).distinct())
                == set(orm.values_list("customer_id", flat=True).distinct())), name
        # joined, chained, and as a subquery of other queries (its aliases relabelled)
        assert (_numbers(new.filter(tags__name="refund"))
                == _numbers(orm.filter(tags__name="refund"))), name
        assert (_numbers(new.filter(queue__slug="tech").exclude(assignee__isnull=True))
                == _numbers(orm.filter(queue__slug="tech").exclude(assignee__isnull=True))), name
        assert (set(Message.objects.filter(case__in=new).values_list("id", flat=True))
                == set(Message.objects.filter(case__in=orm).values_list("id", flat=True))), name
        assert (_numbers(Case.objects.filter(id__in=new.values("id")))
                == _numbers(Case.objects.filter(id__in=orm.values("id")))), name
        assert (_numbers(Case.objects.exclude(id__in=new.values("id")))
                == _numbers(Case.objects.exclude(id__in=orm.values("id")))), name
        assert _numbers(new | orm) == _numbers(orm) == _numbers(new & orm), name
        with transaction.atomic():
            assert _numbers(new.select_for_update()) == _numbers(orm), name


def test_the_page_lookup_and_its_refusals_follow_the_rule(world) -> None:
    """``_filtered`` (the page's scoped case, the lists, search) over the precompiled rule."""
    cases, principals = world
    for name, p in principals.items():
        for case in cases.values():
            expected = scope.visible_cases_orm(p).filter(number=case.number).exists()
            assert _filtered(p).filter(number=case.number).exists() == expected, name
            if p.has("cases.view"):
                assert (_numbers(_filtered(p, assignee="me"))
                        == _numbers(scope.visible_cases_orm(p).filter(
                            assignee_id=p.user_id))), name
        for case in cases.values():
            visible = scope.visible_cases_orm(p).filter(number=case.number).exists()
            if visible:
                assert case_selectors.case_summary(principal=p,
                                                   number=case.number).number == case.number
            else:
                with pytest.raises(CaseNotFound):
                    case_selectors.case_summary(principal=p, number=case.number)


def test_the_customer_check_answers_as_the_orm_exists_for_every_principal(world, settings
                                                                           ) -> None:
    settings.SAFEGUARD_CUSTOMER_SCOPE = "safeguard.cases.selectors.customer_scope"
    cases, principals = world
    customers = {c.customer_id for c in cases.values()} | {uuid.uuid4()}
    for name, p in principals.items():
        listed = customer_selectors.customer_scope_for(viewer=p)
        for cid in customers:
            orm = scope.visible_cases_orm(p).filter(customer_id=cid).exists()
            assert scope.case_visible_for_customer(p, cid) == orm, (name, cid)
            assert scope.case_visible_for_customer(p, str(cid)) == orm, (name, cid)
            expected = p.has("customers.view_all") or orm
            assert customer_scope.allows(p, cid) == expected, (name, cid)
            assert customer_selectors.customer_allowed(viewer=p, customer_id=cid) == expected
            assert listed.allows(cid) == expected, (name, cid)


def test_the_precompiled_condition_is_the_sql_the_orm_compiles(world) -> None:
    """The same statement as the ORM's, up to the membership subquery's alias (a name Django
    never generates, so no outer column is shadowed by it)."""
    _, principals = world
    p = principals["member of two queues"]

    def sql(qs) -> str:
        return re.sub(r' AS "queue_id"', "", str(qs.query)).replace('"sg_scope_members"', "U0")

    assert sql(scope.visible_cases(p)) == sql(scope.visible_cases_orm(p))
    assert (sql(scope.visible_cases(p).filter(status="new").select_related("queue"))
            == sql(scope.visible_cases_orm(p).filter(status="new").select_related("queue")))
    with pytest.raises(TypeError):
        list(Message.objects.filter(scope.InScopeOf(p.user_id)))

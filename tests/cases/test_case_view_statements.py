"""The case view's statements (issue 10 item 6, R-OPS-8, R-DATA-2, R-WORK-4): the case page and
the customer panel it loads run an exact number of SQL statements with every safeguard on, so a
statement added to either fails here; the folds that removed four of them change no answer:

- the conversation masker reads the customer row and whether the viewer holds a live reveal
  grant in one statement (the grants and the scope EXISTS only when there is one);
- the queue's forced step-up is checked on the case the page loads, not by a second query in
  ``QueueStepUpMiddleware``: a stale second factor still gets the re-prompt before anything of
  the case is read or recorded;
- whether the viewer works the case's queue (its macros) is read off the queue's members the
  page reads anyway;
- the panel reads the customer row and the grant check in one statement;
- neither view wraps its reads in a transaction: ``audit.record`` outside one is a single
  INSERT that commits on its own (no BEGIN/COMMIT pair), and a failed entry still fails the view.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from safeguard.audit.models import Event
from safeguard.cases import services
from safeguard.cases.contracts import SenderIn
from safeguard.cases.models import Case, Queue
from safeguard.customers import services as customers
from safeguard.customers.models import RevealGrant
from tests.cases.conftest import make_agent, make_queue, principal_for
from tests.customers.factories import make_customer
from tests.factories import SYSTEM, signed_in_client

pytestmark = pytest.mark.django_db

TEXT = ("Hi, Maria Lopez here. Call me on +44 20 7946 0132 or write to maria.lopez@example.com; "
        "my neighbour is on +44 20 7946 0999.")

# Statements of one warm request, every safeguard on. The page: session, user, second factors,
# roles, the scoped case with its queue, tags, the customer row with the grant flag, messages,
# attachments, calls, history, CSAT, merged cases, the audit entry, queue members, the
# live-refresh marker (2), macros, the agent's queues, notifications, organisation. The panel:
# session, user, second factors, roles, the scope EXISTS, the customer row with the grant flag,
# verifications, pending approvals, the audit entry, notifications, organisation. Neither view
# opens a transaction: its audit entry is one INSERT that commits on its own (the bench,
# bench/cases/bench_case_view.py, counts the same 21 + 11 on PostgreSQL). Here the test's
# transaction turns record()'s own atomic block into a savepoint (left out by _statements).
PAGE_STATEMENTS = 21
PANEL_STATEMENTS = 11


def _counted(client, url: str, **headers) -> tuple[object, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
    return response, [q["sql"] for q in queries.captured_queries]


def _statements(sql: list[str]) -> list[str]:
    """Without the savepoints of the test's own transaction (absent in production, where the
    request's atomic block is a BEGIN/COMMIT the driver sends): the same on both backends."""
    return [s for s in sql if not s.upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


@pytest.fixture(autouse=True)
def _production_paths(settings):
    """The request path as deployed: keysets cached per process (the suite re-reads them on
    every use) and the audit entry integrated after commit, off the request (the suite
    integrates inside it); the integrator is run explicitly where a test counts events."""
    settings.SAFEGUARD_KEYSET_CACHE_SECONDS = 60
    settings.SAFEGUARD_AUDIT_INTEGRATION = "after_commit"


@pytest.fixture
def desk():
    make_queue("billing")
    agent = make_agent("billing")
    maria = make_customer()
    result = services.message_receive(
        channel="email", queue="billing", subject="Parcel", text=TEXT,
        sender=SenderIn(email="maria.lopez@example.com", name="Maria Lopez",
                        customer_id=maria.id))
    case = Case.objects.get(id=result.case_id)
    services.message_send(case_number=case.number, principal=principal_for(agent),
                          text="We are on it.")
    services.macro_save(actor=SYSTEM, name="Refund sent", body="Refund is on its way.",
                        queue="billing")
    return agent, case, maria


def _warm(client, case) -> None:
    # the first request of a session writes its activity (at most once a minute)
    client.get(f"/cases/{case.number}/")
    client.get(f"/customers/{case.customer_id}/panel/", HTTP_HX_REQUEST="true")


def test_the_case_page_and_panel_run_exactly_their_statements(desk) -> None:
    agent, case, _ = desk
    client = signed_in_client(agent)
    _warm(client, case)
    page, page_sql = _counted(client, f"/cases/{case.number}/")
    panel, panel_sql = _counted(client, f"/customers/{case.customer_id}/panel/",
                                HTTP_HX_REQUEST="true")
    assert (page.status_code, panel.status_code) == (200, 200)
    page_sql, panel_sql = _statements(page_sql), _statements(panel_sql)
    assert (len(page_sql), len(panel_sql)) == (PAGE_STATEMENTS, PANEL_STATEMENTS), (
        "\n".join(page_sql) + "\n----\n" + "\n".join(panel_sql))
    page_text = "\n".join(page_sql)
    # the folded reads are gone from the page: no forced step-up EXISTS of its own, no reveal
    # grant read, no macro membership EXISTS; the customer row is read once, with the flag
    assert "step_up_forced_at\" IS NOT NULL" not in page_text
    assert not any(s.startswith('SELECT "customers_revealgrant"') for s in page_sql)
    assert sum(s.startswith('SELECT "customers_customer"') for s in page_sql) == 1
    # scope of the case, the queue's members, the agent's queues (no macro membership EXISTS)
    assert sum('FROM "cases_queuemembership"' in s for s in page_sql) == 3
    assert sum(s.startswith('SELECT "customers_customer"') for s in panel_sql) == 1
    # and every safeguard still did its work: masked text, masked panel values, audit queued
    body, pbody = page.content.decode(), panel.content.decode()
    assert "Call me on •••• 0132" in body
    assert "+44 20 7946 0132" not in body
    assert "maria.lopez@example.com" not in body + pbody
    assert "Refund sent" in body


def test_both_views_record_their_audit_event_on_every_request(desk) -> None:
    agent, case, _ = desk
    client = signed_in_client(agent)
    _warm(client, case)
    from safeguard.audit import services as audit

    audit.integrate(wait=True)
    viewed = Event.objects.filter(action="case.viewed").count()
    panels = Event.objects.filter(action="customer.viewed").count()
    for _ in range(3):
        client.get(f"/cases/{case.number}/")
        client.get(f"/customers/{case.customer_id}/panel/", HTTP_HX_REQUEST="true")
    audit.integrate(wait=True)
    assert Event.objects.filter(action="case.viewed").count() - viewed == 3
    assert Event.objects.filter(action="customer.viewed").count() - panels == 3


def test_a_live_reveal_grant_is_still_read_and_shown_in_the_conversation(desk) -> None:
    _, case, maria = desk
    supervisor = make_agent("billing", roles=("supervisor",))
    client = signed_in_client(supervisor)
    _warm(client, case)
    customers.customer_reveal(viewer=principal_for(supervisor), customer_id=maria.id,
                              field="phone", reason="Customer asked for a call back",
                              step_up_fresh=True)
    assert RevealGrant.objects.filter(user_id=supervisor.id).count() == 1
    page, page_sql = _counted(client, f"/cases/{case.number}/")
    panel, panel_sql = _counted(client, f"/customers/{case.customer_id}/panel/",
                                HTTP_HX_REQUEST="true")
    body = page.content.decode()
    # the revealed phone shows as written in the message; the neighbour's stays masked
    assert "Call me on +44 20 7946 0132" in body
    assert "•••• 0999" in body
    # with a grant, the page reads the grant's fields and records the reveal it shows (the
    # supervisor's customers.view_all answers the scope without a query): two statements more;
    # the panel reads the grants (one more) and needs no scope EXISTS (one fewer)
    page_sql, panel_sql = _statements(page_sql), _statements(panel_sql)
    assert sum(s.startswith('SELECT "customers_revealgrant"') for s in page_sql) == 1
    assert sum(s.startswith("INSERT INTO audit_queuedentry") for s in page_sql) == 2
    assert len(page_sql) == PAGE_STATEMENTS + 2, "\n".join(page_sql)
    assert sum(s.startswith('SELECT "customers_revealgrant"') for s in panel_sql) == 1
    assert len(panel_sql) == PANEL_STATEMENTS, "\n".join(panel_sql)
    assert "+44 20 7946 0132" in panel.content.decode()


def test_a_grant_on_a_customer_outside_the_scope_reveals_nothing_in_the_conversation(
        desk) -> None:
    """The masker's scope check still runs when there is a grant: a grant alone (the viewer's
    scope changed since) shows nothing."""
    _, case, maria = desk
    supervisor = make_agent("billing", roles=("supervisor",))
    customers.customer_reveal(viewer=principal_for(supervisor), customer_id=maria.id,
                              field="phone", reason="Customer asked for a call back",
                              step_up_fresh=True)
    from safeguard.cases import selectors as case_selectors
    from safeguard.customers import selectors as customer_selectors

    # out of scope: an agent of another queue holding a grant (made directly, as a stale one)
    make_queue("fraud")
    outsider = make_agent("fraud")
    grant = RevealGrant.objects.get(user_id=supervisor.id)
    RevealGrant.objects.filter(id=grant.id).update(user_id=outsider.id)
    masker = customer_selectors.text_masker(viewer=principal_for(outsider),
                                            customer_id=maria.id)
    assert "•••• 0132" in masker(TEXT)
    Case.objects.filter(id=case.id).update(assignee_id=outsider.id)  # now in scope
    view = case_selectors.case_get(principal=principal_for(outsider), number=case.number)
    body = next(m.body for m in view.messages if m.author_kind == "customer")
    assert "+44 20 7946 0132" in body


def test_forced_step_up_is_checked_on_the_loaded_case_before_anything_is_read(desk) -> None:
    agent, case, _ = desk
    queue = Queue.objects.get(slug="billing")
    Queue.objects.filter(id=queue.id).update(step_up_forced_at=queue.created_at)
    from safeguard.audit import services as audit

    stale = signed_in_client(agent, mfa_at=time.time() - 1800)
    audit.integrate(wait=True)
    viewed = Event.objects.filter(action="case.viewed").count()
    response, sql = _counted(stale, f"/cases/{case.number}/")
    assert response.status_code == 302
    assert "reauthenticate" in response["Location"]
    # nothing of the case was read beyond its scoped row, and nothing recorded as viewed
    text = "\n".join(sql)
    assert 'FROM "cases_message"' not in text
    assert 'FROM "customers_customer"' not in text
    audit.integrate(wait=True)
    assert Event.objects.filter(action="case.viewed").count() == viewed
    # a fresh factor opens it; reversed, the stale session opens it too
    assert signed_in_client(agent).get(f"/cases/{case.number}/").status_code == 200
    Queue.objects.filter(id=queue.id).update(step_up_forced_at=None)
    assert stale.get(f"/cases/{case.number}/").status_code == 200


def test_forced_step_up_of_a_case_outside_the_scope_is_the_same_404(desk) -> None:
    """Out of scope, the page answers 404 (recorded as a denial) whether or not the queue is
    forced: the prompt no longer tells an outsider that a case of that number exists."""
    _, case, _ = desk
    make_queue("fraud")
    outsider = make_agent("fraud")
    stale = signed_in_client(outsider, mfa_at=time.time() - 1800)
    assert stale.get(f"/cases/{case.number}/").status_code == 404
    Queue.objects.filter(slug="billing").update(step_up_forced_at=case.created_at)
    assert stale.get(f"/cases/{case.number}/").status_code == 404
    assert stale.get(f"/cases/{case.number + 1000}/").status_code == 404


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("writer", ["inline", "thread"])
def test_outside_a_transaction_the_views_entries_commit_and_a_failed_entry_fails_the_view(
        monkeypatch, settings, writer) -> None:
    """No caller's transaction (as in production): each view's entry is committed by its one
    INSERT and integrated after it; if the INSERT fails, the view fails and shows nothing.
    ``thread`` (decision 0282, PostgreSQL): the INSERT is the read writer's, on its own
    connection, and the response waits for it; on SQLite entries are always written inline."""
    from safeguard.accounts.services import roles_ensure_builtin
    from safeguard.audit import readwriter
    from safeguard.audit import services as audit

    settings.SAFEGUARD_AUDIT_READ_WRITER = writer
    threaded = writer == "thread" and connection.vendor == "postgresql"

    roles_ensure_builtin()
    make_queue("billing")
    agent = make_agent("billing")
    maria = make_customer()
    result = services.message_receive(
        channel="email", queue="billing", subject="Parcel", text=TEXT,
        sender=SenderIn(email="maria.lopez@example.com", name="Maria Lopez",
                        customer_id=maria.id))
    case = Case.objects.get(id=result.case_id)
    client = signed_in_client(agent)
    audit.integrate(wait=True)
    viewed = Event.objects.filter(action="case.viewed").count()
    panels = Event.objects.filter(action="customer.viewed").count()
    assert client.get(f"/cases/{case.number}/").status_code == 200
    assert client.get(f"/customers/{case.customer_id}/panel/",
                      HTTP_HX_REQUEST="true").status_code == 200
    # after_commit mode: integrated right after each INSERT committed, in the request's thread
    assert Event.objects.filter(action="case.viewed").count() == viewed + 1
    assert Event.objects.filter(action="customer.viewed").count() == panels + 1
    # the live refresh (polled by every open case page) reads without a transaction too: no
    # BEGIN/COMMIT of its own, and its entry is committed and integrated like the page's
    with CaptureQueriesContext(connection) as queries:
        partial = client.get(f"/cases/{case.number}/conversation/")
    assert partial.status_code == 200
    sql = [q["sql"] for q in queries.captured_queries]
    inserts = [i for i, x in enumerate(sql) if x.upper().startswith("INSERT")
               and "audit_queuedentry" in x.lower()]
    if threaded:
        # the entry travelled on the writer's connection: the request's sent no INSERT and
        # no transaction at all
        assert inserts == []
        assert not [x for x in sql if x.upper().startswith(("BEGIN", "SAVEPOINT"))]
        assert readwriter.current() is not None
        assert readwriter.current().written == 3
    else:
        queued = inserts[0]
        # the only transaction is the integrator's, after the entry's own INSERT committed
        assert [i for i, x in enumerate(sql) if x.upper().startswith(("BEGIN", "SAVEPOINT"))
                ] in ([], [queued + 1]), "\n".join(sql)
        assert readwriter.current() is None
    assert Event.objects.filter(action="case.viewed").count() == viewed + 2
    assert Event.objects.filter(action="case.viewed").order_by("-seq").first().data[
        "part"] == "conversation"

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("audit queue unavailable")

    # a failed entry: inline, the view raises; through the writer, the response is withheld
    monkeypatch.setattr(audit, "_queue_many" if threaded else "_queue", broken)
    failure = readwriter.ReadEntryFailed if threaded else RuntimeError
    with pytest.raises(failure):
        client.get(f"/cases/{case.number}/")
    with pytest.raises(failure):
        client.get(f"/customers/{case.customer_id}/panel/", HTTP_HX_REQUEST="true")
    with pytest.raises(failure):
        client.get(f"/cases/{case.number}/conversation/")


def test_the_panel_of_a_customer_outside_the_scope_is_404_and_recorded(desk) -> None:
    """The panel of a customer outside the viewer's scope: 404, nothing of the customer in the
    answer, ``customer.view_denied`` recorded "out of scope" (an unknown id alike), no
    ``customer.viewed``."""
    agent, _, maria = desk
    make_queue("fraud")
    outsider = make_agent("fraud")
    client = signed_in_client(outsider)
    from safeguard.audit import services as audit

    audit.integrate(wait=True)
    viewed = Event.objects.filter(action="customer.viewed").count()
    response = client.get(f"/customers/{maria.id}/panel/", HTTP_HX_REQUEST="true")
    assert response.status_code == 404
    assert "maria" not in response.content.decode().lower()
    unknown = client.get("/customers/00000000-0000-4000-8000-000000000000/panel/",
                         HTTP_HX_REQUEST="true")
    assert unknown.status_code == 404
    audit.integrate(wait=True)
    denied = list(Event.objects.filter(action="customer.view_denied").order_by("seq"))
    assert [(e.subject_id, e.data["why"]) for e in denied] == [
        (str(maria.id), "out of scope"),
        ("00000000-0000-4000-8000-000000000000", "out of scope")]
    assert Event.objects.filter(action="customer.viewed").count() == viewed
    # and the agent of the case's queue still gets it
    ok = signed_in_client(agent).get(f"/customers/{maria.id}/panel/", HTTP_HX_REQUEST="true")
    assert ok.status_code == 200


def test_the_live_grant_flag_answers_as_the_orm_exists_would(desk) -> None:
    """The grant flag, written as SQL over the customers app's tables, against the ORM's own
    query of the same rule: live grants of this user on this customer only."""
    from datetime import timedelta

    from django.utils import timezone

    from safeguard.customers.models import Customer
    from safeguard.customers.selectors import _LIVE_GRANT, _with_live_grant_flag

    agent, _, maria = desk
    other = make_customer(name="John Smith", email="john.smith@example.com",
                          phone="+44 20 7946 0555")
    colleague = make_agent("billing")
    now = timezone.now()

    def flags(user_id: int | None) -> dict[object, bool]:
        rows = _with_live_grant_flag(Customer.objects.filter(id__in=[maria.id, other.id]),
                                     user_id=user_id, now=now)
        return {r.id: getattr(r, _LIVE_GRANT) for r in rows}

    def orm(user_id: int) -> dict[object, bool]:
        return {c: RevealGrant.objects.filter(user_id=user_id, customer_id=c,
                                              expires_at__gt=now).exists()
                for c in (maria.id, other.id)}

    assert flags(agent.id) == orm(agent.id) == {maria.id: False, other.id: False}
    grant = RevealGrant.objects.create(customer_id=maria.id, user_id=agent.id, field="phone",
                                       granted_at=now, reason="call back",
                                       expires_at=now + timedelta(minutes=5))
    RevealGrant.objects.create(customer_id=other.id, user_id=colleague.id, field="phone",
                               granted_at=now, reason="call back",
                               expires_at=now + timedelta(minutes=5))
    assert flags(agent.id) == orm(agent.id) == {maria.id: True, other.id: False}
    assert flags(colleague.id) == orm(colleague.id) == {maria.id: False, other.id: True}
    RevealGrant.objects.filter(id=grant.id).update(expires_at=now - timedelta(seconds=1))
    assert flags(agent.id) == orm(agent.id) == {maria.id: False, other.id: False}
    RevealGrant.objects.filter(id=grant.id).update(expires_at=now)  # expires_at > now: not live
    assert flags(agent.id) == orm(agent.id) == {maria.id: False, other.id: False}
    RevealGrant.objects.filter(id=grant.id).update(expires_at=now + timedelta(microseconds=1))
    assert flags(agent.id) == orm(agent.id) == {maria.id: True, other.id: False}
    assert flags(None) == {maria.id: False, other.id: False}


def test_the_precompiled_customer_row_is_the_orm_row_with_its_grant_flag(desk) -> None:
    """The masker's and the panel's customer row, read by a statement built once per process
    (decision 0279), against the ORM's read of the same row with the same flag: every column
    as stored and as decrypted, the row's state, the flag for live, expired, boundary and
    other people's grants; an absent id is None, as ``.first()`` answers."""
    import uuid
    from datetime import timedelta

    from django.utils import timezone

    from safeguard.customers import services as customer_services
    from safeguard.customers.models import Customer
    from safeguard.customers.selectors import _LIVE_GRANT, _customer_row, _with_live_grant_flag

    agent, _, maria = desk
    sparse = customer_services.customer_create(actor=SYSTEM, email="only.mail@example.com")
    colleague = make_agent("billing")
    now = timezone.now()

    def same(customer_id, user_id: int) -> bool | None:
        new = _customer_row(customer_id, user_id=user_id, now=now)
        orm = _with_live_grant_flag(Customer.objects.filter(id=customer_id), user_id=user_id,
                                    now=now).first()
        if orm is None:
            assert new is None
            return None
        assert new is not None
        for field in Customer._meta.concrete_fields:
            stored_new, stored_orm = new.__dict__[field.attname], orm.__dict__[field.attname]
            assert stored_new == stored_orm, field.name
            assert type(stored_new) is type(stored_orm), field.name
            assert getattr(new, field.attname) == getattr(orm, field.attname), field.name
        assert (new._state.db, new._state.adding) == (orm._state.db, orm._state.adding)
        assert getattr(new, _LIVE_GRANT) is getattr(orm, _LIVE_GRANT)
        return getattr(new, _LIVE_GRANT)

    for customer in (maria.id, sparse.id):
        assert same(customer, agent.id) is False
    assert same(uuid.uuid4(), agent.id) is None
    grant = RevealGrant.objects.create(customer_id=maria.id, user_id=agent.id, field="phone",
                                       granted_at=now, reason="call back",
                                       expires_at=now + timedelta(minutes=5))
    assert same(maria.id, agent.id) is True
    assert same(maria.id, colleague.id) is False
    assert same(sparse.id, agent.id) is False
    RevealGrant.objects.filter(id=grant.id).update(expires_at=now)  # expires_at > now: not live
    assert same(maria.id, agent.id) is False
    RevealGrant.objects.filter(id=grant.id).update(expires_at=now + timedelta(microseconds=1))
    assert same(maria.id, agent.id) is True
    RevealGrant.objects.filter(id=grant.id).update(expires_at=now - timedelta(seconds=1))
    assert same(maria.id, agent.id) is False


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall() if row[0]]


@pytest.mark.parametrize("prepared", [True, False])
def test_the_precompiled_reads_answer_the_same_prepared_or_not(desk, settings,
                                                               prepared) -> None:
    """Decision 0281: on PostgreSQL the customer row with its live-grant flag and the panel's
    scope EXISTS are prepared statements (``SAFEGUARD_DB_PREPARED_STATEMENTS``, the switch of
    every prepared statement); the answers — the row as stored and decrypted, the flag, the
    scope, the masked conversation and panel — are the same either way and on SQLite, the
    statements are counted as before and the no-PAN guard still checks their parameters."""
    from django.utils import timezone

    from safeguard.cases import scope
    from safeguard.cases.selectors.cases import _message_views
    from safeguard.customers import selectors as customer_selectors
    from safeguard.customers.models import Customer
    from safeguard.protection.contracts import PanRefused
    from safeguard.web.dbbackends import prepared_cursor

    settings.SAFEGUARD_DB_PREPARED_STATEMENTS = prepared
    agent, case, maria = desk
    principal = principal_for(agent)
    outsider = principal_for(make_agent())
    now = timezone.now()
    RevealGrant.objects.create(customer_id=maria.id, user_id=agent.id, field="phone",
                               granted_at=now, reason="call back",
                               expires_at=now + timedelta(minutes=5))
    # the row: every column and the flag, as the ORM reads them
    for user_id, flag in ((agent.id, True), (outsider.user_id, False)):
        new = customer_selectors._customer_row(maria.id, user_id=user_id, now=now)
        orm = customer_selectors._with_live_grant_flag(
            Customer.objects.filter(id=maria.id), user_id=user_id, now=now).first()
        for field in Customer._meta.concrete_fields:
            assert new.__dict__[field.attname] == orm.__dict__[field.attname], field.name
            assert getattr(new, field.attname) == getattr(orm, field.attname), field.name
        assert getattr(new, customer_selectors._LIVE_GRANT) is flag
    # the scope: in for the queue's member, out for the outsider, as the ORM's rule answers
    for who, allowed in ((principal, True), (outsider, False)):
        assert scope.case_visible_for_customer(who, maria.id) is allowed
        assert scope.visible_cases_orm(who).filter(customer_id=maria.id).exists() is allowed
    # each one statement, counted; the no-PAN guard still checks what such a cursor writes
    with CaptureQueriesContext(connection) as seen:
        customer_selectors._customer_row(maria.id, user_id=agent.id)
        scope.case_visible_for_customer(principal, maria.id)
    assert len(seen.captured_queries) == 2
    with pytest.raises(PanRefused), prepared_cursor(connection) as cursor:
        cursor.execute(f"UPDATE {Case._meta.db_table} SET subject = subject"
                       " WHERE number = %s AND %s = ''", [case.number, "4111 1111 1111 1111"])
    # the masked conversation and panel (the grant's field shown, the rest masked)
    messages, _ = _message_views(principal, case)
    assert "+44 20 7946 0132" in messages[0].body
    assert "maria.lopez@example.com" not in messages[0].body
    panel = customer_selectors.customer_panel(viewer=principal, customer_id=maria.id)
    assert [r.field for r in panel.revealed] == ["phone"]
    if connection.vendor == "postgresql":
        texts = _prepared_statements()
        row_sql = customer_selectors._RowRead(connection).sql.split(" %s")[0][:80]
        exists_sql = scope._exists_sql(connection)[:60]
        assert any(s.startswith(row_sql) for s in texts) is prepared
        assert any(s.startswith(exists_sql) for s in texts) is prepared

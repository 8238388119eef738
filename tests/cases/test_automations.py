"""Automations of issue 15: assignment rules (round-robin, load-balanced, skills by tag),
triggers on create/update, the survey sent on resolution, auto-close, SLA warnings; edits by
supervisors only, bad input refused with nothing changed, everything audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from safeguard.accounts import selectors as accounts
from safeguard.audit import selectors as audit
from safeguard.cases import outbound, services
from safeguard.cases.contracts import InvalidInput, OutboundMessage, QueueNotFound
from safeguard.cases.models import AssignmentRule, Case, CsatSurveySent, Message, Trigger
from safeguard.web.errors import PermissionDenied
from tests.cases.conftest import inbound, make_agent, make_queue, principal_for
from tests.factories import signed_in_client

pytestmark = pytest.mark.django_db


def _case(result) -> Case:
    return Case.objects.get(id=result.case_id)


@pytest.fixture
def team():
    make_queue("billing", first_response_minutes=20, resolution_minutes=600)
    a = make_agent("billing")
    b = make_agent("billing")
    boss = make_agent("billing", roles=("supervisor",), supervisor=True)
    return a, b, boss


def test_round_robin_takes_turns_and_notifies_the_agent(team):
    a, b, boss = team
    services.assignment_rule_save(principal=principal_for(boss), queue="billing",
                                  strategy="round_robin", use_skills=False, is_active=True)
    got = [_case(inbound(email=f"c{n}@example.com", subject=f"Parcel {n}")).assignee_id
           for n in range(3)]
    first, second = sorted([a.pk, b.pk])
    assert got == [first, second, first]
    assert boss.pk not in got  # supervisors of the queue are not given cases
    titles = [n.title for n in accounts.notification_page(user_id=first).items]
    assert len(titles) == 2
    assert all(t.endswith("was assigned to you") for t in titles)
    event = audit.event_list(action="case.assigned")[0]
    assert event.data["strategy"] == "round_robin"
    assert event.actor.id == "cases.automation"


def test_load_balanced_picks_the_agent_with_fewest_open_cases(team):
    a, b, boss = team
    for n in range(2):
        c = _case(inbound(email=f"x{n}@example.com", subject=f"Old {n}"))
        Case.objects.filter(id=c.id).update(assignee_id=a.pk)
    services.assignment_rule_save(principal=principal_for(boss), queue="billing",
                                  strategy="load_balanced", use_skills=False, is_active=True)
    assert _case(inbound(email="new@example.com", subject="New")).assignee_id == b.pk


def test_skills_by_tag_prefer_the_skilled_agent(team):
    _a, b, boss = team
    services.assignment_rule_save(principal=principal_for(boss), queue="billing",
                                  strategy="round_robin", use_skills=True, is_active=True)
    services.agent_skills_set(principal=principal_for(boss), user_id=b.pk, tags=["refunds"])
    services.trigger_save(principal=principal_for(boss), data={
        "name": "Refund words", "event": "created", "if_subject_contains": "refund",
        "add_tags": ["refunds"]})
    picks = [_case(inbound(email=f"r{n}@example.com", subject="Refund please")).assignee_id
             for n in range(2)]
    assert picks == [b.pk, b.pk]


def test_a_trigger_sets_queue_priority_tags_and_notifies_on_create(team):
    _a, _b, boss = team
    make_queue("fraud")
    watcher = make_agent("fraud", roles=("supervisor",), supervisor=True)
    tid = services.trigger_save(principal=principal_for(boss), data={
        "name": "Fraud words", "event": "created", "if_queue": "billing",
        "if_subject_contains": "stolen", "set_queue": "fraud", "set_priority": "urgent",
        "add_tags": ["fraud-suspect"], "notify": "queue_supervisors"})
    case = _case(inbound(subject="My card was STOLEN"))
    assert (case.queue.slug, case.priority) == ("fraud", "urgent")
    assert list(case.tags.values_list("name", flat=True)) == ["fraud-suspect"]
    note = accounts.notification_page(user_id=watcher.pk).items[0]
    assert note.title == f"Fraud words: case #{case.number}"
    assert note.kind == "automation"
    fired = audit.event_list(action="automation.trigger_fired")[0]
    assert fired.data["trigger"] == tid
    assert fired.data["done"]["queue"] == "fraud"
    # an unrelated subject leaves the case alone
    other = _case(inbound(email="z@example.com", subject="Parcel late"))
    assert (other.queue.slug, other.priority) == ("billing", "normal")


def test_updated_triggers_fire_when_the_customer_writes_again(team):
    _a, _b, boss = team
    services.trigger_save(principal=principal_for(boss), data={
        "name": "Chaser", "event": "updated", "set_priority": "high"})
    first = inbound(subject="Parcel", external_id="<a@example.com>")
    assert _case(first).priority == "normal"  # created: the "updated" trigger does not run
    again = inbound("Any news?", subject="Re: Parcel", external_id="<b@example.com>",
                    thread_ref="<a@example.com>")
    assert again.case_id == first.case_id
    assert _case(again).priority == "high"


@pytest.mark.parametrize("bad", [
    {"name": "", "event": "created", "set_priority": "high"},
    {"name": "x", "event": "sometimes", "set_priority": "high"},
    {"name": "x", "event": "created"},  # no action
    {"name": "x", "event": "created", "set_priority": "extreme"},
    {"name": "x", "event": "created", "set_queue": "nowhere"},
    {"name": "x", "event": "created", "add_tags": ["Not A Tag!"]},
    {"name": "x", "event": "created", "notify": "everyone", "set_priority": "high"},
])
def test_bad_triggers_are_refused_and_nothing_is_saved(team, bad):
    boss = team[2]
    with pytest.raises((InvalidInput, QueueNotFound)):
        services.trigger_save(principal=principal_for(boss), data=bad)
    assert Trigger.objects.count() == 0


def test_only_supervisors_edit_automations(team):
    a, _, _boss = team
    with pytest.raises(PermissionDenied):
        services.assignment_rule_save(principal=principal_for(a), queue="billing",
                                      strategy="round_robin", use_skills=False, is_active=True)
    client = signed_in_client(a)
    assert client.get("/cases/automations/").status_code == 403
    assert client.post("/cases/automations/assignment/billing/",
                       {"strategy": "round_robin", "is_active": "on"}).status_code == 403
    assert AssignmentRule.objects.count() == 0


def test_the_editor_pages_save_and_refuse_bad_input(team):
    boss = team[2]
    client = signed_in_client(boss)
    ok = client.post("/cases/automations/assignment/billing/",
                     {"strategy": "load_balanced", "is_active": "on"})
    assert ok.status_code == 302
    rule = AssignmentRule.objects.get()
    assert (rule.strategy, rule.is_active, rule.use_skills) == ("load_balanced", True, False)
    bad = client.post("/cases/automations/assignment/billing/", {"strategy": "random"})
    assert bad.status_code == 422
    assert AssignmentRule.objects.get().strategy == "load_balanced"
    assert client.post("/cases/automations/assignment/nowhere/",
                       {"strategy": "round_robin"}).status_code == 404
    form = client.post("/cases/automations/triggers/new/", {
        "name": "No action", "event": "created", "position": "5"})
    assert form.status_code == 422
    assert "at least one action" in form.content.decode()
    assert Trigger.objects.count() == 0
    saved = client.post("/cases/automations/triggers/new/", {
        "name": "VIP", "event": "both", "position": "5", "is_active": "on",
        "if_channel": "chat", "set_priority": "high", "add_tags": "vip, chat"})
    assert saved.status_code == 302
    t = Trigger.objects.get()
    assert (t.name, t.event, t.if_channel, t.set_priority, t.add_tags) == (
        "VIP", "both", "chat", "high", ["chat", "vip"])
    page = client.get("/cases/automations/").content.decode()
    assert "VIP" in page
    assert "Load-balanced" in page
    assert audit.event_list(action="automation.trigger_saved")[0].data["after"]["name"] == "VIP"


def test_the_survey_is_sent_once_through_the_case_channel_on_resolution(
        team, django_capture_on_commit_callbacks):
    a, _, boss = team
    sent: list[OutboundMessage] = []
    outbound.register("email", lambda m: sent.append(m) or f"<s{len(sent)}@safeguard.test>")
    case = _case(inbound(subject="Parcel"))
    services.case_assign(case_number=case.number, principal=principal_for(boss),
                         assignee_id=a.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.case_move(case_number=case.number, principal=principal_for(a),
                           status="resolved")
    survey = CsatSurveySent.objects.get(case=case)
    msg = Message.objects.get(id=survey.message_id)
    assert (msg.author_kind, msg.channel, msg.delivery_status) == ("system", "email", "sent")
    assert len(sent) == 1
    assert sent[0].text.startswith(f"Your request #{case.number} is resolved.")
    assert "/cases/csat/" in sent[0].text
    # reopened and resolved again: no second survey
    services.case_reopen(case_number=case.number, principal=principal_for(a))
    services.case_move(case_number=case.number, principal=principal_for(a), status="resolved")
    assert CsatSurveySent.objects.filter(case=case).count() == 1
    assert audit.event_list(action="csat.survey_sent")[0].data["number"] == case.number


def test_no_survey_where_the_channel_cannot_reach_the_customer(team):
    a, _, boss = team
    case = _case(inbound(subject="Parcel"))  # no e-mail sender registered in this test
    services.case_assign(case_number=case.number, principal=principal_for(boss),
                         assignee_id=a.pk)
    services.case_move(case_number=case.number, principal=principal_for(a), status="resolved")
    assert not CsatSurveySent.objects.filter(case=case).exists()
    assert Message.objects.filter(case=case, author_kind="system").count() == 0


def test_autoclose_closes_old_resolved_cases_in_resumable_batches(team, settings):
    _a, _, _boss = team
    settings.SAFEGUARD_AUTOCLOSE_DAYS = 7
    old = [_case(inbound(email=f"o{n}@example.com", subject=f"Old {n}")) for n in range(3)]
    fresh = _case(inbound(email="f@example.com", subject="Fresh"))
    long_ago = timezone.now() - timedelta(days=8)
    Case.objects.filter(id__in=[c.id for c in old]).update(status="resolved",
                                                           resolved_at=long_ago)
    Case.objects.filter(id=fresh.id).update(status="resolved",
                                            resolved_at=timezone.now() - timedelta(days=2))
    assert services.cases_autoclose(batch_size=2) == 3  # two batches
    assert sorted(Case.objects.values_list("status", flat=True)) == [
        "closed", "closed", "closed", "resolved"]
    assert services.cases_autoclose(batch_size=2) == 0  # run again: nothing twice
    settings.SAFEGUARD_AUTOCLOSE_DAYS = 0
    Case.objects.filter(id=fresh.id).update(resolved_at=long_ago)
    assert services.cases_autoclose() == 0


def test_sla_warning_notifies_the_assignee_once(team):
    a, _, _boss = team
    case = _case(inbound(subject="Parcel"))  # first response due in 20 min
    Case.objects.filter(id=case.id).update(assignee_id=a.pk)
    assert services.sla_warn() == 1
    assert services.sla_warn() == 0
    note = accounts.notification_page(user_id=a.pk).items[0]
    assert note.kind == "sla_warning"
    assert note.title.startswith(f"Case #{case.number}: first response due in ")


def test_manual_assignment_notifies_the_new_assignee(team):
    a, _, boss = team
    case = _case(inbound(subject="Parcel"))
    services.case_assign(case_number=case.number, principal=principal_for(boss),
                         assignee_id=a.pk)
    assert [n.title for n in accounts.notification_page(user_id=a.pk).items] == [
        f"Case #{case.number} was assigned to you"]

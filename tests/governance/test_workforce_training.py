"""Security training (issue 13 section 3; R-WORK-2, R-OPS-10; decision 0243): hours per person per
year computed exactly against the metrics target; role-specific courses assigned by role; refreshers
falling due from the last completion; the training control flips from pass to fail the moment an
assignment goes overdue; the KPI provider equals an independent computation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command

from safeguard.audit.contracts import Actor
from safeguard.audit.models import Event
from safeguard.cases.contracts import Period
from safeguard.governance import evaluators, workforce
from safeguard.governance.models import TrainingAssignment, TrainingCompletion
from safeguard.governance.workforce import WorkforceRefused
from safeguard.metrics import kpis
from safeguard.web import providers
from tests.factories import make_user, signed_in_client

JOB = Actor.system("tests")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def people(db):
    return {"ana": make_user(email="ana@example.test", roles=("agent",)),
            "ben": make_user(email="ben@example.test", roles=("agent", "supervisor")),
            "cy": make_user(email="cy@example.test", roles=("security_analyst",))}


def _courses():
    return {
        "basics": workforce.course_create(title="Security basics", hours="1.5", roles=[],
                                          refresher_months=12, actor=JOB),
        "social": workforce.course_create(title="Social engineering on the phone",
                                          hours="2.25", roles=["agent"], refresher_months=0,
                                          actor=JOB),
        "approvals": workforce.course_create(title="Approving sensitive requests",
                                             hours="0.75", roles=["supervisor"],
                                             refresher_months=6, actor=JOB)}


@pytest.mark.django_db
def test_hours_per_person_per_year_exact(people):
    with time_machine.travel(T0, tick=False):
        c = _courses()
        ana, ben, cy = people["ana"].id, people["ben"].id, people["cy"].id
        workforce.completion_record(course_id=c["basics"], user_id=ana,
                                    completed_on=date(2026, 1, 10), actor=JOB)
        workforce.completion_record(course_id=c["social"], user_id=ana,
                                    completed_on=date(2026, 2, 28), actor=JOB)
        workforce.completion_record(course_id=c["basics"], user_id=ben,
                                    completed_on=date(2026, 3, 1), hours="8.5", actor=JOB)
        workforce.completion_record(course_id=c["basics"], user_id=cy,
                                    completed_on=date(2025, 12, 31), actor=JOB)  # last year
        rows = {p.email: p for p in workforce.people()}
    assert rows["ana@example.test"].hours_this_year == Decimal("3.75")
    assert rows["ben@example.test"].hours_this_year == Decimal("8.50")
    assert rows["cy@example.test"].hours_this_year == Decimal("0")
    assert [e for e, p in rows.items() if p.below_target] == ["ana@example.test",
                                                              "cy@example.test"]
    assert workforce.hours_by_user(first=date(2025, 1, 1), stop=date(2026, 1, 1)) == {
        cy: Decimal("1.50")}


@pytest.mark.django_db
def test_the_hours_target_is_the_metrics_kpi_target(people, settings):
    with time_machine.travel(T0, tick=False):
        c = _courses()
        workforce.completion_record(course_id=c["basics"], user_id=people["ana"].id,
                                    completed_on=date(2026, 1, 10), hours="8", actor=JOB)
        assert workforce.training_target_hours() == 8.0
        assert not {p.email: p for p in workforce.people()}["ana@example.test"].below_target
        settings.SAFEGUARD_KPI_TARGETS = {**settings.SAFEGUARD_KPI_TARGETS,
                                          "training_hours": {"min": 10}}
        assert {p.email: p for p in workforce.people()}["ana@example.test"].below_target


@pytest.mark.django_db
def test_kpi_provider_equals_an_independent_computation(people):
    with time_machine.travel(T0, tick=False):
        c = _courses()
        done = [("ana", "basics", date(2026, 1, 10), None), ("ana", "social", date(2026, 2, 28),
                                                              None),
                ("ben", "basics", date(2026, 3, 1), "8.5"), ("cy", "basics", date(2025, 12, 31),
                                                             None)]
        for who, course, on, hours in done:
            workforce.completion_record(course_id=c[course], user_id=people[who].id,
                                        completed_on=on, hours=hours, actor=JOB)
    hours = {"basics": 1.5, "social": 2.25}
    kpi = kpis.BY_KEY["training_hours"]
    for start, end in [(datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
                       (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)),
                       # a period starting mid-day leaves that day out; ending mid-day keeps it
                       (datetime(2026, 1, 10, 12, tzinfo=UTC), datetime(2026, 3, 1, 1, tzinfo=UTC)),
                       (datetime(2025, 12, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))]:
        total = 0.0
        for _who, course, on, given in done:
            midnight = datetime(on.year, on.month, on.day, tzinfo=UTC)
            if start <= midnight < end:
                total += float(given) if given else hours[course]
        expected = total / 3
        assert providers.get("kpi.training_hours_per_person")(start=start, end=end) == expected
        # the KPI judges each period by the rolling year ending at its end (target per year)
        year_before = end - timedelta(days=365)
        rolling = sum((float(given) if given else hours[course])
                      for _who, course, on, given in done
                      if year_before <= datetime(on.year, on.month, on.day, tzinfo=UTC) < end)
        assert kpi.compute(Period(start=start, end=end), None, None).value == rolling / 3
    assert providers.get("kpi.training_hours_per_person")(
        start=datetime(2026, 1, 1, tzinfo=UTC), end=datetime(2027, 1, 1, tzinfo=UTC)) == 12.25 / 3


@pytest.mark.django_db
def test_role_specific_courses_are_assigned_by_role(people):
    with time_machine.travel(T0, tick=False):
        c = _courses()
        assert workforce.assign_by_role(course_id=c["social"], due_on=date(2026, 3, 31),
                                        actor=JOB) == 2
        assert workforce.assign_by_role(course_id=c["approvals"], due_on=date(2026, 3, 31),
                                        actor=JOB) == 1
        assert workforce.assign_by_role(course_id=c["basics"], due_on=date(2026, 3, 31),
                                        actor=JOB) == 3
        # again: nobody gets a second open assignment of the same course
        assert workforce.assign_by_role(course_id=c["social"], due_on=date(2026, 4, 30),
                                        actor=JOB) == 0
        with pytest.raises(WorkforceRefused, match="in the past"):
            workforce.assign_by_role(course_id=c["social"], due_on=date(2026, 3, 1), actor=JOB)
    got = sorted(TrainingAssignment.objects.values_list("user__email", "course__title"))
    assert got == [("ana@example.test", "Security basics"),
                   ("ana@example.test", "Social engineering on the phone"),
                   ("ben@example.test", "Approving sensitive requests"),
                   ("ben@example.test", "Security basics"),
                   ("ben@example.test", "Social engineering on the phone"),
                   ("cy@example.test", "Security basics")]


@pytest.mark.django_db
def test_refreshers_fall_due_from_the_last_completion(people, settings, capsys):
    settings.SAFEGUARD_WORKFORCE_REFRESHER_LEAD_DAYS = 30
    with time_machine.travel(T0, tick=False):
        c = _courses()
        workforce.completion_record(course_id=c["basics"], user_id=people["ana"].id,
                                    completed_on=date(2025, 3, 31), actor=JOB)  # due 2026-03-31
        workforce.completion_record(course_id=c["basics"], user_id=people["cy"].id,
                                    completed_on=date(2025, 4, 2), actor=JOB)  # 2026-04-02: later
        workforce.completion_record(course_id=c["approvals"], user_id=people["ben"].id,
                                    completed_on=date(2025, 8, 31), actor=JOB)  # 6 m: 2026-02-28
        due = [(r.email, r.course, r.due_on, r.assigned) for r in workforce.refreshers_due()]
        assert due == [("ben@example.test", "Approving sensitive requests", date(2026, 2, 28),
                        False),
                       ("ana@example.test", "Security basics", date(2026, 3, 31), False)]
        call_command("governance", "training-refreshers")
        assert "2 refresher assignment(s) created" in capsys.readouterr().out
        assert [r.assigned for r in workforce.refreshers_due()] == [True, True]
        assert workforce.refreshers_assign(actor=JOB) == 0
        overdue = [(a.email, a.overdue) for a in workforce.open_assignments()]
        assert overdue == [("ben@example.test", True), ("ana@example.test", False)]
    assert workforce.add_months(date(2025, 8, 31), 6) == date(2026, 2, 28)
    assert workforce.add_months(date(2024, 11, 30), 3) == date(2025, 2, 28)


@pytest.mark.django_db
def test_control_flips_pass_to_fail_when_an_assignment_goes_overdue(people):
    with time_machine.travel(T0, tick=False):
        assert evaluators.run("training_complete").status == "not_applicable"
        c = _courses()
        workforce.assignment_create(course_id=c["social"], user_id=people["ana"].id,
                                    due_on=date(2026, 3, 10), actor=JOB)
    with time_machine.travel(datetime(2026, 3, 10, 23, 0, tzinfo=UTC), tick=False):
        result = evaluators.run("training_complete")
        assert result.status == "pass"
        assert result.evidence.startswith("No overdue training assignment (1 open")
        assert result.evidence.endswith("(from control.training_complete)")
    with time_machine.travel(datetime(2026, 3, 11, 0, 1, tzinfo=UTC), tick=False):
        result = evaluators.run("training_complete")
        assert result.status == "fail"
        assert "1 overdue training assignment(s) for 1 of 3 active staff: ana@example.test (1)" \
            in result.evidence
        workforce.completion_record(course_id=c["social"], user_id=people["ana"].id,
                                    completed_on=date(2026, 3, 11), actor=JOB)
        assert evaluators.run("training_complete").status == "pass"
        assert TrainingAssignment.objects.get().completion == TrainingCompletion.objects.get()


@pytest.mark.django_db
def test_an_overdue_assignment_of_a_leaver_does_not_fail_the_control(people):
    from safeguard.accounts import services as account_services

    with time_machine.travel(T0, tick=False):
        c = _courses()
        workforce.assignment_create(course_id=c["social"], user_id=people["ana"].id,
                                    due_on=date(2026, 3, 1), actor=JOB)
        workforce.assignment_create(course_id=c["basics"], user_id=people["ben"].id,
                                    due_on=date(2026, 3, 31), actor=JOB)
        assert evaluators.run("training_complete").status == "fail"
        account_services.user_disable(actor=JOB, user_id=people["ana"].id, reason="left")
        assert evaluators.run("training_complete").status == "pass"


@pytest.mark.django_db
def test_bad_training_input_is_refused_and_changes_nothing(people):
    with time_machine.travel(T0, tick=False):
        c = _courses()
        for kwargs, message in [
            ({"title": "Security basics", "hours": "1"}, "exists"),
            ({"title": "X", "hours": "0"}, "more than 0"),
            ({"title": "X", "hours": "abc"}, "must be a number"),
            ({"title": "X", "hours": "NaN"}, "more than 0"),
            ({"title": "X", "hours": "1", "roles": ["pilot"]}, "Unknown roles: pilot"),
            ({"title": "X", "hours": "1", "refresher_months": 500}, r"0 \(none\) to 120"),
        ]:
            with pytest.raises(WorkforceRefused, match=message):
                workforce.course_create(**{"roles": [], "refresher_months": 0, "actor": JOB,
                                           **kwargs})
        with pytest.raises(WorkforceRefused, match="in the future"):
            workforce.completion_record(course_id=c["basics"], user_id=people["ana"].id,
                                        completed_on=date(2026, 3, 3), actor=JOB)
        with pytest.raises(WorkforceRefused, match="No active staff"):
            workforce.completion_record(course_id=c["basics"], user_id=999_999,
                                        completed_on=date(2026, 3, 1), actor=JOB)
    assert TrainingCompletion.objects.count() == 0
    assert len(workforce.courses()) == 3


@pytest.mark.django_db
def test_training_page_and_forms(people):
    manager = make_user(email="cm@example.test", roles=("compliance_manager",))
    client = signed_in_client(manager)
    assert signed_in_client(people["ana"]).get("/governance/workforce/training/").status_code \
        == 403
    resp = client.post("/governance/workforce/training/course/", {
        "title": "Phone fraud", "hours": "2", "roles": ["agent"], "refresher_months": "12"})
    assert resp.status_code == 302
    course = workforce.courses()[0]["id"]
    client.post("/governance/workforce/training/assign/", {"course": course,
                                                           "due_on": "2099-01-31"})
    client.post("/governance/workforce/training/completion/", {
        "course": course, "user": people["ben"].id, "completed_on": "2026-01-05"})
    page = client.get("/governance/workforce/training/")
    assert page.status_code == 200
    assert [(a.email, a.course) for a in page.context["assignments"]] == [
        ("ana@example.test", "Phone fraud")]
    bad = client.post("/governance/workforce/training/course/", {"title": "Y", "hours": "-1"},
                      follow=True)
    assert b"Not done: hours must be more than 0" in bad.content
    assert len(workforce.courses()) == 1
    assert Event.objects.filter(action="governance.training_completed").count() == 1


@pytest.mark.django_db
def test_training_hours_are_no_data_while_the_register_holds_no_course(people):
    # staff exist, but nothing was ever registered: training kept elsewhere is not "0 hours"
    span = {"start": datetime(2026, 1, 1, tzinfo=UTC), "end": datetime(2027, 1, 1, tzinfo=UTC)}
    assert providers.get("kpi.training_hours_per_person")(**span) is None
    with time_machine.travel(T0, tick=False):
        _courses()
    assert providers.get("kpi.training_hours_per_person")(**span) == 0.0

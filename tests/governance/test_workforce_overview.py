"""Background checks, teams, the QA and attrition register and the workforce overview page (issue
13 section 3; R-WORK-1, R-WORK-5; decision 0243): only outcome and reference are stored; expiring
and expired checks and missing required types show; bad input changes nothing; the page is
permissioned and audited; the settings are checked (E546, E547)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from safeguard.accounts import services as account_services
from safeguard.audit.contracts import Actor
from safeguard.audit.models import Event
from safeguard.governance import checks, workforce
from safeguard.governance.models import BackgroundCheck, TeamMonth
from safeguard.governance.workforce import WorkforceRefused
from tests.factories import make_user, signed_in_client

JOB = Actor.system("tests")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _check(user, check_type="criminal", result="clear", on=date(2025, 3, 1), expires=None,
           ref="DBS-001234567890"):
    return workforce.background_check_record(
        user_id=user.id, check_type=check_type, result=result, checked_on=on,
        expires_on=expires, reference=ref, provider="Example Screening Ltd", actor=JOB)


@pytest.mark.django_db
def test_check_states_and_missing_required_types(settings):
    settings.SAFEGUARD_WORKFORCE_CHECK_WARN_DAYS = 30
    ana = make_user(email="ana@example.test", roles=("agent",))
    ben = make_user(email="ben@example.test", roles=("agent",))
    cy = make_user(email="cy@example.test", roles=("agent",))
    with time_machine.travel(T0, tick=False):
        _check(ana, "identity", expires=date(2027, 1, 1))
        _check(ana, "criminal", expires=date(2026, 3, 20))  # within 30 days: expiring
        _check(ben, "identity", expires=date(2026, 3, 1))  # yesterday: expired
        _check(ben, "identity", on=date(2026, 2, 1), result="pending")  # the newer one counts
        _check(ben, "criminal", result="not_permitted")
        _check(cy, "criminal", on=date(2024, 1, 1), expires=date(2025, 1, 1))
        _check(cy, "criminal", on=date(2026, 1, 5), expires=date(2029, 1, 5))
        rows = {p.email: p for p in workforce.people()}
        attention = [(u.email, c.check_type, c.state)
                     for u, c in workforce.checks_needing_attention()]
    assert [(c.check_type, c.state) for c in rows["ana@example.test"].checks] == [
        ("criminal", "expiring"), ("identity", "valid")]
    assert rows["ana@example.test"].missing_checks == ()
    assert [(c.check_type, c.state) for c in rows["ben@example.test"].checks] == [
        ("criminal", "not_permitted"), ("identity", "pending")]
    # pending is not a current check; not_permitted is an outcome, not a missing check
    assert rows["ben@example.test"].missing_checks == ("identity",)
    assert rows["cy@example.test"].missing_checks == ("identity",)
    assert sorted(attention) == [("ana@example.test", "criminal", "expiring"),
                                 ("ben@example.test", "criminal", "not_permitted"),
                                 ("ben@example.test", "identity", "pending")]
    stored = BackgroundCheck.objects.filter(user=ana).values_list(
        "check_type", "result", "reference", "provider")
    assert ("criminal", "clear", "DBS-001234567890", "Example Screening Ltd") in stored
    assert Event.objects.filter(action="governance.background_check_recorded").count() == 7


@pytest.mark.django_db
def test_bad_check_input_is_refused_and_stores_nothing():
    ana = make_user(email="ana@example.test", roles=("agent",))
    gone = make_user(email="gone@example.test", roles=("agent",))
    account_services.user_disable(actor=JOB, user_id=gone.id, reason="left")
    with time_machine.travel(T0, tick=False):
        for kwargs, message in [
            ({"check_type": "horoscope"}, "Unknown check type"),
            ({"result": "fine"}, "Unknown result"),
            ({"on": date(2026, 3, 3)}, "in the future"),
            ({"expires": date(2025, 3, 1)}, "after the check date"),
            ({"ref": "  "}, "reference is required"),
        ]:
            with pytest.raises(WorkforceRefused, match=message):
                _check(ana, **kwargs)
        with pytest.raises(WorkforceRefused, match="No active staff"):
            _check(gone)
    assert BackgroundCheck.objects.count() == 0


@pytest.mark.django_db
def test_team_months_give_attrition_and_refuse_bad_input():
    with time_machine.travel(T0, tick=False):
        workforce.team_month_record(team="Tier 1", month=date(2026, 1, 15), qa_score="87.5",
                                   headcount_start=20, headcount_end=18, leavers=3, actor=JOB)
        workforce.team_month_record(team="Tier 1", month=date(2026, 2, 1), qa_score="",
                                    headcount_start=18, headcount_end=18, leavers=0, actor=JOB)
        # correcting a month replaces it
        workforce.team_month_record(team="Tier 1", month=date(2026, 2, 1), qa_score="90",
                                    headcount_start=18, headcount_end=17, leavers=1, actor=JOB)
        for kwargs, message in [({"qa_score": "101"}, "0 to 100"),
                                ({"qa_score": "high"}, "must be a number"),
                                ({"leavers": 50}, "More leavers"),
                                ({"month": date(2026, 4, 1)}, "in the future"),
                                ({"team": " "}, "team is required")]:
            with pytest.raises(WorkforceRefused, match=message):
                workforce.team_month_record(**{
                    "team": "Tier 2", "month": date(2026, 1, 1), "qa_score": "80",
                    "headcount_start": 5, "headcount_end": 5, "leavers": 0, "actor": JOB,
                    **kwargs})
    rows = [(m.team, m.month, m.qa_score, m.attrition) for m in workforce.team_months()]
    assert rows == [("Tier 1", date(2026, 2, 1), 90, 1 / 17.5),
                    ("Tier 1", date(2026, 1, 1), 87.5, 3 / 19)]
    assert TeamMonth.objects.count() == 2
    assert workforce.attrition_rate(leavers=0, headcount_start=0, headcount_end=0) is None


@pytest.mark.django_db
def test_overview_page_permissions_audit_and_forms():
    manager = make_user(email="cm@example.test", roles=("compliance_manager",))
    auditor = make_user(email="au@example.test", roles=("auditor",))
    agent = make_user(email="agent@example.test", roles=("agent",))
    assert signed_in_client(agent).get("/governance/workforce/").status_code == 403
    client = signed_in_client(manager)
    resp = client.post("/governance/workforce/checks/", {
        "user": agent.id, "check_type": "identity", "result": "clear",
        "checked_on": "2026-01-05", "expires_on": "", "reference": "IDV-7781",
        "provider": "Example"})
    assert resp.status_code == 302
    assert BackgroundCheck.objects.get().reference == "IDV-7781"
    bad = client.post("/governance/workforce/checks/", {
        "user": agent.id, "check_type": "identity", "result": "clear",
        "checked_on": "05/01/2026", "reference": "IDV-1"}, follow=True)
    assert b"Check not recorded: The check date must be a date" in bad.content
    client.post("/governance/workforce/team/", {"user": agent.id, "team": "Tier 1"})
    client.post("/governance/workforce/team-month/", {
        "team": "Tier 1", "month": "2026-01", "qa_score": "88", "headcount_start": "10",
        "headcount_end": "9", "leavers": "1"})
    page = client.get("/governance/workforce/")
    assert page.status_code == 200
    row = next(p for p in page.context["people"] if p.email == "agent@example.test")
    assert (row.team, row.missing_checks) == ("Tier 1", ("criminal",))
    assert b"10.5 %" in page.content  # 1 leaver / 9.5 average headcount
    assert b"Record check" in page.content
    # the refused form's redirect and this view: each page view is audited
    assert Event.objects.filter(action="governance.workforce_viewed").count() == 2
    viewer = signed_in_client(auditor).get("/governance/workforce/")
    assert viewer.status_code == 200
    assert b"Record check" not in viewer.content
    assert signed_in_client(auditor).post("/governance/workforce/team/", {
        "user": agent.id, "team": "x"}).status_code == 403
    assert BackgroundCheck.objects.count() == 1


def test_system_checks_refuse_bad_workforce_settings(settings):
    assert checks.workforce_settings() == []
    settings.SAFEGUARD_WORKFORCE_CHECK_WARN_DAYS = -1
    assert [e.id for e in checks.workforce_settings()] == ["safeguard.E546"]
    settings.SAFEGUARD_WORKFORCE_CHECK_WARN_DAYS = 30
    settings.SAFEGUARD_WORKFORCE_REQUIRED_CHECKS = ("identity", "astrology")
    assert [e.id for e in checks.workforce_settings()] == ["safeguard.E546"]
    settings.SAFEGUARD_WORKFORCE_REQUIRED_CHECKS = ("identity",)
    settings.SAFEGUARD_WORKFORCE_IMPORT_MAX_BYTES = 0
    assert [e.id for e in checks.workforce_settings()] == ["safeguard.E547"]

"""Post-incident review gating closure (R-IR-7), the exercise register and its cadence with the
governance control it feeds (R-IR-3), and the retainer register (R-IR-4); bad input changes
nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.test import override_settings

from safeguard.audit import selectors as audit
from safeguard.audit.contracts import Actor
from safeguard.governance import evaluators
from safeguard.incidents import clocks, selectors, services
from safeguard.incidents.contracts import IncidentError
from safeguard.incidents.models import (
    ActionItem,
    Exercise,
    ExerciseFinding,
    Incident,
    PostIncidentReview,
    Retainer,
)
from safeguard.web import providers
from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db

ANALYST = Actor(kind="user", id="1", label="analyst@example.test")
NOW = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


def _recovered_with_commander() -> int:
    iid = services.incident_open(actor=ANALYST, title="Token leaked", severity="sev2",
                                 category="account_takeover",
                                 aware_at=NOW - timedelta(hours=2)).id
    for state in ("triaged", "contained", "eradicated", "recovered"):
        services.incident_advance(actor=ANALYST, incident_id=iid, to_state=state)
    commander = make_user(roles=("security_analyst",))
    services.role_assign(actor=ANALYST, incident_id=iid, role="commander", user_id=commander.id)
    return iid


@time_machine.travel(NOW, tick=False)
def test_closing_is_refused_until_the_review_is_complete_then_allowed() -> None:
    iid = _recovered_with_commander()
    with pytest.raises(IncidentError, match="no review recorded"):
        services.incident_advance(actor=ANALYST, incident_id=iid, to_state="closed")
    services.review_save(actor=ANALYST, incident_id=iid, root_cause="Token in a public repo",
                         lessons="Scan commits", playbook_updated=False)
    item = services.action_item_add(actor=ANALYST, incident_id=iid, text="Add secret scanning",
                                    owner="platform team", due_on=date(2026, 5, 20))
    other = services.action_item_add(actor=ANALYST, incident_id=iid, text="Rotate all tokens",
                                     owner="ops", due_on=date(2026, 5, 1))
    assert selectors.review_missing(incident_id=iid) == [
        "playbook update not recorded", "no passed post-incident re-test",
        "2 action item(s) neither closed nor accepted"]
    assert [i.overdue for i in selectors.review_get(incident_id=iid).items] == [True, False]
    # a failed re-test does not complete it
    services.review_save(actor=ANALYST, incident_id=iid, root_cause="Token in a public repo",
                         lessons="Scan commits", playbook_updated=True,
                         playbook_reference="PB-ATO v3", retest_on=NOW.date(),
                         retest_result="failed")
    services.action_item_resolve(actor=ANALYST, incident_id=iid, item_id=item, status="closed")
    # accepting needs a reason
    with pytest.raises(IncidentError, match="Item resolution is required"):
        services.action_item_resolve(actor=ANALYST, incident_id=iid, item_id=other,
                                     status="accepted")
    services.action_item_resolve(actor=ANALYST, incident_id=iid, item_id=other,
                                 status="accepted", resolution="Tokens expire in 24 h anyway")
    assert selectors.review_missing(incident_id=iid) == ["the post-incident re-test failed"]
    with pytest.raises(IncidentError, match="re-test failed"):
        services.incident_advance(actor=ANALYST, incident_id=iid, to_state="closed")
    assert Incident.objects.get(id=iid).state == "recovered"
    services.review_save(actor=ANALYST, incident_id=iid, root_cause="Token in a public repo",
                         lessons="Scan commits", playbook_updated=True,
                         playbook_reference="PB-ATO v3", retest_on=NOW.date(),
                         retest_result="passed")
    assert selectors.review_missing(incident_id=iid) == []
    assert services.incident_advance(actor=ANALYST, incident_id=iid,
                                     to_state="closed").state == "closed"
    # the closed review is final
    with pytest.raises(IncidentError, match="closed"):
        services.action_item_add(actor=ANALYST, incident_id=iid, text="late", owner="x",
                                 due_on=date(2026, 6, 1))
    saved = [e.data for e in audit.event_export(action="incident.review_saved",
                                                subject=("incident", iid))]
    assert [d["retest_result"] for d in saved] == ["", "failed", "passed"]
    resolved = [(e.data["item"], e.data["to"]) for e in audit.event_export(
        action="incident.action_item_resolved", subject=("incident", iid))]
    assert resolved == [(item, "closed"), (other, "accepted")]


@time_machine.travel(NOW, tick=False)
def test_review_pages_block_closing_and_bad_input_changes_nothing() -> None:
    iid = _recovered_with_commander()
    staff = signed_in_client(make_user(roles=("security_analyst",)))
    refused = staff.post(f"/incidents/{iid}/advance/", {"to_state": "closed"}, follow=True)
    assert "post-incident review is not complete" in refused.content.decode()
    assert Incident.objects.get(id=iid).state == "recovered"
    before = audit.last_seq()
    bad = staff.post(f"/incidents/{iid}/review/", {
        "root_cause": "x", "lessons": "y", "playbook_updated": "on",
        "playbook_reference": "", "retest_on": "2026-05-04", "retest_result": "passed"})
    assert bad.status_code == 400
    assert "Say which playbook was updated" in bad.content.decode()
    future = staff.post(f"/incidents/{iid}/review/", {
        "root_cause": "x", "lessons": "y", "retest_on": "2026-06-01",
        "retest_result": "passed"})
    assert future.status_code == 400
    no_due = staff.post(f"/incidents/{iid}/review/items/", {"text": "a", "owner": "b"},
                        follow=True)
    assert "Nothing changed - due_on" in no_due.content.decode()
    assert PostIncidentReview.objects.count() == 0
    assert ActionItem.objects.count() == 0
    assert audit.last_seq() == before
    ok = staff.post(f"/incidents/{iid}/review/", {
        "root_cause": "Reused password", "lessons": "Enforce MFA", "playbook_updated": "on",
        "playbook_reference": "PB-ATO v4", "retest_on": "2026-05-03",
        "retest_result": "passed"})
    assert ok.status_code == 302
    page = staff.get(f"/incidents/{iid}/review/").content.decode()
    assert "Complete: the incident can be closed." in page
    staff.post(f"/incidents/{iid}/advance/", {"to_state": "closed"})
    assert Incident.objects.get(id=iid).state == "closed"
    # a reader sees the review but cannot write it
    reader = signed_in_client(make_user(roles=("compliance_manager",)))
    assert "PB-ATO v4" in reader.get(f"/incidents/{iid}/review/").content.decode()
    assert reader.post(f"/incidents/{iid}/review/items/", {
        "text": "a", "owner": "b", "due_on": "2026-06-01"}).status_code == 403


@pytest.mark.parametrize(("last", "months", "due"), [
    (date(2025, 8, 31), 6, date(2026, 2, 28)),
    (date(2027, 8, 31), 6, date(2028, 2, 29)),  # leap year
    (date(2026, 3, 31), 6, date(2026, 9, 30)),
    (date(2026, 1, 15), 12, date(2027, 1, 15)),
    (date(2026, 12, 31), 2, date(2027, 2, 28)),
])
def test_cadence_adds_calendar_months_clamped_to_the_month_end(last: date, months: int,
                                                               due: date) -> None:
    assert clocks.add_months(last, months) == due


def _run(kind: str, on: date, observers: str = "") -> int:
    eid = services.exercise_schedule(actor=ANALYST, kind=kind, title=f"{kind} {on}",
                                     scheduled_on=on)
    services.exercise_record_run(actor=ANALYST, exercise_id=eid, run_on=on, duration_minutes=95,
                                 external_observers=observers, timeliness_score=4,
                                 clarity_score=3)
    return eid


def test_overdue_from_the_last_run_and_the_control_flips_when_the_tabletop_ages() -> None:
    assert providers.get("control.exercises_on_time") is not None
    with time_machine.travel(datetime(2025, 9, 1, 12, 0, tzinfo=UTC), tick=False):
        assert selectors.exercises_on_time()["status"] == "fail"  # never run: due now
        _run("tabletop", date(2025, 3, 1))
        _run("tabletop", date(2025, 8, 31))
        _run("full_drill", date(2025, 8, 1), observers="Auditor from Example LLP")
        cadence = {c.kind: c for c in selectors.exercise_cadence()}
        assert cadence["tabletop"].due_on == date(2026, 2, 28)
        assert cadence["full_drill"].due_on == date(2026, 8, 1)
    with time_machine.travel(datetime(2026, 2, 28, 12, 0, tzinfo=UTC), tick=False):
        result = selectors.exercises_on_time()
        assert result["status"] == "pass"
        assert "Tabletop: last run 2025-08-31, due 2026-02-28" in result["evidence"]
        check = evaluators.incident_exercises()
        assert check.status == "pass"
        assert check.evidence.endswith("(from control.exercises_on_time)")
    with time_machine.travel(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), tick=False):
        assert selectors.exercises_on_time()["status"] == "fail"
        assert evaluators.incident_exercises().status == "fail"
        assert "Tabletop: last run 2025-08-31, due 2026-02-28 - OVERDUE" in \
            evaluators.incident_exercises().evidence
        with override_settings(SAFEGUARD_IR_TABLETOP_MONTHS=7):
            assert selectors.exercises_on_time()["status"] == "pass"


@time_machine.travel(NOW, tick=False)
def test_full_drill_without_an_external_observer_is_refused_and_scores_are_bounded() -> None:
    drill = services.exercise_schedule(actor=ANALYST, kind="full_drill", title="Ransomware",
                                       scheduled_on=date(2026, 5, 1))
    before = audit.last_seq()
    with pytest.raises(IncidentError, match="external observers"):
        services.exercise_record_run(actor=ANALYST, exercise_id=drill, run_on=date(2026, 5, 2),
                                     duration_minutes=240, external_observers="  ",
                                     timeliness_score=4, clarity_score=4)
    with pytest.raises(IncidentError, match="Timeliness score must be 1 to 5"):
        services.exercise_record_run(actor=ANALYST, exercise_id=drill, run_on=date(2026, 5, 2),
                                     duration_minutes=240, external_observers="Ext auditor",
                                     timeliness_score=6, clarity_score=4)
    with pytest.raises(IncidentError, match="future"):
        services.exercise_record_run(actor=ANALYST, exercise_id=drill, run_on=date(2026, 6, 2),
                                     duration_minutes=240, external_observers="Ext auditor",
                                     timeliness_score=4, clarity_score=4)
    assert Exercise.objects.get(id=drill).run_on is None
    assert audit.last_seq() == before
    # through the page: a 400 with the reason, nothing recorded
    staff = signed_in_client(make_user(roles=("security_analyst",)))
    page = staff.post(f"/incidents/exercises/{drill}/", {
        "run_on": "2026-05-02", "duration_minutes": "240", "external_observers": "",
        "timeliness_score": "4", "clarity_score": "5"})
    assert page.status_code == 400
    assert "A full drill needs its external observers named." in page.content.decode()
    assert Exercise.objects.get(id=drill).run_on is None
    ok = staff.post(f"/incidents/exercises/{drill}/", {
        "run_on": "2026-05-02", "duration_minutes": "240",
        "external_observers": "J. Doe, Example LLP", "timeliness_score": "4",
        "clarity_score": "5"})
    assert ok.status_code == 302
    row = Exercise.objects.get(id=drill)
    assert (row.run_on, row.duration_minutes, row.timeliness_score, row.clarity_score,
            row.external_observers) == (date(2026, 5, 2), 240, 4, 5, "J. Doe, Example LLP")
    staff.post(f"/incidents/exercises/{drill}/findings/", {
        "text": "Legal paged late", "owner": "legal", "due_on": "2026-05-03"})
    finding = ExerciseFinding.objects.get(exercise_id=drill)
    assert selectors.exercise_get(exercise_id=drill).findings[0].overdue is True
    staff.post(f"/incidents/exercises/{drill}/findings/{finding.id}/resolve/",
               {"status": "closed", "resolution": "Pager rota fixed"})
    assert ExerciseFinding.objects.get(id=finding.id).status == "closed"
    listing = staff.get("/incidents/exercises/").content.decode()
    assert "2027-05-02" in listing  # the drill's next due date (12 months)
    bad = staff.post("/incidents/exercises/", {"kind": "picnic", "title": "x",
                                               "scheduled_on": "2026-06-01"})
    assert bad.status_code == 400
    assert Exercise.objects.count() == 1


@time_machine.travel(NOW, tick=False)
def test_retainers_show_expiring_and_expired_and_bad_input_changes_nothing() -> None:
    common = {"service": "24/7 breach response", "contact": "hotline +1 555 0100",
              "contract_reference": "MSA-2025-14", "hours_included": 40}
    for firm, ends in (("Old Forensics", date(2026, 5, 3)), ("Soon Legal", date(2026, 7, 3)),
                       ("Long Forensics", date(2026, 7, 4))):
        services.retainer_save(actor=ANALYST, kind="legal" if "Legal" in firm else "forensic",
                               firm=firm, starts_on=date(2025, 1, 1), ends_on=ends, **common)
    status = {r.firm: r.status for r in selectors.retainer_list()}
    # warning window 60 days: 2026-05-04 + 60 = 2026-07-03
    assert status == {"Old Forensics": "expired", "Soon Legal": "expiring",
                      "Long Forensics": "active"}
    staff = signed_in_client(make_user(roles=("security_analyst",)))
    before = audit.last_seq()
    bad = staff.post("/incidents/retainers/", {
        "kind": "legal", "firm": "Backwards LLP", "service": "counsel", "contact": "x",
        "contract_reference": "C-1", "starts_on": "2026-06-01", "ends_on": "2026-01-01",
        "hours_included": "10"})
    assert bad.status_code == 400
    assert "The contract cannot end before it starts." in bad.content.decode()
    negative = staff.post("/incidents/retainers/", {
        "kind": "legal", "firm": "Neg LLP", "service": "counsel", "contact": "x",
        "contract_reference": "C-1", "starts_on": "2026-01-01", "ends_on": "2027-01-01",
        "hours_included": "-1"})
    assert negative.status_code == 400
    assert Retainer.objects.count() == 3
    assert audit.last_seq() == before
    ok = staff.post("/incidents/retainers/", {
        "kind": "legal", "firm": "Counsel LLP", "service": "privacy counsel",
        "contact": "duty partner", "contract_reference": "EL-9", "starts_on": "2026-01-01",
        "ends_on": "2027-01-01", "hours_included": "20", "last_tested_on": "2026-04-01"})
    assert ok.status_code == 302
    page = staff.get("/incidents/retainers/").content.decode()
    assert "Counsel LLP" in page
    assert "2026-04-01" in page
    assert "expired" in page
    # renewing the expired one: it turns active, the update is audited
    old = Retainer.objects.get(firm="Old Forensics")
    form = staff.get(f"/incidents/retainers/{old.id}/").content.decode()
    assert "MSA-2025-14" in form
    renewed = staff.post(f"/incidents/retainers/{old.id}/", {
        "kind": "forensic", "firm": "Old Forensics", "service": "24/7 breach response",
        "contact": "hotline", "contract_reference": "MSA-2026-02", "starts_on": "2026-05-04",
        "ends_on": "2027-05-03", "hours_included": "60", "last_tested_on": "2026-05-04"})
    assert renewed.status_code == 302
    status = {r.firm: r.status for r in selectors.retainer_list()}
    assert status["Old Forensics"] == "active"
    updates = list(audit.event_export(action="incident.retainer_updated",
                                      subject=("incident_retainer", old.id)))
    assert [e.data["ends_on"] for e in updates] == ["2027-05-03"]
    reader = signed_in_client(make_user(roles=("privacy_officer",)))
    assert reader.get("/incidents/retainers/").status_code == 200
    assert reader.get(f"/incidents/retainers/{old.id}/").status_code == 403
    assert reader.post("/incidents/retainers/", {"kind": "legal"}).status_code == 403
    assert Retainer.objects.count() == 4

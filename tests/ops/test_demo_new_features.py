"""The demo's later features (decision 0171): the ops demo's second stage loads workforce
records, a GoPhish campaign, an access review half way through, the MFA snapshot, labelled
cost-model inputs and an incident from the attack alert with its checklist — through the apps'
services, once. In process, so it runs on SQLite and PostgreSQL (R-OPS-5 demo, R-WORK-1,
R-WORK-2, R-KPI-7, R-OPS-8, R-KPI-8, R-KPI-10, R-IR-6)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from safeguard.accounts import demo as accounts_demo
from safeguard.accounts import review_selectors
from safeguard.accounts import selectors as accounts
from safeguard.accounts.services import roles_ensure_builtin
from safeguard.governance import phishing, workforce
from safeguard.governance.gophish import CLICK_EVENTS, SENT_STATUSES
from safeguard.incidents import checklists
from safeguard.incidents import selectors as incidents
from safeguard.metrics import cost_selectors, mfa_history
from safeguard.ops.demo import Clock, _staff, features
from safeguard.ops.management.commands.demo import demo_loaders

pytestmark = pytest.mark.django_db


@pytest.fixture
def staffed(monkeypatch):
    """The demo users and the centre's staff (as the earlier loaders leave them), and a stand-in
    for the detection demo's attack alert (the attack needs a centre of 120 customers)."""
    roles_ensure_builtin()
    accounts_demo.load(say=lambda _: None)
    now = timezone.now()
    _staff(Clock(now), now)
    alert = SimpleNamespace(id=7, rule_title="Mass customer access", severity="high",
                            created_at=now - timedelta(hours=3),
                            explanation="a personal API token opened 120 customer records")
    monkeypatch.setattr(features, "_attack_alert", lambda: alert)
    return alert


def _load() -> list[str]:
    said: list[str] = []
    features.load(say=said.append)
    return said


def _counts() -> dict[str, int]:
    campaign = review_selectors.campaign_list()
    return {
        "courses": len(workforce.courses()),
        "open_assignments": len(workforce.open_assignments()),
        "checks": sum(len(v) for v in workforce.checks_latest().values()),
        "team_months": len(workforce.team_months()),
        "phishing": len(phishing.campaigns()),
        "reviews": len(campaign),
        "decided": campaign[0].decided if campaign else 0,
        "mfa": len(mfa_history.snapshots()),
        "cost_changes": len(cost_selectors.input_history()),
        "incidents": len(incidents.incident_list()),
        "checked": sum(s.done for s in checklists.checklist_get(
            incident_id=incidents.incident_list()[0].id).stages) if incidents.incident_list()
        else 0,
    }


def test_the_features_stage_runs_after_detection():
    # given the demo command's loaders
    # when they are listed in order
    names = [m.__name__ for m in demo_loaders()]
    # then the features stage is there once, after the detection demo and the centre
    assert names.count("safeguard.ops.demo.features") == 1
    assert names.index("safeguard.ops.demo.features") > names.index("safeguard.detection.demo")
    assert names.index("safeguard.ops.demo") < names.index("safeguard.detection.demo")


def test_workforce_training_checks_and_team_months(staffed):
    # given the staff of the demo centre
    # when the stage loads
    said = _load()
    # then three courses, one assignment overdue so the training control fails naming it
    assert {c["title"] for c in workforce.courses()} == {c[0] for c in features.COURSES}
    overdue = [a for a in workforce.open_assignments() if a.overdue]
    assert [a.email for a in overdue] == ["leo.martin@demo.safeguard.test"]
    control = workforce.control_training_complete()
    assert control["status"] == "fail"
    assert "leo.martin@demo.safeguard.test (1)" in control["evidence"]
    # two more still open inside their due date, the analysts' course open for analysts
    awareness = next(c for c in workforce.courses() if c["title"] == features.COURSES[0][0])
    assert (awareness["open"], awareness["overdue"]) == (3, 1)
    assert awareness["completions"] == len(workforce.staff()) - 3
    # background checks: reference and outcome only; one pending, one expiring
    latest = workforce.checks_latest()
    assert sum(len(v) for v in latest.values()) == len(features.BACKGROUND_CHECKS)
    states = sorted(c.state for v in latest.values() for c in v.values())
    assert states.count("pending") == 1
    assert states.count("expiring") == 1
    assert all(c.reference.startswith("DEMO-BGC-") for v in latest.values() for c in v.values())
    # nine team months, attrition computed from the recorded headcounts
    months = workforce.team_months()
    assert len(months) == 9
    newest_tech = next(m for m in months if m.team == "Technical")
    assert newest_tech.attrition == pytest.approx(2 / 9.5)
    assert any(line.startswith("Workforce: 3 courses, 15 background checks") for line in said)


def test_the_phishing_click_rate_shown_is_the_one_in_the_demo_csv(staffed):
    # given the CSV the stage generates for the staff
    sent_on = timezone.localdate() - timedelta(days=features.PHISHING_DAYS_AGO)
    raw = features.phishing_csv(features.phishing_recipients(), sent_on)
    rows = list(csv.DictReader(io.StringIO(raw.decode())))
    sent = [r for r in rows if r["status"] in SENT_STATUSES]
    clicked = [r for r in sent if r["status"] in CLICK_EVENTS]
    # when the stage imports it through the import service
    _load()
    # then the campaign's figures are those of the file, the leaver unmatched
    (campaign,) = phishing.campaigns()
    assert campaign.name == features.PHISHING_NAME
    assert campaign.recipients == len(rows) == len(workforce.staff()) + 1
    assert (campaign.rates.sent, campaign.rates.clicked) == (len(sent), len(clicked))
    assert campaign.rates.click_rate == pytest.approx(len(clicked) / len(sent))
    assert (len(sent), len(clicked)) == (12, 3)
    assert phishing.unmatched(campaign_id=campaign.id) == [features.LEAVER]
    # and the team rates group the agents by the teams the stage recorded
    teams = dict(phishing.team_rates(campaign_id=campaign.id))
    assert {"Billing", "Technical", "Fraud"} <= set(teams)


def test_the_access_review_is_started_with_some_decided_and_some_pending(staffed):
    # given the centre's staff and roles
    # when the stage loads
    _load()
    # then the current period's campaign is open with four decisions: one revoke, three keeps
    (campaign,) = review_selectors.campaign_list()
    assert campaign.status == "open"
    assert campaign.period_start == review_selectors.current_period().start
    assert (campaign.decided, campaign.revoked, campaign.kept) == (4, 1, 3)
    assert campaign.pending == campaign.total - 4 > 0
    # the revoked grant is the stale token, now revoked through the accounts services
    owner = accounts.user_get_by_email(email="supervisor@demo.safeguard.test")
    (token,) = [t for t in accounts.token_list(user_id=owner.id)
                if t.name == features.STALE_TOKEN]
    assert token.revoked_at is not None
    items = review_selectors.campaign_items(campaign_id=campaign.id)
    assert all(i.comment for i in items if i.decision != "pending")
    # the reviewers have a queue
    reviewers = {i.reviewer_id for i in items if i.decision == "pending"}
    assert sum(len(review_selectors.queue_for(person_id=r)) for r in reviewers if r) == (
        campaign.pending)


def test_metrics_snapshot_and_cost_inputs_are_labelled_demo_values(staffed):
    # given no MFA snapshot and no likelihood or turnover entered
    # when the stage loads
    _load()
    # then today's snapshot exists, the inputs carry the demo note and the ALE is computed
    (snap,) = mfa_history.snapshots()
    assert snap.all_staff == len(workforce.staff())
    states = {s.key: s for s in cost_selectors.input_states()}
    for key, value in features.COST_INPUTS:
        assert states[key].source == "demo value, not a benchmark"
        assert str(states[key].value) == value
    values, outputs = cost_selectors.compute()
    assert outputs.ale == outputs.impact * values["annual_breach_likelihood"]
    assert outputs.ale is not None


def test_cost_inputs_already_entered_are_left_alone(staffed):
    # given the organisation entered its own likelihood
    from safeguard.audit.contracts import Actor
    from safeguard.metrics import cost_services

    cost_services.cost_input_set(actor=Actor.system("test"), user_id=None,
                                 key="annual_breach_likelihood", value="0.05",
                                 source_note="Risk register 2026")
    # when the stage loads
    _load()
    # then that figure stands
    states = {s.key: s for s in cost_selectors.input_states()}
    assert (str(states["annual_breach_likelihood"].value),
            states["annual_breach_likelihood"].source) == ("0.05", "Risk register 2026")


def test_the_attack_alert_becomes_an_incident_with_its_checklist(staffed):
    # given the detection demo's alert
    # when the stage loads
    said = _load()
    # then one data-breach incident from it, its playbook pinned, the first item checked off
    (incident,) = incidents.incident_list()
    assert (incident.source_alert_id, incident.category) == (staffed.id, "data_breach")
    checklist = checklists.checklist_get(incident_id=incident.id)
    assert checklist.pin is not None
    assert checklist.pin.category == "data_breach"
    items = [i for s in checklist.stages for i in s.items]
    done = [i for i in items if i.done_at]
    assert len(items) > 1
    assert len(done) == 1
    assert done[0].note == features.CHECK_NOTE
    assert done[0].done_by == "analyst@demo.safeguard.test"
    assert f"playbook checklist 1 of {len(items)} checked off." in said[-1]


def test_without_an_attack_alert_no_incident_is_opened(staffed, monkeypatch):
    # given a centre too small for the attack (no alert)
    monkeypatch.setattr(features, "_attack_alert", lambda: None)
    # when the stage loads
    said = _load()
    # then nothing is opened, and it says so
    assert incidents.incident_list() == []
    assert said[-1].startswith("Incidents: no attack alert")


def test_a_second_run_creates_nothing_twice(staffed):
    # given the stage loaded once
    _load()
    first = _counts()
    # when it runs again
    said = _load()
    # then every count is the same and each part says it was there
    assert _counts() == first
    assert first["courses"] == 3
    assert first["phishing"] == 1
    assert first["incidents"] == 1
    assert first["cost_changes"] == len(features.COST_INPUTS)
    assert first["decided"] == 4
    assert "already" in said[0]
    assert "already" in said[1]
    assert "already" in said[2]


def test_outside_demo_mode_the_stage_refuses(settings):
    # given a production-like process (neither demo nor test)
    settings.DEMO = False
    settings.TESTING = False
    # when the stage is asked to load
    # then it refuses and writes nothing
    with pytest.raises(RuntimeError, match="demo mode"):
        features.load(say=lambda _: None)
    assert workforce.courses() == []


def test_the_staged_attack_itself_opens_the_incident(settings):
    # given the demo users and the detection demo's attack staged for real (no stand-in alert):
    # the agent's token harvesting the customers of its queue
    from safeguard.accounts.models import User
    from safeguard.cases import services as case_services
    from safeguard.detection import demo as detection_demo
    from tests.cases.conftest import inbound, make_queue
    from tests.factories import SYSTEM

    settings.SAFEGUARD_CUSTOMER_SCOPE = "safeguard.cases.selectors.customer_scope"
    roles_ensure_builtin()
    accounts_demo.load(say=lambda _: None)
    make_queue("billing")
    agent = User.objects.get(email=detection_demo.AGENT)
    case_services.queue_member_add(actor=SYSTEM, slug="billing", user_id=agent.pk)
    for n in range(detection_demo.HARVEST):
        inbound(f"Hello, my parcel {n} is late.", email=f"harvested{n}@example.com")
    detection_demo.load(say=lambda _: None)
    # when the incidents part of the stage runs
    said = features._incident()
    # then the incident comes from the correlation's alert, "Mass customer access"
    alert = features._attack_alert()
    assert (alert.rule_title, alert.severity) == ("Mass customer access", "high")
    (incident,) = incidents.incident_list()
    assert (incident.source_alert_id, incident.category) == (int(alert.id), "data_breach")
    assert said.startswith(f"Incidents: incident {incident.id} opened from alert {alert.id} ")

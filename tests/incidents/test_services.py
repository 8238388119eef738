"""Incidents: states, roles and hand-offs, notices owed, SLA clocks and their notifications,
providers (R-IR-1, R-IR-2, R-REG-3, R-KPI-5). Bad input changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from safeguard.audit import selectors as audit
from safeguard.audit.contracts import Actor
from safeguard.incidents import selectors, services
from safeguard.incidents.contracts import IncidentError
from safeguard.incidents.models import Incident, RoleAssignment
from safeguard.web import providers
from tests.factories import make_user

pytestmark = pytest.mark.django_db

ANALYST = Actor(kind="user", id="1", label="analyst@example.test")
NOW = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


def _open(**kw: object) -> int:
    args: dict[str, object] = {"actor": ANALYST, "title": "Agent exported customers",
                               "severity": "sev2", "category": "insider_misuse",
                               "aware_at": NOW - timedelta(minutes=30)}
    args.update(kw)
    return services.incident_open(**args).id  # type: ignore[arg-type]


@time_machine.travel(NOW, tick=False)
def test_states_move_one_step_at_a_time_and_each_is_audited() -> None:
    iid = _open()
    with pytest.raises(IncidentError, match="only to triaged"):
        services.incident_advance(actor=ANALYST, incident_id=iid, to_state="contained")
    assert Incident.objects.get(id=iid).state == "detected"
    for state in ("triaged", "contained", "eradicated", "recovered"):
        services.incident_advance(actor=ANALYST, incident_id=iid, to_state=state)
    with pytest.raises(IncidentError, match="Incident Commander"):
        services.incident_advance(actor=ANALYST, incident_id=iid, to_state="closed")
    commander = make_user(roles=("security_analyst",))
    services.role_assign(actor=ANALYST, incident_id=iid, role="commander", user_id=commander.id)
    services.review_save(actor=ANALYST, incident_id=iid, root_cause="Broad export role",
                         lessons="Narrow it", playbook_updated=True,
                         playbook_reference="PB-7 v2", retest_on=NOW.date(),
                         retest_result="passed")  # R-IR-7: closing needs a complete review
    view = services.incident_advance(actor=ANALYST, incident_id=iid, to_state="closed")
    assert view.state == "closed"
    assert view.next_state is None
    with pytest.raises(IncidentError, match="no further"):
        services.incident_advance(actor=ANALYST, incident_id=iid, to_state="detected")
    moves = [(e.data["from"], e.data["to"]) for e in audit.event_export(
        action="incident.state_changed", subject=("incident", iid))]
    assert moves == [("detected", "triaged"), ("triaged", "contained"),
                     ("contained", "eradicated"), ("eradicated", "recovered"),
                     ("recovered", "closed")]


def test_bad_input_changes_nothing() -> None:
    before = audit.last_seq()
    with pytest.raises(IncidentError, match="Unknown jurisdiction"):
        _open(jurisdictions=["EU-GDPR", "XX-NOPE"])
    with pytest.raises(IncidentError, match="time zone"):
        _open(aware_at=datetime(2026, 1, 1, 12, 0))  # noqa: DTZ001
    with pytest.raises(IncidentError, match="future"):
        _open(aware_at=timezone.now() + timedelta(days=1))
    with pytest.raises(IncidentError, match="severity"):
        _open(severity="sev9")
    with pytest.raises(IncidentError, match="Title is required"):
        _open(title="   ")
    assert Incident.objects.count() == 0
    assert audit.last_seq() == before


def test_a_role_hand_off_ends_the_old_holder_and_is_recorded() -> None:
    iid = _open()
    first, second = make_user(), make_user()
    services.role_assign(actor=ANALYST, incident_id=iid, role="commander", user_id=first.id)
    services.role_assign(actor=ANALYST, incident_id=iid, role="commander", user_id=second.id,
                         note="shift change")
    roles = selectors.role_list(incident_id=iid)
    assert [(r.user_email, r.ended_at is None) for r in roles] == [
        (first.email, False), (second.email, True)]
    assert roles[1].note == "shift change"
    handoff = audit.event_list(action="incident.role_handed_off")[0]
    assert handoff.data == {"role": "commander", "user": second.id, "from_user": first.id}
    assert RoleAssignment.objects.filter(incident_id=iid, ended_at__isnull=True).count() == 1


def test_a_card_number_in_free_text_is_never_stored() -> None:
    iid = _open(summary="customer read card 4111 1111 1111 1111 aloud")
    stored = Incident.objects.get(id=iid).summary
    assert "4111 1111 1111 1111" not in stored
    assert "4111111111111111" not in stored


@time_machine.travel(NOW, tick=False)
def test_notices_owed_follow_jurisdictions_and_a_recorded_delay() -> None:
    aware = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    iid = _open(aware_at=aware, jurisdictions=["EU-GDPR", "US-NY"])
    owed = selectors.notices_owed(incident_id=iid)
    first = owed[0]
    assert (first.jurisdiction, first.due) == ("EU-GDPR", datetime(2026, 5, 7, 9, 0, tzinfo=UTC))
    services.delay_record(actor=ANALYST, incident_id=iid, jurisdiction="US-NY",
                          starts_at=aware + timedelta(days=1), ends_at=aware + timedelta(days=8),
                          reason="NYPD request: notice would impede the investigation",
                          evidence="letter ref 2026-117, legal folder")
    ny = [n for n in selectors.notices_owed(incident_id=iid) if n.jurisdiction == "US-NY"]
    local_end = timezone.localtime(aware).date() + timedelta(days=30)
    assert {timezone.localtime(n.due).date() for n in ny} == {local_end + timedelta(days=7)}
    with pytest.raises(IncidentError, match="not among"):
        services.delay_record(actor=ANALYST, incident_id=iid, jurisdiction="US-TX",
                              starts_at=aware, reason="x", evidence="y")
    with pytest.raises(IncidentError, match="Delay evidence is required"):
        services.delay_record(actor=ANALYST, incident_id=iid, starts_at=aware, reason="x",
                              evidence=" ")
    assert len(selectors.delay_list(incident_id=iid)) == 1


def test_sla_clocks_show_time_remaining_and_breaches() -> None:
    aware = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    with time_machine.travel(aware + timedelta(minutes=10), tick=False):
        iid = _open(aware_at=aware)
    view = selectors.incident_get(incident_id=iid)
    clocks_ = {c.stage: c for c in selectors.sla_for(view, now=aware + timedelta(minutes=45))}
    assert clocks_["triage"].remaining == timedelta(minutes=15)
    assert clocks_["containment"].due == aware + timedelta(hours=24)
    assert clocks_["recovery"].due == aware + timedelta(hours=72)
    late = {c.stage: c for c in selectors.sla_for(view, now=aware + timedelta(hours=2))}
    assert late["triage"].breached
    assert late["triage"].remaining == -timedelta(hours=1)


def test_sla_notifications_before_and_at_breach_once_each() -> None:
    aware = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    with time_machine.travel(aware + timedelta(minutes=5), tick=False):
        iid = _open(aware_at=aware)
        lead = make_user(roles=("security_analyst",))
        services.role_assign(actor=ANALYST, incident_id=iid, role="commander", user_id=lead.id)
    assert services.sla_notify(now=aware + timedelta(minutes=30)) == 0
    assert services.sla_notify(now=aware + timedelta(minutes=50)) == 1  # 10 min left: warn
    assert mail.outbox[-1].subject == f"[Incident {iid}] triage SLA due soon"
    assert mail.outbox[-1].to == [lead.email]
    assert services.sla_notify(now=aware + timedelta(minutes=55)) == 0  # once
    assert services.sla_notify(now=aware + timedelta(minutes=61)) == 1  # breach
    assert mail.outbox[-1].subject == f"[Incident {iid}] triage SLA breached"
    assert services.sla_notify(now=aware + timedelta(minutes=90)) == 0
    with time_machine.travel(aware + timedelta(minutes=91), tick=False):
        services.incident_advance(actor=ANALYST, incident_id=iid, to_state="triaged")
    # containment warns 15 min before 24 h; the met triage stage never notifies again
    assert services.sla_notify(now=aware + timedelta(hours=23, minutes=50)) == 1
    assert [e.data["stage"] for e in audit.event_export(action="incident.sla_warned")] == [
        "triage", "containment"]
    assert len(mail.outbox) == 3


def test_providers_open_from_alert_once_and_mttr() -> None:
    from types import SimpleNamespace

    from safeguard.accounts import selectors as account_selectors
    from safeguard.web.errors import PermissionDenied

    user = make_user(roles=("security_analyst",))
    principal = SimpleNamespace(user_id=user.pk, email=user.email,
                                permissions=account_selectors.user_permissions(user_id=user.pk))
    raised = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    alert = SimpleNamespace(id=41, rule_title="Mass customer access", severity="high",
                            created_at=raised, explanation="viewed 240 records; median 22")
    open_from_alert = providers.get("incidents.open_from_alert")
    assert open_from_alert is not None
    first = open_from_alert(alert=alert, principal=principal)
    assert open_from_alert(alert=alert, principal=principal) == first  # one incident per alert
    row = Incident.objects.get(source_alert_id=41)
    assert first == f"/incidents/{row.id}/"
    assert (row.severity, row.aware_at, row.title) == ("sev2", raised,
                                                        "Alert 41: Mass customer access")
    agent = make_user(roles=("agent",))
    nobody = SimpleNamespace(user_id=agent.pk, email=agent.email,
                             permissions=account_selectors.user_permissions(user_id=agent.pk))
    with pytest.raises(PermissionDenied):
        open_from_alert(alert=SimpleNamespace(**{**vars(alert), "id": 42}), principal=nobody)
    assert not Incident.objects.filter(source_alert_id=42).exists()
    mttr = providers.get("kpi.mttr_seconds")
    assert mttr is not None
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    assert mttr(start, end) is None
    for hours in (10, 30):
        iid = _open(aware_at=datetime(2026, 1, 5, tzinfo=UTC))
        Incident.objects.filter(id=iid).update(
            recovered_at=datetime(2026, 1, 5, tzinfo=UTC) + timedelta(hours=hours))
    assert mttr(start, end) == 20 * 3600.0
    assert mttr(end, end + timedelta(days=30)) is None


def test_timeline_merges_manual_entries_and_audit_events() -> None:
    with time_machine.travel(NOW, tick=False):
        iid = _open()
        services.timeline_add(actor=ANALYST, incident_id=iid, at=NOW - timedelta(hours=2),
                              text="First odd export seen in the SIEM")
        services.incident_advance(actor=ANALYST, incident_id=iid, to_state="triaged")
    items = selectors.timeline(incident_id=iid)
    assert [(i.source, i.text.split(" (")[0]) for i in items] == [
        ("manual", "First odd export seen in the SIEM"), ("audit", "opened"),
        ("audit", "playbook pinned"), ("audit", "timeline added"), ("audit", "state changed")]


def test_the_page_timeline_keeps_only_the_newest_entries() -> None:
    with time_machine.travel(NOW, tick=False):
        iid = _open()
        for minutes in (50, 40, 30):
            services.timeline_add(actor=ANALYST, incident_id=iid,
                                  at=NOW - timedelta(minutes=minutes), text=f"note {minutes}")
    full = selectors.timeline(incident_id=iid)
    latest = selectors.timeline(incident_id=iid, latest=3)
    assert len(full) == 8  # 3 manual + opened + playbook pinned + 3 timeline_added events
    assert latest == full[-3:]

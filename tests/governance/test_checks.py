"""Each automated check over live state (R-REG-1, R-KPI-8, R-OPS-2, R-OPS-4, R-DATA-3,
R-DATA-7): it passes when its condition holds and flips to fail the moment the live condition
breaks; a source that is absent is unavailable, never pass."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from django.utils import timezone

from safeguard.audit import services as audit
from safeguard.audit.models import VerificationRun
from safeguard.audit.siem.models import ForwarderCursor
from safeguard.governance import evaluators, selectors
from safeguard.governance.evaluators import FAIL, NA, PASS, UNAVAILABLE
from safeguard.privacy.models import DataSubjectRequest, SweepRun
from safeguard.protection import keyring
from safeguard.protection.models import KeyVersion, RescanFinding, RescanRun
from safeguard.web import providers
from tests.factories import SYSTEM, make_user

pytestmark = pytest.mark.django_db


def _webauthn(user) -> Authenticator:
    return Authenticator.objects.create(user=user, type=Authenticator.Type.WEBAUTHN,
                                        data={"name": "security key"})


def test_mfa_coverage_of_all_staff_flips_when_one_has_no_factor():
    assert evaluators.mfa_all_staff().status == NA  # nobody to cover is not 100 %
    make_user(roles=("agent",))
    make_user(roles=("supervisor",))
    assert evaluators.mfa_all_staff().status == PASS
    lax = make_user(roles=("agent",), mfa=False)
    result = evaluators.mfa_all_staff()
    assert result.status == FAIL
    assert "2 of 3" in result.evidence
    assert lax.email in result.evidence
    # a service account is not staff: not counted
    make_user(roles=("agent",), mfa=False, password=None, is_service_account=True)
    assert "2 of 3" in evaluators.mfa_all_staff().evidence


def test_webauthn_for_privileged_staff_flips_when_an_admin_loses_the_key():
    make_user(roles=("agent",))
    result = evaluators.webauthn_privileged()
    assert result.status == NA, "agents only: no privileged user, not 100 %"
    admin = make_user(roles=("administrator",))
    auditor = make_user(roles=("auditor",))  # read-only, but beyond the agent role
    assert {u.id for u in evaluators.privileged_users()} == {admin.id, auditor.id}
    assert evaluators.webauthn_privileged().status == FAIL  # TOTP is not enough
    key = _webauthn(admin)
    _webauthn(auditor)
    result = evaluators.webauthn_privileged()
    assert (result.status, result.evidence) == (
        PASS, "2 of 2 privileged staff have a WebAuthn authenticator.")
    key.delete()  # the administrator's authenticator is removed
    result = evaluators.webauthn_privileged()
    assert result.status == FAIL
    assert admin.email in result.evidence


def test_key_age_flips_when_a_primary_key_outlives_the_rotation_policy(settings):
    assert evaluators.key_rotation().status == UNAVAILABLE  # not initialised yet
    keyring.data_aead()  # the dev provider initialises on first use
    result = evaluators.key_rotation()
    assert result.status == PASS, result.evidence
    assert f"rotation policy {settings.SAFEGUARD_KEY_ROTATION_DAYS} days" in result.evidence
    KeyVersion.objects.filter(keyset="data").update(
        created_at=timezone.now() - timedelta(days=settings.SAFEGUARD_KEY_ROTATION_DAYS + 1))
    result = evaluators.key_rotation()
    assert result.status == FAIL
    assert f"Overdue: data ({settings.SAFEGUARD_KEY_ROTATION_DAYS + 1} days)" in result.evidence


def _verification(*, ok: bool, hours_ago: float) -> VerificationRun:
    at = timezone.now() - timedelta(hours=hours_ago)
    return VerificationRun.objects.create(started_at=at, finished_at=at, ok=ok,
                                          events_checked=10, heads_checked=2,
                                          first_bad_seq=None if ok else 7,
                                          problems=[] if ok else [{"seq": 7}])


def test_audit_verification_flips_when_the_last_run_is_stale_or_failed(settings):
    assert evaluators.audit_verified().status == FAIL  # never verified
    _verification(ok=True, hours_ago=1)
    assert evaluators.audit_verified().status == PASS
    _verification(ok=False, hours_ago=0.5)
    result = evaluators.audit_verified()
    assert result.status == FAIL
    assert "first bad seq 7" in result.evidence
    # the newest run is clean but older than the period
    _verification(ok=True, hours_ago=settings.SAFEGUARD_GOVERNANCE_VERIFY_MAX_HOURS + 1)
    result = evaluators.audit_verified()
    assert result.status == FAIL
    assert "older than" in result.evidence


def test_signed_heads_flip_when_events_wait_too_long_for_a_head(settings):
    assert evaluators.audit_heads_signed().status == NA  # an empty log has nothing to sign
    audit.record(action="tests.one", actor=SYSTEM)
    audit.integrate()
    assert evaluators.audit_heads_signed().status == FAIL  # events, no head
    past = timezone.now() - timedelta(hours=settings.SAFEGUARD_GOVERNANCE_HEAD_MAX_HOURS,
                                      minutes=1)
    with time_machine.travel(past, tick=False):
        assert audit.head_sign(force=True) is not None
    assert evaluators.audit_heads_signed().status == PASS  # old, but nothing after it
    audit.record(action="tests.two", actor=SYSTEM)
    audit.integrate()
    result = evaluators.audit_heads_signed()
    assert result.status == FAIL
    assert "1 event(s) after it" in result.evidence
    assert audit.head_sign() is not None  # the signer catches up
    assert evaluators.audit_heads_signed().status == PASS


def test_no_card_number_at_rest_flips_with_a_finding_left_in_place(settings):
    assert evaluators.no_pan_at_rest().status == FAIL  # no rescan: no evidence
    now = timezone.now()
    run = RescanRun.objects.create(fix=False, status="done", scanned=120, created_at=now,
                                   finished_at=now)
    result = evaluators.no_pan_at_rest()
    assert result.status == PASS
    assert "120 values scanned" in result.evidence
    RescanFinding.objects.create(run=run, model="cases.message", object_pk="9", field="body",
                                 type="PAN", start=3, end=19)
    result = evaluators.no_pan_at_rest()
    assert result.status == FAIL
    assert "cases.message.body" in result.evidence
    RescanFinding.objects.update(fixed=True)
    assert evaluators.no_pan_at_rest().status == PASS
    RescanRun.objects.update(finished_at=now - timedelta(
        days=settings.SAFEGUARD_GOVERNANCE_RESCAN_MAX_DAYS + 1))
    assert evaluators.no_pan_at_rest().status == FAIL


def test_siem_lag_flips_when_the_forwarder_stops(settings, tmp_path):
    assert evaluators.siem_forwarding().status == FAIL  # nothing configured
    settings.SAFEGUARD_SIEM_SINKS = f"soc=ocsf@file://{tmp_path}/siem.jsonl"
    settings.SAFEGUARD_GOVERNANCE_SIEM_MAX_LAG_EVENTS = 2
    for i in range(3):
        audit.record(action=f"tests.e{i}", actor=SYSTEM)
    newest = audit.integrate() or 0
    from safeguard.audit import selectors as audit_selectors
    newest = audit_selectors.last_seq()
    ForwarderCursor.objects.create(name="soc", last_seq=newest)
    result = evaluators.siem_forwarding()
    assert (result.status, result.evidence.split(",")[0]) == (PASS, "soc: 0 event(s) behind")
    ForwarderCursor.objects.filter(name="soc").update(last_seq=newest - 3)  # stopped
    result = evaluators.siem_forwarding()
    assert result.status == FAIL
    assert "soc: 3 event(s) behind" in result.evidence
    ForwarderCursor.objects.filter(name="soc").update(
        last_seq=newest - 1, updated_at=timezone.now() - timedelta(
            minutes=settings.SAFEGUARD_GOVERNANCE_SIEM_MAX_LAG_MINUTES + 1))
    assert evaluators.siem_forwarding().status == FAIL  # within the count, but not moving


def _sweep(*, dry_run: bool, hours_ago: float) -> SweepRun:
    at = timezone.now() - timedelta(hours=hours_ago)
    return SweepRun.objects.create(dry_run=dry_run, status="finished", as_of=at.date(),
                                   started_at=at, finished_at=at, heartbeat_at=at,
                                   triggered_by="tests", counts={"case:delete": 4}, held=1)


def test_retention_sweeps_flip_when_the_last_real_sweep_is_too_old(settings):
    _sweep(dry_run=True, hours_ago=1)
    assert evaluators.retention_sweeps().status == FAIL  # dry runs do not count
    run = _sweep(dry_run=False, hours_ago=2)
    result = evaluators.retention_sweeps()
    assert result.status == PASS
    assert "4 record action(s), 1 held" in result.evidence
    SweepRun.objects.filter(id=run.id).update(finished_at=timezone.now() - timedelta(
        hours=settings.SAFEGUARD_GOVERNANCE_SWEEP_MAX_HOURS + 1))
    assert evaluators.retention_sweeps().status == FAIL


def test_dsrs_on_time_flip_when_a_request_runs_past_its_due_date():
    from tests.privacy.conftest import closed_mail_case, make_agent, make_queue

    assert evaluators.dsr_on_time().status == NA  # no request in the window
    make_queue("billing")
    agent = make_agent("billing")
    customer = closed_mail_case(agent, email="ann@example.com").customer_id
    today = timezone.localdate()
    req = DataSubjectRequest.objects.create(
        kind="access", regime="gdpr", customer_id=customer, received_on=today - timedelta(10),
        due_on=today + timedelta(20), created_by=agent, created_at=timezone.now(),
        status="fulfilled", closed_on=today - timedelta(1))
    result = evaluators.dsr_on_time()
    assert result.status == PASS
    assert "1 of 1 requests closed on time" in result.evidence
    DataSubjectRequest.objects.filter(id=req.id).update(closed_on=None, status="verified",
                                                        due_on=today - timedelta(1))
    result = evaluators.dsr_on_time()
    assert result.status == FAIL
    assert "1 open past their due date" in result.evidence


def test_sources_that_are_absent_are_unavailable_never_pass(monkeypatch):
    monkeypatch.delitem(providers._providers, "control.detection_running")
    monkeypatch.delitem(providers._providers, "control.exercises_on_time")  # incidents registers it
    monkeypatch.delitem(providers._providers, "control.backups_restored")
    monkeypatch.delitem(providers._providers, "control.vulnerabilities_within_sla")
    monkeypatch.delitem(providers._providers, "control.access_reviews_done")  # accounts
    monkeypatch.delitem(providers._providers, "control.training_complete")  # workforce
    for name in ("detection_running", "incident_exercises", "access_reviews",
                 "backups_restored", "training_complete", "vulnerabilities_sla"):
        assert evaluators.REGISTRY[name]().status == UNAVAILABLE, name


@pytest.mark.django_db
def test_detection_running_follows_the_detection_run(monkeypatch, settings):
    """The detection app's provider: never run or stalled fails, a recent run passes; without
    the provider the control is unavailable (R-OPS-6)."""
    from safeguard.detection import services as detection

    assert evaluators.detection_running().status == FAIL
    assert "never evaluated" in evaluators.detection_running().evidence
    detection.run_once()
    result = evaluators.detection_running()
    assert result.status == PASS, result.evidence
    assert "0 events behind" in result.evidence
    with time_machine.travel(timezone.now() + timedelta(
            minutes=settings.SAFEGUARD_DETECTION_RUNNING_MAX_MINUTES + 1)):
        assert evaluators.detection_running().status == FAIL
    monkeypatch.delitem(providers._providers, "control.detection_running")
    assert evaluators.detection_running().status == UNAVAILABLE


def test_incident_exercises_follow_the_incidents_provider(monkeypatch):
    state = {"status": "pass", "evidence": "Tabletop exercise 12 days ago"}
    monkeypatch.setitem(providers._providers, "control.exercises_on_time", lambda: dict(state))
    result = evaluators.incident_exercises()
    assert result.status == PASS
    assert "Tabletop exercise 12 days ago" in result.evidence
    state["status"] = "fail"
    assert evaluators.incident_exercises().status == FAIL
    state["status"] = "green"  # not a status: unavailable, never pass
    assert evaluators.incident_exercises().status == UNAVAILABLE

    def broken() -> dict[str, str]:
        raise RuntimeError("db down")
    monkeypatch.setitem(providers._providers, "control.exercises_on_time", broken)
    result = evaluators.incident_exercises()
    assert result.status == UNAVAILABLE
    assert "RuntimeError" in result.evidence


def test_a_check_that_crashes_is_unavailable_and_the_others_still_run(monkeypatch):
    from safeguard.governance import services
    from safeguard.governance.models import ControlEvaluation

    def broken() -> evaluators.CheckResult:
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute("SELECT * FROM no_such_table_here")
        raise AssertionError("unreachable")

    monkeypatch.setitem(evaluators.REGISTRY, "mfa_all_staff", broken)
    services.evaluate_all(actor=SYSTEM)
    row = ControlEvaluation.objects.get(control_id="SG-AC-01")
    assert row.status == UNAVAILABLE
    assert "raised" in row.evidence
    assert ControlEvaluation.objects.count() == len(selectors.library().controls)

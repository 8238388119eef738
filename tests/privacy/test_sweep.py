"""The retention sweep (R-DATA-3, R-REG-4): the matrix enforced in batches, holds honoured,
a crash half-way resumed without loss or duplication, KPIs intact after anonymisation."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from safeguard.audit.models import Event
from safeguard.cases import selectors as case_selectors
from safeguard.cases import services as case_services
from safeguard.cases.contracts import Period
from safeguard.cases.models import Case, CsatResponse, Interaction, Message
from safeguard.privacy import selectors, services, sweep
from safeguard.privacy.models import Disposition, SweepRun
from tests.factories import SYSTEM, make_user, ref_hash
from tests.privacy.conftest import (
    T0,
    closed_call_case,
    closed_mail_case,
    make_agent,
    make_queue,
    principal_for,
)

pytestmark = pytest.mark.django_db
KPI_PERIOD = Period(start=T0 - timedelta(days=1), end=T0 + timedelta(days=2))


@pytest.fixture
def world():
    make_queue("billing")
    agent = make_agent("billing")
    qa = closed_call_case(agent, call_id="qa-1", category="qa_recording", csat=5)
    fin = closed_call_case(agent, call_id="fin-1", category="financial_record", csat=2)
    mail = closed_mail_case(agent, email="ann@example.com", csat=4)
    held = closed_mail_case(agent, email="bob@example.com")
    officer = make_user(roles=("privacy_officer",))
    services.legal_hold_place(principal=principal_for(officer), scope="customer",
                              target_id=str(held.customer_id), reason="Litigation 2025-17")
    return {"agent": agent, "qa": qa, "fin": fin, "mail": mail, "held": held}


def _kpis():
    return (case_selectors.csat(period=KPI_PERIOD), case_selectors.fcr(period=KPI_PERIOD),
            case_selectors.asa(period=KPI_PERIOD))


def test_a_dry_run_reports_what_is_due_and_changes_nothing(world):
    # when a dry run evaluates 100 days after the calls
    view = services.sweep_run(actor=SYSTEM, dry_run=True, as_of=(T0 + timedelta(days=100)).date())
    # then only the QA recording is due (90 days); cases keep at least 2 years
    assert view.counts == {"call_recording:delete": 1}
    assert Interaction.objects.get(call_id=ref_hash("qa-1")).recording is not None
    assert set(Disposition.objects.values_list("target", "record_class", "dry_run")) == {
        ("call_recording", "call_recording_qa", True)}


def test_the_longest_period_governs_and_a_hold_wins(world):
    # given three years after closing: case_record (2 y) is past, financial_record (7 y) is not
    kpis_before = _kpis()
    with time_machine.travel(T0 + timedelta(days=3 * 365), tick=False):
        view = services.sweep_run(actor=SYSTEM)
    # then the QA recording is deleted, the QA and mail cases anonymised, the financial case
    # kept whole, and the held customer's case skipped and counted
    assert view.counts == {"call_recording:delete": 1, "case:anonymise": 2}
    assert view.held == 1
    qa, fin = Interaction.objects.get(case=world["qa"]), Interaction.objects.get(case=world["fin"])
    assert qa.recording is None
    assert qa.transcript is None
    assert qa.call_id is None
    assert fin.recording is not None
    assert fin.transcript == "I would like a refund please"
    assert Case.objects.get(id=world["qa"].id).subject == ""
    assert {m.body for m in Message.objects.filter(case=world["mail"])} == {""}
    assert {m.body for m in Message.objects.filter(case=world["held"])} == {
        "My parcel is late, Ann Lee"}
    assert CsatResponse.objects.get(case=world["mail"]).comment == ""
    assert CsatResponse.objects.get(case=world["fin"]).comment == "Ann was very helpful"
    # and the KPIs are unchanged: scores, timestamps and queues were kept
    assert _kpis() == kpis_before
    assert kpis_before[0].total == 3
    assert kpis_before[2].answered == 2
    # and the deletion receipt is in the audit log
    receipt = Event.objects.get(action="retention.sweep_finished")
    assert receipt.data["counts"] == view.counts
    assert receipt.data["held"] == 1
    assert Event.objects.filter(action="case.anonymised").count() == 2
    assert Event.objects.filter(action="call.recording_deleted").count() == 1


def test_released_hold_and_seven_years_later(world):
    officer2 = make_user(roles=("privacy_officer",))
    with time_machine.travel(T0 + timedelta(days=3 * 365), tick=False):
        services.sweep_run(actor=SYSTEM)

    [hold] = selectors.hold_list(active_only=True)
    services.legal_hold_release(principal=principal_for(officer2), hold_id=hold.id)
    with time_machine.travel(T0 + timedelta(days=7 * 365 + 2), tick=False):
        view = services.sweep_run(actor=SYSTEM)
    # then the formerly held case and the 7-year financial case are anonymised now, and
    # nothing already done is done again
    assert view.counts == {"case:anonymise": 2}
    assert view.held == 0
    assert Interaction.objects.get(case=world["fin"]).recording is None
    assert Event.objects.filter(action="case.anonymised").count() == 4


def test_a_sweep_killed_half_way_resumes_without_loss_or_duplication(world, monkeypatch):
    # given a sweep in batches of one that crashes on the second case
    real = case_services.case_anonymise
    calls = {"n": 0}

    def crashing(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed")
        return real(**kwargs)

    monkeypatch.setattr(case_services, "case_anonymise", crashing)
    with time_machine.travel(T0 + timedelta(days=3 * 365), tick=False):
        with pytest.raises(RuntimeError):
            services.sweep_run(actor=SYSTEM, batch=1)
        run = SweepRun.objects.get()
        assert run.status == "running"
        done_before = Disposition.objects.filter(target="case").count()
        assert done_before == 1  # the first case's batch committed, the second rolled back
        # when the next sweep starts, it resumes the same run after its cursor
        monkeypatch.setattr(case_services, "case_anonymise", real)
        view = services.sweep_run(actor=SYSTEM, batch=1)
    assert view.id == run.id
    assert view.status == "finished"
    # then every due record was acted on exactly once
    assert view.counts == {"call_recording:delete": 1, "case:anonymise": 2}
    assert Disposition.objects.filter(target="case").count() == 2
    per_case = Event.objects.filter(action="case.anonymised").values_list("subject_id", flat=True)
    assert sorted(per_case) == sorted({str(world["qa"].id), str(world["mail"].id)})
    # and a further sweep finds nothing new to do
    with time_machine.travel(T0 + timedelta(days=3 * 365 + 1), tick=False):
        again = services.sweep_run(actor=SYSTEM)
    assert again.id != run.id
    assert again.counts == {}
    assert again.held == 1


def test_the_periodic_task_sweeps_only_in_its_hour(world, settings):
    from safeguard.privacy import tasks

    settings.SAFEGUARD_RETENTION_SWEEP_HOUR = 2
    settings.TIME_ZONE = "UTC"
    with time_machine.travel(T0.replace(hour=3) + timedelta(days=100), tick=False):
        assert tasks.retention_sweep.call_local() is None
    with time_machine.travel(T0.replace(hour=2) + timedelta(days=100), tick=False):
        run_id = tasks.retention_sweep.call_local()
    assert SweepRun.objects.get(id=run_id).counts == {"call_recording:delete": 1}


def test_case_decision_combines_the_classes_of_a_case(world):
    from safeguard.privacy.matrix import matrix

    rows = matrix()
    closed = T0.date()
    plain = sweep.case_decision(recording_categories=(), closed=closed, classes=rows)
    mixed = sweep.case_decision(recording_categories=("qa_recording", "insurance_record",
                                                      "complaint"), closed=closed, classes=rows)
    assert (plain.record_class, plain.ends.isoformat()) == ("case_record", "2027-06-02")
    assert (mixed.record_class, mixed.ends.isoformat()) == ("insurance_record", "2031-06-02")
    assert sweep.recording_decision(category="financial_record", ended=closed,
                                    classes=rows) is None  # the case-level rule governs it

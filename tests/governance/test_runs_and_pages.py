"""Evaluation runs and their history, the hourly job, the CLI, the pages, the CSV export and the
trust-page provider (R-REG-1): stored status history shows when a control failed and for how
long; the export matches the control states; auditors read, only compliance managers run."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from django.core.management import call_command
from django.utils import timezone

from safeguard.audit.contracts import Actor
from safeguard.audit.models import Event, QueuedEntry
from safeguard.governance import selectors, services, tasks
from safeguard.governance.models import ControlEvaluation, EvaluationRun
from safeguard.web import providers
from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db
T1 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
JOB = Actor.system("tests")


def _actions(name: str) -> list[dict]:
    rows = list(Event.objects.filter(action=name).values_list("data", flat=True))
    rows += list(QueuedEntry.objects.filter(action=name).values_list("data", flat=True))
    return rows


def test_every_evaluation_is_kept_and_history_shows_how_long_a_control_failed():
    admin = make_user(roles=("administrator",))
    n = len(selectors.library().controls)
    with time_machine.travel(T1, tick=False):
        first = services.evaluate_all(actor=JOB)
    assert sum(first.counts.values()) == n
    assert selectors.control_state(control_id="SG-AC-02").status == "fail"
    changes = _actions("governance.control_status_changed")
    assert len(changes) == n  # every control went from not_checked to something
    with time_machine.travel(T1 + timedelta(hours=1), tick=False):
        services.evaluate_all(actor=JOB)
    assert len(_actions("governance.control_status_changed")) == n  # nothing changed
    Authenticator.objects.create(user=admin, type=Authenticator.Type.WEBAUTHN, data={})
    with time_machine.travel(T1 + timedelta(hours=2), tick=False):
        services.evaluate_all(actor=JOB)
    changes = _actions("governance.control_status_changed")
    assert changes[-1] == {"from": "fail", "to": "pass", "run": EvaluationRun.objects.last().id}
    assert ControlEvaluation.objects.filter(control_id="SG-AC-02").count() == 3
    spans = selectors.spans(control_id="SG-AC-02")
    assert [(s.status, s.since, s.until, s.evaluations) for s in spans] == [
        ("pass", T1 + timedelta(hours=2), None, 1),
        ("fail", T1, T1 + timedelta(hours=2), 2),
    ]


def test_a_run_killed_half_way_is_resumed_without_duplicates():
    run = EvaluationRun.objects.create(started_at=timezone.now(), triggered_by="crashed")
    ControlEvaluation.objects.create(run=run, control_id="SG-AC-01", status="fail",
                                     evidence="stored before the crash",
                                     checked_at=timezone.now())
    view = services.evaluate_all(actor=JOB)
    assert view.id == run.id
    assert view.finished_at is not None
    rows = ControlEvaluation.objects.filter(run=run)
    assert rows.count() == len(selectors.library().controls)
    assert rows.get(control_id="SG-AC-01").evidence == "stored before the crash"
    assert services.evaluate_all(actor=JOB).id != run.id  # a finished run is never reused


def test_the_hourly_job_evaluates_only_when_due(settings):
    settings.SAFEGUARD_GOVERNANCE_EVALUATE_HOURS = 2
    with time_machine.travel(T1, tick=False):
        first = tasks.evaluate_controls.call_local()
        assert first is not None
    with time_machine.travel(T1 + timedelta(hours=1), tick=False):
        assert tasks.evaluate_controls.call_local() is None
    with time_machine.travel(T1 + timedelta(hours=2), tick=False):
        second = tasks.evaluate_controls.call_local()
    assert second is not None
    assert second != first
    assert EvaluationRun.objects.filter(finished_at__isnull=False).count() == 2


def test_the_cli_prints_every_control_and_exits_1_on_a_failure(capsys):
    make_user(roles=("administrator",))  # TOTP only: SG-AC-02 fails
    with pytest.raises(SystemExit) as exit_:
        call_command("governance", "check", "--json")
    assert exit_.value.code == 1
    out = json.loads(capsys.readouterr().out)
    by_id = {c["id"]: c for c in out["controls"]}
    assert by_id["SG-AC-02"]["status"] == "fail"
    assert by_id["SG-BC-01"]["status"] == "fail"  # no verified restore drill yet
    assert out["counts"]["fail"] == sum(c["status"] == "fail" for c in out["controls"])


def test_the_csv_export_matches_the_control_states():
    manager = make_user(roles=("compliance_manager",))
    services.evaluate_all(actor=JOB)
    response = signed_in_client(manager).get("/governance/frameworks/pci_dss/controls.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    states = {s.id: s for s in selectors.control_states()}
    requirements = selectors.requirement_states(framework_id="pci_dss")
    assert len(rows) == sum(max(1, len(r.controls)) for r in requirements)
    assert {r["requirement_id"] for r in rows} == {r.id for r in requirements}
    for row in rows:
        state = states[row["control_id"]]
        assert (row["control_status"], row["evidence"], row["checked_at"]) == (
            state.status, state.evidence, state.checked_at.isoformat())
        req = next(r for r in requirements if r.id == row["requirement_id"])
        assert row["requirement_status"] == selectors.worst(c.status for c in req.controls)
    mfa_row = next(r for r in rows if (r["requirement_id"], r["control_id"]) == ("8.4.1",
                                                                                 "SG-AC-02"))
    assert mfa_row["control_status"] == "fail"
    assert manager.email in mfa_row["evidence"]
    assert _actions("governance.framework_exported")


def test_auditors_read_compliance_managers_run_agents_see_nothing():
    manager = make_user(roles=("compliance_manager",))
    auditor = signed_in_client(make_user(roles=("auditor",)))
    agent = signed_in_client(make_user(roles=("agent",)))
    assert agent.get("/governance/").status_code == 403
    assert agent.get("/governance/frameworks/iso27001/").status_code == 403
    assert auditor.post("/governance/run/").status_code == 403
    assert not EvaluationRun.objects.exists()
    response = signed_in_client(manager).post("/governance/run/")
    assert response.status_code == 302
    assert EvaluationRun.objects.count() == 1
    page = auditor.get("/governance/").content.decode()
    assert "ISO/IEC 27001:2022 Annex A" in page
    assert "SG-AC-02" in page
    page = auditor.get("/governance/frameworks/iso27001/").content.decode()
    assert "A.8.5" in page
    assert "3 of 3 active staff have a second factor" in page
    state = selectors.control_state(control_id="SG-AC-02")
    page = auditor.get("/governance/controls/SG-AC-02/").content.decode()
    assert state.evidence in page
    assert "still (last checked" in page
    assert auditor.get("/governance/frameworks/nist/").status_code == 404
    assert auditor.get("/governance/controls/SG-XX-99/").status_code == 404


def test_the_trust_page_provider_lists_every_control():
    services.evaluate_all(actor=JOB)
    provider = providers.get("governance.controls")
    assert provider is not None
    rows = provider()
    assert [r["id"] for r in rows] == [c.id for c in selectors.library().controls]
    assert set(rows[0]) == {"id", "title", "status", "checked_at", "evidence"}
    assert all(r["checked_at"] is not None for r in rows)


def test_the_statement_of_applicability_pdf_lists_requirements_with_their_states():
    from pypdf import PdfReader

    manager = make_user(roles=("compliance_manager",))
    services.evaluate_all(actor=JOB)
    response = signed_in_client(manager).get("/governance/frameworks/iso27001/statement.pdf")
    assert response["Content-Type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    text = " ".join(text.split())
    assert "Statement of applicability: ISO/IEC 27001:2022 Annex A" in text
    states = {s.id: s.status for s in selectors.control_states()}
    assert f"SG-AC-02 {states['SG-AC-02']}" in text
    assert "A.8.13" in text
    assert "SG-BC-01 fail" in text
    assert "A.5.35" in text
    assert _actions("governance.framework_exported")[-1] == {"format": "pdf"}

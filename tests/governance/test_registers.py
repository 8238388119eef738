"""External-validation and vendor registers (R-MEAS-3, R-OPS-7, decision 0247): findings roll
up, overdue dates show, their controls flip from live state, bad input is a 400 that changes
nothing, every write is audited, pages are denied by default."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
import time_machine

from safeguard.audit.contracts import Actor
from safeguard.audit.models import Event, QueuedEntry
from safeguard.governance import registers
from safeguard.governance.models import (
    ExternalValidation,
    ValidationFinding,
    Vendor,
    VendorEvidence,
)
from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db
D0 = date(2026, 3, 2)
JOB = Actor.system("tests")


@pytest.fixture(autouse=True)
def _evidence_dir(settings, tmp_path):
    settings.SAFEGUARD_GOVERNANCE_EVIDENCE_DIR = tmp_path / "evidence"


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(D0.isoformat() + "T12:00:00Z", tick=False):
        yield


def _actions(name: str) -> list[dict]:
    rows = list(Event.objects.filter(action=name).values_list("data", flat=True))
    rows += list(QueuedEntry.objects.filter(action=name).values_list("data", flat=True))
    return rows


def _validation(**over):
    data = {"kind": "pentest", "title": "Annual external test", "provider": "Example Sec Ltd",
            "scope": "Public web app and API", "performed_on": "2026-01-10",
            "report_received_on": "2026-01-24", "next_due_on": "2027-01-10",
            "cost": "18500", "currency": "eur"}
    data.update(over)
    return registers.validation_save(data=data, actor=JOB)


def _vendor(**over):
    data = {"name": "Mailer Inc", "services": "Outbound e-mail delivery",
            "data_categories": ["user.contact.email", "user.name"], "risk_tier": "high",
            "review_due_on": "2026-06-30", "dpa_signed_on": "2025-05-01"}
    data.update(over)
    return registers.vendor_save(data=data, actor=JOB)


def test_a_validation_with_findings_rolls_up_and_shows_overdue_dates():
    v = _validation()
    assert (v.cost, v.currency, v.kind_label) == (Decimal("18500.00"), "EUR", "Penetration test")
    registers.finding_save(validation_id=v.id, actor=JOB, data={
        "title": "Stored XSS in search", "severity": "high", "due_on": "2026-02-10"})
    registers.finding_save(validation_id=v.id, actor=JOB, data={
        "title": "Verbose errors", "severity": "low", "due_on": "2026-06-01"})
    fixed = registers.finding_save(validation_id=v.id, actor=JOB, data={
        "title": "Weak TLS cipher", "severity": "medium", "status": "remediated",
        "due_on": "2026-02-01", "closed_on": "2026-01-30"})
    view = registers.validation_get(validation_id=v.id)
    assert view.rollup["open"] == 2
    assert view.rollup["remediated"] == 1
    assert view.rollup["overdue"] == 1
    assert view.remediation == ("3 finding(s), remediation under way: 2 open (1 overdue), "
                                "1 remediated.")
    assert [f.overdue for f in view.findings] == [False, True, False]  # by due date
    assert not view.next_due_overdue
    with time_machine.travel("2027-01-11T12:00:00Z", tick=False):
        assert registers.validation_get(validation_id=v.id).next_due_overdue
    assert fixed.closed_on == date(2026, 1, 30)
    assert len(_actions("governance.validation_finding_added")) == 3
    assert _actions("governance.validation_added")[0]["cost"] == "18500.00"


@pytest.mark.parametrize(("over", "reason"), [
    ({"kind": "pizza"}, "Kind must be one of"),
    ({"performed_on": "2026-13-01"}, "YYYY-MM-DD"),
    ({"performed_on": "2026-04-01"}, "future"),
    ({"report_received_on": "2026-01-01"}, "before the test"),
    ({"next_due_on": "2026-01-01"}, "after the date performed"),
    ({"cost": "lots"}, "number"),
    ({"cost": "100", "currency": ""}, "currency"),
    ({"title": ""}, "Title is required"),
])
def test_bad_validation_input_is_refused_and_changes_nothing(over, reason):
    first = _validation()
    with pytest.raises(registers.RegisterRefused, match=reason):
        _validation(**over)
    with pytest.raises(registers.RegisterRefused, match=reason):
        registers.validation_save(data={**_initial(first), **over}, actor=JOB,
                                  validation_id=first.id)
    assert ExternalValidation.objects.count() == 1
    assert registers.validation_get(validation_id=first.id).title == "Annual external test"


def _initial(v):
    return {"kind": v.kind, "title": v.title, "provider": v.provider, "scope": v.scope,
            "performed_on": v.performed_on.isoformat(), "next_due_on": "",
            "report_received_on": "", "cost": "", "currency": ""}


def test_bad_findings_are_refused():
    v = _validation()
    for data, reason in [
        ({"title": "x", "severity": "urgent"}, "Severity"),
        ({"title": "x", "severity": "high", "status": "remediated"}, "closed"),
        ({"title": "x", "severity": "high", "closed_on": "2026-02-01"}, "open finding"),
        ({"title": "x", "severity": "high", "due_on": "2025-01-01"}, "precede"),
        ({"title": "", "severity": "high"}, "required"),
    ]:
        with pytest.raises(registers.RegisterRefused, match=reason):
            registers.finding_save(validation_id=v.id, data=data, actor=JOB)
    assert ValidationFinding.objects.count() == 0


def test_external_validation_control_from_live_state():
    assert registers.control_external_validation().status == "fail"  # nothing recorded
    _validation(performed_on="2025-12-01", next_due_on="")
    result = registers.control_external_validation()
    assert result.status == "fail"
    assert "no asv scan recorded" in result.evidence
    asv = _validation(kind="asv_scan", title="Q1 ASV scan", performed_on="2026-02-20",
                      next_due_on="2026-05-20", report_received_on="", cost="",
                      currency="")
    assert registers.control_external_validation().status == "pass"
    finding = registers.finding_save(validation_id=asv.id, actor=JOB, data={
        "title": "Open admin port", "severity": "critical", "due_on": "2026-03-01"})
    result = registers.control_external_validation()
    assert result.status == "fail"
    assert "Open admin port" in result.evidence
    registers.finding_save(validation_id=asv.id, actor=JOB, finding_id=finding.id, data={
        "title": "Open admin port", "severity": "critical", "status": "remediated",
        "due_on": "2026-03-01", "closed_on": "2026-03-02"})
    assert registers.control_external_validation().status == "pass"
    with time_machine.travel("2026-05-24T12:00:00Z", tick=False):  # ASV older than 92 days
        result = registers.control_external_validation()
    assert result.status == "fail"
    assert "older than 92 days" in result.evidence


def test_vendor_register_overdue_review_and_the_vendor_control():
    assert registers.control_vendor_reviews().status == "not_applicable"
    v = _vendor()
    assert v.data_categories == ("user.contact.email", "user.name")
    assert not v.review_overdue
    assert registers.control_vendor_reviews().status == "pass"
    _vendor(name="Analytics Co", data_categories=["user.device.ip_address"], dpa_signed_on="",
            risk_tier="medium", review_due_on="2026-12-01")
    result = registers.control_vendor_reviews()
    assert result.status == "fail"
    assert "no DPA: Analytics Co" in result.evidence
    _vendor(name="Courier", data_categories=[], dpa_signed_on="", risk_tier="low",
            review_due_on="2026-02-01")
    listed = {x.name: x for x in registers.vendor_list()}
    assert listed["Courier"].review_overdue
    assert not listed["Mailer Inc"].review_overdue
    assert "overdue: Courier (due 2026-02-01)" in registers.control_vendor_reviews().evidence
    assert len(_actions("governance.vendor_added")) == 3


def test_bad_vendor_input_is_refused_and_changes_nothing():
    v = _vendor()
    for over, reason in [({"data_categories": ["user.secret_sauce"]}, "Unknown data categor"),
                         ({"risk_tier": "extreme"}, "Risk tier"),
                         ({"review_due_on": ""}, "required"),
                         ({"contract_start": "2026-05-01", "contract_end": "2026-01-01"},
                          "end before"),
                         ({"dpa_signed_on": "2027-01-01"}, "future")]:
        with pytest.raises(registers.RegisterRefused, match=reason):
            registers.vendor_save(data={"name": "Mailer Inc", "services": "x",
                                        "data_categories": [], "risk_tier": "low",
                                        "review_due_on": "2026-07-01", **over},
                                  actor=JOB, vendor_id=v.id)
    with pytest.raises(registers.RegisterRefused, match="already exists"):
        _vendor()
    assert Vendor.objects.count() == 1
    assert registers.vendor_get(vendor_id=v.id).risk_tier == "high"


def test_vendor_evidence_link_or_file():
    v = _vendor()
    link = registers.vendor_evidence_add(vendor_id=v.id, actor=JOB,
                                         url="https://trust.example.com/soc2", note="SOC 2")
    assert link.url == "https://trust.example.com/soc2"
    assert link.file is None
    f = registers.vendor_evidence_add(vendor_id=v.id, actor=JOB, content=b"review notes\n",
                                      file_name="review.txt")
    assert f.file is not None
    assert f.file.size == 13
    for kwargs, reason in [({"url": "javascript:alert(1)"}, "http"),
                           ({}, "either a link or a file"),
                           ({"url": "https://x.example", "content": b"a"}, "either")]:
        with pytest.raises(registers.RegisterRefused, match=reason):
            registers.vendor_evidence_add(vendor_id=v.id, actor=JOB, **kwargs)
    assert VendorEvidence.objects.count() == 2


def test_register_pages_are_permissioned_and_forms_refuse_bad_input():
    agent = signed_in_client(make_user(roles=("agent",)))
    auditor = signed_in_client(make_user(roles=("auditor",)))
    manager = signed_in_client(make_user(roles=("compliance_manager",)))
    for url in ("/governance/validations/", "/governance/vendors/", "/governance/calendar/"):
        assert agent.get(url).status_code == 403
        assert auditor.get(url).status_code == 200
    assert auditor.get("/governance/validations/add/").status_code == 403
    assert auditor.post("/governance/vendors/add/", {"name": "x"}).status_code == 403
    bad = manager.post("/governance/validations/add/", {
        "kind": "pentest", "title": "T", "provider": "P", "scope": "S",
        "performed_on": "not a date"})
    assert bad.status_code == 400
    assert b"Nothing stored" in bad.content
    assert ExternalValidation.objects.count() == 0
    ok = manager.post("/governance/validations/add/", {
        "kind": "audit", "title": "SOC 2 Type II", "provider": "Auditors LLP",
        "scope": "Security and availability", "performed_on": "2026-01-15",
        "next_due_on": "2027-01-15", "cost": "42000", "currency": "USD"})
    assert ok.status_code == 302
    vid = ExternalValidation.objects.get().id
    page = auditor.get(f"/governance/validations/{vid}/")
    assert b"SOC 2 Type II" in page.content
    assert b"No findings recorded." in page.content
    bad_finding = manager.post(f"/governance/validations/{vid}/findings/",
                               {"title": "x", "severity": "nope"})
    assert bad_finding.status_code == 400
    assert manager.post(f"/governance/validations/{vid}/findings/",
                        {"title": "MFA gap", "severity": "high",
                         "due_on": "2026-04-01"}).status_code == 302
    assert ValidationFinding.objects.get().title == "MFA gap"
    assert manager.get("/governance/validations/999/").status_code == 404
    vendor_bad = manager.post("/governance/vendors/add/", {
        "name": "V", "services": "S", "risk_tier": "low", "review_due_on": "",
        "data_categories": ["user.name"]})
    assert vendor_bad.status_code == 400
    assert Vendor.objects.count() == 0
    vendor_ok = manager.post("/governance/vendors/add/", {
        "name": "Hosting Co", "services": "Servers", "risk_tier": "critical",
        "review_due_on": "2026-09-01", "data_categories": ["user.name", "user.contact.email"],
        "dpa_signed_on": "2025-01-01"})
    assert vendor_ok.status_code == 302
    vendor_id = Vendor.objects.get().id
    upload = io.BytesIO(b"%PDF-1.4\n%%EOF\n")
    upload.name = "dpa.pdf"
    assert manager.post(f"/governance/vendors/{vendor_id}/evidence/",
                        {"file": upload, "note": "Signed DPA"}).status_code == 302
    detail = auditor.get(f"/governance/vendors/{vendor_id}/")
    assert b"dpa.pdf" in detail.content
    assert b"user.contact.email" in detail.content
    edit = manager.post(f"/governance/vendors/{vendor_id}/edit/", {
        "name": "Hosting Co", "services": "Servers", "risk_tier": "critical",
        "review_due_on": "2026-01-01", "data_categories": ["user.name"]})
    assert edit.status_code == 302
    listing = auditor.get("/governance/vendors/")
    assert b"overdue" in listing.content


@pytest.mark.parametrize(("name", "value", "check_id"), [
    ("SAFEGUARD_ATTESTATION_DEFAULT_CADENCE_DAYS", 0, "safeguard.E550"),
    ("SAFEGUARD_GOVERNANCE_EVIDENCE_MAX_BYTES", 51 * 1024 * 1024, "safeguard.E551"),
    ("SAFEGUARD_GOVERNANCE_EVIDENCE_MAX_BYTES", 0, "safeguard.E551"),
    ("SAFEGUARD_PENTEST_MAX_DAYS", 0, "safeguard.E552"),
    ("SAFEGUARD_ASV_SCAN_MAX_DAYS", -1, "safeguard.E552"),
    ("SAFEGUARD_CALENDAR_HORIZON_DAYS", 0, "safeguard.E553"),
    ("SAFEGUARD_CALENDAR_HORIZON_DAYS", 4000, "safeguard.E553"),
])
def test_bad_register_settings_fail_the_system_check(settings, name, value, check_id):
    from safeguard.governance import checks

    assert checks.register_settings() == []
    setattr(settings, name, value)
    assert [e.id for e in checks.register_settings()] == [check_id]

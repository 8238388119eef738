"""The certification register (decision 0249; R-REG-1, R-MEAS-3, R-MEAS-5): CRUD behind the
register permissions, bad input is a 400 that changes nothing, every write is audited, the
``governance.certifications`` provider returns only published, current certifications, the
public trust page (HTML and signed JSON) shows exactly those with their dates, and the compliance
calendar carries every expiry."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
import time_machine

from safeguard.audit.contracts import Actor
from safeguard.audit.models import Event, QueuedEntry
from safeguard.governance import calendar as compliance_calendar
from safeguard.governance import certifications, registers
from safeguard.governance.models import Certification, ExternalValidation
from safeguard.metrics import trust
from safeguard.web import providers
from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db
D0 = date(2026, 3, 2)
JOB = Actor.system("tests")


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path):
    settings.SAFEGUARD_GOVERNANCE_EVIDENCE_DIR = tmp_path / "evidence"
    settings.SAFEGUARD_TRUST_MAX_AGE_SECONDS = 0
    settings.SAFEGUARD_CALENDAR_HORIZON_DAYS = 400
    trust.reset()
    with time_machine.travel(D0.isoformat() + "T12:00:00Z", tick=False):
        yield
    trust.reset()


def _actions(name: str) -> list[dict]:
    rows = list(Event.objects.filter(action=name).values_list("data", flat=True))
    rows += list(QueuedEntry.objects.filter(action=name).values_list("data", flat=True))
    return rows


def _cert(**over):
    data = {"name": "ISO/IEC 27001:2022", "framework_id": "iso27001",
            "issuer": "Example Certification Body", "reference": "IS 765432",
            "scope": "Customer-service platform and its operations", "issued_on": "2025-05-01",
            "expires_on": "2028-04-30", "published": True}
    data.update(over)
    return certifications.certification_save(data=data, actor=JOB)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_provider_returns_only_published_current_certifications_exactly():
    assert providers.get("governance.certifications") is certifications.public_certifications
    current = _cert()
    _cert(name="PCI DSS 4.0.1 AOC", framework_id="pci_dss", issuer="QSA Co",
          issued_on="2025-03-01", expires_on="2026-03-01")  # expired yesterday
    _cert(name="SOC 2 Type II", framework_id="soc2", published=False)  # not published
    withdrawn = _cert(name="HIPAA attestation", framework_id="hipaa")
    certifications.certification_withdraw(certification_id=withdrawn.id,
                                           withdrawn_on="2026-02-01", reason="Scope dropped",
                                           actor=JOB)
    _cert(name="Last day", framework_id="", issued_on="2025-03-02", expires_on="2026-03-02")
    assert certifications.public_certifications() == [
        {"name": "ISO/IEC 27001:2022", "issued_on": date(2025, 5, 1),
         "expires_on": date(2028, 4, 30)},
        {"name": "Last day", "issued_on": date(2025, 3, 2), "expires_on": date(2026, 3, 2)},
    ]
    # the next day the one expiring on D0 is gone: an expired certificate never shows as held
    assert [c["name"] for c in certifications.public_certifications(today=date(2026, 3, 3))] \
        == ["ISO/IEC 27001:2022"]
    states = {c.name: (c.state, c.shown_publicly) for c in certifications.certification_list()}
    assert states == {"ISO/IEC 27001:2022": ("current", True),
                      "PCI DSS 4.0.1 AOC": ("expired", False),
                      "SOC 2 Type II": ("current", False),
                      "HIPAA attestation": ("withdrawn", False),
                      "Last day": ("current", True)}
    assert current.framework_name  # the library's name of iso27001


def test_writes_are_audited_and_bad_input_changes_nothing():
    c = _cert()
    assert _actions("governance.certification_added")[0]["name"] == "ISO/IEC 27001:2022"
    assert _actions("governance.certification_added")[0]["expires_on"] == "2028-04-30"
    for over, reason in [({"name": ""}, "Name is required"),
                         ({"issuer": " "}, "Certifying body or assessor is required"),
                         ({"issued_on": "2026-13-01"}, "Issued on must be a date"),
                         ({"expires_on": ""}, "Expires on is required"),
                         ({"expires_on": "2025-05-01"}, "Expires on must be after issued on"),
                         ({"expires_on": "2024-01-01"}, "Expires on must be after issued on"),
                         ({"issued_on": "2026-03-03"}, "cannot be in the future"),
                         ({"framework_id": "nist"}, "Framework must be one of"),
                         ({"validation_id": "999"}, "does not exist"),
                         ({"validation_id": "x"}, "does not exist"),
                         ({"evidence_url": "ftp://x"}, "http"),
                         ({"published": "maybe"}, "Published must be")]:
        with pytest.raises(registers.RegisterRefused, match=reason):
            _cert(**over)
        with pytest.raises(registers.RegisterRefused, match=reason):
            certifications.certification_save(
                data={"name": "ISO/IEC 27001:2022", "framework_id": "iso27001",
                      "issuer": "Example Certification Body", "scope": "S",
                      "issued_on": "2025-05-01", "expires_on": "2028-04-30", **over},
                actor=JOB, certification_id=c.id)
    assert Certification.objects.count() == 1
    row = Certification.objects.get()
    assert (row.issued_on, row.expires_on, row.issuer) == (
        date(2025, 5, 1), date(2028, 4, 30), "Example Certification Body")
    assert len(_actions("governance.certification_updated")) == 0
    validation = registers.validation_save(data={
        "kind": "audit", "title": "ISO surveillance audit", "provider": "Example CB",
        "scope": "ISMS", "performed_on": "2026-01-20"}, actor=JOB)
    updated = certifications.certification_save(data={
        "name": "ISO/IEC 27001:2022", "framework_id": "iso27001", "issuer": "Other CB",
        "scope": "S", "issued_on": "2025-05-01", "expires_on": "2028-04-30",
        "published": "on", "validation_id": str(validation.id),
        "evidence_url": "https://certs.example.com/is-765432"}, actor=JOB, certification_id=c.id)
    assert (updated.issuer, updated.validation_id, updated.validation_title) == (
        "Other CB", validation.id, "ISO surveillance audit")
    assert _actions("governance.certification_updated")[0]["validation"] == validation.id
    # withdrawal: checked, audited, once; a withdrawn entry is no longer editable
    for when, reason, why in [("", "x", "Withdrawn on is required"),
                              ("2026-03-03", "x", "cannot be in the future"),
                              ("2025-01-01", "x", "cannot precede"),
                              ("2026-02-01", "", "Reason is required")]:
        with pytest.raises(registers.RegisterRefused, match=why):
            certifications.certification_withdraw(certification_id=c.id, withdrawn_on=when,
                                                   reason=reason, actor=JOB)
    assert Certification.objects.get().withdrawn_on is None
    gone = certifications.certification_withdraw(certification_id=c.id,
                                                  withdrawn_on="2026-02-01",
                                                  reason="Suspended by the body", actor=JOB)
    assert (gone.state, gone.withdrawn_reason) == ("withdrawn", "Suspended by the body")
    assert _actions("governance.certification_withdrawn")[0]["withdrawn_on"] == "2026-02-01"
    with pytest.raises(registers.RegisterRefused, match="Already withdrawn"):
        certifications.certification_withdraw(certification_id=c.id, withdrawn_on="2026-02-02",
                                               reason="again", actor=JOB)
    with pytest.raises(registers.RegisterRefused, match="cannot be edited"):
        certifications.certification_save(
            data={"name": "N", "issuer": "I", "scope": "S", "issued_on": "2025-05-01",
                  "expires_on": "2028-04-30"}, actor=JOB, certification_id=c.id)
    with pytest.raises(registers.RegisterNotFound):
        certifications.certification_get(certification_id=999)


def test_pages_are_permissioned_and_forms_refuse_bad_input():
    agent = signed_in_client(make_user(roles=("agent",)))
    auditor = signed_in_client(make_user(roles=("auditor",)))
    manager = signed_in_client(make_user(roles=("compliance_manager",)))
    assert agent.get("/governance/certifications/").status_code == 403
    assert auditor.get("/governance/certifications/").status_code == 200
    assert auditor.get("/governance/certifications/add/").status_code == 403
    assert auditor.post("/governance/certifications/add/", {"name": "x"}).status_code == 403
    assert manager.get("/governance/certifications/add/").status_code == 200
    form = {"name": "SOC 2 Type II", "framework_id": "soc2", "issuer": "Auditors LLP",
            "reference": "R-2025-7", "scope": "Security and availability",
            "issued_on": "2025-09-01", "expires_on": "2025-08-31", "published": "on"}
    bad = manager.post("/governance/certifications/add/", form)
    assert bad.status_code == 400
    assert b"Nothing stored - Expires on must be after issued on." in bad.content
    assert Certification.objects.count() == 0
    ok = manager.post("/governance/certifications/add/", {**form, "expires_on": "2026-08-31"})
    assert ok.status_code == 302
    cid = Certification.objects.get().id
    page = auditor.get(f"/governance/certifications/{cid}/")
    text = _text(page.content.decode())
    assert "Issued 2025-09-01" in text
    assert "Expires 2026-08-31" in text
    assert "Public trust page shown" in text
    assert b"Withdraw" not in page.content  # the auditor cannot manage
    edit_form = manager.get(f"/governance/certifications/{cid}/edit/").content.decode()
    assert 'value="2026-08-31"' in edit_form
    assert '<option value="soc2" selected>' in edit_form
    assert 'id="c-pub" name="published" checked' in edit_form
    edit_bad = manager.post(f"/governance/certifications/{cid}/edit/", {**form, "name": ""})
    assert edit_bad.status_code == 400
    assert Certification.objects.get().name == "SOC 2 Type II"
    # unchecked "published" box: no longer published
    assert manager.post(f"/governance/certifications/{cid}/edit/",
                        {k: v for k, v in {**form, "expires_on": "2026-08-31"}.items()
                         if k != "published"}).status_code == 302
    assert Certification.objects.get().published is False
    upload = io.BytesIO(b"%PDF-1.4\n%%EOF\n")
    upload.name = "soc2-report.pdf"
    assert manager.post(f"/governance/certifications/{cid}/evidence/",
                        {"file": upload}).status_code == 302
    assert b"soc2-report.pdf" in auditor.get(f"/governance/certifications/{cid}/").content
    assert _actions("governance.certification_evidence_added")[0]["sha256"]
    empty = manager.post(f"/governance/certifications/{cid}/evidence/", {})
    assert empty.status_code == 400
    bad_wd = manager.post(f"/governance/certifications/{cid}/withdraw/",
                          {"withdrawn_on": "2026-03-01", "reason": ""})
    assert bad_wd.status_code == 400
    assert Certification.objects.get().withdrawn_on is None
    assert manager.post(f"/governance/certifications/{cid}/withdraw/",
                        {"withdrawn_on": "2026-03-01", "reason": "Report superseded"}
                        ).status_code == 302
    assert auditor.post(f"/governance/certifications/{cid}/withdraw/",
                        {"withdrawn_on": "2026-03-01", "reason": "x"}).status_code == 403
    assert Certification.objects.get().withdrawn_on == date(2026, 3, 1)
    assert manager.get("/governance/certifications/999/").status_code == 404
    listing = _text(auditor.get("/governance/certifications/").content.decode())
    assert "SOC 2 Type II Auditors LLP 2025-09-01 2026-08-31 withdrawn not published" in listing


def test_trust_page_and_signed_json_list_only_published_current_certifications(client):
    _cert()  # published, current
    _cert(name="PCI DSS 4.0.1 AOC", framework_id="pci_dss", issuer="QSA Co",
          issued_on="2025-02-01", expires_on="2026-02-28")  # expired
    _cert(name="SOC 2 Type II", framework_id="soc2")  # to be withdrawn
    _cert(name="Draft HIPAA attestation", framework_id="hipaa", published=False)
    soc2 = Certification.objects.get(name="SOC 2 Type II")
    certifications.certification_withdraw(certification_id=soc2.id, withdrawn_on="2026-03-01",
                                           reason="Lapsed", actor=JOB)
    html = client.get("/trust/").content.decode()
    section = re.search(r'<section class="panel" id="certifications">(.*?)</section>', html,
                        re.S).group(1)
    text = _text(section)
    assert "ISO/IEC 27001:2022: issued 2025-05-01, expires 2028-04-30" in text
    for absent in ("PCI DSS", "SOC 2", "HIPAA"):
        assert absent not in text
    doc = client.get("/trust.json").json()["document"]
    assert doc["certifications"] == {
        "status": "available", "source": "governance.certifications",
        "items": [{"name": "ISO/IEC 27001:2022", "issued_on": "2025-05-01",
                   "expires_on": "2028-04-30"}]}


def test_customer_summary_lists_the_published_current_certification():
    _cert()
    _cert(name="SOC 2 Type II", framework_id="soc2", published=False)
    client = signed_in_client(make_user(roles=("compliance_manager",)))
    html = client.get("/metrics/customer-summary/").content.decode()
    section = _text(re.search(r'id="certifications">(.*?)</section>', html, re.S).group(1))
    assert "ISO/IEC 27001:2022, issued 2025-05-01, valid until 2028-04-30" in section
    assert "SOC 2" not in section


def test_trust_page_says_none_when_the_register_holds_no_current_certification(client):
    _cert(published=False)
    doc = client.get("/trust.json").json()["document"]
    assert doc["certifications"]["status"] == "available"
    assert doc["certifications"]["items"] == []


def test_calendar_carries_every_expiry_but_withdrawn_ones():
    iso = _cert()
    pci = _cert(name="PCI DSS 4.0.1 AOC", framework_id="pci_dss", issuer="QSA Co",
                issued_on="2025-03-10", expires_on="2026-03-09")
    gone = _cert(name="SOC 2 Type II", framework_id="soc2", expires_on="2026-06-30")
    certifications.certification_withdraw(certification_id=gone.id, withdrawn_on="2026-03-01",
                                           reason="Lapsed", actor=JOB)
    late = _cert(name="Old AOC", framework_id="pci_dss", issued_on="2024-01-01",
                 expires_on="2025-01-01")
    cal = compliance_calendar.calendar()
    events = {e.title: e for e in cal.events if e.kind == "certification_expiry"}
    assert set(events) == {"Certification expires: PCI DSS 4.0.1 AOC (QSA Co)",
                           "Certification expires: Old AOC (Example Certification Body)"}
    e = events["Certification expires: PCI DSS 4.0.1 AOC (QSA Co)"]
    assert (e.due, e.overdue, e.url) == (date(2026, 3, 9), False,
                                         f"/governance/certifications/{pci.id}/")
    assert events["Certification expires: Old AOC (Example Certification Body)"].overdue is True
    assert e.uid == f"certification-expiry-{pci.id}@safeguard.calendar"
    # ISO expires 2028-04-30, beyond the horizon (2027-04-06): not in the feed, but in the
    # page's certification section below
    body = compliance_calendar.ics(cal, base_url="https://sg.example/").decode()
    assert "Certification expires: PCI DSS 4.0.1 AOC" in body
    page = signed_in_client(make_user(roles=("auditor",))).get("/governance/calendar/")
    text = _text(page.content.decode())
    assert "2028-04-30 ISO/IEC 27001:2022 current shown" in text
    assert "2025-01-01 Old AOC expired not shown" in text
    assert "SOC 2 Type II" not in text
    assert {iso.id, late.id, gone.id} <= set(Certification.objects.values_list("id", flat=True))


def test_a_certification_links_its_external_validation():
    v = registers.validation_save(data={
        "kind": "audit", "title": "PCI assessment", "provider": "QSA Co", "scope": "CDE",
        "performed_on": "2026-01-20"}, actor=JOB)
    c = _cert(name="PCI DSS 4.0.1 AOC", framework_id="pci_dss", validation_id=v.id)
    assert c.validation_title == "PCI assessment"
    assert ExternalValidation.objects.get().certifications.count() == 1

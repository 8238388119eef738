"""The regulator notice PDF (GDPR Art. 33(3), R-IR-6): the right contents, no card number,
reasons required when late, bad input gives no PDF and records nothing."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from pypdf import PdfReader

from safeguard.accounts import services as accounts
from safeguard.audit import selectors as audit
from safeguard.audit.contracts import Actor
from safeguard.incidents import services
from safeguard.incidents.contracts import IncidentError
from tests.factories import SYSTEM, make_user, signed_in_client

pytestmark = pytest.mark.django_db

ANALYST = Actor(kind="user", id="1", label="analyst@example.test")


def _text(pdf: bytes) -> str:
    return " ".join(" ".join((p.extract_text() or "").split())
                    for p in PdfReader(io.BytesIO(pdf)).pages)


def test_notice_has_the_art_33_contents_and_no_card_number() -> None:
    accounts.organisation_update(actor=SYSTEM, name="Example Ltd", dpo_name="Dana Officer",
                                 dpo_email="dpo@example.test", security_hotline="+44 20 7946 0000",
                                 security_email="security@example.test")
    view = services.incident_open(actor=ANALYST, title="Stolen laptop", severity="sev2",
                                  category="data_breach", jurisdictions=["EU-GDPR"],
                                  aware_at=timezone.now() - timedelta(hours=5))
    pdf = services.regulator_notice_render(
        actor=ANALYST, incident_id=view.id, jurisdiction="EU-GDPR", approx_subjects=1200,
        approx_records=3400, data_categories="names, e-mail addresses",
        likely_consequences="Phishing risk; card 4111 1111 1111 1111 was never exposed")
    assert pdf.startswith(b"%PDF")
    text = _text(pdf)
    for expected in ("Lead supervisory authority", "GDPR Art. 33(1)", "Stolen laptop",
                     "1200", "3400", "names, e-mail addresses", "Dana Officer",
                     "dpo@example.test", "Phishing risk"):
        assert expected in text
    assert "4111111111111111" not in text.replace(" ", "")
    assert "Reasons for the delay" not in text
    event = audit.event_list(action="incident.notice_rendered")[0]
    assert event.data["jurisdiction"] == "EU-GDPR"
    assert event.data["late"] is False


def test_a_late_notice_needs_reasons_and_bad_input_records_nothing() -> None:
    view = services.incident_open(actor=ANALYST, title="Old breach", severity="sev2",
                                  category="data_breach", jurisdictions=["EU-GDPR"],
                                  aware_at=timezone.now() - timedelta(days=5))
    before = audit.last_seq()
    with pytest.raises(IncidentError, match="Delay reasons is required"):
        services.regulator_notice_render(
            actor=ANALYST, incident_id=view.id, jurisdiction="EU-GDPR", approx_subjects=1,
            approx_records=1, data_categories="e-mail", likely_consequences="low")
    with pytest.raises(IncidentError, match="not among"):
        services.regulator_notice_render(
            actor=ANALYST, incident_id=view.id, jurisdiction="US-TX", approx_subjects=1,
            approx_records=1, data_categories="e-mail", likely_consequences="low")
    assert audit.last_seq() == before
    pdf = services.regulator_notice_render(
        actor=ANALYST, incident_id=view.id, jurisdiction="EU-GDPR", approx_subjects=1,
        approx_records=1, data_categories="e-mail", likely_consequences="low",
        delay_reasons="Forensic scoping took four days")
    assert "Forensic scoping took four days" in _text(pdf)


def test_the_page_serves_the_pdf_and_refuses_bad_input() -> None:
    analyst = make_user(roles=("security_analyst",))
    client = signed_in_client(analyst)
    view = services.incident_open(actor=ANALYST, title="Vendor leak", severity="sev3",
                                  category="vendor", jurisdictions=["UK-GDPR"],
                                  aware_at=timezone.now() - timedelta(hours=1))
    form = {"jurisdiction": "UK-GDPR", "approx_subjects": "10", "approx_records": "10",
            "data_categories": "names", "likely_consequences": "low"}
    ok = client.post(f"/incidents/{view.id}/notice.pdf", form)
    assert ok.status_code == 200
    assert ok["Content-Type"] == "application/pdf"
    assert "Information Commissioner" in _text(ok.content)
    bad = client.post(f"/incidents/{view.id}/notice.pdf", {**form, "approx_subjects": "-3"})
    assert bad.status_code == 302
    assert len(audit.event_list(action="incident.notice_rendered")) == 1

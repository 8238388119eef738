"""The compliance calendar (R-REG-2, R-OPS-7, R-OPS-11, decision 0248): its entries are computed
from live state (registers, manual controls, vulnerabilities, restore drills, key ages,
``calendar.*`` providers); the iCalendar export parses with the icalendar library, has stable
UIDs, DTSTAMP and all-day events; the feed is permissioned."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from icalendar import Calendar as ICalendar

from safeguard.audit.contracts import Actor
from safeguard.audit.models import Event, QueuedEntry
from safeguard.governance import calendar, registers
from safeguard.governance.models import RestoreDrill, Vulnerability
from safeguard.protection import keyring
from safeguard.web import providers
from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
JOB = Actor.system("tests")


@pytest.fixture(autouse=True)
def _clock(settings, tmp_path):
    settings.SAFEGUARD_GOVERNANCE_EVIDENCE_DIR = tmp_path / "evidence"
    with time_machine.travel(NOW, tick=False):
        yield


def _by_uid(cal: calendar.Calendar) -> dict[str, calendar.CalendarEvent]:
    return {e.uid: e for e in cal.events}


def _live_state() -> dict[str, int]:
    v = registers.validation_save(actor=JOB, data={
        "kind": "pentest", "title": "Annual test", "provider": "Sec Ltd", "scope": "Web",
        "performed_on": "2025-03-10", "next_due_on": "2026-03-10"})
    registers.finding_save(validation_id=v.id, actor=JOB, data={
        "title": "IDOR on export", "severity": "high", "due_on": "2026-02-20"})
    vendor = registers.vendor_save(actor=JOB, data={
        "name": "Mailer Inc", "services": "E-mail", "data_categories": ["user.name"],
        "risk_tier": "high", "review_due_on": "2026-04-15", "contract_end": "2026-12-31"})
    vuln = Vulnerability.objects.create(
        scanner="pip-audit", vuln_id="PYSEC-2026-1", package="django", source="self",
        severity="high", first_seen=NOW - timedelta(days=3), last_seen=NOW,
        due_at=NOW + timedelta(days=27))
    RestoreDrill.objects.create(backup_ref="b" * 36, path="scratch.sqlite3", started_at=NOW,
                                finished_at=NOW - timedelta(days=10), seconds=1.0,
                                outcome="verified", triggered_by="tests")
    return {"validation": v.id, "vendor": vendor.id, "vuln": vuln.id}


def test_the_calendar_is_computed_from_live_state():
    ids = _live_state()
    cal = calendar.calendar()
    events = _by_uid(cal)
    dom = calendar.UID_DOMAIN
    test = events[f"validation-{ids['validation']}@{dom}"]
    assert (test.due, test.kind, test.overdue) == (date(2026, 3, 10), "external_validation",
                                                  False)
    finding = next(e for e in cal.events if e.kind == "finding_remediation")
    assert finding.due == date(2026, 2, 20)
    assert finding.overdue
    assert events[f"vendor-review-{ids['vendor']}@{dom}"].due == date(2026, 4, 15)
    assert events[f"vendor-contract-end-{ids['vendor']}@{dom}"].due == date(2026, 12, 31)
    vuln = events[f"vulnerability-{ids['vuln']}@{dom}"]
    assert vuln.due == TODAY + timedelta(days=27)
    assert "PYSEC-2026-1" in vuln.title
    drill = events[f"restore-drill-next@{dom}"]
    assert drill.due == TODAY - timedelta(days=10) + timedelta(days=90)
    never = events[f"attestation-SG-PH-01@{dom}"]
    assert never.due == TODAY
    assert "never attested" in never.title
    # the incidents app offers its exercise dates through calendar.incident_exercises
    exercises = [e for e in cal.events if e.source == "calendar.incident_exercises"]
    assert exercises
    assert all(e.due == TODAY for e in exercises)
    assert [e.due for e in cal.events] == sorted(e.due for e in cal.events)
    # keys not initialised in this test: said, not silently left out
    assert any("Key rotations" in n for n in cal.notes)
    # live: fixing the finding and moving the review changes the calendar at once
    finding_id = registers.validation_get(validation_id=ids["validation"]).findings[0].id
    registers.finding_save(validation_id=ids["validation"], finding_id=finding_id, actor=JOB,
                           data={"title": "IDOR on export", "severity": "high",
                                 "status": "remediated", "due_on": "2026-02-20",
                                 "closed_on": "2026-03-01"})
    registers.vendor_save(vendor_id=ids["vendor"], actor=JOB, data={
        "name": "Mailer Inc", "services": "E-mail", "data_categories": ["user.name"],
        "risk_tier": "high", "review_due_on": "2026-05-01"})
    again = _by_uid(calendar.calendar())
    assert not [e for e in again.values() if e.kind == "finding_remediation"]
    assert again[f"vendor-review-{ids['vendor']}@{dom}"].due == date(2026, 5, 1)
    assert f"vendor-contract-end-{ids['vendor']}@{dom}" not in again


def test_key_rotation_dates_follow_key_age_and_policy(settings):
    keyring.data_aead()  # the dev provider initialises the keys on first use
    cal = calendar.calendar()
    keys = [e for e in cal.events if e.kind == "key_rotation"]
    assert {e.title.split()[2] for e in keys} == {"data", "fingerprint", "index"}
    assert all(e.due == TODAY + timedelta(days=settings.SAFEGUARD_KEY_ROTATION_DAYS)
               for e in keys)
    settings.SAFEGUARD_CALENDAR_HORIZON_DAYS = 30  # beyond the horizon: not shown
    assert not [e for e in calendar.calendar().events if e.kind == "key_rotation"]


def test_providers_under_calendar_prefix_are_consumed_and_failures_are_named(monkeypatch):
    def good():
        return [{"title": "Quarterly access review", "due": date(2026, 3, 31),
                 "kind": "access_review", "url": "/accounts/reviews/"},
                {"title": "", "due": "soon", "kind": "x", "url": ""}]

    def broken():
        raise RuntimeError("source down")

    monkeypatch.setitem(providers._providers, "calendar.tests_reviews", good)
    monkeypatch.setitem(providers._providers, "calendar.tests_broken", broken)
    cal = calendar.calendar()
    review = next(e for e in cal.events if e.kind == "access_review")
    assert (review.due, review.url, review.source) == (date(2026, 3, 31), "/accounts/reviews/",
                                                       "calendar.tests_reviews")
    assert "calendar.tests_reviews: 1 item(s) left out (need title, due date, kind, url)." \
        in cal.notes
    assert "calendar.tests_broken: unavailable (RuntimeError)." in cal.notes
    assert review.uid == next(e for e in calendar.calendar().events
                              if e.kind == "access_review").uid


def test_the_ics_export_parses_with_stable_uids_and_all_day_events():
    ids = _live_state()
    manager = signed_in_client(make_user(roles=("compliance_manager",)))
    response = manager.get("/governance/calendar.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    parsed = ICalendar.from_ical(response.content)
    assert str(parsed["VERSION"]) == "2.0"
    assert "Safeguard" in str(parsed["PRODID"])
    events = {str(ev["UID"]): ev for ev in parsed.walk("VEVENT")}
    expected = calendar.calendar()
    assert set(events) == {e.uid for e in expected.events}
    test = events[f"validation-{ids['validation']}@{calendar.UID_DOMAIN}"]
    start = test.decoded("DTSTART")
    assert type(start) is date
    assert start == date(2026, 3, 10)
    assert test.decoded("DTEND") == date(2026, 3, 11)
    assert test.decoded("DTSTAMP") == NOW
    assert str(test["SUMMARY"]) == "Penetration test due: Annual test"
    assert str(test["URL"]) == f"http://testserver/governance/validations/{ids['validation']}/"
    overdue = next(ev for ev in events.values() if "IDOR" in str(ev["SUMMARY"]))
    assert str(overdue["SUMMARY"]).startswith("OVERDUE: ")
    # a second export later: same UIDs, a new DTSTAMP
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):  # within the session
        later = ICalendar.from_ical(manager.get("/governance/calendar.ics").content)
    assert {str(ev["UID"]) for ev in later.walk("VEVENT")} == set(events)
    stamps = {ev.decoded("DTSTAMP") for ev in later.walk("VEVENT")}
    assert stamps == {NOW + timedelta(minutes=5)}
    exported = list(Event.objects.filter(action="governance.calendar_exported")
                    .values_list("data", flat=True))
    exported += list(QueuedEntry.objects.filter(action="governance.calendar_exported")
                     .values_list("data", flat=True))
    assert exported[0] == {"format": "ics", "events": len(expected.events)}


def test_the_feed_and_page_are_permissioned():
    assert Client().get("/governance/calendar.ics").status_code == 302  # to sign-in
    agent = signed_in_client(make_user(roles=("agent",)))
    assert agent.get("/governance/calendar.ics").status_code == 403
    assert agent.get("/governance/calendar/").status_code == 403
    auditor = signed_in_client(make_user(roles=("auditor",)))
    page = auditor.get("/governance/calendar/")
    assert page.status_code == 200
    assert b"Restore drill due" in page.content
    assert auditor.get("/governance/calendar.ics").status_code == 200


def test_the_siem_client_certificate_expiry_is_on_the_calendar(settings, tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "safeguard-siem-client")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(4242)
            .not_valid_before(NOW - timedelta(days=300))
            .not_valid_after(NOW + timedelta(days=65)).sign(key, hashes.SHA256()))
    path = tmp_path / "client.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    settings.SAFEGUARD_SIEM_TLS_CERT = str(path)
    event = next(e for e in calendar.calendar().events if e.kind == "certificate_expiry")
    assert event.due == TODAY + timedelta(days=65)
    assert "CN=safeguard-siem-client" in event.title
    settings.SAFEGUARD_SIEM_TLS_CERT = str(tmp_path / "missing.pem")
    cal = calendar.calendar()
    assert not [e for e in cal.events if e.kind == "certificate_expiry"]
    assert any(n.startswith("SIEM client certificate: cannot read") for n in cal.notes)

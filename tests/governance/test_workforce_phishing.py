"""Phishing simulations imported from GoPhish (issue 13 section 3; R-KPI-7, R-WORK-2; decision
0244): the sample "Export CSV" and API JSON files import with the right click and report rates per
campaign and per team; recipients are matched to staff by e-mail and the rest listed; a bad file is
refused with the line (or JSON path) and reason and nothing of it is stored; the KPI provider
equals an independent count made from the files here."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from safeguard.audit.contracts import Actor
from safeguard.audit.models import Event
from safeguard.cases.contracts import Period
from safeguard.governance import gophish, phishing, workforce
from safeguard.governance.gophish import ResultsRefused
from safeguard.governance.models import PhishingCampaign, PhishingRecipient
from safeguard.metrics import kpis
from safeguard.web import providers
from tests.factories import make_user, signed_in_client

DATA = Path(__file__).parent / "data"
CSV_FILE = DATA / "gophish-february-invoice.csv"
JSON_FILE = DATA / "gophish-campaign-7-results.json"
JOB = Actor.system("tests")


def _staff() -> None:
    """The people of the sample files: 13 agents (team = their role) and 6 team leads whose team
    is recorded as "Tier 2". The two partner.example addresses and old.leaver are no staff."""
    for n in range(1, 14):
        make_user(email=f"agent{n:02d}@example.test", roles=("agent",))
    for n in range(1, 7):
        lead = make_user(email=f"lead{n}@example.test", roles=("supervisor",))
        workforce.staff_team_set(user_id=lead.id, team="Tier 2", actor=JOB)


def _import(path: Path, name: str = "") -> phishing.ImportResult:
    return phishing.import_results(raw=path.read_bytes(), name=name, fallback_name=path.stem,
                                   actor=JOB)


# --- parsing ------------------------------------------------------------------------------------

def test_csv_export_parses_with_gophish_counting():
    parsed = gophish.parse(CSV_FILE.read_bytes())
    assert (parsed.fmt, parsed.name, parsed.gophish_id, len(parsed.recipients)) == (
        "csv", "", None, 21)
    by = {r.email: r for r in parsed.recipients}
    # Submitted Data counts as a click (GoPhish's getCampaignStats); Error was never delivered.
    assert (by["agent02@example.test"].clicked, by["agent02@example.test"].submitted) == (
        True, True)
    assert by["agent13@example.test"].sent_at is None
    assert by["agent01@example.test"].sent_at == datetime(2026, 2, 3, 10, 0, 0, 447712,
                                                          tzinfo=UTC)
    assert sum(r.sent for r in parsed.recipients) == 20
    assert sum(r.clicked for r in parsed.recipients) == 3
    assert sum(r.reported for r in parsed.recipients) == 5


def test_json_results_parse_with_name_id_and_timeline():
    parsed = gophish.parse(JSON_FILE.read_bytes())
    assert (parsed.fmt, parsed.name, parsed.gophish_id, len(parsed.recipients)) == (
        "json", "March password reset", 7, 21)
    assert [r.email for r in parsed.recipients if r.clicked] == ["agent05@example.test"]
    assert sum(r.reported for r in parsed.recipients) == 7


def test_timeline_events_count_as_clicks_and_reports():
    doc = {"id": 3, "name": "t", "results": [
        {"email": "a@example.test", "status": "Email Opened", "reported": False,
         "send_date": "2026-01-05T09:00:00Z"},
        {"email": "b@example.test", "status": "Email Sent", "reported": False,
         "send_date": "2026-01-05T09:00:00.5+01:00"}],
        "timeline": [{"email": "", "message": "Campaign Created"},
                     {"email": "A@example.test", "message": "Submitted Data",
                      "details": "{\"payload\": {\"password\": [\"hunter2\"]}}"},
                     {"email": "b@example.test", "message": "Email Reported"}]}
    parsed = gophish.parse(json.dumps(doc).encode())
    a, b = parsed.recipients
    assert (a.clicked, a.reported, b.clicked, b.reported) == (True, False, False, True)
    assert b.sent_at == datetime(2026, 1, 5, 8, 0, 0, 500000, tzinfo=UTC)
    assert "hunter2" not in repr(parsed)  # event details (form payloads) are never read


HEADER = ("id,email,first_name,last_name,position,status,ip,latitude,longitude,send_date,"
          "reported,modified_date\n")
ROW = ("abc1234,{email},Ana,Okafor,Agent,{status},,0,0,{sent},{reported},"
       "2026-02-03T10:00:00Z\n")


def _row(email="x@example.test", status="Email Sent", sent="2026-02-03T10:00:00Z",
         reported="false"):
    return ROW.format(email=email, status=status, sent=sent, reported=reported)


@pytest.mark.parametrize(("text", "where", "reason"), [
    ("", "line 1", "the file is empty"),
    ("id,email,status,send_date\n" + "a,x@example.test,Email Sent,2026-02-03T10:00:00Z\n",
     "line 1", "no column reported"),
    (HEADER, "line 2", "no recipient rows"),
    (HEADER + _row() + _row(email="y@example.test", status="Clicked"), "line 3",
     "unknown GoPhish status 'Clicked'"),
    (HEADER + _row(email="not-an-address"), "line 2", "not an e-mail address"),
    (HEADER + _row() + _row(), "line 3", "x@example.test appears twice"),
    (HEADER + _row(reported="yes"), "line 2", "reported must be true or false"),
    (HEADER + _row(sent="03/02/2026 10:00"), "line 2", "not an RFC 3339 date-time"),
    (HEADER + _row(sent="0001-01-01T00:00:00Z"), "line 2", "status 'Email Sent' but no send_date"),
    (HEADER + _row() + "abc,y@example.test,Ana\n", "line 3", "3 fields, the header has 12"),
    (HEADER + _row(status="Error", reported="true"), "line 2", "not a delivered e-mail"),
    ('{"id": 7,\n "results": [\n  {"email": }\n]}', "line 3 column 13", "malformed JSON"),
    ('{"id": 7, "results": []}', "$.results", "expected a non-empty list"),
    (('{"results": [{"email": "a@example.test", "status": "Email Sent", "reported": "yes", '
     '"send_date": "2026-02-03T10:00:00Z"}]}'), "$.results[0].reported", "expected true or false"),
    (('{"results": [{"email": "a@example.test", "status": "Email Sent", "reported": false, '
     '"send_date": "2026-02-03T10:00:00Z"}], "timeline": [{"email": "z@example.test", '
     '"message": "Clicked Link"}]}'), "$.timeline[0].email", "not among the results"),
])
def test_bad_files_are_refused_with_where_and_why(text, where, reason):
    with pytest.raises(ResultsRefused) as caught:
        gophish.parse(text.encode())
    assert caught.value.where == where
    assert reason in caught.value.reason


# --- import, rates, teams -----------------------------------------------------------------------

@pytest.mark.django_db
def test_csv_import_computes_campaign_and_team_rates():
    _staff()
    result = _import(CSV_FILE)
    assert (result.name, result.fmt, result.recipients, result.sent, result.clicked,
            result.reported, result.matched, result.replaced) == (
        "gophish-february-invoice", "csv", 21, 20, 3, 5, 19, False)
    assert result.unmatched == ("jo.contractor@partner.example", "old.leaver@example.test")
    (campaign,) = phishing.campaigns()
    r = campaign.rates
    assert (r.sent, r.clicked, r.submitted, r.reported) == (20, 3, 1, 5)
    assert (r.click_rate, r.report_rate) == (0.15, 0.25)
    assert r.meets_target is False  # 15 % is not below the 5 % target
    assert campaign.first_sent_at == datetime(2026, 2, 3, 10, 0, 0, 447712, tzinfo=UTC)
    teams = {t: (x.sent, x.clicked, x.reported) for t, x in
             phishing.team_rates(campaign_id=campaign.id)}
    assert teams == {"agent": (12, 2, 2), "Tier 2": (6, 1, 2)}
    # no IP address, location or name from the file is stored
    stored = list(PhishingRecipient.objects.values_list(flat=False).all())
    assert "203.0.113.10" not in repr(stored)
    assert "Okafor" not in repr(stored)
    assert Event.objects.filter(action="governance.phishing_imported").count() == 1


@pytest.mark.django_db
def test_json_import_meets_the_target_and_reimport_replaces(settings):
    _staff()
    result = _import(JSON_FILE)
    assert (result.name, result.sent, result.clicked, result.reported) == (
        "March password reset", 21, 1, 7)
    campaign = phishing.campaign_get(campaign_id=result.campaign_id)
    assert campaign is not None
    assert campaign.gophish_id == 7
    assert campaign.rates.click_rate == 1 / 21
    assert campaign.rates.meets_target is True  # 4.76 % < 5 %
    settings.SAFEGUARD_KPI_TARGETS = {**settings.SAFEGUARD_KPI_TARGETS,
                                      "phishing_click_rate": {"below": 0.04}}
    assert phishing.campaign_get(campaign_id=result.campaign_id).rates.meets_target is False
    again = _import(JSON_FILE)
    assert again.replaced
    assert again.campaign_id == result.campaign_id
    assert PhishingRecipient.objects.count() == 21
    assert PhishingCampaign.objects.count() == 1
    assert phishing.unmatched(campaign_id=result.campaign_id) == [
        "jo.contractor@partner.example", "temp.help@partner.example"]


@pytest.mark.django_db
def test_a_bad_file_imports_nothing_and_leaves_the_earlier_import(tmp_path):
    _staff()
    first = _import(CSV_FILE)
    before = list(PhishingRecipient.objects.order_by("id").values_list(
        "id", "email", "clicked", "reported"))
    lines = CSV_FILE.read_text().splitlines(keepends=True)
    lines[15] = lines[15].replace("Email Opened", "Opened")  # lead2, line 16
    broken = "".join(lines).encode()
    with pytest.raises(ResultsRefused, match=r"^line 16: unknown GoPhish status .Opened."):
        phishing.import_results(raw=broken, name=first.name, actor=JOB)
    with pytest.raises(ResultsRefused):
        phishing.import_results(raw=broken, name="another", actor=JOB)
    assert list(PhishingRecipient.objects.order_by("id").values_list(
        "id", "email", "clicked", "reported")) == before
    assert list(PhishingCampaign.objects.values_list("name", flat=True)) == [first.name]
    assert Event.objects.filter(action="governance.phishing_imported").count() == 1


@pytest.mark.django_db
def test_import_command_and_its_refusal(tmp_path, capsys):
    _staff()
    call_command("governance", "import-phishing", str(JSON_FILE))
    out = capsys.readouterr().out
    assert ("json results of 'March password reset': 21 recipients, 21 sent, 1 clicked, "
            "7 reported; 19 matched to staff, 2 unmatched") in out
    assert "unmatched: temp.help@partner.example" in out
    broken = tmp_path / "feb.csv"
    broken.write_text(HEADER + _row() + _row(email="y@example.test", reported="maybe"))
    with pytest.raises(CommandError, match=r"refused, nothing imported: line 3: reported must"):
        call_command("governance", "import-phishing", str(broken), "--name", "Feb")
    assert PhishingCampaign.objects.count() == 1


# --- the KPI ------------------------------------------------------------------------------------

def _independent(start: datetime, end: datetime) -> tuple[int, int]:
    """Clicked ÷ sent in [start, end), counted straight from the two sample files."""
    sent = clicked = 0
    rows = list(csv.DictReader(io.StringIO(CSV_FILE.read_text())))
    doc = json.loads(JSON_FILE.read_text())
    clicks_json = {e["email"] for e in doc["timeline"]
                   if e["message"] in ("Clicked Link", "Submitted Data")}
    for status, when, event_click in (
            [(r["status"], r["send_date"], False) for r in rows]
            + [(r["status"], r["send_date"], r["email"] in clicks_json) for r in doc["results"]]):
        at = datetime.fromisoformat(when[:26].rstrip("Z") + "+00:00")
        if status in ("Scheduled", "Queued", "Sending", "Retrying", "Error") or not (
                start <= at < end):
            continue
        sent += 1
        clicked += status in ("Clicked Link", "Submitted Data") or event_click
    return clicked, sent


@pytest.mark.django_db
def test_kpi_provider_equals_an_independent_count():
    _staff()
    _import(CSV_FILE)
    _import(JSON_FILE)
    kpi = kpis.BY_KEY["phishing_click_rate"]
    for start, end in [(datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)),
                       (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)),
                       (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)),
                       (datetime(2026, 2, 3, 10, 5, tzinfo=UTC),
                        datetime(2026, 2, 3, 10, 10, tzinfo=UTC))]:
        hits, total = _independent(start, end)
        ratio = providers.get("kpi.phishing_click_rate")(start=start, end=end)
        assert (ratio.hits, ratio.total) == (hits, total)
        m = kpi.compute(Period(start=start, end=end), None, None)
        assert (m.hits, m.total) == (hits, total)
    assert _independent(datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)) == (
        3, 20)
    assert _independent(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)) == (
        4, 41)


# --- the pages ----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_upload_form_imports_and_refuses_with_line_and_reason():
    _staff()
    manager = make_user(email="cm@example.test", roles=("compliance_manager",))
    auditor = make_user(email="au@example.test", roles=("auditor",))
    agent = make_user(email="ag@example.test", roles=("agent",))
    assert signed_in_client(agent).get("/governance/workforce/phishing/").status_code == 403
    client = signed_in_client(manager)
    resp = client.post("/governance/workforce/phishing/import/", {
        "file": SimpleUploadedFile("feb.csv", CSV_FILE.read_bytes(), "text/csv"),
        "name": "February invoice"})
    assert resp.status_code == 302
    campaign = PhishingCampaign.objects.get(name="February invoice")
    page = client.get(resp["Location"])
    assert page.status_code == 200
    assert b"15.0 %" in page.content
    assert b"old.leaver@example.test" in page.content
    bad = HEADER + _row() + _row(email="y@example.test", status="Clicked")
    resp = client.post("/governance/workforce/phishing/import/", {
        "file": SimpleUploadedFile("bad.csv", bad.encode(), "text/csv"), "name": "Bad"})
    assert resp.status_code == 400
    assert b"line 3: unknown GoPhish status" in resp.content
    assert list(PhishingCampaign.objects.values_list("id", flat=True)) == [campaign.id]
    viewer = signed_in_client(auditor)
    listing = viewer.get("/governance/workforce/phishing/")
    assert listing.status_code == 200
    assert b"February invoice" in listing.content
    assert b'type="file"' not in listing.content  # read-only: no upload form
    assert viewer.post("/governance/workforce/phishing/import/", {
        "file": SimpleUploadedFile("feb.csv", CSV_FILE.read_bytes())}).status_code == 403

"""Probe of the workforce records (R-WORK-2, R-KPI-7, R-OPS-2; decisions 0243-0244, 0135): a
GoPhish file or a background check that an attacker shapes (a card number in any field, however
written; deep JSON; bad bytes; duplicates; a status GoPhish never writes) is refused with a clear
line and reason, and nothing of it is stored."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from safeguard.audit.contracts import Actor
from safeguard.governance import gophish, phishing
from safeguard.governance.gophish import ResultsRefused
from safeguard.governance.models import BackgroundCheck, PhishingCampaign, PhishingRecipient
from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db
JOB = Actor.system("tests")
HEADER = ("id,email,first_name,last_name,position,status,ip,latitude,longitude,send_date,"
          "reported,modified_date\n")
SENT = "2025-02-03T09:00:00Z"


def _row(email: str, status: str = "Clicked Link", first: str = "Ann") -> str:
    return f"1,{email},{first},Lee,Agent,{status},,0,0,{SENT},false,{SENT}\n"


def _upload(client, body: bytes, name: str = ""):  # type: ignore[no-untyped-def]
    return client.post("/governance/workforce/phishing/import/",
                       {"name": name, "file": SimpleUploadedFile("results.csv", body)})


def _nothing_stored() -> None:
    assert PhishingCampaign.objects.count() == 0
    assert PhishingRecipient.objects.count() == 0


def _manager():  # type: ignore[no-untyped-def]
    return signed_in_client(make_user(roles=("compliance_manager",)))


def test_deeply_nested_json_is_refused_not_a_crash() -> None:
    bomb = b'{"results": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    with pytest.raises(ResultsRefused) as exc:
        gophish.parse(bomb)
    assert "nested" in exc.value.reason
    _nothing_stored()


@pytest.mark.parametrize("name", ["Q1 4111 1111 1111 1111", "Q1 ４１１１１１１１１１１１１１１１",
                                  "Q1 4-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1"])
def test_a_card_number_in_the_campaign_name_is_refused_with_a_reason(name: str) -> None:
    body = (HEADER + _row("ann@example.test")).encode()
    with pytest.raises(ResultsRefused) as exc:
        phishing.import_results(raw=body, name=name, actor=JOB)
    assert exc.value.where == "name"
    assert "card number" in exc.value.reason
    response = _upload(_manager(), body, name=name)
    assert response.status_code == 400
    assert "card number" in response.content.decode()
    assert "4111" not in response.content.decode()
    _nothing_stored()


def test_a_card_number_in_the_json_name_or_file_name_is_refused() -> None:
    doc = ('{"id": 3, "name": "Batch 4111111111111111", "results": [{"email": "ann@example.test",'
           f' "status": "Email Sent", "send_date": "{SENT}", "reported": false}}]}}').encode()
    with pytest.raises(ResultsRefused):
        phishing.import_results(raw=doc, name="", actor=JOB)
    body = (HEADER + _row("ann@example.test")).encode()
    with pytest.raises(ResultsRefused):
        phishing.import_results(raw=body, name="", fallback_name="export 4111111111111111",
                                actor=JOB)
    _nothing_stored()


def test_a_card_number_in_an_email_is_refused_with_its_line() -> None:
    body = (HEADER + _row("ann@example.test") + _row("4111111111111111@example.test")).encode()
    with pytest.raises(ResultsRefused) as exc:
        phishing.import_results(raw=body, name="Q1", actor=JOB)
    assert exc.value.where == "line 3"
    _nothing_stored()


def test_odd_files_are_refused_with_line_and_reason_and_nothing_is_half_imported() -> None:
    client = _manager()
    cases = {
        b"\xef\xbb\xbf" + (HEADER + _row("ann@example.test") + "1,bad\xff\n").encode("latin-1"):
            "not UTF-8",
        (HEADER + _row("ann@example.test") + _row("ANN@example.test")).encode(): "appears twice",
        (HEADER + _row("ann@example.test") + _row("bo@example.test", status="Pwned")).encode():
            "unknown GoPhish status",
        (HEADER + _row("ann@example.test") + _row("=cmd|' /C calc'!A0")).encode():
            "not an e-mail address",
    }
    for body, reason in cases.items():
        response = _upload(client, body, name="Q1")
        assert response.status_code == 400, reason
        assert reason in response.content.decode()
    _nothing_stored()
    # a BOM alone is fine, and an address of a disabled user is still matched (not dropped)
    disabled = make_user(email="gone@example.test", roles=("agent",))
    disabled.is_active = False
    disabled.save()
    result = phishing.import_results(
        raw=b"\xef\xbb\xbf" + (HEADER + _row("gone@example.test")).encode(), name="Q1",
        actor=JOB)
    assert (result.recipients, result.matched, result.unmatched) == (1, 1, ())


def _check_post(client, reference: str, **extra):  # type: ignore[no-untyped-def]
    user = make_user(email="new.hire@example.test", roles=("agent",))
    data = {"user": user.id, "check_type": "criminal", "result": "clear",
            "checked_on": "2025-03-01", "expires_on": "", "reference": reference,
            "provider": "Checkr", **extra}
    return client.post("/governance/workforce/checks/", data, follow=True)


@pytest.mark.parametrize("reference", ["REF 4111 1111 1111 1111",
                                       "ＲＥＦ４１１１１１１１１１１１１１１１"])
def test_a_card_number_in_a_background_check_reference_is_refused(reference: str) -> None:
    response = _check_post(_manager(), reference)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Check not recorded" in page
    assert "card number" in page
    assert BackgroundCheck.objects.count() == 0


def test_a_background_check_never_stores_a_file() -> None:
    report = SimpleUploadedFile("report.pdf", b"%PDF-1.4 criminal record of the person")
    response = _check_post(_manager(), "CHK-123", report=report)
    assert "Background check recorded" in response.content.decode()
    row = BackgroundCheck.objects.get()
    stored = " ".join(str(getattr(row, f.attname)) for f in row._meta.concrete_fields)
    assert "PDF" not in stored
    assert "criminal record" not in stored
    assert row.reference == "CHK-123"


def test_a_card_number_in_a_team_or_course_name_is_refused_not_an_error_page() -> None:
    from safeguard.governance.models import StaffTeam, TrainingCourse

    client = _manager()
    agent = make_user(email="agent@example.test", roles=("agent",))
    team = client.post("/governance/workforce/team/",
                       {"user": agent.id, "team": "Team 4111 1111 1111 1111"}, follow=True)
    assert team.status_code == 200
    assert "Team not set" in team.content.decode()
    course = client.post("/governance/workforce/training/course/",
                         {"title": "PCI ４１１１１１１１１１１１１１１１", "hours": "2",
                          "roles": ["agent"], "refresher_months": "12"}, follow=True)
    assert course.status_code == 200
    assert "Not done" in course.content.decode()
    assert "4111" not in course.content.decode()
    assert StaffTeam.objects.count() == 0
    assert TrainingCourse.objects.count() == 0

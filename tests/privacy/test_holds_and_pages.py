"""Legal holds (R-DATA-3: a hold wins over deletion; release by a second person; audited) and
the privacy pages: inventory, CSV export, matrix, dry run, holds (R-DATA-1, R-REG-4)."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid

import pytest
from django.core.management import CommandError, call_command

from safeguard.audit.models import Event
from safeguard.privacy import selectors, services
from safeguard.privacy.contracts import HoldError
from safeguard.privacy.models import LegalHold, SweepRun
from safeguard.web.errors import NotFound
from tests.factories import make_user, signed_in_client
from tests.privacy.conftest import closed_mail_case, make_agent, make_queue, principal_for

pytestmark = pytest.mark.django_db
CARD = "4111111111111111"


@pytest.fixture
def case():
    make_queue("billing")
    return closed_mail_case(make_agent("billing"), email="ann@example.com")


@pytest.fixture
def officers():
    return make_user(roles=("privacy_officer",)), make_user(roles=("privacy_officer",))


def test_a_hold_is_placed_screened_and_released_by_a_second_person(case, officers):
    first, second = officers
    view = services.legal_hold_place(principal=principal_for(first), scope="case",
                                     target_id=str(case.id),
                                     reason=f"Dispute; card {CARD} mentioned")
    assert view.active
    assert CARD not in view.reason
    assert "1111" in view.reason
    # the one who placed it cannot release it; the refusal is audited and changes nothing
    with pytest.raises(HoldError, match="second person"):
        services.legal_hold_release(principal=principal_for(first), hold_id=view.id)
    assert LegalHold.objects.get(id=view.id).released_at is None
    assert Event.objects.filter(action="legal_hold.release_refused", outcome="denied").count() == 1
    released = services.legal_hold_release(principal=principal_for(second), hold_id=view.id)
    assert not released.active
    assert released.released_by == str(second.pk)
    assert list(Event.objects.filter(action__startswith="legal_hold.").order_by("seq")
                .values_list("action", "subject_id")) == [
        ("legal_hold.placed", view.id), ("legal_hold.release_refused", view.id),
        ("legal_hold.released", view.id)]
    with pytest.raises(HoldError, match="already released"):
        services.legal_hold_release(principal=principal_for(first), hold_id=view.id)


@pytest.mark.parametrize(("scope", "target", "reason", "error"), [
    ("case", "not-a-uuid", "x", NotFound),
    ("customer", str(uuid.uuid4()), "x", NotFound),
    ("everything", "x", "x", HoldError),
    ("case", "CASE", "   ", HoldError),
    ("case", "CASE", "y" * 1001, HoldError),
])
def test_bad_hold_input_is_refused_and_changes_nothing(case, officers, scope, target, reason,
                                                       error):
    target = str(case.id) if target == "CASE" else target
    with pytest.raises(error):
        services.legal_hold_place(principal=principal_for(officers[0]), scope=scope,
                                  target_id=target, reason=reason)
    assert LegalHold.objects.count() == 0


def test_a_second_active_hold_on_the_same_target_is_refused(case, officers):
    p = principal_for(officers[0])
    services.legal_hold_place(principal=p, scope="customer", target_id=str(case.customer_id),
                              reason="Matter A")
    with pytest.raises(HoldError, match="already under"):
        services.legal_hold_place(principal=p, scope="customer",
                                  target_id=str(case.customer_id), reason="Matter B")
    assert LegalHold.objects.count() == 1


def test_the_database_refuses_a_release_by_the_placer(case, officers):
    from django.db import IntegrityError, transaction
    from django.utils import timezone

    view = services.legal_hold_place(principal=principal_for(officers[0]), scope="case",
                                     target_id=str(case.id), reason="Matter")
    with pytest.raises(IntegrityError), transaction.atomic():
        LegalHold.objects.filter(id=view.id).update(released_by=officers[0],
                                                    released_at=timezone.now())


def test_inventory_page_and_csv_for_privacy_officers(officers):
    client = signed_in_client(officers[0])
    page = client.get("/privacy/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "cases.message.body" in html
    assert "user.content.message" in html
    assert "Art. 6(1)(b) performance of a contract" in html
    export = client.get("/privacy/inventory.csv")
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows[1 + [r[:2] for r in rows[1:]].index(
        ["cases.message", "body"])][:2] == ["cases.message", "body"]
    assert Event.objects.filter(action="privacy.inventory_exported").count() == 1


def test_an_agent_cannot_see_the_privacy_pages():
    make_queue("billing")
    client = signed_in_client(make_agent("billing"))
    for url in ("/privacy/", "/privacy/inventory.csv", "/privacy/retention/", "/privacy/holds/"):
        assert client.get(url).status_code == 403, url
    assert client.post("/privacy/retention/sweep/").status_code == 403
    assert SweepRun.objects.count() == 0


def test_an_auditor_reads_the_matrix_but_cannot_run_or_hold():
    client = signed_in_client(make_user(roles=("auditor",)))
    page = client.get("/privacy/retention/").content.decode()
    assert "26 U.S.C. § 6501" in page
    assert "7 years" in page
    assert "90 days" in page
    assert "Dry run now" not in page
    assert client.post("/privacy/retention/sweep/").status_code == 403
    assert client.get("/privacy/holds/").status_code == 403


def test_matrix_rows_longest_first_with_their_models():
    rows = selectors.matrix_rows()
    keys = [r.row.key for r in rows]
    assert keys.index("financial_record") < keys.index("case_record") < \
        keys.index("call_recording_qa")
    case_row = next(r for r in rows if r.row.key == "case_record")
    assert "cases.message" in case_row.models
    assert case_row.enforced


def test_dry_run_from_the_page_shows_the_report(case, officers):
    client = signed_in_client(officers[0])
    response = client.post("/privacy/retention/sweep/")
    run = SweepRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/privacy/retention/sweeps/{run.id}/"
    assert run.dry_run
    assert run.status == "finished"
    detail = client.get(response["Location"]).content.decode()
    assert "Dry run" in detail
    assert "Nothing was due." in detail


def test_holds_page_places_refuses_bad_input_and_hides_release_from_the_placer(case, officers):
    first, second = officers
    client = signed_in_client(first)
    bad = client.post("/privacy/holds/", {"scope": "case", "target_id": "nope",
                                          "reason": "Matter"})
    assert bad.status_code == 400
    assert "No case with that id." in bad.content.decode()
    assert LegalHold.objects.count() == 0
    ok = client.post("/privacy/holds/", {"scope": "case", "target_id": str(case.id),
                                         "reason": "Matter 42"})
    assert ok.status_code == 302
    hold = LegalHold.objects.get()
    page = client.get("/privacy/holds/").content.decode()
    assert "Matter 42" in page
    assert "another person releases it" in page
    assert client.post(f"/privacy/holds/{hold.id}/release/").status_code == 302
    assert LegalHold.objects.get().released_at is None  # refused: same person
    other = signed_in_client(second)
    assert re.search(r"holds/[0-9a-f-]+/release/", other.get("/privacy/holds/").content.decode())
    other.post(f"/privacy/holds/{hold.id}/release/")
    assert LegalHold.objects.get().released_by_id == second.pk


def test_cli_sweep_dry_run_report_and_argument_errors(case, capsys):
    call_command("privacy", "sweep", "--dry-run", "--as-of", "2030-01-01")
    out = capsys.readouterr().out
    assert "Dry run" in out
    assert f"case {case.id}: anonymise (case_record)" in out
    assert "case:anonymise: 1 (would)" in out
    for args in (["--as-of", "2030-01-01"], ["--dry-run", "--as-of", "tomorrow"],
                 ["--dry-run", "--batch", "0"]):
        with pytest.raises(CommandError):
            call_command("privacy", "sweep", *args)
    assert SweepRun.objects.count() == 1


def test_cli_retention_plan_then_run(case, capsys):
    """``safeguard retention plan`` decides and changes nothing; ``retention run`` acts (issue
    16's names for the sweep); bad arguments are refused and change nothing."""
    with pytest.raises(CommandError):
        call_command("retention", "plan", "--as-of", "tomorrow")
    with pytest.raises(CommandError):
        call_command("retention", "run", "--batch", "0")
    assert SweepRun.objects.count() == 0
    call_command("retention", "plan", "--as-of", "2030-01-01")
    out = capsys.readouterr().out
    assert "Dry run" in out
    assert f"case {case.id}: anonymise (case_record)" in out
    assert SweepRun.objects.get().dry_run is True
    call_command("retention", "run", "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["dry_run"] is False
    assert SweepRun.objects.count() == 2


def test_inventory_pdf_holds_the_records_of_processing(officers):
    from pypdf import PdfReader

    response = signed_in_client(officers[0]).get("/privacy/inventory.pdf")
    assert response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Records of Processing Activities" in text
    assert "user.content.message" in text
    assert "usersessions.usersession" in text
    assert Event.objects.filter(action="privacy.inventory_exported",
                                data__format="pdf").count() == 1


def test_privacy_tabs_show_only_the_pages_the_holder_may_open(officers):
    """An auditor (inventory view only) is not offered tabs that answer 403; the privacy
    officer sees every tab, and each tab shown opens (R-OPS-8 least privilege)."""
    hrefs = {"/privacy/requests/", "/privacy/holds/", "/privacy/archives/",
             "/privacy/publish/notice/", "/privacy/publish/subprocessors/"}
    auditor = signed_in_client(make_user(roles=("auditor",)))
    html = auditor.get("/privacy/").content.decode()
    tabs = set(re.findall(r'<a href="(/privacy/[^"]*)"', html))
    assert tabs >= {"/privacy/", "/privacy/retention/"}
    assert not tabs & hrefs
    for href in tabs:
        assert auditor.get(href).status_code == 200, href
    officer = signed_in_client(officers[0])
    html = officer.get("/privacy/").content.decode()
    assert set(re.findall(r'<a href="(/privacy/[^"]*)"', html)) >= hrefs

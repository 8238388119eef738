"""The Records Retention Matrix edited in the UI (R-DATA-3, R-REG-4): versioned history (who,
what, why; the shipped defaults as version 1 with their citations), validation that refuses a
bad row and changes nothing, the page that says which rule governs, and the sweep reading the
version in force."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine

from safeguard.audit.models import Event
from safeguard.cases.models import Case
from safeguard.privacy import matrix_edit, selectors, services
from safeguard.privacy.contracts import MatrixError
from safeguard.privacy.matrix import file_matrix, matrix, matrix_version_number, parse_matrix
from safeguard.privacy.models import MatrixVersion
from safeguard.privacy.periods import Period
from tests.factories import SYSTEM, make_user, signed_in_client
from tests.privacy.conftest import T0, closed_mail_case, make_agent, make_queue, principal_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer():
    return make_user(roles=("privacy_officer",))


def _edit(officer, key="case_record", reason="Board decision 2025-14", base=None, **values):
    return matrix_edit.matrix_row_update(
        principal=principal_for(officer), key=key, values=values, reason=reason,
        base_version=matrix_version_number() if base is None else base)


def test_the_first_edit_stores_the_shipped_defaults_as_version_1_then_the_change(officer):
    # given the shipped matrix (version 1, the file)
    assert matrix_version_number() == 1
    assert [v.number for v in matrix_edit.matrix_versions()] == [1]
    # when the officer shortens case records to one year, with a reason
    version = _edit(officer, period="P1Y")
    # then version 1 is the file (no author) with its citations, version 2 the change
    assert version.number == 2
    assert matrix_version_number() == 2
    v1, v2 = MatrixVersion.objects.order_by("number")
    assert v1.changed_by_id is None
    assert "Shipped defaults" in v1.reason
    seed = parse_matrix(v1.document)
    assert seed == file_matrix()
    assert seed["call_recording_qa"].period == Period(days=90)
    assert seed["financial_record"].period == Period(years=7)
    assert seed["insurance_record"].period == Period(years=6)
    assert "IRS Publication 583" in seed["financial_record"].citation
    assert v2.changed_by_id == officer.pk
    assert v2.reason == "Board decision 2025-14"
    assert v2.changes == [{"class": "case_record", "field": "period", "old": "P2Y",
                           "new": "P1Y"}]
    assert matrix()["case_record"].period == Period(years=1)
    assert matrix()["financial_record"].period == Period(years=7)  # the rest unchanged
    [event] = Event.objects.filter(action="retention.matrix_changed")
    assert event.data["version"] == 2
    assert event.data["changes"][0]["new"] == "P1Y"
    # and a second edit makes version 3 with only its own change
    third = _edit(officer, key="financial_record", citation="IRS Pub. 583, 2024 edition")
    assert third.number == 3
    assert [c["field"] for c in third.changes] == ["citation"]
    assert [v.number for v in matrix_edit.matrix_versions()] == [3, 2, 1]


@pytest.mark.parametrize(("values", "message"), [
    ({"period": "90 days"}, "not a period"),
    ({"period": "P0D"}, "cannot be zero|not a period"),
    ({"period": "P-1Y"}, "not a period"),
    ({"action": "shred"}, "action must be one of"),
    ({"action": "delete"}, "the case sweep can anonymise or archive or review, not delete"),
    ({"action": "archive"}, "archive_for .* is required"),
    ({"archive_for": "P1Y"}, "archive_for applies only to action archive"),
    ({"citation": "   "}, "legal citation is required"),
    ({"trigger": "call_ended"}, "measures from case_closed"),
    ({"enforced_by": ["nowhere"]}, "enforced_by must list"),
    ({"period": "P2Y"}, "Nothing changed"),
    ({"colour": "red"}, "Not an editable field"),
])
def test_a_bad_edit_is_refused_with_a_clear_message_and_changes_nothing(officer, values,
                                                                        message):
    before = matrix()
    with pytest.raises(MatrixError, match=message):
        _edit(officer, **values)
    assert MatrixVersion.objects.count() == 0
    assert matrix() == before
    assert not Event.objects.filter(action="retention.matrix_changed").exists()


def test_no_reason_an_unknown_class_or_a_stale_page_is_refused(officer):
    with pytest.raises(MatrixError, match="Say why"):
        _edit(officer, period="P1Y", reason="  ")
    with pytest.raises(MatrixError, match="No record class"):
        _edit(officer, key="nonsense", period="P1Y")
    _edit(officer, period="P1Y")
    # a page opened at version 1 cannot overwrite version 2 with its stale view
    with pytest.raises(MatrixError, match="version 2 is in force"):
        _edit(officer, period="P3Y", base=1)
    assert matrix()["case_record"].period == Period(years=1)
    assert MatrixVersion.objects.count() == 2


def test_the_sweep_applies_the_version_in_force(officer):
    # given a case closed 400 days ago: under the shipped 2 years it is not due
    make_queue("billing")
    case = closed_mail_case(make_agent("billing"), email="ann@example.com")
    with time_machine.travel(T0 + timedelta(days=400), tick=False):
        first = services.sweep_run(actor=SYSTEM)
        assert first.counts == {}
        assert first.matrix_version == 1
        # when the officer shortens case records to one year
        _edit(officer, period="P1Y")
        # then the next sweep anonymises it, and its receipt names version 2
        second = services.sweep_run(actor=SYSTEM)
    assert second.counts == {"case:anonymise": 1}
    assert second.matrix_version == 2
    assert Case.objects.get(id=case.id).subject == ""
    receipt = Event.objects.filter(action="retention.sweep_finished").order_by("-seq").first()
    assert receipt.data["matrix_version"] == 2


def test_the_page_shows_the_governing_rule_and_edits_through_the_form(officer):
    client = signed_in_client(officer)
    page = client.get("/privacy/retention/").content.decode()
    # the case with a financial-record recording is governed by the 7-year class, and why
    rules = {g.record: g for g in selectors.governing_rules()}
    financial = rules["A closed case with a financial record recording"]
    assert (financial.governs, financial.action) == ("financial_record", "anonymise")
    assert "longest period wins over case_record (2 years, anonymise)" in financial.why
    assert rules["A call recording kept as qa recording"].governs == "call_recording_qa"
    assert "financial_record keeps it longest (7 years)" in page
    assert re.search(r'id="matrix-version">1<', page)
    # a bad period through the form: 400, the message shown, nothing stored
    form = {"description": "Cases", "trigger": "case_closed", "period": "two years",
            "action": "anonymise", "archive_for": "", "citation": "GDPR Art. 5(1)(e)",
            "owner": "privacy_officer", "enforced_by": ["case"], "reason": "Shorter",
            "base_version": "1"}
    bad = client.post("/privacy/retention/classes/case_record/", form)
    assert bad.status_code == 400
    assert "not a period of whole years" in bad.content.decode()
    assert MatrixVersion.objects.count() == 0
    # a good one: version 2 in force, shown in the history with who and why
    ok = client.post("/privacy/retention/classes/case_record/", {**form, "period": "P18M"})
    assert ok.status_code == 302
    assert matrix()["case_record"].period == Period(months=18)
    page = client.get("/privacy/retention/").content.decode()
    assert re.search(r'id="matrix-version">2<', page)
    assert "case_record.period</span>: P2Y → P18M" in page
    assert "Shorter" in page
    assert client.get("/privacy/retention/versions/2/").status_code == 200


def test_only_the_privacy_officer_edits_the_matrix():
    auditor = make_user(roles=("auditor",))
    client = signed_in_client(auditor)
    assert client.get("/privacy/retention/").status_code == 200  # may read
    assert client.get("/privacy/retention/classes/case_record/").status_code == 403
    assert client.post("/privacy/retention/classes/case_record/",
                       {"period": "P1D"}).status_code == 403
    assert MatrixVersion.objects.count() == 0


def test_a_sweep_with_nothing_due_still_names_the_version_it_applied(officer):
    _edit(officer, period="P1Y")
    _edit(officer, key="financial_record", citation="IRS Pub. 583")
    view = services.sweep_run(actor=SYSTEM, dry_run=True)
    assert (view.counts, view.matrix_version) == ({}, 3)
    page = signed_in_client(officer).get(f"/privacy/retention/sweeps/{view.id}/")
    assert "against version 3 of the retention matrix" in page.content.decode()

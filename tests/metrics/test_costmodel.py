"""The cost, ROI and planning model (R-KPI-10, R-OPS-10): the pure core against hand
computations, the page and its export against an independent computation from the database,
inputs editable with history, bad input refused with nothing changed."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safeguard.accounts.models import User
from safeguard.cases.models import Interaction, Message
from safeguard.customers.models import Customer
from safeguard.metrics import cost_selectors, costmodel
from safeguard.metrics.models import CostInputChange
from safeguard.privacy import inventory
from safeguard.protection.models import Token
from safeguard.protection.services import token_tokenize
from tests.customers.factories import make_customer
from tests.factories import SYSTEM, make_user, signed_in_client
from tests.protection.conftest import PAN_MC2, PAN_VISA

URL = "/metrics/cost/"
C = Decimal("0.01")
F = Decimal("0.0001")


def cents(d: Decimal) -> str:
    return str(d.quantize(C, rounding=ROUND_HALF_UP))


def four(d: Decimal) -> str:
    return str(d.quantize(F, rounding=ROUND_HALF_UP))


def test_data_file_is_whole_and_cites_a_source_for_every_input():
    spec = cost_selectors.spec()
    taxonomy = inventory.taxonomy()
    assert all(i.source.strip() for i in spec.inputs)
    assert {c for rc in spec.record_classes for c in rc.categories} <= set(taxonomy)
    assert {rc.count for rc in spec.record_classes} <= set(cost_selectors.COUNTS)
    assert spec.input("average_breach_cost").default == Decimal("4450000")
    assert spec.input("programme_reduction").default == Decimal("0.3")
    assert "2023" in spec.input("cost_per_record_customer").source
    assert spec.input("annual_breach_likelihood").default is None  # no invented figure


def _tiny_spec() -> costmodel.ModelSpec:
    return costmodel.spec_from_document({
        "currency": "USD",
        "inputs": {
            "average_breach_cost": {"label": "avg", "kind": "money", "source": "s",
                                    "default": 1000000},
            "cpr_a": {"label": "a", "kind": "money", "source": "s", "default": 150},
            "cpr_b": {"label": "b", "kind": "money", "source": "s", "default": None},
            "impact_basis": {"label": "basis", "kind": "choice", "source": "s",
                             "default": "records"},
            "annual_breach_likelihood": {"label": "p", "kind": "share", "source": "s",
                                         "default": 0.25},
            "programme_reduction": {"label": "r", "kind": "share", "source": "s",
                                    "default": 0.3},
            "annual_turnover_eur": {"label": "t", "kind": "money", "source": "s"},
            "training_hours_per_person": {"label": "h", "kind": "hours", "source": "s",
                                          "default": 8},
            "training_hourly_cost": {"label": "hc", "kind": "money", "source": "s",
                                     "default": 40},
            "cost_x": {"label": "x", "kind": "money", "source": "s", "default": 5000},
            "red_x": {"label": "rx", "kind": "share", "source": "s", "default": 0.1},
        },
        "record_classes": [
            {"key": "a", "label": "A", "categories": [], "count": "n.a", "cost_input": "cpr_a"},
            {"key": "b", "label": "B", "categories": [], "count": "n.b", "cost_input": "cpr_b"},
        ],
        "controls": [{"key": "x", "label": "X", "cost_input": "cost_x",
                      "reduction_input": "red_x"}],
    })


def test_pure_core_matches_a_hand_computation():
    spec = _tiny_spec()
    values = {i.key: i.default for i in spec.inputs}
    out = costmodel.compute(spec, values, counts={"n.a": 1200, "n.b": 40}, staff=10,
                            measured_training_hours=None)
    # impact = 1200 x 150 = 180 000 (class B has no cost per record: left out, noted)
    assert out.records_cost == Decimal("180000")
    assert out.records_incomplete is True
    assert out.notes
    assert out.ale == Decimal("45000.00")  # 0.25 x 180 000
    assert out.residual_ale == Decimal("31500.000")  # 45 000 x 0.7
    assert out.ale_reduction == Decimal("13500.00")  # 45 000 x 0.3
    assert out.training_cost == Decimal("3200")  # 8 h x 10 staff x 40
    assert out.controls_cost == Decimal("8200")  # 3 200 + 5 000
    assert out.rosi == (Decimal("13500") - Decimal("8200")) / Decimal("8200")
    x = out.controls[0]
    assert x.ale_reduction == Decimal("4500.0")
    assert x.rosi == Decimal("-0.1")
    assert out.fine_exposure_eur == Decimal("20000000")
    assert not out.fine_turnover_known


def test_pure_core_average_basis_fine_and_measured_training_hours():
    spec = _tiny_spec()
    values = {i.key: i.default for i in spec.inputs}
    values.update(impact_basis="average", annual_turnover_eur=Decimal("900000000"))
    out = costmodel.compute(spec, values, counts={"n.a": None, "n.b": None}, staff=3,
                            measured_training_hours=2.5)
    assert out.impact == Decimal("1000000")
    assert out.ale == Decimal("250000.00")
    assert out.fine_exposure_eur == Decimal("36000000.00")  # 4 % of 900 M beats 20 M
    assert out.training_hours_per_person == Decimal("2.5")
    assert out.training_cost == Decimal("300.0")  # 2.5 x 3 x 40
    assert out.training_hours_source.startswith("measured")
    assert costmodel.fine_exposure(Decimal("100000000")) == Decimal("20000000")


@pytest.mark.parametrize(("kind", "raw"), [("share", "1.5"), ("share", "-0.1"), ("money", "abc"),
                                      ("money", "NaN"), ("money", "Infinity"),
                                      ("choice", "guess"), ("hours", "1e9")])
def test_bad_values_are_refused(kind, raw):
    spec = costmodel.InputSpec(key="k", label="K", kind=kind, default=None, source="s")
    with pytest.raises(costmodel.InputError):
        costmodel.parse_value(spec, raw)


def _world():
    make_customer()
    make_customer(email="b@example.com", phone="+44 20 7946 0133")
    token_tokenize(pan=PAN_VISA, actor=SYSTEM)
    token_tokenize(pan=PAN_MC2, actor=SYSTEM)
    return make_user(roles=("compliance_manager",))


def _outputs(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-output="([a-z_]+)" data-value="([^"]*)"', html))


def _expected(likelihood: Decimal) -> dict[str, str]:
    """The model computed here from the database and the shipped defaults, independently."""
    customers = Customer.objects.filter(kind="customer").count()
    contacts = Customer.objects.filter(kind="unverified").count()
    staff = User.objects.filter(is_active=True, is_service_account=False).count()
    cards = Token.objects.count()
    impact = (Decimal(customers + contacts) * 165 + Decimal(cards) * 165
              + Decimal(staff) * 165)
    ale = likelihood * impact
    controls = Decimal(20000 + 10000 + 8000 + 20000 + 15000)
    red = ale * Decimal("0.3")
    return {"impact": cents(impact), "ale": cents(ale), "residual_ale": cents(ale * Decimal("0.7")),
            "ale_reduction": cents(red), "controls_cost": cents(controls),
            "rosi": four((red - controls) / controls), "fine_exposure_eur": "20000000.00"}


@pytest.mark.django_db
def test_page_equals_an_independent_computation_and_the_export_matches(monkeypatch):
    user = _world()
    client = signed_in_client(user)
    resp = client.get(URL, {"annual_breach_likelihood": "0.35"})
    html = resp.content.decode()
    assert resp.status_code == 200
    assert Message.objects.count() == 0
    assert not Interaction.objects.exists()
    expected = _expected(Decimal("0.35"))
    shown = _outputs(html)
    for key, value in expected.items():
        assert shown[key] == value, key
    # shown for people: grouped money, shares as percentages
    assert "<td>USD 73,000.00</td>" in html
    assert "<td>35.00 %</td>" in html
    # records: live counts
    assert re.search(r'data-record="cards" data-value="330.00"', html)
    # the JSON export is the same document
    data = json.loads(client.get("/metrics/cost/export.json",
                                 {"annual_breach_likelihood": "0.35"}).content)
    for key, value in expected.items():
        assert data["outputs"][key] == value, key
    lk = next(i for i in data["inputs"] if i["key"] == "annual_breach_likelihood")
    assert lk["value"] == "0.35"
    assert lk["what_if"]
    assert lk["source"] == "what-if value (not saved)"
    cpr = next(i for i in data["inputs"] if i["key"] == "cost_per_record_customer")
    assert "Cost of a Data Breach Report 2023" in cpr["source"]
    assert not cpr["what_if"]
    # the CSV export too
    rows = list(csv.DictReader(io.StringIO(client.get(
        "/metrics/cost/export.csv", {"annual_breach_likelihood": "0.35"}).content.decode())))
    out = {r["key"]: r["value"] for r in rows if r["section"] == "output"}
    for key, value in expected.items():
        assert out[key] == value, key
    # the what-if was not saved
    assert not CostInputChange.objects.exists()


@pytest.mark.django_db
def test_inputs_are_editable_with_history_and_bad_input_changes_nothing():
    user = _world()
    client = signed_in_client(user)
    resp = client.post("/metrics/cost/inputs/", {"key": "annual_breach_likelihood",
                                                 "value": "0.2",
                                                 "source_note": "Risk assessment Q3"})
    assert resp.status_code == 302
    resp = client.post("/metrics/cost/inputs/", {"key": "cost_per_record_customer",
                                                 "value": "183",
                                                 "source_note": "Our insurer's figure"})
    assert resp.status_code == 302
    state = {s.key: s for s in cost_selectors.input_states()}
    assert state["annual_breach_likelihood"].value == Decimal("0.2")
    assert state["cost_per_record_customer"].source == "Our insurer's figure"
    assert state["cost_per_record_customer"].changed_by == user.email
    before = list(CostInputChange.objects.values_list("id", "key", "value"))
    for bad in ({"key": "annual_breach_likelihood", "value": "2", "source_note": "x"},
                {"key": "annual_breach_likelihood", "value": "0.5", "source_note": "  "},
                {"key": "no_such_input", "value": "1", "source_note": "x"},
                {"key": "cost_siem", "value": "lots", "source_note": "x"},
                {"key": "cost_siem", "value": "1" * 45, "source_note": "x"},
                {"key": "programme_reduction", "value": "0." + "1" * 40, "source_note": "x"},
                {"key": "cost_siem", "value": "5", "source_note": "n" * 301}):
        r = client.post("/metrics/cost/inputs/", bad)
        assert r.status_code == 400, bad
        assert b"The input was not changed" in r.content
    assert list(CostInputChange.objects.values_list("id", "key", "value")) == before
    html = client.get(URL).content.decode()
    assert "Risk assessment Q3" in html
    assert "Our insurer&#x27;s figure" in html
    assert _outputs(html)["likelihood"] == "0.2000"
    # the history keeps both values after another change
    client.post("/metrics/cost/inputs/", {"key": "annual_breach_likelihood", "value": "0.1",
                                          "source_note": "Revised"})
    hist = [h.value for h in cost_selectors.input_history()
            if h.key == "annual_breach_likelihood"]
    assert hist == ["0.1", "0.2"]


@pytest.mark.django_db
def test_permissions_and_bad_what_if():
    _world()
    agent = signed_in_client(make_user(roles=("agent",)))
    assert agent.get(URL).status_code == 403
    supervisor = signed_in_client(make_user(roles=("supervisor",)))
    assert supervisor.get(URL).status_code == 200
    r = supervisor.post("/metrics/cost/inputs/", {"key": "cost_siem", "value": "1",
                                                  "source_note": "x"})
    assert r.status_code == 403
    assert not CostInputChange.objects.exists()
    r = supervisor.get(URL, {"programme_reduction": "7"})
    assert r.status_code == 400
    assert "The what-if values were refused" in r.content.decode()
    assert supervisor.get("/metrics/cost/export.json", {"programme_reduction": "7"}
                          ).status_code == 400
    assert supervisor.get("/metrics/cost/export.xml").status_code == 400


@pytest.mark.django_db
def test_inventory_categories_are_shown_with_what_prices_them():
    user = _world()
    html = signed_in_client(user).get(URL).content.decode()
    assert re.search(r'data-category="user.financial.credit_card">.*?Payment cards', html, re.S)
    for c in cost_selectors.category_coverage():
        assert f'data-category="{c.category}"' in html


def test_the_data_file_is_checked(monkeypatch, tmp_path):
    from safeguard.metrics.checks import check_cost_model

    assert check_cost_model() == []
    bad = tmp_path / "costmodel.yaml"
    bad.write_text(cost_selectors.SPEC_PATH.read_text().replace(
        "user.financial.credit_card", "user.financial.card_numbers").replace(
        "count: cases.messages", "count: cases.nothing"))
    monkeypatch.setattr(cost_selectors, "SPEC_PATH", bad)
    try:
        problems = check_cost_model()
        assert {e.id for e in problems} == {"safeguard.E563"}
        assert len(problems) == 2
        bad.write_text("inputs:\n  x: {label: X, kind: share, source: s, default: 3}\n")
        assert "share between 0 and 1" in check_cost_model()[0].msg
    finally:
        monkeypatch.undo()
        cost_selectors.spec.cache_clear()


@pytest.mark.django_db
def test_training_hours_come_from_governance_when_it_measures_them(provider):
    from safeguard.web import providers

    providers._providers.pop("kpi.training_hours_per_person", None)  # governance registers it
    user = _world()
    client = signed_in_client(user)
    client.post("/metrics/cost/inputs/", {"key": "training_hourly_cost", "value": "50",
                                          "source_note": "HR loaded cost"})
    # given no provider and no input: unavailable
    data = json.loads(client.get("/metrics/cost/export.json").content)["outputs"]
    assert data["training_cost"] is None
    assert data["training_hours_source"].startswith("unavailable")
    # when governance measures 6.5 hours per person over the last year
    calls = []

    def hours(*, start, end):
        calls.append((start, end))
        return 6.5

    provider("kpi.training_hours_per_person", hours)
    data = json.loads(client.get("/metrics/cost/export.json").content)["outputs"]
    staff = User.objects.filter(is_active=True, is_service_account=False).count()
    # then training cost = 6.5 h x staff x 50, and it counts in the controls' cost
    assert data["training_cost"] == cents(Decimal("6.5") * staff * 50)
    assert data["controls_cost"] == cents(Decimal("6.5") * staff * 50 + 73000)
    assert (calls[-1][1] - calls[-1][0]).days == 365  # SAFEGUARD_COST_TRAINING_WINDOW_DAYS


@pytest.mark.django_db
def test_page_scripts_are_static_files_only():
    user = _world()
    html = signed_in_client(user).get(URL).content.decode()
    assert '<script src="/static/metrics/costmodel.js" defer></script>' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert " style=" not in html
    assert 'type="range" id="wi-programme_reduction"' in html


def test_training_window_setting_is_checked(settings):
    from safeguard.metrics.checks import check_cost_settings

    assert check_cost_settings() == []
    for bad in (0, 4000, "365"):
        settings.SAFEGUARD_COST_TRAINING_WINDOW_DAYS = bad
        assert [e.id for e in check_cost_settings()] == ["safeguard.E564"]


_money = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False,
                     allow_infinity=False)
_share = st.decimals(min_value=0, max_value=1, places=4, allow_nan=False, allow_infinity=False)


@given(likelihood=_share, reduction=_share, cpr=_money, n=st.integers(0, 10**7),
       cost=_money, turnover=st.none() | _money)
def test_model_invariants(likelihood, reduction, cpr, n, cost, turnover):
    spec = _tiny_spec()
    values = {i.key: i.default for i in spec.inputs}
    values.update(annual_breach_likelihood=likelihood, programme_reduction=reduction,
                  cpr_a=cpr, cpr_b=cpr, cost_x=cost, annual_turnover_eur=turnover,
                  training_hourly_cost=None)
    out = costmodel.compute(spec, values, counts={"n.a": n, "n.b": 0}, staff=5,
                            measured_training_hours=None)
    # the ALE splits exactly into what remains and what the controls take away
    assert out.residual_ale + out.ale_reduction == out.ale
    assert 0 <= out.residual_ale <= out.ale
    # ROSI is positive exactly when the ALE reduction exceeds the cost of the controls
    if cost > 0:
        assert (out.rosi > 0) == (out.ale_reduction > cost)
    else:
        assert out.rosi is None
    # the GDPR cap is never below EUR 20 M nor below 4 % of the turnover
    assert out.fine_exposure_eur >= costmodel.GDPR_FINE_FLOOR_EUR
    if turnover is not None:
        assert out.fine_exposure_eur >= turnover * Decimal("0.04")


def test_headcount_counts_in_the_cost_of_the_controls():
    spec = cost_selectors.spec()
    values = {i.key: i.default for i in spec.inputs}
    base = costmodel.compute(spec, values, counts={}, staff=4, measured_training_hours=None)
    assert base.headcount_cost is None
    values.update(security_headcount=Decimal("1.5"), security_fte_cost=Decimal("90000"))
    out = costmodel.compute(spec, values, counts={}, staff=4, measured_training_hours=None)
    assert out.headcount_cost == Decimal("135000")  # 1.5 FTE x 90 000
    assert out.controls_cost == base.controls_cost + Decimal("135000")
    with pytest.raises(costmodel.InputError, match="more than"):
        costmodel.parse_value(spec.input("security_headcount"), "2000000")

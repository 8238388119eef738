"""metrics.spc against published worked examples and hand-built run-rule edges
(R-KPI-9, R-MEAS-2)."""

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from safeguard.metrics import spc

NIST_FLOW = [49.6, 47.6, 49.9, 51.3, 47.8, 51.2, 52.6, 52.4, 53.6, 52.1]
MONTGOMERY_OJ = [12, 15, 8, 10, 4, 7, 16, 9, 14, 10, 5, 6, 17, 12, 22,
                 8, 10, 5, 13, 11, 20, 18, 24, 15, 9, 12, 7, 13, 9, 6]


def test_xmr_matches_nist_handbook_6_3_2_2_flow_rate_example():
    # given the first 10 batches of NIST/SEMATECH e-Handbook 6.3.2.2
    # when charted
    chart = spc.xmr(NIST_FLOW)
    # then centre, MRbar and limits equal the published figures to their decimals
    assert round(chart.center, 2) == 50.81
    assert round(chart.mr_center, 4) == 1.8778
    assert round(chart.ucl, 4) == 55.8041
    assert round(chart.lcl, 4) == 45.8159
    # D4 * MRbar with the unrounded MRbar (16.9 / 9): 6.1347; the brief's 6.1348 multiplies
    # the rounded 1.8778, so both agree to 3 decimals.
    assert chart.mr_ucl == pytest.approx(3.267 * 16.9 / 9)
    assert round(chart.mr_ucl, 3) == 6.135
    assert chart.signals == []
    assert isinstance(chart.center, float)
    assert isinstance(chart.mr_ucl, float)


def test_p_chart_matches_montgomery_orange_juice_example():
    # given Montgomery's 30 samples of n = 50 cans
    chart = spc.p_chart(MONTGOMERY_OJ, [50] * 30)
    # then pbar and limits match the textbook, and samples 15 and 23 are beyond the UCL
    assert sum(MONTGOMERY_OJ) == 347
    assert round(chart.center, 4) == 0.2313
    assert round(chart.ucl[0], 4) == 0.4102
    assert round(chart.lcl[0], 4) == 0.0524
    beyond = [i + 1 for i, rule in chart.signals if rule == spc.BEYOND_3_SIGMA]
    assert beyond == [15, 23]


def test_p_chart_limits_vary_with_sample_size_and_floor_at_zero():
    chart = spc.p_chart([1, 0, 2], [4, 100, 9])
    pbar = 3 / 113
    assert chart.center == pytest.approx(pbar)
    assert chart.ucl[1] == pytest.approx(pbar + 3 * math.sqrt(pbar * (1 - pbar) / 100))
    assert chart.lcl == (0.0, 0.0, 0.0)
    assert chart.ucl[0] > chart.ucl[2] > chart.ucl[1]


def test_u_chart_limits_from_total_rate():
    counts, sizes = [3, 10, 4, 30], [2.0, 5.0, 2.0, 5.0]
    chart = spc.u_chart(counts, sizes)
    ubar = 47 / 14
    assert chart.center == pytest.approx(ubar)
    assert chart.ucl[0] == pytest.approx(ubar + 3 * math.sqrt(ubar / 2))
    assert chart.lcl[0] == 0.0  # ubar - 3 sqrt(ubar/2) < 0: floored
    assert chart.lcl[1] == pytest.approx(max(0.0, ubar - 3 * math.sqrt(ubar / 5)))
    # 30 per 5 = 6 > ubar + 3 sqrt(ubar/5) = 5.81
    assert (3, spc.BEYOND_3_SIGMA) in chart.signals


# --- run rules on standardized values --------------------------------------------------------

def _rules(z, rule):
    return [i for i, r in spc.run_rules(z) if r == rule]


def test_beyond_3_sigma_is_strict():
    assert _rules([0, 3.0, -3.0, 3.01, -3.5], spc.BEYOND_3_SIGMA) == [3, 4]


def test_run_of_8_needs_8_and_reports_every_point_while_it_lasts():
    assert _rules([0.5] * 7 + [-0.5], spc.RUN_OF_8) == []
    assert _rules([0.5] * 8, spc.RUN_OF_8) == [7]
    assert _rules([-0.2] * 10, spc.RUN_OF_8) == [7, 8, 9]


def test_run_of_8_broken_by_a_point_on_the_centre_line():
    assert _rules([0.5] * 4 + [0.0] + [0.5] * 4, spc.RUN_OF_8) == []
    assert _rules([0.5] * 4 + [0.0] + [0.5] * 8, spc.RUN_OF_8) == [12]


def test_trend_of_6_needs_6_points_and_ties_break_it():
    assert _rules([0.1, 0.2, 0.3, 0.4, 0.5], spc.TREND_OF_6) == []
    assert _rules([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], spc.TREND_OF_6) == [5]
    assert _rules([0.6, 0.5, 0.4, 0.3, -0.1, -0.2, -0.3], spc.TREND_OF_6) == [5, 6]
    assert _rules([0.1, 0.2, 0.3, 0.3, 0.4, 0.5, 0.6], spc.TREND_OF_6) == []


def test_2_of_3_beyond_2_sigma_edges():
    # 1 of 3: no signal
    assert _rules([2.5, 0.0, 0.0], spc.TWO_OF_THREE) == []
    # 2 of 3 on the same side, the completing point itself beyond
    assert _rules([0.0, 2.5, 0.0, 2.1], spc.TWO_OF_THREE) == [3]
    # 2 of 4 (too far apart): no signal
    assert _rules([2.5, 0.0, 0.0, 2.5], spc.TWO_OF_THREE) == []
    # opposite sides do not combine
    assert _rules([2.5, -2.5, 0.0], spc.TWO_OF_THREE) == []
    # the point after the pattern, not itself beyond, is not flagged
    assert _rules([2.5, 2.5, 0.0], spc.TWO_OF_THREE) == [1]
    assert _rules([-2.5, 0.0, -2.2], spc.TWO_OF_THREE) == [2]


def test_4_of_5_beyond_1_sigma_edges():
    assert _rules([1.5, 1.5, 0.0, 1.5, 0.0], spc.FOUR_OF_FIVE) == []  # 3 of 5
    assert _rules([1.5, 1.5, 0.0, 1.5, 1.5], spc.FOUR_OF_FIVE) == [4]
    assert _rules([-1.5, -1.5, -1.5, 1.5, -1.5], spc.FOUR_OF_FIVE) == [4]
    assert _rules([1.5, 1.5, 0.0, 0.0, 1.5, 1.5], spc.FOUR_OF_FIVE) == []


def test_xmr_signals_reported_on_raw_values():
    values = [10.0, 11.0] * 6 + [30.0]
    chart = spc.xmr(values, baseline=12)
    assert chart.center == 10.5
    assert (12, spc.BEYOND_3_SIGMA) in chart.signals


def test_xmr_phases_recompute_limits_after_annotated_change():
    values = [10.0, 11.0, 10.0, 11.0, 20.0, 21.0, 20.0, 21.0]
    phases = spc.xmr_phases(values, changes=[(4, "new IVR menu")])
    assert [(p.start, p.end, p.label) for p in phases] == [(0, 4, "baseline"),
                                                           (4, 8, "new IVR menu")]
    assert phases[0].chart.center == 10.5
    assert phases[1].chart.center == 20.5
    with pytest.raises(ValueError, match="at least 2"):
        spc.xmr_phases(values, changes=[(7, "late")])
    with pytest.raises(ValueError, match="increasing"):
        spc.xmr_phases(values, changes=[(4, "a"), (3, "b")])


@pytest.mark.parametrize(("call", "message"), [
    (lambda: spc.xmr([1.0]), "at least 2"),
    (lambda: spc.xmr([]), "at least 2"),
    (lambda: spc.xmr([1.0, float("nan")]), "finite"),
    (lambda: spc.xmr([1.0, float("inf")]), "finite"),
    (lambda: spc.xmr([1.0, 2.0, 3.0], baseline=1), "baseline"),
    (lambda: spc.p_chart([1, 2], [10, 0]), "greater than 0"),
    (lambda: spc.p_chart([11], [10]), "exceeds"),
    (lambda: spc.p_chart([1], [10, 10]), "pair up"),
    (lambda: spc.p_chart([-1], [10]), "negative"),
    (lambda: spc.u_chart([1], [-2]), "greater than 0"),
    (lambda: spc.u_chart([float("nan")], [2]), "finite"),
])
def test_bad_input_raises_value_error_with_a_clear_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --- properties --------------------------------------------------------------------------------

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
series = st.lists(finite, min_size=2, max_size=60)


@given(series)
def test_limits_symmetric_and_signals_in_range(values):
    chart = spc.xmr(values)
    assert chart.ucl - chart.center == pytest.approx(chart.center - chart.lcl, abs=1e-6)
    assert chart.mr_ucl >= chart.mr_center >= 0
    assert all(0 <= i < len(values) and r in spc.RULES for i, r in chart.signals)


@given(series, st.floats(min_value=-1e3, max_value=1e3, allow_nan=False))
def test_shifting_values_shifts_centre_and_limits_equally(values, shift):
    a, b = spc.xmr(values), spc.xmr([v + shift for v in values])
    tol = 1e-6 * (1 + max(abs(v) for v in values) + abs(shift))
    assert b.center == pytest.approx(a.center + shift, abs=tol)
    assert b.ucl == pytest.approx(a.ucl + shift, abs=tol)
    assert b.lcl == pytest.approx(a.lcl + shift, abs=tol)
    assert b.mr_center == pytest.approx(a.mr_center, abs=tol)


@given(series, st.floats(min_value=0.01, max_value=100))
def test_scaling_values_scales_centre_and_limits(values, factor):
    a, b = spc.xmr(values), spc.xmr([v * factor for v in values])
    tol = 1e-6 * (1 + max(abs(v) for v in values)) * factor
    assert b.center == pytest.approx(a.center * factor, abs=tol)
    assert b.ucl == pytest.approx(a.ucl * factor, abs=tol)
    assert b.lcl == pytest.approx(a.lcl * factor, abs=tol)
    assert b.mr_ucl == pytest.approx(a.mr_ucl * factor, abs=tol)


@given(st.lists(st.tuples(st.integers(0, 200), st.integers(1, 200)), min_size=1, max_size=40))
def test_p_chart_limits_bracket_centre_and_stay_in_0_1(samples):
    ds = [min(d, n) for d, n in samples]
    ns = [n for _, n in samples]
    chart = spc.p_chart(ds, ns)
    assume(len(ds) > 0)
    for lo, hi in zip(chart.lcl, chart.ucl, strict=True):
        assert 0.0 <= lo <= chart.center <= hi <= 1.0
    assert all(0 <= i < len(ds) for i, _ in chart.signals)

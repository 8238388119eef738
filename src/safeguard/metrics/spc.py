"""Statistical process control: XmR, p- and u-charts with Western Electric / Nelson run rules.

A pure core (ARCHITECTURE.md, Layers; STYLE.md rule 10): plain numbers in, frozen dataclasses
out, no Django. R-KPI-9 (control charts on every KPI), R-MEAS-2 (is a change real or noise?).

Conventions (docs/metrics.md, decision 0261):

* Individuals (XmR) limits come from the average moving range of span 2:
  ``sigma = MRbar / d2`` with ``d2 = 1.128``; ``UCL/LCL = centre ± 3·sigma``;
  ``MR UCL = D4 · MRbar`` with ``D4 = 3.267`` (the moving-range LCL is 0).
* p-chart: ``pbar = Σd / Σn``; ``σ_i = sqrt(pbar(1 − pbar)/n_i)``; limits ``pbar ± 3σ_i``,
  LCL floored at 0 (and UCL capped at 1). u-chart: ``ubar = Σc / Σn``; ``σ_i = sqrt(ubar/n_i)``;
  LCL floored at 0.
* Run rules are evaluated on standardized values ``z_i = (x_i − centre)/σ_i`` (for XmR σ is the
  same at every point). A signal is reported at the index of the point completing the pattern,
  and that point must itself be part of the pattern:

  - ``beyond_3_sigma``: |z| > 3.
  - ``2_of_3_beyond_2_sigma``: the point is beyond 2σ and at least 2 of the last 3 points
    (fewer at the start of the series) are beyond 2σ on the same side.
  - ``4_of_5_beyond_1_sigma``: likewise, 4 of the last 5 points beyond 1σ on the same side.
  - ``run_of_8``: the point is the 8th (or later) of consecutive points strictly on one side
    of the centre line; a point exactly on the centre line breaks the run. Reported at every
    point while the run lasts.
  - ``trend_of_6``: the point is the 6th (or later) of points in a row strictly increasing (or
    strictly decreasing); a tie breaks the trend. Reported at every point while it lasts.

  "Beyond" is strict (a point exactly at 3σ is not beyond it).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

D2 = 1.128
"""Bias-correction constant d2 for moving ranges of span 2."""
D4 = 3.267
"""Upper moving-range chart factor D4 for span 2."""

BEYOND_3_SIGMA = "beyond_3_sigma"
TWO_OF_THREE = "2_of_3_beyond_2_sigma"
FOUR_OF_FIVE = "4_of_5_beyond_1_sigma"
RUN_OF_8 = "run_of_8"
TREND_OF_6 = "trend_of_6"

RULES: tuple[str, ...] = (BEYOND_3_SIGMA, TWO_OF_THREE, FOUR_OF_FIVE, RUN_OF_8, TREND_OF_6)
"""Every rule name, in the order signals at one point are listed."""

RULE_DESCRIPTIONS: dict[str, str] = {
    BEYOND_3_SIGMA: "a point beyond a 3-sigma control limit",
    TWO_OF_THREE: "2 of 3 points in a row beyond 2 sigma on the same side",
    FOUR_OF_FIVE: "4 of 5 points in a row beyond 1 sigma on the same side",
    RUN_OF_8: "8 or more points in a row on the same side of the centre line",
    TREND_OF_6: "6 or more points in a row steadily increasing or decreasing",
}
"""Plain-words explanation of every rule, shown beside charts."""


@dataclass(frozen=True)
class XmR:
    """An individuals and moving-range chart: limits, moving ranges and run-rule signals."""

    values: tuple[float, ...]
    center: float
    ucl: float
    lcl: float
    sigma: float
    moving_ranges: tuple[float, ...]
    mr_center: float
    mr_ucl: float
    signals: list[tuple[int, str]]


@dataclass(frozen=True)
class AttributeChart:
    """A p- or u-chart: per-point values and limits (they vary with the sample size), signals."""

    kind: str
    values: tuple[float, ...]
    sizes: tuple[float, ...]
    center: float
    ucl: tuple[float, ...]
    lcl: tuple[float, ...]
    sigma: tuple[float, ...]
    signals: list[tuple[int, str]]


@dataclass(frozen=True)
class Phase:
    """One baseline phase of a phased XmR chart: points ``start``..``end - 1`` and their limits."""

    start: int
    end: int
    label: str
    chart: XmR


def _check_finite(values: Sequence[float], what: str) -> list[float]:
    out: list[float] = []
    for i, v in enumerate(values):
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"{what}[{i}] is not a number: {v!r}") from None
        if not math.isfinite(f):
            raise ValueError(f"{what}[{i}] must be a finite number, got {f!r}")
        out.append(f)
    return out


def _side(z: float, k: float) -> int:
    if z > k:
        return 1
    if z < -k:
        return -1
    return 0


def run_rules(z: Sequence[float]) -> list[tuple[int, str]]:
    """Western Electric / Nelson signals over standardized values, by the module's conventions."""
    signals: list[tuple[int, str]] = []
    run_side = 0
    run_len = 0
    trend_dir = 0
    trend_len = 1
    for i, zi in enumerate(z):
        if abs(zi) > 3:
            signals.append((i, BEYOND_3_SIGMA))
        for rule, k, window, need in ((TWO_OF_THREE, 2.0, 3, 2), (FOUR_OF_FIVE, 1.0, 5, 4)):
            side = _side(zi, k)
            if side:
                lo = max(0, i - window + 1)
                count = sum(1 for zj in z[lo : i + 1] if _side(zj, k) == side)
                if count >= need:
                    signals.append((i, rule))
        side = 1 if zi > 0 else (-1 if zi < 0 else 0)
        if side and side == run_side:
            run_len += 1
        else:
            run_side, run_len = side, (1 if side else 0)
        if run_len >= 8:
            signals.append((i, RUN_OF_8))
        if i > 0:
            step = 1 if zi > z[i - 1] else (-1 if zi < z[i - 1] else 0)
            if step and step == trend_dir:
                trend_len += 1
            else:
                trend_dir, trend_len = step, (2 if step else 1)
            if trend_len >= 6:
                signals.append((i, TREND_OF_6))
    return signals


def _standardize(values: Sequence[float], center: float, sigma: float) -> list[float]:
    if sigma > 0:
        return [(v - center) / sigma for v in values]
    # No variation in the baseline: any departure from the centre is infinitely far out.
    return [0.0 if v == center else math.copysign(math.inf, v - center) for v in values]


def xmr(values: Sequence[float], *, baseline: int | None = None) -> XmR:
    """Individuals chart: limits from the first ``baseline`` points (all when None); the run
    rules are applied to every point."""
    xs = _check_finite(values, "values")
    if len(xs) < 2:
        raise ValueError(f"an XmR chart needs at least 2 values, got {len(xs)}")
    if baseline is None:
        base = xs
    else:
        if baseline < 2 or baseline > len(xs):
            raise ValueError(f"baseline must be between 2 and {len(xs)} points, got {baseline}")
        base = xs[:baseline]
    center = math.fsum(base) / len(base)
    base_mr = [abs(b - a) for a, b in itertools.pairwise(base)]
    mr_bar = math.fsum(base_mr) / len(base_mr)
    sigma = mr_bar / D2
    moving = tuple(abs(b - a) for a, b in itertools.pairwise(xs))
    return XmR(
        values=tuple(xs),
        center=center,
        ucl=center + 3 * sigma,
        lcl=center - 3 * sigma,
        sigma=sigma,
        moving_ranges=moving,
        mr_center=mr_bar,
        mr_ucl=D4 * mr_bar,
        signals=run_rules(_standardize(xs, center, sigma)),
    )


def xmr_phases(
    values: Sequence[float], *, changes: Sequence[tuple[int, str]], first_label: str = "baseline"
) -> list[Phase]:
    """Phased XmR: limits recomputed from each phase's own points after every annotated change.

    ``changes`` are ``(index, label)``: the process changed before point ``index``. Every phase
    needs at least 2 points; indices must be strictly increasing and inside the series.
    """
    xs = _check_finite(values, "values")
    bounds: list[tuple[int, str]] = [(0, first_label)]
    for index, label in changes:
        if not isinstance(index, int) or index <= bounds[-1][0] or index >= len(xs):
            raise ValueError(
                f"change index {index!r} must be increasing and inside the series "
                f"(0..{len(xs) - 1})"
            )
        bounds.append((index, label))
    phases: list[Phase] = []
    for k, (start, label) in enumerate(bounds):
        end = bounds[k + 1][0] if k + 1 < len(bounds) else len(xs)
        if end - start < 2:
            raise ValueError(f"phase {label!r} has {end - start} point(s); each needs at least 2")
        phases.append(Phase(start=start, end=end, label=label, chart=xmr(xs[start:end])))
    return phases


def _sizes(sizes: Sequence[float], n: int) -> list[float]:
    ns = _check_finite(sizes, "sizes")
    if len(ns) != n:
        raise ValueError(f"got {n} counts but {len(ns)} sizes; they must pair up")
    for i, s in enumerate(ns):
        if s <= 0:
            raise ValueError(f"sizes[{i}] must be greater than 0, got {s!r}")
    return ns


def p_chart(defectives: Sequence[float], sizes: Sequence[float]) -> AttributeChart:
    """p-chart for proportions with varying sample sizes (CSAT, FCR, phishing clicks)."""
    ds = _check_finite(defectives, "defectives")
    if not ds:
        raise ValueError("a p-chart needs at least 1 sample")
    ns = _sizes(sizes, len(ds))
    for i, (d, n) in enumerate(zip(ds, ns, strict=True)):
        if d < 0:
            raise ValueError(f"defectives[{i}] must not be negative, got {d!r}")
        if d > n:
            raise ValueError(f"defectives[{i}] = {d!r} exceeds its sample size {n!r}")
    pbar = math.fsum(ds) / math.fsum(ns)
    ps = [d / n for d, n in zip(ds, ns, strict=True)]
    sig = [math.sqrt(pbar * (1 - pbar) / n) for n in ns]
    return AttributeChart(
        kind="p",
        values=tuple(ps),
        sizes=tuple(ns),
        center=pbar,
        ucl=tuple(min(1.0, pbar + 3 * s) for s in sig),
        lcl=tuple(max(0.0, pbar - 3 * s) for s in sig),
        sigma=tuple(sig),
        signals=run_rules([_z(p, pbar, s) for p, s in zip(ps, sig, strict=True)]),
    )


def u_chart(counts: Sequence[float], sizes: Sequence[float]) -> AttributeChart:
    """u-chart for rates (events per unit of exposure) with varying exposure."""
    cs = _check_finite(counts, "counts")
    if not cs:
        raise ValueError("a u-chart needs at least 1 sample")
    ns = _sizes(sizes, len(cs))
    for i, c in enumerate(cs):
        if c < 0:
            raise ValueError(f"counts[{i}] must not be negative, got {c!r}")
    ubar = math.fsum(cs) / math.fsum(ns)
    us = [c / n for c, n in zip(cs, ns, strict=True)]
    sig = [math.sqrt(ubar / n) for n in ns]
    return AttributeChart(
        kind="u",
        values=tuple(us),
        sizes=tuple(ns),
        center=ubar,
        ucl=tuple(ubar + 3 * s for s in sig),
        lcl=tuple(max(0.0, ubar - 3 * s) for s in sig),
        sigma=tuple(sig),
        signals=run_rules([_z(u, ubar, s) for u, s in zip(us, sig, strict=True)]),
    )


def _z(x: float, center: float, sigma: float) -> float:
    if sigma > 0:
        return (x - center) / sigma
    return 0.0 if x == center else math.copysign(math.inf, x - center)

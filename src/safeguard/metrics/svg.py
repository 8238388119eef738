"""Control charts as SVG, rendered on the server (no script; R-KPI-9).

Readable without colour: ordinary points are circles, points with a signal are diamonds with
a number beside them; the centre line is solid, the control limits dashed and labelled in
text; :func:`explanations` gives each numbered signal in words for the page to show beside
the chart. Only presentation attributes are used (no ``style``), so the strict CSP holds.
A pure module: plain data in, a string out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from safeguard.metrics.spc import RULE_DESCRIPTIONS, AttributeChart, XmR

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 96, 16, 40
DASH = "6 4"

Formatter = Callable[[float], str]


@dataclass(frozen=True)
class Plot:
    """What is drawn: per-point values, centre and limits, the signals (indexes into the points)
    and the baseline phases ``(first index, label)`` after the first."""

    values: tuple[float, ...]
    centers: tuple[float, ...]
    ucl: tuple[float, ...]
    lcl: tuple[float, ...]
    signals: list[tuple[int, str]]
    phases: tuple[tuple[int, str], ...] = ()


def plot_of(chart: XmR | AttributeChart | Plot) -> Plot:
    """One chart as a plot (limits repeated per point for an XmR chart)."""
    if isinstance(chart, Plot):
        return chart
    n = len(chart.values)
    if isinstance(chart, XmR):
        return Plot(values=chart.values, centers=(chart.center,) * n, ucl=(chart.ucl,) * n,
                    lcl=(chart.lcl,) * n, signals=list(chart.signals))
    return Plot(values=chart.values, centers=(chart.center,) * n, ucl=chart.ucl,
                lcl=chart.lcl, signals=list(chart.signals))


def phased(parts: Sequence[tuple[int, str, XmR | AttributeChart]]) -> Plot:
    """Consecutive phases ``(first index, label, chart of the phase's points)`` as one plot;
    each phase keeps its own limits and signals."""
    values: list[float] = []
    centers: list[float] = []
    ucl: list[float] = []
    lcl: list[float] = []
    signals: list[tuple[int, str]] = []
    marks: list[tuple[int, str]] = []
    for k, (start, label, chart) in enumerate(parts):
        p = plot_of(chart)
        if start != len(values):
            raise ValueError("phases must be consecutive")
        if k:
            marks.append((start, label))
        signals += [(start + i, r) for i, r in p.signals]
        values += p.values
        centers += p.centers
        ucl += p.ucl
        lcl += p.lcl
    return Plot(values=tuple(values), centers=tuple(centers), ucl=tuple(ucl), lcl=tuple(lcl),
                signals=signals, phases=tuple(marks))


@dataclass(frozen=True)
class Explanation:
    number: int
    index: int
    label: str
    rules: tuple[str, ...]
    text: str


def _signal_points(signals: Sequence[tuple[int, str]]) -> dict[int, tuple[str, ...]]:
    by_index: dict[int, list[str]] = {}
    for i, rule in signals:
        by_index.setdefault(i, []).append(rule)
    return {i: tuple(by_index[i]) for i in sorted(by_index)}


def explanations(chart: XmR | AttributeChart | Plot,
                 labels: Sequence[str]) -> list[Explanation]:
    """One numbered explanation per point that carries a signal, in point order."""
    out = []
    for n, (i, rules) in enumerate(_signal_points(chart.signals).items(), start=1):
        words = "; ".join(RULE_DESCRIPTIONS[r] for r in rules)
        out.append(Explanation(number=n, index=i, label=labels[i], rules=rules,
                               text=f"Signal {n} at {labels[i]}: {words}."))
    return out


def render(chart: XmR | AttributeChart | Plot, *, labels: Sequence[str], title: str,
           fmt: Formatter = lambda v: f"{v:.4g}") -> str:
    """The chart as a standalone ``<svg>`` element (a string safe to embed in HTML)."""
    plot = plot_of(chart)
    values = list(plot.values)
    n = len(values)
    if len(labels) != n:
        raise ValueError(f"{n} points but {len(labels)} labels")
    ucl, lcl, centers = list(plot.ucl), list(plot.lcl), list(plot.centers)
    lo = min([*values, *lcl, *centers])
    hi = max([*values, *ucl, *centers])
    if not math.isfinite(hi - lo) or hi - lo == 0:
        lo, hi = lo - 1, hi + 1
    pad = (hi - lo) * 0.08
    lo, hi = lo - pad, hi + pad
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + (plot_w * (i + 0.5) / n)

    def y(v: float) -> float:
        return TOP + plot_h * (hi - v) / (hi - lo)

    signals = _signal_points(plot.signals)
    numbers = {i: k for k, i in enumerate(signals, start=1)}
    constant = len(set(ucl)) == 1 and len(set(lcl)) == 1 and len(set(centers)) == 1
    desc = (f"{n} points; centre {fmt(centers[-1])}; "
            + (f"upper limit {fmt(ucl[0])}, lower limit {fmt(lcl[0])}" if constant
               else "limits vary with the sample size or the phase")
            + f"; {len(signals)} point(s) with a signal"
            + "".join(f"; from {labels[i]} a new phase: {label}" for i, label in plot.phases)
            + ".")
    parts = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" role="img" class="control-chart" aria-label={quoteattr(title)}>'),
        f"<title>{escape(title)}</title>",
        f"<desc>{escape(desc)}</desc>",
        (f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#999" stroke-width="1"/>'),
    ]
    # Centre line: solid. Limits: dashed, labelled with their values at the right edge.
    steps = " ".join(f"{LEFT + plot_w * i / n:.1f},{y(c):.1f} {LEFT + plot_w * (i + 1) / n:.1f},"
                     f"{y(c):.1f}" for i, c in enumerate(centers))
    parts.append(f'<polyline class="centre" points="{steps}" fill="none" stroke="#333" '
                 'stroke-width="1.5"/>')
    parts.append(f'<text class="limit-label" x="{LEFT + plot_w + 4}" y="{y(centers[-1]) + 4:.1f}"'
                 f' font-size="11">CL {escape(fmt(centers[-1]))}</text>')
    # Phase boundaries: a dotted vertical line with the change's label in text.
    for i, label in plot.phases:
        px = LEFT + plot_w * i / n
        parts.append(f'<line class="phase" x1="{px:.1f}" x2="{px:.1f}" y1="{TOP}" '
                     f'y2="{TOP + plot_h}" stroke="#333" stroke-width="1" stroke-dasharray="2 3"/>')
        parts.append(f'<text class="phase-label" x="{px + 3:.1f}" y="{TOP + 11}" '
                     f'font-size="10">{escape(label)}</text>')
    for name, series in (("UCL", ucl), ("LCL", lcl)):
        pts = []
        for i, v in enumerate(series):
            x0, x1 = LEFT + plot_w * i / n, LEFT + plot_w * (i + 1) / n
            pts.append(f"{x0:.1f},{y(v):.1f} {x1:.1f},{y(v):.1f}")
        parts.append(f'<polyline class="limit {name.lower()}" points="{" ".join(pts)}" '
                     f'fill="none" stroke="#333" stroke-width="1" stroke-dasharray="{DASH}"/>')
        last = series[-1]
        dy = -3 if name == "UCL" else 12
        parts.append(f'<text class="limit-label" x="{LEFT + plot_w + 4}" y="{y(last) + dy:.1f}" '
                     f'font-size="11">{name} {escape(fmt(last))}</text>')
    line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    parts.append(f'<polyline class="series" points="{line}" fill="none" stroke="#1f4e8c" '
                 'stroke-width="1.5"/>')
    for i, v in enumerate(values):
        cx, cy = x(i), y(v)
        tip = f"{labels[i]}: {fmt(v)}"
        if i in signals:
            k = numbers[i]
            tip += " — signal " + str(k) + ": " + "; ".join(RULE_DESCRIPTIONS[r]
                                                            for r in signals[i])
            d = (f"M{cx:.1f},{cy - 7:.1f} L{cx + 7:.1f},{cy:.1f} L{cx:.1f},{cy + 7:.1f} "
                 f"L{cx - 7:.1f},{cy:.1f} Z")
            parts.append(f'<path class="signal" data-index="{i}" d="{d}" fill="#b00020" '
                         f'stroke="#000" stroke-width="1"><title>{escape(tip)}</title></path>')
            parts.append(f'<text class="signal-number" x="{cx + 8:.1f}" y="{cy - 8:.1f}" '
                         f'font-size="11" font-weight="bold">{k}</text>')
        else:
            parts.append(f'<circle class="point" data-index="{i}" cx="{cx:.1f}" cy="{cy:.1f}" '
                         f'r="3.5" fill="#1f4e8c"><title>{escape(tip)}</title></circle>')
    # First and last labels on the x axis; every point names its own in its <title>.
    parts.extend(f'<text class="x-label" x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 16}" '
                 f'font-size="11" text-anchor="middle">{escape(labels[i])}</text>'
                 for i in sorted({0, n - 1}))
    parts.append("</svg>")
    return "".join(parts)


def uptime_bars(days: Sequence[tuple[str, float | None]], *, title: str) -> str:
    """A daily uptime strip: one bar per day whose filled height is the share of health samples
    that were up; a day without samples is a dashed empty outline (unknown, not up). Readable
    without colour: height and outline carry the meaning; every bar has its value in a
    ``<title>``."""
    n = len(days)
    if n == 0:
        raise ValueError("no days to draw")
    width, height, top, bottom = 640, 70, 6, 20
    step = width / n
    bar_w = max(1.0, step * 0.8)
    plot_h = height - top - bottom
    known = [r for _, r in days if r is not None]
    desc = (f"{n} days; {len(known)} with samples"
            + (f"; lowest day {min(known) * 100:.2f}% up" if known else "")
            + "; a dashed empty bar is a day without samples (unknown).")
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
              f'width="100%" role="img" class="uptime-bars" aria-label={quoteattr(title)}>'),
             f"<title>{escape(title)}</title>", f"<desc>{escape(desc)}</desc>"]
    for i, (label, ratio) in enumerate(days):
        x = i * step + (step - bar_w) / 2
        if ratio is None:
            parts.append(f'<rect class="day unknown" data-date={quoteattr(label)} x="{x:.1f}" '
                         f'y="{top}" width="{bar_w:.1f}" height="{plot_h}" fill="none" '
                         f'stroke="#777" stroke-width="0.8" stroke-dasharray="2 2">'
                         f"<title>{escape(label)}: no samples (unknown)</title></rect>")
            continue
        h = plot_h * max(0.0, min(1.0, ratio))
        tip = f"{label}: {math.floor(ratio * 10000) / 100:.2f}% of samples up"
        parts.append(f'<rect class="day" data-date={quoteattr(label)} x="{x:.1f}" y="{top}" '
                     f'width="{bar_w:.1f}" height="{plot_h}" fill="none" stroke="#333" '
                     f'stroke-width="0.8"><title>{escape(tip)}</title></rect>')
        if h > 0:
            parts.append(f'<rect class="up" x="{x:.1f}" y="{top + plot_h - h:.1f}" '
                         f'width="{bar_w:.1f}" height="{h:.1f}" fill="#1f4e8c"/>')
    parts.extend(f'<text class="x-label" x="{(i + 0.5) * step:.1f}" y="{height - 5}" '
                 f'font-size="11" text-anchor="{a}">{escape(days[i][0])}</text>'
                 for i, a in ((0, "start"), (n - 1, "end")))
    parts.append("</svg>")
    return "".join(parts)

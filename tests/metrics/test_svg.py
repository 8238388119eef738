"""The server-side control chart SVG, parsed as XML (R-KPI-9): one mark per point, a distinct
numbered shape per signal point, dashed labelled limits, signals explained in words."""

import xml.etree.ElementTree as ET

from safeguard.metrics import spc, svg

NS = {"s": "http://www.w3.org/2000/svg"}


def _parse(text):
    return ET.fromstring(text)  # noqa: S314 - our own output, parsed to check its structure


def test_xmr_svg_marks_every_point_and_each_signal_with_a_numbered_diamond():
    # given a series whose 13th point is far out and whose last 8 points run above the centre
    values = [10.0, 11.0] * 6 + [30.0] + [10.6] * 7
    chart = spc.xmr(values, baseline=12)
    labels = [f"d{i}" for i in range(len(values))]
    # when rendered
    root = _parse(svg.render(chart, labels=labels, title="Test chart"))
    # then every point has exactly one mark: a circle, or a diamond when it carries a signal
    signal_points = sorted({i for i, _ in chart.signals})
    circles = root.findall(".//s:circle[@class='point']", NS)
    diamonds = root.findall(".//s:path[@class='signal']", NS)
    assert len(circles) + len(diamonds) == len(values)
    assert [int(d.get("data-index")) for d in diamonds] == signal_points
    assert 12 in signal_points
    numbers = [t.text for t in root.findall(".//s:text[@class='signal-number']", NS)]
    assert numbers == [str(k) for k in range(1, len(signal_points) + 1)]
    # limits dashed and labelled in text, the centre solid
    limits = root.findall(".//s:polyline", NS)
    dashed = [p.get("class") for p in limits if p.get("stroke-dasharray")]
    assert dashed == ["limit ucl", "limit lcl"]
    label_texts = [t.text for t in root.findall(".//s:text[@class='limit-label']", NS)]
    assert [lt.split()[0] for lt in label_texts] == ["CL", "UCL", "LCL"]
    assert label_texts[1] == f"UCL {chart.ucl:.4g}"
    assert root.find("s:title", NS).text == "Test chart"
    assert "style" not in svg.render(chart, labels=labels, title="t")  # strict CSP


def test_explanations_in_words_one_per_signal_point():
    values = [10.0, 11.0] * 6 + [30.0]
    chart = spc.xmr(values, baseline=12)
    labels = [f"2026-{m:02d}" for m in range(1, 14)]
    ex = svg.explanations(chart, labels)
    assert [(e.number, e.index) for e in ex] == [(1, 12)]
    assert ex[0].text == "Signal 1 at 2026-13: a point beyond a 3-sigma control limit."


def test_p_chart_svg_has_stepped_limits_and_escapes_labels():
    chart = spc.p_chart([1, 2, 30], [50, 60, 40])
    text = svg.render(chart, labels=["<a>", "b&c", "z"], title="CSAT <weekly>")
    root = _parse(text)
    assert root.find("s:title", NS).text == "CSAT <weekly>"
    ucl = root.find(".//s:polyline[@class='limit ucl']", NS)
    assert len(ucl.get("points").split()) == 6  # two points per sample: a step per sample size
    # pbar = 33/150 = 0.22: 1/50 (z = -3.41), 2/60 (z = -3.49), 30/40 (z = 8.1) all beyond 3σ
    assert len(root.findall(".//s:path[@class='signal']", NS)) == 3
    assert root.findall(".//s:circle[@class='point']", NS) == []

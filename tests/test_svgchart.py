"""observability/svgchart.py: the SVG's structure, its gaps, legend, accessibility and scale choice."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import pytest

from observability import svgchart
from observability.clock import UTC

NS = {"s": "http://www.w3.org/2000/svg"}
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def series(name, values):
    return svgchart.Series(name, [(T0 + timedelta(hours=i), v) for i, v in enumerate(values)])


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def paths_of(root: ET.Element, name: str) -> tuple[list[str], int]:
    group = next(g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("data-series") == name)
    ds = [p.get("d") for p in group.findall("s:path", NS)]
    return ds, len(group.findall("s:circle", NS))


@pytest.mark.parametrize(
    ("values", "threshold", "kind"),
    [
        ([900, 1200, 1500], 120000, "split"),  # healthy series far under the SLO: SLO above a break
        ([50, 60, 20000], 120000, "log"),  # two decades apart: log
        ([50000, 90000, 130000], 120000, "linear"),  # near the SLO: one linear axis holds both
        ([1, 2, 3], None, "linear"),
        ([], 120000, "split"),  # no data at all: nothing to flatten
    ],
)
def test_scale_choice(values, threshold, kind):
    assert svgchart.choose_scale(values, threshold).kind == kind


def test_split_scale_fits_the_data_and_draws_the_slo_above_a_break():
    root = parse(svgchart.line_chart([series("feed", [900, 1200, 1500])], chart_id="x", title="t", threshold=120000))
    assert root.get("data-scale") == "split"
    scale = svgchart.choose_scale([900, 1200, 1500], 120000)
    assert 1500 < scale.high < 3000  # the data fill the plot instead of its bottom 1 %
    threshold, legend_sample = [e for e in root.iter("{http://www.w3.org/2000/svg}line") if e.get("class") == "thr"]
    assert legend_sample.get("y1") == "18"
    assert float(threshold.get("y1")) < svgchart.TOP + svgchart.BREAK_BAND  # in the band above the break
    assert any(p.get("class") == "brk" for p in root.iter("{http://www.w3.org/2000/svg}path"))
    texts = "".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "off scale" in texts


def test_gaps_break_the_line_and_a_lone_point_is_a_dot_never_zero():
    root = parse(svgchart.line_chart([series("feed", [10, 12, None, None, 11, None, 13, 14])], chart_id="g", title="t"))
    ds, dots = paths_of(root, "feed")
    (d,) = ds
    assert d.count("M") == 2  # [10, 12] and [13, 14]; [11] alone is a dot
    assert dots == 1
    ys = [float(y) for y in re.findall(r"[ML]?[\d.]+ ([\d.]+)", d)]
    bottom = svgchart.HEIGHT - svgchart.BOTTOM
    assert all(y < bottom for y in ys)  # no point drawn at 0


def test_legend_accessibility_and_colours_for_both_schemes():
    svg = svgchart.line_chart(
        [series("a", [1, 2]), series("b", [2, 3])], chart_id="p95 0", title="p95 latency", threshold=5
    )
    root = parse(svg)
    assert root.get("role") == "img"
    uid = root.get("id")
    assert root.get("aria-labelledby") == f"{uid}-t {uid}-d"
    assert root.find("s:title", NS).text == "p95 latency"
    desc = root.find("s:desc", NS).text
    assert "a: 2 points" in desc and "b: 2 points" in desc and "SLO" in desc
    legend = [
        t.text
        for g in root.iter("{http://www.w3.org/2000/svg}g")
        if g.get("class") == "legend-entry"
        for t in g.findall("s:text", NS)
    ]
    assert legend == ["a", "b", "SLO"]
    style = root.find("s:style", NS).text
    assert "prefers-color-scheme: dark" in style
    assert svgchart.LIGHT[0] in style and svgchart.DARK[0] in style
    assert "<script" not in svg and "http://" not in svg.replace("http://www.w3.org/2000/svg", "")


def _luminance(colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_series_colours_contrast_with_the_background_in_both_schemes():
    assert all(_contrast(c, "#ffffff") >= 4.5 for c in (*svgchart.LIGHT, svgchart.THRESHOLD[0]))
    assert all(_contrast(c, "#0d1117") >= 4.5 for c in (*svgchart.DARK, svgchart.THRESHOLD[1]))
    assert len(set(svgchart.LIGHT)) == len(svgchart.LIGHT) == len(set(svgchart.DASHES))


def test_a_series_with_no_data_says_so_and_too_many_series_are_refused():
    root = parse(svgchart.line_chart([series("quiet", [None, None])], chart_id="q", title="t", threshold=100))
    assert "quiet: no data" in root.find("s:desc", NS).text
    assert paths_of(root, "quiet") == ([], 0)
    with pytest.raises(ValueError, match="at most 6"):
        svgchart.line_chart([series(str(i), [1]) for i in range(7)], chart_id="m", title="t")
    with pytest.raises(ValueError, match="at least one"):
        svgchart.line_chart([], chart_id="e", title="t")


def test_names_are_escaped():
    root = parse(svgchart.line_chart([series('<b>&"', [1, 2])], chart_id="e", title="a < b"))
    assert root.find("s:title", NS).text == "a < b"
    assert paths_of(root, '<b>&"')[0]

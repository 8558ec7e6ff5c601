"""The step-summary chart (markdown.xychart): a legend with the colours used, gaps never drawn as 0,
and a threshold line that does not flatten the series it sits beside."""

from __future__ import annotations

import re

from observability import markdown

SLO = 120_000.0


def chart(labels, series, **kw):
    return "\n".join(markdown.xychart(labels, series, y_label="p95 ms", **kw))


def plotted(text: str) -> list[list[int]]:
    return [[int(v) for v in m.split(", ")] for m in re.findall(r"^  line \[(.*)\]$", text, re.M)]


def palette(text: str) -> list[str]:
    found = re.search(r'"plotColorPalette": "([^"]*)"', text)
    assert found, text
    return found.group(1).split(", ")


def legend(text: str) -> str:
    return re.search(r"^\*\*Legend:\*\* (.*)$", text, re.M).group(1)


def test_each_line_has_a_readable_colour_named_in_the_legend():
    text = chart(["00", "01"], {"feed_a": [100, 200], "feed_b": [300, 400]})
    colours = palette(text)
    assert colours == [markdown.PALETTE[0][0], markdown.PALETTE[1][0]]
    assert legend(text) == f"{markdown.PALETTE[0][1]} feed_a · {markdown.PALETTE[1][1]} feed_b"
    assert text.index("%%{init:") < text.index("xychart-beta")  # the directive must come first


def luminance(colour: str) -> float:
    def channel(hex2: str) -> float:
        x = int(hex2, 16) / 255
        return x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_every_line_colour_has_3_to_1_contrast_on_githubs_light_and_dark_backgrounds():
    # the default palette's first colour was near-invisible on white (WCAG asks 3:1 for graphics)
    for colour in [c for c, _ in markdown.PALETTE] + [markdown.THRESHOLD_COLOUR[0]]:
        for background in ("#ffffff", "#0d1117"):
            a, b = sorted((luminance(colour), luminance(background)), reverse=True)
            assert (a + 0.05) / (b + 0.05) >= 3, (colour, background)


def test_a_missing_point_is_never_drawn_as_zero_and_the_text_says_where_it_is():
    text = chart(["00", "01", "02", "03"], {"feed_a": [100, None, 300, None], "feed_b": [None, 200, 250, 260]})
    lines = plotted(text)
    assert lines == [[100, 200, 300], [200, 200, 250, 260]]  # bridged, held, cut: no 0 anywhere
    assert "_feed_a: no data at 01, 03 (bridged straight across; the line stops at its last value), not 0._" in text
    assert "_feed_b: no data at 00 (the line starts level at its first value), not 0._" in text


def test_a_label_without_any_data_is_left_off_the_axis_and_a_silent_series_is_named():
    text = chart(["00", "01", "02"], {"feed_a": [100, None, 300], "feed_b": [None, None, None]})
    assert re.search(r'x-axis "hour \(UTC\)" \[00, 02\]', text)
    assert plotted(text) == [[100, 300]]
    assert "_No data at 01: left off the x-axis, not drawn as 0._" in text
    assert "_No data for feed_b: not charted._" in text
    assert markdown.xychart(["00"], {"feed_a": [None]}, y_label="p95 ms") == ["_No data to chart (p95 ms)._"]


def test_a_threshold_far_above_the_data_is_stated_not_drawn():
    text = chart(["00", "01"], {"feed_a": [800, 850]}, threshold=SLO)
    assert plotted(text) == [[800, 850]] and len(palette(text)) == 1
    assert "_SLO 120,000 ms not drawn: the highest value charted is 850 ms (0.7% of it)" in text
    assert "SLO" not in legend(text)


def test_a_threshold_near_the_data_is_drawn_in_its_own_colour_and_named():
    text = chart(["00", "01"], {"feed_a": [100_000, 130_000]}, threshold=SLO)
    assert plotted(text) == [[100000, 130000], [120000, 120000]]
    assert palette(text) == [markdown.PALETTE[0][0], markdown.THRESHOLD_COLOUR[0]]
    assert legend(text).endswith(f"{markdown.THRESHOLD_COLOUR[1]} SLO 120,000 ms")
    assert "not drawn" not in text


def test_more_series_than_colours_say_the_colours_repeat_and_names_are_escaped():
    series = {f"feed|{i}": [float(i + 1)] for i in range(len(markdown.PALETTE) + 1)}
    text = chart(["00"], series)
    assert len(palette(text)) == len(series)
    assert f"_Colours repeat after {len(markdown.PALETTE)} lines" in text
    assert "feed\\|0" in legend(text)


def test_a_value_that_is_not_a_finite_number_is_a_gap_never_a_crash():
    """NaN, Infinity or an integer past the float range (a stored payload's JSON) raised in round()."""
    text = chart(["a", "b", "c", "d"], {"feed": [1.0, float("nan"), float("inf"), 10**400]})
    assert plotted(text) == [[1]]
    assert "b" in text.split("```")[-1]  # the gaps are named under the chart

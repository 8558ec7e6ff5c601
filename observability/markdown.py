"""Small Markdown helpers for step summaries and issue bodies: safe cells, details, charts."""

from __future__ import annotations

import math


def cell(value) -> str:
    """Text safe inside a table cell: pipes escaped, newlines flattened."""
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def user_text(value: str, limit: int = 200) -> str:
    """Text a person typed (a drill's reason), shown inline and inert: control characters and
    newlines flattened, clipped to ``limit`` characters, inside a code span, where GitHub renders
    no Markdown, HTML, @mention or #reference (backticks, which would end the span, become ')."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in str(value)).split()).replace("`", "'")
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return f"`{flat}`" if flat else "_(none)_"


def details(summary: str, body: list[str]) -> list[str]:
    return ["<details>", f"<summary>{cell(summary)}</summary>", "", *body, "", "</details>"]


# Line colours (after Okabe-Ito, told apart with the common colour-vision deficiencies), each at least
# 3:1 against both GitHub's light (#ffffff) and dark (#0d1117) backgrounds, with the emoji square the
# Markdown legend shows (Mermaid's xychart draws no legend). The threshold line has its own colour.
PALETTE: tuple[tuple[str, str], ...] = (
    ("#0072B2", "🟦"),
    ("#C77800", "🟧"),
    ("#009E73", "🟩"),
    ("#9B59B6", "🟪"),
    ("#A0642D", "🟫"),
    ("#998200", "🟨"),
)
THRESHOLD_COLOUR = ("#D62728", "🟥")
# The threshold line is drawn only when the highest value charted reaches this share of it: below it,
# the line would squash every series into the bottom of the axis (120,000 ms beside p95s of 800 ms).
THRESHOLD_SHARE = 0.25


def _num(value: float, decimals: int = 0) -> str:
    return f"{value:,.{decimals}f}"


def _point(value: float, decimals: int) -> str:
    """A charted value: rounded to a whole number (as before) or to ``decimals`` places."""
    return str(round(value)) if decimals == 0 else f"{value:.{decimals}f}"


def _fill(values: list[float | None]) -> list[float] | None:
    """A series' points with its gaps closed as the line is drawn: interior gaps bridged straight
    between the known neighbours, a leading gap held at the first value, a trailing one left off (the
    line stops). None for a series with no value at all."""
    points = {i: float(v) for i, v in enumerate(values) if v is not None}
    if not points:
        return None
    known = sorted(points)
    out: list[float] = []
    for i in range(known[-1] + 1):
        before = max((k for k in known if k <= i), default=None)
        after = min((k for k in known if k >= i), default=known[-1])
        if before is None:
            out.append(points[after])
        elif before == after:
            out.append(points[i])
        else:
            out.append(points[before] + (points[after] - points[before]) * (i - before) / (after - before))
    return out


def _gap_drawing(values: list[float | None], keep: list[int]) -> str:
    """How a series' gaps are drawn, in words (for the note under the chart)."""
    kept = [values[i] for i in keep]
    known = [i for i, v in enumerate(kept) if v is not None]
    ways = []
    if known[0] > 0:
        ways.append("the line starts level at its first value")
    if any(v is None for v in kept[known[0] : known[-1]]):
        ways.append("bridged straight across")
    if known[-1] < len(kept) - 1:
        ways.append("the line stops at its last value")
    return "; ".join(ways)


def _drawable(value: float) -> bool:
    try:
        return math.isfinite(value)
    except (OverflowError, TypeError):  # an int past the float range; not a number
        return False


def xychart(
    labels: list[str],
    series: dict[str, list[float | None]],
    *,
    y_label: str,
    threshold: float | None = None,
    threshold_name: str = "SLO",
    x_label: str = "hour (UTC)",
    unit: str = "ms",
    decimals: int = 0,
) -> list[str]:
    """A Mermaid xychart (GitHub renders it), one line per series, with a Markdown legend under it.

    Never draws a missing value as 0: a label no series has a value for is left off the x-axis, and a
    series' own gaps are bridged between its neighbours (a trailing gap ends its line); the text under
    the chart names every gap. The ``threshold`` line is drawn only when the data reach
    ``THRESHOLD_SHARE`` of it; otherwise the text gives the threshold and the highest value instead.
    ``decimals``: digits kept after the point (percentages a tenth apart would otherwise draw flat).
    """
    # A value that is not a finite number (NaN, Infinity or a 400-digit integer in a stored payload's JSON)
    # is a gap: Mermaid cannot draw it, and round() of it raised ValueError or OverflowError (the page was lost).
    series = {name: [v if v is None or _drawable(v) else None for v in values] for name, values in series.items()}
    keep = [i for i in range(len(labels)) if any(vals[i] is not None for vals in series.values())]
    dropped = [labels[i] for i in range(len(labels)) if i not in set(keep)]
    shown = [labels[i] for i in keep]
    drawn: dict[str, list[float]] = {}
    gaps: dict[str, list[str]] = {}
    empty: list[str] = []
    for name, values in series.items():
        kept = [values[i] for i in keep]
        filled = _fill(kept)
        if filled is None:
            empty.append(name)
            continue
        drawn[name] = filled
        missing = [shown[i] for i, v in enumerate(kept) if v is None]
        if missing:
            gaps[name] = missing
    if not drawn:
        return [f"_No data to chart ({y_label})._"]
    peak = max(float(v) for name in drawn for v in series[name] if v is not None)
    drawn_at = threshold if threshold is not None and peak >= threshold * THRESHOLD_SHARE else None
    with_threshold = drawn_at is not None
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(drawn))]
    palette = [c for c, _ in colours] + ([THRESHOLD_COLOUR[0]] if with_threshold else [])
    init = '{"themeVariables": {"xyChart": {"plotColorPalette": "' + ", ".join(palette) + '"}}}'
    lines = [
        "```mermaid",
        f"%%{{init: {init}}}%%",
        "xychart-beta",
        f'  x-axis "{x_label}" [{", ".join(shown)}]',
        f'  y-axis "{y_label}"',
    ]
    for points in drawn.values():
        lines.append(f"  line [{', '.join(_point(v, decimals) for v in points)}]")
    if drawn_at is not None:
        lines.append(f"  line [{', '.join([_point(drawn_at, decimals)] * len(shown))}]")
    lines.append("```")
    legend = [f"{emoji} {cell(name)}" for (_, emoji), name in zip(colours, drawn, strict=True)]
    if drawn_at is not None:
        legend.append(f"{THRESHOLD_COLOUR[1]} {threshold_name} {_num(drawn_at, decimals)} {unit}")
    notes = [f"**Legend:** {' · '.join(legend)}"]
    if len(drawn) > len(PALETTE):
        notes.append(f"_Colours repeat after {len(PALETTE)} lines: the table has each series' values._")
    if threshold is not None and not with_threshold:
        notes.append(
            f"_{threshold_name} {_num(threshold, decimals)} {unit} not drawn: the highest value charted is "
            f"{_num(peak, decimals)} {unit} ({peak / threshold:.1%} of it), so its line would flatten every series._"
        )
    if dropped:
        notes.append(f"_No data at {', '.join(dropped)}: left off the x-axis, not drawn as 0._")
    for name, missing in gaps.items():
        notes.append(f"_{cell(name)}: no data at {', '.join(missing)} ({_gap_drawing(series[name], keep)}), not 0._")
    if empty:
        notes.append(f"_No data for {', '.join(cell(n) for n in empty)}: not charted._")
    return [*lines, "", *"\n\n".join(notes).split("\n")]

"""Inline SVG line charts for the status site: no JavaScript, no external resource.

Each chart carries its legend, its colours for light and dark schemes (a ``prefers-color-scheme`` rule
inside the SVG, each series also told apart by its dash pattern), a break in the line wherever a value
is missing (never a 0), and ``role="img"`` with a ``<title>`` and a ``<desc>`` that says in words what
the lines show. The scale is chosen so a threshold (the SLO) never flattens the series
(:func:`choose_scale`, docs/site.md "Charts").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 78, 16, 44, 36  # plot margins (legend above, time axis below)
BREAK_BAND = 34  # split scale: the band above the break that holds the threshold line
SPLIT_FACTOR = 4.0  # the threshold is drawn above a break when it exceeds this many times the data's maximum
LOG_SPAN = 100.0  # log scale when the largest value is this many times the smallest (two decades)
MAX_SERIES = 6

# Light-scheme colours reach 4.5:1 on white, dark-scheme ones 4.5:1 on #0d1117 (WCAG asks 3:1 of graphics).
LIGHT = ("#0b5cad", "#b93c0b", "#06765a", "#7a2fc2", "#8a5a00", "#b3185a")
DARK = ("#6cb6ff", "#ff9b62", "#3fd6a3", "#c79bff", "#f2c14e", "#ff7bb0")
DASHES = ("", "7 4", "2 3", "9 3 2 3", "4 4", "1 2")
THRESHOLD = ("#c4161c", "#ff6a69")  # light, dark


@dataclass(frozen=True)
class Series:
    """One line: its name (legend) and its points in time order; a None value is a gap."""

    name: str
    points: Sequence[tuple[datetime, float | None]]

    def values(self) -> list[float]:
        return [v for _, v in self.points if v is not None]


@dataclass(frozen=True)
class Scale:
    """How values map to the plot: ``linear``, ``log`` or ``split`` (linear, threshold above a break)."""

    kind: str
    low: float
    high: float


def choose_scale(values: Sequence[float], threshold: float | None) -> Scale:
    """The scale for ``values`` and a ``threshold`` line:

    - ``log`` when the values span two decades or more (one series at 50 ms, another at 20 s): the
      threshold is drawn inside the log range;
    - ``split`` when every value is under a quarter of the threshold (healthy series under a far
      SLO): a linear scale fitted to the values, the threshold drawn above a visible break;
    - ``linear`` otherwise, from 0 to the larger of the data and the threshold.
    """
    positive = [v for v in values if v > 0]
    top = max(values, default=0.0)
    if positive and max(positive) / min(positive) >= LOG_SPAN:
        low = 10 ** math.floor(math.log10(min(positive)))
        high_value = max(top, threshold or 0.0)
        return Scale("log", low, 10 ** math.ceil(math.log10(high_value)))
    if threshold is not None and top * SPLIT_FACTOR < threshold:
        return Scale("split", 0.0, _nice(top if top > 0 else threshold / SPLIT_FACTOR))
    return Scale("linear", 0.0, _nice(max(top, threshold or 0.0) or 1.0))


def _nice(value: float) -> float:
    """A round number at or above ``value`` * 1.05 (1, 2, 2.5 or 5 times a power of ten)."""
    value *= 1.05
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover - the loop ends at 10


def _number(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}".replace(",", "\u202f")  # narrow no-break space groups thousands
    if value >= 10:
        return f"{value:.0f}"
    return f"{value:.3g}"


def _ticks(scale: Scale) -> list[float]:
    if scale.kind == "log":
        first, last = round(math.log10(scale.low)), round(math.log10(scale.high))
        return [10.0**e for e in range(first, last + 1)]
    return [scale.high * i / 4 for i in range(5)]


class _Plot:
    def __init__(self, scale: Scale, count: int):
        self.scale = scale
        self.count = count
        self.top = TOP + (BREAK_BAND if scale.kind == "split" else 0)
        self.bottom = HEIGHT - BOTTOM
        self.width = WIDTH - LEFT - RIGHT

    def x(self, index: int) -> float:
        return LEFT + (self.width * index / (self.count - 1) if self.count > 1 else self.width / 2)

    def y(self, value: float) -> float:
        span = self.bottom - self.top
        s = self.scale
        if s.kind == "log":
            value = max(value, s.low)
            share = (math.log10(value) - math.log10(s.low)) / (math.log10(s.high) - math.log10(s.low))
        else:
            share = value / s.high if s.high else 0.0
        return self.bottom - span * min(max(share, 0.0), 1.0)


def _style(uid: str) -> str:
    rules = [
        f"#{uid} .bg{{fill:#ffffff}}#{uid} text{{fill:#1f2328;font:12px system-ui,sans-serif}}",
        f"#{uid} .grid{{stroke:#d0d7de;stroke-width:1}}#{uid} .axis{{stroke:#57606a;stroke-width:1}}",
        f"#{uid} .thr{{stroke:{THRESHOLD[0]};stroke-width:2;stroke-dasharray:10 5}}",
        f"#{uid} .brk{{stroke:#57606a;fill:none;stroke-width:1.5}}",
    ]
    for i, colour in enumerate(LIGHT):
        dash = f";stroke-dasharray:{DASHES[i]}" if DASHES[i] else ""
        rules.append(f"#{uid} .s{i}{{stroke:{colour};fill:none;stroke-width:2.2{dash}}}#{uid} .d{i}{{fill:{colour}}}")
    dark = [
        f"#{uid} .bg{{fill:#0d1117}}#{uid} text{{fill:#e6edf3}}",
        f"#{uid} .grid{{stroke:#30363d}}#{uid} .axis{{stroke:#8b949e}}#{uid} .brk{{stroke:#8b949e}}",
        f"#{uid} .thr{{stroke:{THRESHOLD[1]}}}",
    ]
    dark += [f"#{uid} .s{i}{{stroke:{c}}}#{uid} .d{i}{{fill:{c}}}" for i, c in enumerate(DARK)]
    return "".join(rules) + "@media (prefers-color-scheme: dark){" + "".join(dark) + "}"


def _describe(series: Sequence[Series], threshold: float | None, unit: str, scale: Scale) -> str:
    parts = []
    for s in series:
        values = s.values()
        gaps = len(s.points) - len(values)
        if not values:
            parts.append(f"{s.name}: no data")
            continue
        latest = next(v for _, v in reversed(s.points) if v is not None)
        parts.append(
            f"{s.name}: {len(values)} points, min {_number(min(values))} {unit}, max {_number(max(values))} {unit}, "
            f"latest {_number(latest)} {unit}" + (f", {gaps} without data (gaps in the line)" if gaps else "")
        )
    text = "; ".join(parts) + "."
    if threshold is not None:
        text += f" Threshold (SLO) {_number(threshold)} {unit}"
        text += {
            "split": ", drawn above a scale break: every value is under a quarter of it.",
            "log": ", on a logarithmic scale.",
            "linear": ".",
        }[scale.kind]
    elif scale.kind == "log":
        text += " Logarithmic scale."
    return text


def line_chart(
    series: Sequence[Series],
    *,
    chart_id: str,
    title: str,
    threshold: float | None = None,
    threshold_label: str = "SLO",
    unit: str = "ms",
) -> str:
    """An ``<svg>`` element (text) drawing ``series`` (at most six, sharing one time axis: the first
    series' points) and a dashed ``threshold`` line; ``chart_id`` must be unique in the page."""
    if not series:
        raise ValueError("a chart needs at least one series")
    if len(series) > MAX_SERIES:
        raise ValueError(f"at most {MAX_SERIES} series in one chart, got {len(series)}")
    uid = "c-" + "".join(ch if ch.isalnum() else "-" for ch in chart_id)
    values = [v for s in series for v in s.values()]
    scale = choose_scale(values, threshold)
    times = [t for t, _ in series[0].points]
    plot = _Plot(scale, len(times))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{uid}" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'aria-labelledby="{uid}-t {uid}-d" data-scale="{scale.kind}">',
        f'<title id="{uid}-t">{escape(title)}</title>',
        f'<desc id="{uid}-d">{escape(_describe(series, threshold, unit, scale))}</desc>',
        f"<style>{_style(uid)}</style>",
        f'<rect class="bg" x="0" y="0" width="{WIDTH}" height="{HEIGHT}" rx="6"/>',
    ]
    out += _axes(plot, scale, times, unit)
    if threshold is not None:
        ty = TOP + BREAK_BAND / 2 if scale.kind == "split" else plot.y(threshold)
        out.append(f'<line class="thr" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}"/>')
        label = f"{threshold_label} {_number(threshold)} {unit}" + (" (off scale)" if scale.kind == "split" else "")
        out.append(f'<text x="{WIDTH - RIGHT - 4}" y="{ty - 5:.1f}" text-anchor="end">{escape(label)}</text>')
        if scale.kind == "split":
            out.append(_break_mark(plot))
    for index, s in enumerate(series):
        out += _line(plot, s, index, len(times))
    out += _legend(series, threshold, threshold_label)
    out.append("</svg>")
    return "".join(out)


def _axes(plot: _Plot, scale: Scale, times: list[datetime], unit: str) -> list[str]:
    out = []
    for tick in _ticks(scale):
        y = plot.y(tick)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_number(tick)}</text>')
    out.append(
        f'<text x="12" y="{(plot.top + plot.bottom) / 2:.0f}" transform="rotate(-90 12 '
        f'{(plot.top + plot.bottom) / 2:.0f})" text-anchor="middle">{escape(unit)}'
        f"{' (log)' if scale.kind == 'log' else ''}</text>"
    )
    out.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{plot.bottom}" y2="{plot.bottom}"/>')
    if times:
        count = len(times)
        marks = sorted({round(i * (count - 1) / 4) for i in range(5)}) if count > 1 else [0]
        for i in marks:
            anchor = "start" if i == 0 else "end" if i == count - 1 else "middle"
            label = times[i].strftime("%m-%d %H:%M")
            out.append(f'<text x="{plot.x(i):.1f}" y="{HEIGHT - 14}" text-anchor="{anchor}">{label}</text>')
    return out


def _break_mark(plot: _Plot) -> str:
    """Two short zigzags across the axis between the threshold band and the plot: the scale is cut."""
    y = plot.top - 6
    marks = []
    for x in (LEFT, WIDTH - RIGHT):
        marks.append(f'<path class="brk" d="M{x - 7} {y + 3} l5 -6 l5 6 l5 -6"/>')
    return "".join(marks)


def _line(plot: _Plot, s: Series, index: int, count: int) -> list[str]:
    """The series as one path that restarts (``M``) after every gap; a point alone between gaps is a dot."""
    commands: list[str] = []
    dots: list[str] = []
    run: list[tuple[float, float]] = []

    def flush() -> None:
        if len(run) == 1:
            dots.append(f'<circle class="d{index}" cx="{run[0][0]:.1f}" cy="{run[0][1]:.1f}" r="2.5"/>')
        elif run:
            commands.append("M" + " L".join(f"{x:.1f} {y:.1f}" for x, y in run))
        run.clear()

    for i, (_, value) in enumerate(s.points[:count]):
        if value is None or not math.isfinite(value):
            flush()
        else:
            run.append((plot.x(i), plot.y(value)))
    flush()
    out = [f'<g class="series" data-series="{escape(s.name, {chr(34): "&quot;"})}">']
    if commands:
        out.append(f'<path class="s{index}" d="{" ".join(commands)}"/>')
    out += dots
    out.append("</g>")
    return out


def _legend(series: Sequence[Series], threshold: float | None, label: str) -> list[str]:
    out = ['<g class="legend">']
    x = LEFT
    entries = [(f"s{i}", s.name) for i, s in enumerate(series)]
    if threshold is not None:
        entries.append(("thr", label))
    for css, name in entries:
        shown = name if len(name) <= 24 else name[:23] + "\u2026"
        out.append(f'<g class="legend-entry"><line class="{css}" x1="{x}" x2="{x + 22}" y1="18" y2="18"/>')
        out.append(f'<text x="{x + 27}" y="22">{escape(shown)}</text></g>')
        x += 40 + 7 * len(shown)
    out.append("</g>")
    return out

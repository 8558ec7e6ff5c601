"""Small Markdown helpers for step summaries and issue bodies: safe cells, details, charts."""

from __future__ import annotations


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


def xychart(
    labels: list[str],
    series: dict[str, list[float | None]],
    *,
    y_label: str,
    threshold: float | None = None,
    x_label: str = "hour (UTC)",
) -> list[str]:
    """A Mermaid xychart (GitHub renders it); one line per series, the legend below it.

    Gaps are drawn as 0 because Mermaid lines cannot skip points; the table beside the chart
    keeps the exact values.
    """
    names = list(series)
    lines = ["```mermaid", "xychart-beta", f'  x-axis "{x_label}" [{", ".join(labels)}]', f'  y-axis "{y_label}"']
    for name in names:
        values = [0 if v is None else round(v) for v in series[name]]
        lines.append(f"  line [{', '.join(str(v) for v in values)}]")
    if threshold is not None:
        lines.append(f"  line [{', '.join(str(round(threshold)) for _ in labels)}]")
    lines.append("```")
    legend = ", ".join(f"{i + 1}. {cell(n)}" for i, n in enumerate(names))
    if threshold is not None:
        legend += f", {len(names) + 1}. SLO"
    lines.append(f"_Lines in order: {legend}_")
    return lines

"""The bodies of ``lake query``, ``lake runs`` and ``lake stats`` under the runtime's contract.

The answer goes three ways: its rows in the JSON summary (``result``: up to SUMMARY_ROWS rows; the
count and ``truncated`` say when there were more), the whole of it in ``--out`` in ``--format``
(table, csv or json), and, without ``--out``, that rendering on stderr for the person at the
terminal, since stdout carries the one JSON document every command prints.
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass
from typing import Any

from observability import fsio, markdown, runner, secrets
from observability.lake import api
from observability.lake.query import Result
from observability.runtime import JobContext, JobResult

SUMMARY_ROWS = 1000  # rows carried in the JSON summary; --out holds them all
MARKDOWN_ROWS = 50  # rows in the GitHub step summary
FORMATS = ("table", "csv", "json")


@dataclass(frozen=True)
class Output:
    """Where and how the answer is written: ``lake`` (DIR or s3://), ``out`` (a file or None), ``fmt``."""

    lake: str
    out: str | None = None
    fmt: str = "table"


def lake_location(ctx: JobContext, lake: str | None) -> str:
    """The lake root: --lake as given for s3://, else a directory relative to the workspace (default lake/)."""
    text = lake or api.DEFAULT_LAKE
    return text if text.startswith("s3://") else str(ctx.workspace.path(text))


def render(result: Result, fmt: str) -> str:
    """The answer as an aligned text table, CSV (header first) or a JSON array of objects."""
    if fmt == "json":
        return fsio.canonical_json(result.records(), indent=2)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows([["" if v is None else v for v in row] for row in result.rows])
        return buffer.getvalue()
    cells = [[_text(v) for v in row] for row in result.rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(result.columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(result.columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.append(f"({len(result.rows)} row{'s' if len(result.rows) != 1 else ''})")
    return "\n".join(lines) + "\n"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return " ".join(str(value).split())


def _markdown(title: str, result: Result) -> str:
    lines = [f"### {markdown.cell(title)}", ""]
    if not result.columns:
        return "\n".join([*lines, "_(no columns)_"])
    lines.append("| " + " | ".join(markdown.cell(c) for c in result.columns) + " |")
    lines.append("|" + "---|" * len(result.columns))
    for row in result.rows[:MARKDOWN_ROWS]:
        lines.append("| " + " | ".join(markdown.cell(_text(v)) for v in row) + " |")
    if len(result.rows) > MARKDOWN_ROWS:
        lines += ["", f"_{len(result.rows) - MARKDOWN_ROWS} more rows in the JSON summary or --out_"]
    return "\n".join(lines)


def deliver(ctx: JobContext, title: str, result: Result, output: Output, asked: dict[str, Any]) -> JobResult:
    """Write the answer (--out or stderr) and report it in the summary, registered secrets redacted
    (a lake written by another tool, or before redaction at ingest, may hold one)."""
    result = Result(secrets.redact_value(result.columns), [tuple(secrets.redact_value(list(r))) for r in result.rows])
    text = render(result, output.fmt)
    written = None
    if output.out:
        target = ctx.workspace.output_file(output.out, "--out")
        fsio.atomic_write_text(target, text)
        written = ctx.artefact(target)
    else:
        sys.stderr.write(runner.inert(text))
    records = result.records()
    return JobResult(
        figures={
            **asked,
            "result": {
                "columns": result.columns,
                "rows": records[:SUMMARY_ROWS],
                "row_count": len(records),
                "truncated": len(records) > SUMMARY_ROWS,
            },
            "output": written,
        },
        summary_markdown=_markdown(title, result),
    )


def run_query(ctx: JobContext, sql: str, output: Output, *, timeout: float | None = None) -> JobResult:
    result = api.query_result(sql, lake=output.lake, timeout=timeout)
    return deliver(ctx, "lake query", result, output, {"lake": _shown(output.lake, ctx)})


def run_runs(ctx: JobContext, ask: api.RunsQuery, output: Output) -> JobResult:
    result = api.runs_result(ask, output.lake)
    asked = {"lake": _shown(output.lake, ctx), "where": list(ask.where), "since": ask.since, "until": ask.until}
    return deliver(ctx, "lake runs", result, output, asked)


def run_stats(ctx: JobContext, ask: api.StatsQuery, output: Output) -> JobResult:
    result = api.stats_result(ask, output.lake)
    asked = {"lake": _shown(output.lake, ctx), "metric": ask.metric, "group_by": ask.group_by, "period": ask.period}
    return deliver(ctx, f"lake stats: {ask.metric}", result, output, asked)


def _shown(lake: str, ctx: JobContext) -> str:
    if lake.startswith("s3://"):
        from observability.storage import display_url

        return display_url(lake)
    return ctx.workspace.rel(lake)

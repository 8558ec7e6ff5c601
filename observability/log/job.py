"""The bodies of ``log rebuild`` and ``log kpi`` (observability.runtime runs them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from observability import clock, fsio, kpi, schemas
from observability.errors import ConfigError
from observability.log import rebuild as rebuild_mod
from observability.runtime import JobContext, JobResult

PLAN_DIR = "out/log_rebuild"  # <job_id>.jsonl: each line a rebuild wrote or would write, with its file
SHOWN = 5  # planned lines shown on stderr


def rebuild(ctx: JobContext, *, dry_run: bool) -> JobResult:
    """Plan the rebuild under the log lock; write it unless ``dry_run``. The plan (every rebuilt line
    and the file it goes to) is written to out/log_rebuild/<job_id>.jsonl either way."""
    from observability import runlog

    ws = ctx.workspace
    with runlog.log_lock(ws):
        plan = rebuild_mod.plan(ws)
        written = [] if dry_run or not plan.changes else rebuild_mod.apply(ws, plan, ctx.job_id)
    target = ws.path(PLAN_DIR) / f"{ctx.job_id}.jsonl"
    rows: list[dict[str, Any]] = [
        {"line": r, "file": plan.where.get(r["sequence"], ws.rel(ws.run_log))} for r in plan.rebuilt
    ]
    rows += [{"invalid": entry} for entry in plan.invalid]
    fsio.atomic_write_text(target, "".join(fsio.canonical_json(row) + "\n" for row in rows))
    ctx.artefact(target)
    for rel in written:
        ctx.artefact(rel)
    verb = "would write" if dry_run else "wrote"
    for row in rows[:SHOWN]:
        if "line" in row:
            line = row["line"]
            ctx.note(f"{verb} sequence {line['sequence']} ({line['job']}, {line['job_id']}) to {row['file']}")
    if len(rows) > SHOWN:
        ctx.note(f"... {len(rows) - SHOWN} more in {ws.rel(target)}")
    for entry in plan.invalid[:SHOWN]:
        ctx.note(f"{'would move' if dry_run else 'moved'} invalid line aside: {entry}")
    if not plan.changes:
        ctx.note("the automation log has no gap and no damaged line: nothing to rebuild")
    figures = {**plan.figures(), "plan": ws.rel(target), "written": written}
    if plan.unplaced:
        ctx.note(
            f"{len(plan.unplaced)} run(s) older than the log's last line have no free sequence number "
            f"(their lines were pruned or never written); not added: {', '.join(plan.unplaced[:5])}"
        )
    return JobResult(figures=figures, dry_run=dry_run, diagnostics={"rebuilt_lines": len(plan.rebuilt)})


@dataclass(frozen=True)
class KpiOptions:
    period: str = "week"
    output_format: str = "json"
    output: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def parse_time(value: str | None, option: str) -> datetime | None:
    """An ISO-8601 date or time (UTC when no offset is given); ConfigError names the option."""
    if value is None:
        return None
    text = value.strip()
    try:
        return clock.parse_iso(text if "T" in text else text + "T00:00:00Z")
    except ValueError:
        raise ConfigError(f"{option} {value!r}: expected an ISO-8601 date or time, e.g. 2026-01-05") from None


def kpi_report(ctx: JobContext, opts: KpiOptions) -> JobResult:
    """The KPI document for the log lines in the range, written as JSON or Markdown."""
    ws = ctx.workspace
    problems: list[tuple[str, str]] = []
    doc = kpi.report(ws, opts.period, since=opts.since, until=opts.until, problems=problems)
    schemas.validate(kpi.SCHEMA, doc, what="KPI report")
    for path, message in problems:
        ctx.warn(f"{path}: {message} (its lines are not counted)")
    text = kpi.markdown(doc)
    suffix = "md" if opts.output_format == "markdown" else "json"
    target = ws.output_file(opts.output, "--output") if opts.output else ws.out / "kpi" / f"{opts.period}.{suffix}"
    if opts.output_format == "markdown":
        fsio.atomic_write_text(target, text)
    else:
        fsio.atomic_write_json(target, doc)
    ctx.artefact(target)
    return JobResult(
        figures={"kpi": doc, "output": ws.rel(target)},
        summary_markdown=text,
        findings=["log_segment_damaged"] if problems else [],
    )

"""The body of ``observability migrate`` (observability.runtime runs it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from observability import fsio, schemas
from observability.migrate import legacy
from observability.runtime import JobContext, JobResult

SCHEMA = "migrate_report"


def migrate(ctx: JobContext, legacy_dir: str, *, source: str, dry_run: bool) -> JobResult:
    """Check the whole legacy tree, then (unless ``dry_run``) write; the report lists every file either way."""
    ws = ctx.workspace
    plan = legacy.plan(ws, Path(legacy_dir).expanduser(), source=source, now=ctx.now)
    written = [] if dry_run else legacy.apply(ws, plan)
    counts: dict[str, int] = {}
    for action in plan.actions:
        counts[action.action] = counts.get(action.action, 0) + 1
    report: dict[str, Any] = {
        "job_id": ctx.job_id,
        "legacy_ops": str(plan.legacy_ops),
        "dry_run": dry_run,
        "actions": [a.as_dict() for a in plan.actions],
        "counts": dict(sorted(counts.items())),
        "samples": {"imported": plan.samples_new, "already_present": plan.samples_present},
        "rollup_rows": {
            "imported": plan.rollup_rows_new,
            "already_present": plan.rollup_rows_present,
            "covered_by_raw_samples": plan.rollup_rows_covered,
            "conflicts_kept_ours": plan.rollup_rows_conflict,
        },
    }
    schemas.validate(SCHEMA, report, what="migrate report")
    target = ws.out / "migrate" / f"{ctx.job_id}.json"
    fsio.atomic_write_json(target, report)
    ctx.artefact(target)
    kept = {a.target for a in plan.actions if a.kind == "keep"}
    for rel in written:
        if rel not in kept:  # the kept copies are listed in the report (a kept heartbeat is not this run's)
            ctx.artefact(rel)
    verb = "would write" if dry_run else "wrote"
    ctx.note(
        f"{verb} {len(plan.writes())} file(s): {plan.samples_new} raw sample(s), {plan.rollup_rows_new} rollup "
        f"row(s), {sum(1 for a in plan.writes() if a.kind == 'copy')} copied, "
        f"{sum(1 for a in plan.writes() if a.kind == 'keep')} kept under {legacy.KEEP_DIR}/"
    )
    conflicts = [a for a in plan.actions if a.action == "conflict"]
    for action in conflicts[:5]:
        ctx.warn(f"{action.target} differs from {action.source}: the workspace's copy stays (legacy bytes kept)")
    if plan.rollup_rows_conflict:
        ctx.warn(f"{plan.rollup_rows_conflict} legacy rollup row(s) differ from the workspace's: ours stay")
    figures = {
        "report": ws.rel(target),
        "files_written": len(written),
        "would_write": len(plan.writes()) if dry_run else 0,
        **{f"samples_{k}": v for k, v in report["samples"].items()},
        **{f"rollup_rows_{k}": v for k, v in report["rollup_rows"].items()},
        "conflicts": len(conflicts) + plan.rollup_rows_conflict,
    }
    return JobResult(
        figures=figures,
        dry_run=dry_run,
        findings=["migrate_conflicts"] if conflicts or plan.rollup_rows_conflict else [],
    )

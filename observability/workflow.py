"""``observability workflow run``: the job chain latency → weekly → dashboard, each a real run.

Each step runs as its own process with the same command a workflow would use, so it keeps
its own contract (summary, log line, heartbeat, lock). A failed step stops the chain and
every later step is logged ``skipped`` (reason ``previous_step_failed``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import observability
from observability import config, jobs
from observability.errors import ConfigError
from observability.runtime import JobContext, JobResult, record_skipped

AUTOMATION_CONFIG = "configs/observability/automation.yaml"
# The steps in order, each its job's first command (observability.jobs); a dry run adds --dry-run to each.
DEFAULT_STEPS = {job.name: list(job.commands[0].path) for job in jobs.chain_steps()}
STEP_TIMEOUT_SECONDS = 1800  # a hung step fails the chain instead of holding the workflow to its timeout


@dataclass(frozen=True)
class Step:
    name: str
    enabled: bool
    argv: tuple[str, ...]


def load_steps(root: Path, path: str | None, *, dry_run: bool) -> tuple[list[Step], str]:
    """The effective steps and where they came from (the config file or the defaults)."""
    chosen = root / (path or AUTOMATION_CONFIG)
    if path is None and not chosen.exists():
        raw, origin = {"steps": {k: {"args": v} for k, v in DEFAULT_STEPS.items()}}, "(defaults)"
    else:
        origin = path or AUTOMATION_CONFIG
        raw = config.load_yaml(chosen, "automation_config", display=origin)
    steps = []
    for name, spec in raw["steps"].items():
        args = [a.replace("{ROOT}", str(root)) for a in spec["args"]]
        if args[0] != DEFAULT_STEPS[name][0]:
            raise ConfigError(f"{origin}: field steps.{name}.args: must start with {DEFAULT_STEPS[name][0]!r}")
        if "--workspace" in args:
            raise ConfigError(f"{origin}: field steps.{name}.args: --workspace is set by the chain")
        args += ["--workspace", str(root)]
        if dry_run and jobs.DRY_RUN not in args:
            args.append(jobs.DRY_RUN)
        steps.append(Step(name, bool(spec.get("enabled", True)), tuple(args)))
    return steps, origin


def dump(root: Path, path: str | None, *, dry_run: bool) -> dict:
    steps, origin = load_steps(root, path, dry_run=dry_run)
    return {
        "config": origin,
        "dry_run": dry_run,
        "steps": [{"name": s.name, "enabled": s.enabled, "command": ["observability", *s.argv]} for s in steps],
    }


def run(ctx: JobContext, path: str | None, *, dry_run: bool) -> JobResult:
    ws = ctx.workspace
    steps, origin = load_steps(ws.root, path, dry_run=dry_run)
    results: list[dict] = []
    failed: str | None = None
    env = {**os.environ, "OBS_WORKSPACE": str(ws.root)}
    for step in steps:
        if failed or not step.enabled:
            reason = "previous_step_failed" if failed else "disabled"
            record = record_skipped(
                ws,
                step.name,
                reason,
                at=ctx.now,
                details={"chain_job_id": ctx.job_id, **({"failed_step": failed} if failed else {})},
            )
            results.append({"name": step.name, "status": "skipped", "reason": reason, "job_id": record["job_id"]})
            ctx.note(f"{step.name}: skipped ({reason})")
            continue
        ctx.note(f"{step.name}: observability {' '.join(step.argv)}")
        try:
            command, child_env = observability.child(list(step.argv), env)  # nothing imported from the operator's cwd
            done = subprocess.run(
                command, capture_output=True, text=True, env=child_env, check=False, timeout=STEP_TIMEOUT_SECONDS
            )
        except subprocess.TimeoutExpired:
            ctx.note(f"{step.name}: no answer after {STEP_TIMEOUT_SECONDS} s; stopped")
            results.append(
                {"name": step.name, "status": "error", "exit_code": None, "job_id": None, "error_code": "step_timeout"}
            )
            failed = step.name
            continue
        sys.stderr.write(done.stderr)
        try:
            summary = json.loads(done.stdout)
        except ValueError:
            summary = {"status": "error", "diagnostics": {"error_code": "no_summary"}}
        results.append(
            {
                "name": step.name,
                "status": summary.get("status"),
                "exit_code": done.returncode,
                "job_id": summary.get("job_id"),
                "error_code": summary.get("diagnostics", {}).get("error_code"),
            }
        )
        if done.returncode != 0:
            failed = step.name
    diagnostics = {"config": origin}
    if failed:
        diagnostics.update(
            error_code="step_failed", error_message=f"step {failed} failed; later steps skipped", failed_step=failed
        )
    lines = ["## observability workflow run", "", "| step | status | job id |", "|---|---|---|"]
    lines += [f"| {r['name']} | {r['status']} | `{r.get('job_id')}` |" for r in results]
    return JobResult(
        failed=bool(failed),
        dry_run=dry_run,
        figures={"steps": results, "dry_run": dry_run},
        diagnostics=diagnostics,
        summary_markdown="\n".join(lines) + "\n",
        outputs={"failed-step": failed or ""},
    )

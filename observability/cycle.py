"""``observability cycle``: state pull → job → alert inbox → (failure report) → state push in one process.

A workflow used to start Python once per step (each importing boto3). Here every step is still
its own command under ``runtime.run_job`` (its own summary, automation-log line, heartbeat and
exit code), run in-process one after the other. The rules are the workflows' own: nothing runs
unless the pull worked; after a successful pull the alert inbox and the push always run, even when
the job failed (its log line and state matter); the cycle's exit code is the worst step's.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from observability import chain, clock, fsio, github_actions
from observability.errors import EXIT_OK, ConfigError
from observability.runtime import OK_STATUSES, make_job_id, record_skipped
from observability.store import scopes
from observability.workspace import Workspace

# Runs one ``observability`` command line in this process and returns its exit code (the CLI's job).
Invoke = Callable[[Sequence[str]], int]

NOT_A_JOB = ("cycle", "state", "init", "demo", "workflow")


@dataclass(frozen=True)
class CycleOptions:
    """What ``observability cycle`` was asked to do."""

    store: str | None
    scope: str | None  # None: the job's own scope (the command's first word), else all of ops/
    command: tuple[str, ...]
    workspace: str | None = None
    alerts_sources: tuple[str, ...] = ()
    report_failure: str | None = None
    dry_run: bool = False
    dry_run_alerts: bool = False
    keep_generations: int | None = None
    lock_timeout: float = 30.0


@dataclass
class Step:
    name: str
    job: str  # the job name its log line carries
    argv: list[str]
    exit_code: int = EXIT_OK
    summary: dict[str, Any] = field(default_factory=dict)
    skipped_reason: str | None = None

    @property
    def status(self) -> str:
        if self.skipped_reason:
            return "skipped"
        return str(self.summary.get("status") or ("error" if self.exit_code else "ok"))

    def as_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"step": self.name, "status": self.status, "exit_code": self.exit_code,
                                 "job_id": self.summary.get("job_id"), "command": ["observability", *self.argv]}
        if self.skipped_reason:
            entry["reason"] = self.skipped_reason
        else:
            entry["summary"] = self.summary
        return entry


def resolve_scope(options: CycleOptions) -> str:
    """The pull's scope: --for, else the job's own (``latency sample`` → latency), else everything."""
    if options.scope:
        return options.scope
    head = options.command[0] if options.command else ""
    return head if head in scopes.SCOPES else scopes.EVERYTHING


def _plan(options: CycleOptions, ws: Workspace, stamp) -> list[Step]:
    if not options.command:
        raise ConfigError("no job command: give it after --, e.g. observability cycle --for latency -- latency sample")
    head = options.command[0]
    if head in NOT_A_JOB:
        raise ConfigError(f"job command {head!r}: the cycle runs the state pull and push itself; give the job "
                          "(latency, weekly, dashboard, verify, sync, alerts)")
    if "--workspace" in options.command or any(a.startswith("--workspace=") for a in options.command):
        raise ConfigError("job command: --workspace is set by the cycle (give it to `cycle`)")
    scope = resolve_scope(options)
    scopes.get(scope)  # an unknown scope is a usage error before anything runs
    root = str(ws.root)
    common = ["--workspace", root, "--lock-timeout", str(options.lock_timeout)]
    store = ["--store", options.store] if options.store else []
    steps = [Step("state-pull", "state", ["state", "pull", *store, "--for", scope, *common,
                                          "--job-id", make_job_id("state-pull", stamp)])]
    job = [*options.command, "--workspace", root]
    flag = chain.DRY_RUN_FLAGS.get(head)
    if options.dry_run and flag and flag not in job:
        job.append(flag)
    steps.append(Step(head, head, job))
    quiet = ["--dry-run"] if options.dry_run or options.dry_run_alerts else []
    if options.alerts_sources:
        sources = [arg for name in options.alerts_sources for arg in ("--source", name)]
        steps.append(Step("alerts-sync", "alerts", ["alerts", "sync", *sources, *quiet, *common]))
    if options.report_failure:
        steps.append(Step("alerts-report-failure", "alerts",
                          ["alerts", "report-failure", "--job", options.report_failure, *quiet, *common]))
    push = ["state", "push", *store, *common, "--job-id", make_job_id("state-push", stamp)]
    if options.keep_generations is not None:
        push += ["--keep-generations", str(options.keep_generations)]
    if options.dry_run:
        push.append("--dry-run")
    steps.append(Step("state-push", "state", push))
    return steps


def _call(step: Step, invoke: Invoke) -> None:
    """Run one step in-process; its JSON summary is captured instead of printed."""
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        step.exit_code = invoke(step.argv)
    text = captured.getvalue()
    try:
        summary = json.loads(text) if text.strip() else {}
    except ValueError:
        summary = {}
    if not isinstance(summary, dict) or "status" not in summary:
        # A usage error ends before run_job: no summary, only the message on stderr.
        summary = {"status": "error" if step.exit_code else "ok",
                   "diagnostics": {"error_code": "no_summary", "error_message": "the step printed no JSON summary"}}
    step.summary = summary


def run(options: CycleOptions, invoke: Invoke) -> tuple[int, dict[str, Any]]:
    """Run the cycle; returns its exit code (the worst step's) and the combined document."""
    ws = Workspace.open(options.workspace)
    stamp = clock.now()
    steps = _plan(options, ws, stamp)
    scope = resolve_scope(options)
    cycle_id = make_job_id(f"cycle-{scope}", stamp)
    pull, job, *rest = steps
    report_index = next((i for i, s in enumerate(rest) if s.name == "alerts-report-failure"), None)
    _call(pull, invoke)
    pulled = pull.exit_code == EXIT_OK and pull.status in ("ok", "warning")
    for step in (job, *rest):
        if not pulled:
            step.skipped_reason = "state_pull_failed" if pull.exit_code else "state_pull_skipped"
            record = record_skipped(ws, step.job, step.skipped_reason, at=stamp,
                                    details={"cycle_id": cycle_id, "pull_status": pull.status})
            step.summary = {"job_id": record["job_id"]}
            continue
        if report_index is not None and step is rest[report_index] and job.exit_code == EXIT_OK:
            step.argv.insert(step.argv.index("--job") + 2, "--recovered")
        _call(step, invoke)
    exit_code = max(s.exit_code for s in steps)
    statuses = [s.status for s in steps]
    if exit_code:
        status = "error"
    elif not pulled:
        status = "skipped"
    elif "warning" in statuses:
        status = "warning"
    else:
        status = "dry_run" if options.dry_run else "ok"
    failed = next((s.name for s in steps if s.exit_code or s.status not in OK_STATUSES), None)
    out_dir = ws.out / "cycle" / cycle_id
    for index, step in enumerate(steps, 1):
        if not step.skipped_reason:
            fsio.atomic_write_json(out_dir / f"{index:02d}-{step.name}.json", step.summary)
    document = {"job": "cycle", "cycle_id": cycle_id, "scope": scope, "status": status,
                "exit_code": exit_code, "failed_step": failed, "steps": [s.as_dict() for s in steps],
                "step_summaries": ws.rel(out_dir), "dry_run": options.dry_run}
    outputs = {"status": status, "exit-code": str(exit_code), "failed-step": failed or "",
               "job-id": str(job.summary.get("job_id") or ""), "summaries": ws.rel(out_dir)}
    outputs.update({f"{s.name}-status": s.status for s in steps})
    github_actions.set_outputs(outputs)
    sys.stderr.write(f"cycle: {status} ({cycle_id}): " + ", ".join(f"{s.name} {s.status}" for s in steps) + "\n")
    return exit_code, document

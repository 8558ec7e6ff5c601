"""``observability cycle``: state pull → before → job → after → alert inbox → failure report → push.

A workflow used to start Python once per step (each importing boto3). Here every step is still
its own command under ``runtime.run_job`` (its own summary, automation-log line, heartbeat and
exit code), run in-process one after the other. The rules are the workflows' own: nothing that
needs the state runs unless the pull worked; a failed step skips the steps that depend on it
(``--before`` steps such as ``inputs pull`` feed the job; ``--after`` steps such as ``sync push``
publish what it made); after a successful pull the alert inbox and the push always run, even when
the job failed (its log line and state matter); the failure report runs even after a failed pull
(it needs no state: the issue cache rebuilds itself) and says recovered only when every earlier
step worked; the cycle's exit code is the worst step's.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from observability import clock, deadman, fsio, jobs, provenance, runlog, runner, secrets
from observability.errors import EXIT_OK, ConfigError
from observability.runtime import OK_STATUSES, derive_status, make_job_id, record_skipped
from observability.state import scopes
from observability.workspace import Workspace

# Runs one ``observability`` command line in this process and returns its exit code (the CLI's job).
Invoke = Callable[[Sequence[str]], int]

NOT_A_JOB = tuple(j.name for j in jobs.JOBS if not j.in_cycle)


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
    before: tuple[tuple[str, ...], ...] = ()  # after the pull, before the job (e.g. inputs pull)
    after: tuple[tuple[str, ...], ...] = ()  # after the job, only when it worked (e.g. sync push)
    push: bool = True  # False: the push happens elsewhere (a git-branch store's own workflow job)
    workflow: str | None = None  # the failure issue's workflow name (else GITHUB_WORKFLOW)


@dataclass
class Step:
    name: str
    job: str  # the job name its log line carries
    argv: list[str]
    role: str = "job"  # pull, before, job, after, alerts, report, push
    exit_code: int = EXIT_OK
    summary: dict[str, Any] = field(default_factory=dict)
    skipped_reason: str | None = None

    @property
    def status(self) -> str:
        if self.skipped_reason:
            return "skipped"
        return str(self.summary.get("status") or ("error" if self.exit_code else "ok"))

    def as_dict(self) -> dict[str, Any]:
        # The command's outline, never its values: one may be a credential (docs/credentials.md).
        entry: dict[str, Any] = {
            "step": self.name,
            "status": self.status,
            "exit_code": self.exit_code,
            "job_id": self.summary.get("job_id"),
            "command": ["observability", *provenance.outline(self.argv)],
        }
        if self.skipped_reason:
            entry["reason"] = self.skipped_reason
        else:
            entry["summary"] = self.summary
        return entry


def resolve_scope(options: CycleOptions) -> str:
    """The pull's scope: --for, else the job's own (``latency sample`` → latency), else everything;
    plus the scope of each --before/--after step (``inputs``, ``sync``), which write state too."""
    head = options.command[0] if options.command else ""
    base = options.scope or (head if head in scopes.SCOPES else scopes.EVERYTHING)
    if base == scopes.EVERYTHING:
        return base
    names = base.split("+")
    for argv in (*options.before, *options.after):
        if argv and argv[0] in scopes.SCOPES and argv[0] not in names:
            names.append(argv[0])
    return "+".join(names)


def _command(argv: tuple[str, ...], what: str, root: str, dry_run: bool) -> list[str]:
    """A job-like command with the cycle's workspace (and its dry-run flag when the cycle is one)."""
    if not argv:
        raise ConfigError(f"{what}: empty command")
    if argv[0] in NOT_A_JOB:
        raise ConfigError(
            f"{what} {argv[0]!r}: the cycle runs the state pull and push itself; give a job "
            f"({', '.join(jobs.cycle_jobs())})"
        )
    if "--workspace" in argv or any(a.startswith("--workspace=") for a in argv):
        raise ConfigError(f"{what}: --workspace is set by the cycle (give it to `cycle`)")
    command = [*argv, "--workspace", root]
    # Reading inputs sends nothing outward, so a dry run still pulls them (the job needs them);
    # a sync to shared storage, the alert inbox and the chain's jobs write outward.
    flag = jobs.outward_dry_run(argv[0])
    if dry_run and flag and flag not in command:
        command.append(flag)
    return command


def _plan(options: CycleOptions, ws: Workspace, stamp) -> list[Step]:
    if not options.command:
        raise ConfigError("no job command: give it after --, e.g. observability cycle --for latency -- latency sample")
    head = options.command[0]
    scope = resolve_scope(options)
    scopes.get(scope)  # an unknown scope is a usage error before anything runs
    root = str(ws.root)
    common = ["--workspace", root, "--lock-timeout", str(options.lock_timeout)]
    store = ["--store", options.store] if options.store else []
    steps = [
        Step(
            "state-pull",
            "state",
            ["state", "pull", *store, "--for", scope, *common, "--job-id", make_job_id("state-pull", stamp)],
            "pull",
        )
    ]
    for argv in options.before:
        command = _command(argv, "--before", root, options.dry_run)
        steps.append(Step(f"{argv[0]}-{argv[1] if len(argv) > 1 else 'run'}", argv[0], command, "before"))
    steps.append(Step(head, head, _command(options.command, "job command", root, options.dry_run), "job"))
    for argv in options.after:
        command = _command(argv, "--after", root, options.dry_run)
        steps.append(Step(f"{argv[0]}-{argv[1] if len(argv) > 1 else 'run'}", argv[0], command, "after"))
    quiet = ["--dry-run"] if options.dry_run or options.dry_run_alerts else []
    if options.alerts_sources:
        sources = [arg for name in options.alerts_sources for arg in ("--source", name)]
        steps.append(Step("alerts-sync", "alerts", ["alerts", "sync", *sources, *quiet, *common], "alerts"))
    if options.report_failure:
        named = ["--workflow", options.workflow] if options.workflow else []
        steps.append(
            Step(
                "alerts-report-failure",
                "alerts",
                ["alerts", "report-failure", "--job", options.report_failure, *named, *quiet, *common],
                "report",
            )
        )
    if options.push:
        push = ["state", "push", *store, *common, "--job-id", make_job_id("state-push", stamp)]
        if options.keep_generations is not None:
            push += ["--keep-generations", str(options.keep_generations)]
        if options.dry_run:
            push.append("--dry-run")
        steps.append(Step("state-push", "state", push, "push"))
    return steps


def _skip_reason(step: Step, done: list[Step]) -> str | None:
    """Why ``step`` must not run, given the steps already run (None: run it)."""
    pull = done[0]
    if pull.skipped_reason or pull.exit_code or pull.status not in ("ok", "warning"):
        if step.role == "report":
            return None  # needs no state: reports the failed pull
        return "state_pull_failed" if pull.exit_code else "state_pull_skipped"
    if step.role in ("job", "after"):
        feeding = [s for s in done if s.role in (("before",) if step.role == "job" else ("before", "job"))]
        if any(s.skipped_reason or s.exit_code for s in feeding):
            return "previous_step_failed"
    return None


def _register_probes(steps: list[Step]) -> None:
    """A probe URL given on a command line may carry a token: scrub it from every step's output
    and log line from the first one on, not only from the job step that parses it."""
    for step in steps:
        for flag, value in itertools.pairwise(step.argv):
            if flag == "--probe":
                secrets.register(value)
                secrets.register_url(value.partition("=")[2] or value)
        for value in step.argv:
            if value.startswith("--probe="):
                secrets.register(value[len("--probe=") :])
                secrets.register_url(value.partition("=")[2].partition("=")[2] or value)


@contextlib.contextmanager
def _no_deadman_ping(active: bool):
    """The dead-man ping says the job worked: only the job step may send it (runtime.run_job pings
    after any run that worked), and no step of a dry run."""
    saved = os.environ.pop(deadman.ENV, None) if active else None
    try:
        yield
    finally:
        if saved is not None:
            os.environ[deadman.ENV] = saved


def _call(step: Step, invoke: Invoke, *, dry_run: bool = False) -> None:
    """Run one step in-process; its JSON summary is captured instead of printed."""
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured), _no_deadman_ping(dry_run or step.role != "job"):
        step.exit_code = invoke(step.argv)
    text = captured.getvalue()
    try:
        summary = json.loads(text) if text.strip() else {}
    except ValueError:
        summary = {}
    if not isinstance(summary, dict) or "status" not in summary:
        # A usage error ends before run_job: no summary, only the message on stderr.
        summary = {
            "status": "error" if step.exit_code else "ok",
            "diagnostics": {"error_code": "no_summary", "error_message": "the step printed no JSON summary"},
        }
    step.summary = summary


def _write_log_lines(ws: Workspace, out_dir, since, job_ids: set[str]) -> None:
    """out/cycle/<id>/automation_runs.jsonl: this cycle's own automation-log lines (for the run's
    artifact: the log itself travels in the state store and rotates)."""
    lines = [
        fsio.canonical_json(r) + "\n"
        for r in runlog.iter_records(ws, since=since - timedelta(minutes=1))
        if r.get("job_id") in job_ids
    ]
    fsio.atomic_write_text(out_dir / "automation_runs.jsonl", "".join(lines))


def run(options: CycleOptions, invoke: Invoke) -> tuple[int, dict[str, Any]]:
    """Run the cycle; returns its exit code (the worst step's) and the combined document."""
    ws = Workspace.open(options.workspace)
    ws.output_dir(ws.out / "cycle", "")  # where the step summaries go: a file there fails before any step
    stamp = clock.now()
    steps = _plan(options, ws, stamp)
    scope = resolve_scope(options)
    cycle_id = make_job_id(f"cycle-{scope}", stamp)
    _register_probes(steps)
    pull = steps[0]
    job = next(s for s in steps if s.role == "job")
    _call(pull, invoke, dry_run=options.dry_run)
    pulled = pull.exit_code == EXIT_OK and pull.status in ("ok", "warning")
    done = [pull]
    for step in steps[1:]:
        step.skipped_reason = _skip_reason(step, done)
        if step.skipped_reason:
            record = record_skipped(
                ws, step.job, step.skipped_reason, at=stamp, details={"cycle_id": cycle_id, "pull_status": pull.status}
            )
            step.summary = {"job_id": record["job_id"]}
        else:
            if step.role == "report" and all(not s.skipped_reason and s.exit_code == EXIT_OK for s in done):
                step.argv.insert(step.argv.index("--job") + 2, "--recovered")
            _call(step, invoke, dry_run=options.dry_run)
        done.append(step)
    report = next((s for s in steps if s.role == "report"), None)
    push = steps[-1] if steps[-1].role == "push" else None
    if report and push and not push.skipped_reason and push.exit_code and "--recovered" in report.argv:
        # The report said recovered before the push; the push then failed: say so.
        again = Step("alerts-report-failure", "alerts", [a for a in report.argv if a != "--recovered"], "report")
        _call(again, invoke, dry_run=options.dry_run)
        steps.append(again)
    exit_code = max(s.exit_code for s in steps)
    # The one status rule (runtime.derive_status): a step that failed, then a pull that brought nothing,
    # then a dry run, then any step's warning.
    status = derive_status(
        failed=bool(exit_code),
        skipped=None if pulled else "the state pull did not complete",
        dry_run=options.dry_run,
        findings=[s.name for s in steps if s.status == "warning"],
    )
    failed = next((s.name for s in steps if s.exit_code or s.status not in OK_STATUSES), None)
    out_dir = ws.out / "cycle" / cycle_id
    for index, step in enumerate(steps, 1):
        if not step.skipped_reason:
            fsio.atomic_write_json(out_dir / f"{index:02d}-{step.name}.json", step.summary)
    _write_log_lines(ws, out_dir, stamp, {job_id for s in steps if (job_id := s.summary.get("job_id")) is not None})
    document = {
        "job": "cycle",
        "cycle_id": cycle_id,
        "scope": scope,
        "status": status,
        "exit_code": exit_code,
        "failed_step": failed,
        "steps": [s.as_dict() for s in steps],
        "step_summaries": ws.rel(out_dir),
        "dry_run": options.dry_run,
    }
    outputs = {
        "status": status,
        "exit-code": str(exit_code),
        "failed-step": failed or "",
        "job-id": str(job.summary.get("job_id") or ""),
        "summaries": ws.rel(out_dir),
    }
    outputs.update({f"{s.name}-status": s.status for s in steps})
    runner.set_outputs(outputs)
    sys.stderr.write(f"cycle: {status} ({cycle_id}): " + ", ".join(f"{s.name} {s.status}" for s in steps) + "\n")
    return exit_code, document

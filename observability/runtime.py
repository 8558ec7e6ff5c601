"""The contract every job keeps: job id, lock, one JSON summary, log line, heartbeat, exit code.

A job is a function ``body(ctx) -> JobResult``; ``run_job`` does everything around it, so
the jobs themselves add none of it.
"""

from __future__ import annotations

import gc
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from observability import annotation, clock, fsio, otel, provenance, runlog, runner, runsummary, secrets
from observability.errors import EXIT_FAILED, EXIT_OK, ConfigError, InputError, ObservabilityError
from observability.workspace import Workspace

JOB_ID_RE = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[A-Za-z0-9_.-]{1,64}$")
OK_STATUSES = ("ok", "warning", "dry_run", "skipped")


def make_job_id(job: str, at: datetime) -> str:
    """``YYYYMMDDThhmmssZ-<job>-<8 hex>``: the UTC start second, the job, then 32 random bits.

    The time prefix is what ``verify job --job-id`` searches by; the random tail keeps two runs
    started in the same second (two processes, or two runners sharing one state store, or a
    fixed ``OBS_NOW``) from sharing an id, and so a history snapshot or an artefact name.
    """
    return at.astimezone(clock.UTC).strftime("%Y%m%dT%H%M%SZ") + f"-{job}-{os.urandom(4).hex()}"


def derive_status(
    *, failed: bool = False, skipped: str | None = None, dry_run: bool = False, findings: Sequence[str] = ()
) -> str:
    """A run's status from what its job found, the one rule for every job:

    ``error`` (the job failed) > ``skipped`` (it did nothing, for the reason given) > ``dry_run``
    (nothing was sent outward: a dry run never reports ``warning``) > ``warning`` (any finding) > ``ok``.
    """
    if failed:
        return "error"
    if skipped:
        return "skipped"
    if dry_run:
        return "dry_run"
    return "warning" if findings else "ok"


@dataclass
class JobResult:
    """What a job body reports back; the runtime turns it into every output, the status included.

    A job never names its status: it says whether it ``failed`` (the error code and message in
    ``diagnostics``), was ``skipped`` (why), was a ``dry_run``, and which ``findings`` (short kinds
    such as ``input_warnings`` or ``alert_firing``) make the run a ``warning``; ``derive_status``
    turns these into the status.
    """

    figures: dict[str, Any] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    diagnostics: dict[str, Any] = field(default_factory=dict)
    heartbeat: dict[str, Any] | None = None
    summary_markdown: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    attempts: int = 1
    failed: bool = False
    skipped: str | None = None
    dry_run: bool = False
    findings: list[str] = field(default_factory=list)
    # where a failure points (file relative to the checkout, line, col): its annotation links there
    location: dict[str, Any] | None = None

    @property
    def status(self) -> str:
        """The status the runtime reports for this result."""
        return derive_status(failed=self.failed, skipped=self.skipped, dry_run=self.dry_run, findings=self.findings)


class JobContext:
    """Handed to a job body: where it runs, when, and where to note artefacts and warnings."""

    def __init__(
        self,
        job: str,
        job_id: str,
        workspace: Workspace,
        started: datetime,
        dry_run: bool,
        origin: float | None = None,
    ):
        self.job = job
        # The orchestrator's start on the monotonic clock (the process's entry point, else this run's).
        self.origin = origin if origin is not None else time.monotonic()
        self.job_id = job_id
        self.workspace = workspace
        self.started = started
        self.dry_run = dry_run
        self.artefacts: list[str] = []
        self.warnings: list[str] = []
        self._damaged_heartbeats: set[Path] = set()

    @property
    def now(self) -> datetime:
        return self.started

    def since_origin_ms(self) -> int:
        """Milliseconds since the orchestrator started, on the run's clock: real elapsed time, or 0 when
        OBS_NOW pins the clock (tests, replays), so a pinned run writes the same bytes every time."""
        if _fixed_clock():
            return 0
        return max(0, int((time.monotonic() - self.origin) * 1000))

    def artefact(self, path: Path | str) -> str:
        rel = self.workspace.rel(path)
        if rel not in self.artefacts:
            self.artefacts.append(rel)
        return rel

    def note(self, message: str) -> None:
        """A human-readable line on stderr."""
        sys.stderr.write(runner.inert(f"{self.job}: {secrets.redact(message)}") + "\n")

    def warn(self, message: str) -> None:
        self.warnings.append(secrets.redact(message))
        self.note(f"warning: {message}")

    def previous_heartbeat(self, path: Path | None = None) -> dict[str, Any]:
        """The heartbeat an earlier run left (``{}`` when none). A damaged one is derived data, not a
        record: it is named in a warning and replaced by this run's, never a reason to fail every run."""
        path = path or self.workspace.heartbeat(self.job)
        try:
            beat = fsio.read_json(path, default={}, what="heartbeat", display=self.workspace.rel(path))
        except InputError as exc:
            if path not in self._damaged_heartbeats:
                self._damaged_heartbeats.add(path)
                self.warn(f"{exc.message.split('; ')[0]}; replaced by this run's heartbeat")
            return {}
        return beat if isinstance(beat, dict) else {}

    def provenance(self, inputs: list[str] | None = None) -> dict[str, Any]:
        return provenance.fields(self.workspace.root, clock.iso(self.started), inputs)


def _write_heartbeat(
    ctx: JobContext, status: str, result: JobResult, diagnostics: dict, heartbeat_file: str | None = None
) -> str:
    path = ctx.workspace.path(heartbeat_file) if heartbeat_file else ctx.workspace.heartbeat(ctx.job)
    beat = {**ctx.previous_heartbeat(path), **(result.heartbeat or {})}
    beat.update(job_id=ctx.job_id, status=status, **ctx.provenance())
    if status in ("ok", "warning", "dry_run"):
        beat["last_success_at"] = clock.iso(ctx.started)
    else:
        beat["last_failure"] = {
            "job_id": ctx.job_id,
            "at": clock.iso(ctx.started),
            "error_code": diagnostics.get("error_code"),
        }
    fsio.atomic_write_json(path, beat)
    ctx.artefact(path)
    return ctx.workspace.rel(path)


def _collector_on() -> None:
    """Turn the cyclic garbage collector back on when the entry (observability/entry.py) paused it for
    the imports; the objects made so far (modules, classes: alive to the end) are frozen first, so no
    collection during the job scans them again."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def run_job(
    job: str,
    body: Callable[[JobContext], JobResult],
    *,
    workspace: str | None,
    job_id: str | None,
    lock_timeout: float = 30.0,
    lock_file: str | None = None,
    dry_run: bool = False,
    heartbeat: bool = True,
    heartbeat_file: str | None = None,
    makes_workspace: bool = False,
    deadman: bool = True,
    fail_on: str = "never",
) -> int:
    """Run one job under the shared contract and return its exit code.

    ``deadman``: False for a command that is no run of a monitored job (an alert drill): it never
    pings OBS_HEARTBEAT_PING_URL.

    ``makes_workspace``: the job may turn a directory that is not yet a workspace into one (state
    pull); every other job refuses such a directory instead of creating ops/ and out/ in it.

    ``fail_on`` (``--fail-on``): ``warning`` or ``critical`` ends a run exit 1 while an alert of that
    severity or above is firing (its status stays ``warning``: the job itself worked); ``never``
    (the default) keeps firing alerts to annotations and exit 0.
    """
    _collector_on()
    secrets.register_environment()
    otel.begin(job)  # a no-op unless OTEL_* turns telemetry on (observability/otel.py)
    try:
        started, clock_error = clock.now(), None
    except ConfigError as exc:  # OBS_NOW unparseable: reported below like any usage error
        started, clock_error = datetime.now(clock.UTC), exc
    t0 = time.perf_counter()
    ctx: JobContext | None = None
    result = JobResult()
    diagnostics: dict[str, Any] = {}
    exit_code = EXIT_OK
    lock_latency_ms = None
    held = None
    try:
        if clock_error is not None:
            raise clock_error
        if job_id is not None and not JOB_ID_RE.match(job_id):
            raise ConfigError(f"--job-id {job_id!r}: expected YYYYMMDDThhmmssZ-<name>")
        ws = Workspace.open(workspace)
        if not makes_workspace:
            ws.require_workspace()
        fsio.confine(ws.root)  # from here on no write leaves the workspace through a symlink
        ws.ensure_writable()
        ctx = JobContext(job, job_id or make_job_id(job, started), ws, started, dry_run, origin=clock.PROCESS_STARTED)
        from observability.locking import FileLock, LockTimeout

        lock = FileLock(str(fsio.guard(ws.output_file(lock_file, "--lock-file") if lock_file else ws.lock(job))))
        t_lock = time.perf_counter()
        try:
            with otel.span("lock"):
                lock.acquire(timeout=lock_timeout)
        except LockTimeout:
            lock_latency_ms = int((time.perf_counter() - t_lock) * 1000)
            result = JobResult(
                skipped="lock_not_acquired",
                diagnostics={"reason": "lock_not_acquired", "lock_file": ws.rel(lock.lock_file)},
            )
            ctx.note(f"another run holds {ws.rel(lock.lock_file)}; skipped after {lock_latency_ms} ms")
        else:
            lock_latency_ms = int((time.perf_counter() - t_lock) * 1000)
            held = lock  # released after the heartbeat and the log line, so runs never interleave them
            _sweep_temps(ctx)
            result = body(ctx)
        exit_code = _settled(result, diagnostics)
    except ObservabilityError as exc:
        exit_code = exc.exit_code
        result = _failed(exc, diagnostics)
        result.location = _location(exc, ctx)
    except Exception as exc:  # noqa: BLE001 - the summary must still be printed
        exit_code = EXIT_FAILED
        result = JobResult(failed=True)
        diagnostics.update(
            {"error_code": "internal_error", "error_message": secrets.redact(f"{type(exc).__name__}: {exc}")}
        )
        import traceback

        sys.stderr.write(runner.inert(secrets.redact(traceback.format_exc())))
    failing = annotation.fails(fail_on, result.alerts) if exit_code == EXIT_OK else None
    if failing:
        diagnostics["fail_on"] = failing
        exit_code = EXIT_FAILED
    try:
        summary, exit_code = _finish(
            job, ctx, result, diagnostics, exit_code, started, t0, job_id, lock_latency_ms, heartbeat, heartbeat_file
        )
    finally:
        if held is not None:
            held.release()
    if ctx is not None:
        # Only now is the status final (a log that cannot be written turns a run into an error): the
        # ping tells a check outside GitHub that a run worked, so it notices when nothing runs at all.
        if os.environ.get("OBS_HEARTBEAT_PING_URL", "").strip() and not deadman:
            summary["deadman_ping"] = "not_sent"
        elif os.environ.get("OBS_HEARTBEAT_PING_URL", "").strip():
            from observability import deadman as deadman_mod

            summary["deadman_ping"] = deadman_mod.ping_for(ctx, summary["status"])
        else:
            summary["deadman_ping"] = "not_configured"
        if ctx.warnings:
            diagnostics.setdefault("warnings", ctx.warnings)
    otel.end(summary)  # export before the summary is printed: the process may end right after it
    _emit(job, summary, result, exit_code, ctx.workspace.root if ctx is not None else None)
    return exit_code


def _location(exc: ObservabilityError, ctx: JobContext | None) -> dict[str, Any] | None:
    """Where a config error points, as an annotation's ``file``/``line``/``col`` (the file relative
    to the checkout; none when it lies outside it, or the error names no file)."""
    if not isinstance(exc, ConfigError) or not exc.file:
        return None
    path = Path(exc.file)
    if not path.is_absolute() and ctx is not None:
        path = ctx.workspace.root / path
    file = runner.repo_path(path)
    if file is None:
        return None
    return {k: v for k, v in (("file", file), ("line", exc.line), ("col", exc.col)) if v is not None}


def _settled(result: JobResult, diagnostics: dict[str, Any]) -> int:
    """A body's result taken in: its diagnostics kept, its exit code (1 for an error)."""
    diagnostics.update(result.diagnostics)
    return EXIT_FAILED if result.status == "error" else EXIT_OK


def _failed(exc: ObservabilityError, diagnostics: dict[str, Any]) -> JobResult:
    """A body that raised: its error code, message and details in the diagnostics."""
    tried = exc.details.get("attempts")  # a call given up after retries says how many it made
    diagnostics.update({"error_code": exc.error_code, "error_message": secrets.redact(exc.message)})
    diagnostics.update({k: v for k, v in exc.details.items() if v is not None})
    return JobResult(failed=True, heartbeat=None, attempts=tried if isinstance(tried, int) and tried > 0 else 1)


def run_in(ctx: JobContext, body: Callable[[JobContext], JobResult]) -> dict[str, Any]:
    """Run ``body`` in a context the caller made, with the contract's bookkeeping (heartbeat and
    automation-log line in ``ctx.workspace``) but nothing printed, and return its summary: an alert
    drill runs real jobs in its scratch workspace inside one command whose output is its own."""
    t0 = time.perf_counter()
    diagnostics: dict[str, Any] = {}
    try:
        result = body(ctx)
        exit_code = _settled(result, diagnostics)
    except ObservabilityError as exc:
        exit_code = exc.exit_code
        result = _failed(exc, diagnostics)
    summary, _ = _finish(ctx.job, ctx, result, diagnostics, exit_code, ctx.started, t0, None, None, True, None)
    return summary


def _sweep_temps(ctx: JobContext) -> None:
    """Temp files of writes killed earlier (never a live one: only those older than an hour)."""
    swept = ctx.workspace.sweep_temps()
    if swept:
        ctx.note(
            f"removed {len(swept)} temp file(s) left by killed writes: {', '.join(swept[:5])}"
            + (" ..." if len(swept) > 5 else "")
        )


def _finish(
    job: str,
    ctx: JobContext | None,
    result: JobResult,
    diagnostics: dict[str, Any],
    exit_code: int,
    started: datetime,
    t0: float,
    job_id: str | None,
    lock_latency_ms: int | None,
    heartbeat: bool,
    heartbeat_file: str | None,
) -> tuple[dict[str, Any], int]:
    """Heartbeat, summary and automation-log line of a finished run (under the job lock)."""
    status = result.status
    written: str | None = None
    if ctx is not None and ctx.warnings:
        diagnostics.setdefault("warnings", ctx.warnings)
    if (
        ctx is not None
        and status not in ("skipped",)
        and heartbeat
        and (diagnostics.get("error_code") != "workspace_error")
    ):
        try:
            written = _write_heartbeat(ctx, status, result, diagnostics, heartbeat_file)
        except ObservabilityError as exc:
            sys.stderr.write(runner.inert(f"{job}: cannot write heartbeat: {secrets.redact(exc.message)}") + "\n")
    duration_ms = int((time.perf_counter() - t0) * 1000)
    completed = clock.iso(clock.now()) if not _fixed_clock() else clock.iso(started)
    summary: dict[str, Any] = {
        **result.figures,
        "status": status,
        "job": job,
        "job_id": ctx.job_id if ctx else (job_id or make_job_id(job, started)),
        "duration_ms": duration_ms,
        "artefacts": ctx.artefacts if ctx else [],
        "diagnostics": diagnostics,
        "alerts": result.alerts,
    }
    if lock_latency_ms is not None:
        summary["lock_latency_ms"] = lock_latency_ms
    if ctx is not None:
        summary["commit_sha"] = provenance.commit_sha(ctx.workspace.root)
        record = {
            "job_id": summary["job_id"],
            "job": job,
            "status": status,
            "started_at": clock.iso(started),
            "completed_at": completed,
            "duration_ms": duration_ms,
            "attempts": result.attempts,
            "artefacts": list(ctx.artefacts),
            "alerts": [
                {
                    k: a.get(k)
                    for k in ("id", "rule", "source", "severity", "status", "breach_streak", "last_breach_at")
                    if a.get(k) is not None
                }
                for a in result.alerts
            ],
            "diagnostics": diagnostics,
            "commit_sha": summary["commit_sha"],
            "source_command": provenance.source_command(),
        }
        if written:
            record["heartbeat"] = written
        gh = runner.run_context()
        if gh:
            record["github"] = {k: v for k, v in gh.items() if v is not None}
        try:
            summary["sequence"] = runlog.append(ctx.workspace, record)
        except (ObservabilityError, OSError) as exc:
            message = exc.message if isinstance(exc, ObservabilityError) else str(exc)
            sys.stderr.write(
                runner.inert(f"{job}: cannot append to the automation log: {secrets.redact(message)}") + "\n"
            )
            diagnostics.setdefault("log_error", secrets.redact(message))
            if status != "error":
                summary["status"] = status = "error"
                diagnostics.setdefault("error_code", "log_write_failed")
            exit_code = exit_code or EXIT_FAILED
    return summary, exit_code


def _fixed_clock() -> bool:
    import os

    return bool(os.environ.get("OBS_NOW"))


def _emit(job: str, summary: dict[str, Any], result: JobResult, exit_code: int, root: Path | None = None) -> None:
    text = fsio.canonical_json(secrets.redact_value(summary), indent=2)  # values only: keys stay, JSON stays valid
    sys.stdout.write(text)
    sys.stdout.flush()
    diagnostics = summary["diagnostics"]
    status = summary["status"]
    line = f"{job}: {status} ({summary['job_id']}) in {summary['duration_ms']} ms"
    if diagnostics.get("error_message"):
        line += f" - {diagnostics['error_code']}: {diagnostics['error_message']}"
    elif diagnostics.get("fail_on"):  # status warning, yet the step is red: say why
        line += f" - exit {exit_code}: {diagnostics['fail_on']}"
    sys.stderr.write(runner.inert(secrets.redact(line)) + "\n")
    if not runner.enabled():
        return

    located: dict[str, str | None] = {}  # a file named by many skipped rows is looked up once

    def locate(rel: str) -> str | None:
        """A warning's workspace-relative file in the checkout, when the checkout's commit holds it."""
        if root is None:
            return None
        if rel not in located:
            try:
                path = root / rel
                found = runner.repo_path(path) if path.is_file() else None
                located[rel] = found if found is not None and provenance.tracked(path) else None
            except (OSError, ValueError):
                located[rel] = None
        return located[rel]

    for note in annotation.plan(job, status, diagnostics, result.alerts, result.location, locate):
        runner.annotate(
            note.level,
            secrets.redact(note.message),
            title=secrets.redact(note.title),
            file=note.file,
            line=note.line,
            col=note.col,
        )
    runner.set_outputs(
        {
            "status": status,
            "job-id": summary["job_id"],
            "exit-code": str(exit_code),
            **{k: secrets.redact(v) for k, v in result.outputs.items()},
        }
    )
    # Every run leaves a step summary: the job's own, else a short one; a failed run adds what failed
    # and where to look (a job that raised wrote none of its own).
    markdown = result.summary_markdown or ""
    if status == "error":
        context = runner.run_context() or {}
        failed = runsummary.failure(job, summary, exit_code, context.get("run_url"))
        markdown = f"{markdown}\n{failed}" if markdown else failed
    elif diagnostics.get("fail_on"):
        markdown = f"{markdown or runsummary.plain(job, summary)}\n**Failed on alerts:** {diagnostics['fail_on']}.\n"
    runner.append_summary(secrets.redact(markdown or runsummary.plain(job, summary)))


def instant_record(job_id: str, job: str, status: str, at: datetime, *, attempts: int) -> dict[str, Any]:
    """The fields of a log line for a run that took no time (a skipped step, a line ``log rebuild``
    writes from evidence): no duration, artefacts, alerts or diagnostics of its own."""
    stamp = clock.iso(at)
    return {
        "job_id": job_id,
        "job": job,
        "status": status,
        "started_at": stamp,
        "completed_at": stamp,
        "duration_ms": 0,
        "attempts": attempts,
        "artefacts": [],
        "alerts": [],
        "diagnostics": {},
    }


def record_skipped(
    workspace: Workspace,
    job: str,
    reason: str,
    *,
    at: datetime,
    job_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Log a run that did not happen (``status=skipped``) and return its record.

    For a chain that stops early: every step after the failure is still accounted for in
    the automation log, so a missing artefact can be traced to the reason it is missing.
    """
    record = {
        **instant_record(job_id or make_job_id(job, at), job, "skipped", at, attempts=0),
        "diagnostics": {"reason": reason, **(details or {})},
        "commit_sha": provenance.commit_sha(workspace.root),
        "source_command": provenance.source_command(),
    }
    gh = runner.run_context()
    if gh:
        record["github"] = {k: v for k, v in gh.items() if v is not None}
    record["sequence"] = runlog.append(workspace, record)
    return record

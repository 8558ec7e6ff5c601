"""Alert drills, one per scheduled job: break that job's real alert path in a scratch workspace, then heal it.

Each drill (``SPECS``) is a few steps; a step feeds the scratch workspace (never the real one) and
runs the job's real code there (through ``runtime.run_in``: heartbeat and log line as in a real
run), after which the real inbox syncs that job's source in drill mode (issues labelled ``drill``,
titled ``[drill] ...``). The drill passes when each step caused exactly the inbox action it expects,
the last one closing the issue: the drill's own recovery step resolves what its first step broke.
The job bodies are handed in by the CLI (``RunJob``), so the alerts job imports no other job.
"""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from observability import clock, fsio, runlog, runtime
from observability.alerts.drillreceiver import DrillReceiver
from observability.alerts.sources import DRILL_PREFIX
from observability.errors import ConfigError
from observability.runtime import JobContext, JobResult
from observability.samplegen import weekly as weekly_sample
from observability.workspace import Workspace

DEFAULT_REASON = "routine drill"
REASON_LIMIT = 300  # characters; a longer --reason is refused (issue bodies show it whole)

# Runs one real job: (command such as "weekly report", its context, its options as keyword arguments).
RunJob = Callable[[str, JobContext, dict[str, Any]], JobResult]


def check_reason(reason: str | None) -> str:
    """The drill's reason, stripped; empty or longer than ``REASON_LIMIT`` is a usage error."""
    text = (DEFAULT_REASON if reason is None else reason).strip()
    if not any(c.isprintable() and not c.isspace() for c in text):  # control and format characters show nothing
        raise ConfigError("--reason: empty (nothing printable); say why this drill runs (e.g. 'quarterly drill')")
    if len(text) > REASON_LIMIT:
        raise ConfigError(f"--reason: {len(text)} characters; at most {REASON_LIMIT}")
    return text


@dataclass
class Scene:
    """One drill's world: the scratch workspace, the drill's time, and how to run a real job there."""

    workspace: Workspace
    now: datetime
    run_job: RunJob
    environ: dict[str, str] = field(default_factory=dict, repr=False)  # what the drill's jobs read instead
    receiver: DrillReceiver | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)  # each real job run: command, job id, status

    @property
    def root(self) -> Path:
        return self.workspace.root

    def run(self, command: str, **options: Any) -> dict[str, Any]:
        job = command.split()[0]
        # job ids one second apart: "newest <job_id>.json" readers see the steps in order
        job_id = runtime.make_job_id(job, self.now + timedelta(seconds=len(self.runs)))
        ctx = JobContext(job, job_id, self.workspace, self.now, False)
        summary = runtime.run_in(ctx, lambda c: self.run_job(command, c, options))
        entry = {"command": command, "job_id": job_id, "status": summary["status"]}
        entry.update({k: v for k, v in summary["diagnostics"].items() if k in ("error_code", "error_message")})
        self.runs.append(entry)
        return summary


@dataclass(frozen=True)
class Step:
    expected: str  # the one inbox action this step must cause ("" for none)
    does: str  # what the step does, for the summary and docs/alerts.md
    act: Callable[[Scene], Any]


@dataclass(frozen=True)
class Spec:
    job: str  # the scheduled workflow drilled (alerts drill --job)
    source: str  # the alert source synced after each step
    drills: str  # what is drilled, in a few words
    steps: tuple[Step, ...]
    receiver: bool = False  # the drill starts its own loopback webhook receiver (weekly)


# --- latency: a synthetic drill:feed source breaches, escalates and recovers ---------------------

LATENCY_SOURCE = DRILL_PREFIX + "feed"
SLO_MS = 1000.0  # the drill's own SLO (beats LATENCY_SLO_MS and any config): 5 s breaches, 0.1 s does not
LATENCY_LOG = "logs/drill_signal_notifier.csv"


def _latency(windows_back: tuple[int, ...], latency_ms: float) -> Callable[[Scene], Any]:
    def act(scene: Scene) -> Any:
        start = clock.floor(scene.now, 15)
        rows = []
        for back in windows_back:
            window = start - timedelta(minutes=15 * back)
            for minute in (1, 5, 9):
                at = clock.iso(window + timedelta(minutes=minute))
                rows.append(f"{at},{latency_ms},success,drill,{LATENCY_SOURCE}\n")
        path = scene.root / LATENCY_LOG
        header = "" if path.exists() else "timestamp_utc,latency_ms,status,detail,source\n"
        fsio.append_bytes(path, (header + "".join(rows)).encode("utf-8"))
        return scene.run("latency sample", inputs=(LATENCY_LOG,), slo_ms=SLO_MS)

    return act


# --- weekly: the report is not delivered (pending replay), then the replay delivers it -----------

WEEKLY_URL_ENV = "OBS_DRILL_WEEKLY_WEBHOOK_URL"
WEEKLY_SECRET_ENV = "OBS_DRILL_WEEKLY_WEBHOOK_SECRET"


def _weekly_options(scene: Scene) -> dict[str, Any]:
    return {
        "webhook_url_env": WEEKLY_URL_ENV,
        "webhook_secret_env": WEEKLY_SECRET_ENV,
        "environ": scene.environ,
        "max_retries": 1,
        "retry_wait_seconds": 0.0,
        "sleep": lambda _seconds: None,
    }


def _weekly_refused(scene: Scene) -> Any:
    assert scene.receiver is not None
    weekly_sample.write_inputs(scene.root)
    weekly_sample.write_rollups(scene.workspace.ops / "signal_latency_rollup.csv", end=scene.now, days=8)
    scene.receiver.status = 503
    return scene.run("weekly report", **_weekly_options(scene))


def _weekly_replayed(scene: Scene) -> Any:
    assert scene.receiver is not None
    scene.receiver.status = 204
    beat = fsio.read_json(scene.workspace.heartbeat("weekly"), default={}, what="weekly heartbeat") or {}
    week = beat.get("pending_replay") or beat.get("week_start")
    return scene.run("weekly replay", week_start=week, **_weekly_options(scene))


# --- dashboard: a dataset fails to export (its last good file served stale), then exports again --

DASHBOARD_DATASET = "turnover"


def _dashboard(broken: bool) -> Callable[[Scene], Any]:
    def act(scene: Scene) -> Any:
        weekly_sample.write_inputs(scene.root)
        if broken:
            (scene.root / "runs" / "index.csv").write_bytes(b"")  # the dataset's input unreadable
        return scene.run("dashboard export", datasets=(DASHBOARD_DATASET,))

    return act


# --- verify: a scheduled job misses its runs, then runs again ------------------------------------

VERIFY_JOB = "drill-feed"
VERIFY_GRACE_MINUTES = 10


def _log_run(scene: Scene, at: datetime) -> None:
    """A run of the drill's scheduled job in the scratch automation log (as the runtime logs one)."""
    job_id = runtime.make_job_id(VERIFY_JOB, at)
    beat = scene.workspace.heartbeat(VERIFY_JOB)
    fsio.atomic_write_json(beat, {"job_id": job_id, "status": "ok", "last_success_at": clock.iso(at)})
    record = runtime.instant_record(job_id, VERIFY_JOB, "ok", at, attempts=1)
    runlog.append(scene.workspace, {**record, "heartbeat": scene.workspace.rel(beat)})


def _verify_missed(scene: Scene) -> Any:
    first = scene.now - timedelta(hours=3)
    schedules = (
        "schedules:\n"
        f"  {VERIFY_JOB}:\n"
        f'    cron: "{first.minute} * * * *"\n'
        f"    job: {VERIFY_JOB}\n"
        f"    grace_minutes: {VERIFY_GRACE_MINUTES}\n"
    )
    fsio.atomic_write_text(scene.root / "configs" / "observability" / "schedules.yaml", schedules)
    _log_run(scene, first)  # ran 3 hours ago, then missed the two hourly slots since
    return scene.run("verify", since="24h")


def _verify_ran(scene: Scene) -> Any:
    _log_run(scene, scene.now)  # dispatched by hand: it runs again
    # the next verification's window starts at that run: the missed slots have left it
    return scene.run("verify", since=clock.iso(scene.now))


SPECS: dict[str, Spec] = {
    spec.job: spec
    for spec in (
        Spec(
            "latency",
            "latency",
            "a feed breaching its latency SLO",
            (
                Step("opened", "2 breaching 15-minute windows of drill:feed (warning)", _latency((4, 3), 5000.0)),
                Step("escalated", "a 3rd breaching window (critical)", _latency((2,), 5000.0)),
                Step("resolved", "a good window", _latency((1,), 100.0)),
            ),
        ),
        Spec(
            "weekly",
            "weekly",
            "the weekly report not delivered (pending replay)",
            (
                Step("opened", "weekly report to the drill's receiver, which refuses (503)", _weekly_refused),
                Step("resolved", "weekly replay of that week to the receiver, now accepting", _weekly_replayed),
            ),
            receiver=True,
        ),
        Spec(
            "dashboard",
            "dashboard",
            f"a dashboard dataset ({DASHBOARD_DATASET}) failing, its last good file served stale",
            (
                Step("", f"dashboard export --dataset {DASHBOARD_DATASET} from good inputs", _dashboard(False)),
                Step("opened", "the same export with runs/index.csv unreadable (warning: stale)", _dashboard(True)),
                Step("resolved", "the same export with the input restored", _dashboard(False)),
            ),
        ),
        Spec(
            "verify",
            "verify",
            f"missed runs of a scheduled job ({VERIFY_JOB}, hourly)",
            (
                Step("opened", "verify after 2 missed hourly slots", _verify_missed),
                Step("resolved", "the job runs again; the next verify window starts there", _verify_ran),
            ),
        ),
    )
}
JOBS = tuple(SPECS)


def webhook_secret() -> str:
    """A fresh signing secret for one weekly drill (the receiver checks nothing; the job signs)."""
    return "whsec_" + base64.b64encode(os.urandom(24)).decode("ascii")


def scratch_dir(keep: str | None) -> Path:
    if keep:
        path = Path(keep)
        if path.exists() and not path.is_dir():
            raise ConfigError(f"--scratch {keep}: is a file, expected a directory (empty or missing)")
        if path.exists() and any(path.iterdir()):
            raise ConfigError(f"--scratch {keep}: must be empty or missing (the drill never reuses a workspace)")
        path.mkdir(parents=True, exist_ok=True)
        return path
    return Path(tempfile.mkdtemp(prefix="observability-drill-"))

"""Shared helpers for the verify tests: a workspace whose log follows schedules.yaml, run the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from jsonschema import Draft202012Validator

from _support_cli import Run  # noqa: F401  (re-exported for the tests)
from observability import fsio, runlog
from observability.cli import cli
from observability.cron import Cron
from observability.runtime import make_job_id
from observability.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
TEMPLATE_SCHEDULES = REPO / "ops-template" / "configs" / "observability" / "schedules.yaml"
# A Tuesday at the nightly verify slot: the window (24 h) holds Monday's weekly slots' deadlines.
NOW = datetime(2026, 1, 13, 3, 41, tzinfo=UTC)
ENV = {
    "GITHUB_ACTIONS": None,
    "OBS_WORKSPACE": None,
    "GITHUB_OUTPUT": None,
    "GITHUB_STEP_SUMMARY": None,
    "OBS_HEARTBEAT_PING_URL": None,
    "GITHUB_RUN_ID": None,
    "GITHUB_EVENT_NAME": None,
}


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_cli(ws: Path, *args: str, now: datetime = NOW, env: dict | None = None) -> Run:
    """``observability ARGS --workspace ws`` with OBS_NOW fixed; stdout and stderr kept apart."""
    environ = {**ENV, "OBS_NOW": iso(now), **(env or {})}
    return Run(CliRunner().invoke(cli, [*args, "--workspace", str(ws)], env=environ, catch_exceptions=True))


def verify(ws: Path, *args: str, now: datetime = NOW, env: dict | None = None) -> Run:
    return run_cli(ws, "verify", *args, now=now, env=env)


def verify_job(ws: Path, job_id: str, now: datetime = NOW, env: dict | None = None) -> Run:
    return run_cli(ws, "verify", "job", "--job-id", job_id, now=now, env=env)


# The cadence tests are written against these crons (the test's own, so that moving a schedule in
# ops-template does not silently change what they check).
TEST_SCHEDULES = """schedules:
  latency: {cron: "7,22,37,52 * * * *", workflow: latency.yml, job: latency, grace_minutes: 20}
  dashboard-daily: {cron: "37 0 * * *", workflow: dashboard.yml, job: dashboard, grace_minutes: 90}
  dashboard-weekly: {cron: "23 0 * * 1", workflow: dashboard.yml, job: dashboard, grace_minutes: 90}
  weekly: {cron: "53 0 * * 1", workflow: weekly.yml, job: weekly, grace_minutes: 180}
  verify: {cron: "41 3 * * *", workflow: verify.yml, job: verify, grace_minutes: 180}
"""


def new_workspace(root: Path) -> Path:
    (root / "configs" / "observability").mkdir(parents=True)
    (root / "configs" / "observability" / "schedules.yaml").write_text(TEST_SCHEDULES)
    (root / "ops").mkdir()
    return root


def add_run(
    root: Path,
    job: str,
    started: datetime,
    *,
    status: str = "ok",
    heartbeat: bool = True,
    artefacts: tuple[str, ...] = (),
    schedule: str | None = None,
) -> str:
    """Append one real, schema-checked log line (and the heartbeat the runtime would leave)."""
    ws = Workspace(root)
    job_id = make_job_id(job, started)
    listed = list(artefacts)
    if heartbeat:
        beat = ws.heartbeat(job)
        fsio.atomic_write_json(
            beat, {"job_id": job_id, "status": status, "generated_at": iso(started), "last_success_at": iso(started)}
        )
        listed.append(ws.rel(beat))
    record = {
        "job_id": job_id,
        "job": job,
        "status": status,
        "started_at": iso(started),
        "completed_at": iso(started + timedelta(seconds=30)),
        "duration_ms": 30000,
        "attempts": 1,
        "artefacts": listed,
        "alerts": [],
        "diagnostics": {},
        "commit_sha": None,
        "source_command": f"observability {job}",
    }
    if schedule:
        record["github"] = {"event": "schedule", "schedule": schedule}
    runlog.append(ws, record)
    return job_id


def on_cadence(
    root: Path,
    *,
    now: datetime = NOW,
    days: float = 2,
    delay_minutes: int = 2,
    skip: set[str] | None = None,
    drop: set[tuple[str, str]] | None = None,
) -> dict[str, list[str]]:
    """Log every scheduled run of the last ``days`` as on time (``delay_minutes`` after its slot).

    ``skip``: schedule names with no runs at all; ``drop``: (schedule, slot iso) pairs left out.
    Returns the job ids per schedule.
    """
    from observability.config.schedules import load_schedules

    schedules = load_schedules(root / "configs" / "observability" / "schedules.yaml", display="schedules.yaml")
    planned = []
    for schedule in schedules:
        if schedule.name in (skip or set()):
            continue
        for slot in Cron.parse(schedule.cron).times(now - timedelta(days=days), now):
            started = slot + timedelta(minutes=delay_minutes)
            if started < now and (schedule.name, iso(slot)) not in (drop or set()):
                planned.append((started, schedule))
    ids: dict[str, list[str]] = {}
    for started, schedule in sorted(planned, key=lambda p: (p[0], p[1].name)):
        ids.setdefault(schedule.name, []).append(add_run(root, schedule.job, started))
    return ids


def log_lines(root: Path) -> list[bytes]:
    return (root / "ops" / "automation_runs.log").read_bytes().splitlines(keepends=True)


def write_log_lines(root: Path, lines: list[bytes]) -> None:
    (root / "ops" / "automation_runs.log").write_bytes(b"".join(lines))


def report_validates(root: Path, job_id: str) -> dict:
    report = json.loads((root / "out" / "verify" / f"{job_id}.json").read_text())
    schema = json.loads((REPO / "schemas" / "verify_report.schema.json").read_text())
    errors = list(Draft202012Validator(schema).iter_errors(report))
    assert not errors, errors
    return report


def make_demo(target: Path) -> Path:
    """A workspace in which every job really ran (``observability demo``), with schedules.yaml."""
    done = subprocess.run(
        [sys.executable, "-m", "observability", "demo", "--dir", str(target)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    shutil.copy(TEMPLATE_SCHEDULES, target / "configs" / "observability" / "schedules.yaml")
    return target


def log_records(root: Path) -> list[dict]:
    return [json.loads(line) for line in log_lines(root)]

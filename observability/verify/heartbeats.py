"""Heartbeat freshness: every job that has run or is scheduled must have beaten recently.

A job scheduled less often than the limit (weekly, daily) gets its longest scheduled interval
plus grace instead, so a weekly job is not stale every night.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from observability import clock, fsio, runlog
from observability.config.schedules import Schedule
from observability.cron import Cron
from observability.errors import ObservabilityError
from observability.verify.findings import Finding
from observability.workspace import Workspace


@dataclass(frozen=True)
class HeartbeatCheck:
    job: str
    path: str
    limit_hours: float
    age_hours: float | None
    job_id: str | None
    status: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "path": self.path,
            "limit_hours": round(self.limit_hours, 2),
            "age_hours": None if self.age_hours is None else round(self.age_hours, 2),
            "job_id": self.job_id,
            "status": self.status,
        }


def heartbeat_path(workspace: Workspace, job: str, records: list[dict[str, Any]]) -> Path | None:
    """The heartbeat the job's latest run listed as an artefact, else the default path for a known job."""
    for record in reversed(records):
        if record.get("job") == job and (beat := runlog.heartbeat_of(record)):
            return workspace.path(beat)
    return None


def limit_for(job: str, schedules: tuple[Schedule, ...], max_age: timedelta, now: datetime) -> timedelta:
    """``max_age``, or the job's longest gap between scheduled runs (all its crons together) plus grace."""
    mine = [s for s in schedules if s.job == job]
    fired = sorted(
        {at for s in mine for at in Cron.parse(s.cron).times(now - timedelta(days=35), now + timedelta(days=1))}
    )
    if len(fired) < 2:
        return max_age
    gap = max(b - a for a, b in pairwise(fired))
    return max(max_age, gap + timedelta(minutes=max(s.grace_minutes for s in mine)))


def _check_one(
    workspace: Workspace, job: str, path: Path, records: list[dict[str, Any]], limit: timedelta, now: datetime
) -> tuple[HeartbeatCheck, Finding | None]:
    shown = workspace.rel(path)
    limit_h = limit.total_seconds() / 3600
    evidence = {"path": shown, "limit_hours": round(limit_h, 2)}
    try:
        beat = fsio.read_json(path, what="heartbeat", default=None, display=shown)
    except ObservabilityError as exc:
        problem: str | None = f"unreadable ({exc.message})"
        beat = None
    else:
        problem = None
        if beat is None:
            problem = (
                "missing although the job has logged runs"
                if any(r["job"] == job for r in records)
                else "missing: the job has never beaten here"
            )
        elif not isinstance(beat, dict):
            problem, beat = "not a JSON object", None
    if problem:
        return HeartbeatCheck(job, shown, limit_h, None, None, None), Finding(
            "stale_heartbeat", job, f"{shown}: {problem}", evidence=evidence
        )
    # A beat from a failed run is not a sign of life: judge the last success (a job that fails
    # every run goes stale here, besides the failure issue its workflow opens).
    stamp = beat.get("last_success_at") or beat.get("generated_at")
    try:
        beaten = clock.parse_iso(stamp)
    except (TypeError, ValueError, AttributeError):
        return (
            HeartbeatCheck(job, shown, limit_h, None, beat.get("job_id"), beat.get("status")),
            Finding(
                "stale_heartbeat",
                job,
                f"{shown}: no readable generated_at/last_success_at ({stamp!r})",
                evidence=evidence,
            ),
        )
    age = now - beaten
    age_h = age.total_seconds() / 3600
    checked = HeartbeatCheck(job, shown, limit_h, age_h, beat.get("job_id"), beat.get("status"))
    if age <= limit:
        return checked, None
    return checked, Finding(
        "stale_heartbeat",
        job,
        f"{shown}: last beat {clock.iso(beaten)} ({age_h:.1f} h ago, limit {limit_h:g} h) by {beat.get('job_id')}",
        at=beaten,
        evidence={**evidence, "age_hours": round(age_h, 2), "job_id": beat.get("job_id"), "status": beat.get("status")},
    )


def _due(job: str, schedules: tuple[Schedule, ...], deployed_at: datetime, now: datetime) -> bool:
    """True when one of the job's slots since ``deployed_at`` has passed its grace: it should have run."""
    for s in schedules:
        if (
            s.job == job
            and next(Cron.parse(s.cron).times(deployed_at, now - timedelta(minutes=s.grace_minutes)), None) is not None
        ):
            return True
    return False


def check(
    workspace: Workspace,
    records: list[dict[str, Any]],
    schedules: tuple[Schedule, ...],
    *,
    now: datetime,
    max_age: timedelta,
    deployed_at: datetime,
    skip: tuple[str, ...] = (),
) -> tuple[list[HeartbeatCheck], list[Finding]]:
    """Check the heartbeat of every scheduled job and every logged job that writes one.

    A scheduled job that has never run and has no heartbeat is only reported once one of its
    slots since ``deployed_at`` (the log's first line) is past its grace: a new workspace is clean.
    """
    jobs = sorted({s.job for s in schedules} | {r["job"] for r in records if heartbeat_path(workspace, r["job"], [r])})
    checks, findings = [], []
    for job in jobs:
        if job in skip:
            continue
        path = heartbeat_path(workspace, job, records) or workspace.heartbeat(job)
        checked, finding = _check_one(workspace, job, path, records, limit_for(job, schedules, max_age, now), now)
        never_ran = not path.exists() and not any(r["job"] == job for r in records)
        if never_ran and not _due(job, schedules, deployed_at, now):
            finding = None
        checks.append(checked)
        if finding is not None:
            findings.append(finding)
    return checks, findings

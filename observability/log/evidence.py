"""Runs the workspace still shows evidence of: heartbeats, history snapshots and job-id-named artefacts.

``log rebuild`` turns the runs whose log lines are lost into rebuilt lines; this module only finds
them. A run is known by its job id (``YYYYMMDDThhmmssZ-<job>-<8 hex>``), which carries its start
second and its job; its status is known only when a heartbeat or an artefact says so.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from observability import clock, fsio, runlog
from observability.runtime import instant_record
from observability.workspace import Workspace

# The job ids this project makes (runtime.make_job_id): time, job, then 32 random bits.
JOB_ID_RE = re.compile(r"([0-9]{8}T[0-9]{6}Z)-([a-z][a-z0-9_-]*?)-([0-9a-f]{8})")
STATUSES = ("ok", "warning", "dry_run", "skipped", "error")
MAX_JSON_BYTES = 1024 * 1024  # an artefact bigger than this is named, not opened, for its status
# Never evidence: the log itself, its segments, the rebuild's own reports, and temp files.
_SKIP_DIRS = {"automation_runs", "log_rebuild", ".git"}


@dataclass
class Evidence:
    """One run the workspace shows: its id, job, start, status when known, and the files that show it."""

    job_id: str
    job: str
    started_at: datetime
    status: str | None = None
    error_code: str | None = None
    heartbeat: str | None = None
    artefacts: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def add(self, source: str, *, artefact: bool = True) -> None:
        if source not in self.sources:
            self.sources.append(source)
        if artefact and source not in self.artefacts:
            self.artefacts.append(source)


def parse_job_id(text: str) -> tuple[str, str, datetime] | None:
    """(job id, job, start) of a name that is exactly a job id, None otherwise."""
    match = JOB_ID_RE.fullmatch(text)
    if not match:
        return None
    at = runlog.job_id_time(text)
    return (text, match.group(2), at) if at is not None else None


class _Found:
    def __init__(self) -> None:
        self.runs: dict[str, Evidence] = {}

    def run(self, job_id: str, job: str, at: datetime) -> Evidence:
        found = self.runs.get(job_id)
        if found is None:
            found = self.runs[job_id] = Evidence(job_id, job, at)
        return found

    def status(self, run: Evidence, status, error_code=None) -> None:
        if status in STATUSES and run.status is None:
            run.status = status
            if status == "error" and isinstance(error_code, str):
                run.error_code = error_code


def _heartbeats(ws: Workspace, found: _Found) -> None:
    try:
        names = sorted(n for n in os.listdir(ws.ops) if n.endswith("heartbeat.json"))
    except FileNotFoundError:
        return
    for name in names:
        path = ws.ops / name
        try:
            beat = fsio.read_json(path, what="heartbeat", display=ws.rel(path))
        except Exception:  # noqa: BLE001 - a damaged heartbeat is no evidence, never a reason to stop
            continue
        if not isinstance(beat, dict):
            continue
        rel = ws.rel(path)
        latest = parse_job_id(str(beat.get("job_id", "")))
        if latest:
            run = found.run(*latest)
            run.add(rel)
            run.heartbeat = rel
            found.status(run, beat.get("status"), (beat.get("last_failure") or {}).get("error_code"))
        failure = beat.get("last_failure")
        if isinstance(failure, dict):
            failed = parse_job_id(str(failure.get("job_id", "")))
            if failed:
                run = found.run(*failed)
                run.add(rel, artefact=False)  # the heartbeat now belongs to a later run
                found.status(run, "error", failure.get("error_code"))


def _artefacts(ws: Workspace, found: _Found) -> None:
    for top in (ws.ops, ws.out):
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
            here = Path(dirpath)
            for name in sorted(dirnames):  # a directory named by a job id: a history snapshot
                parsed = parse_job_id(name)
                if parsed:
                    run = found.run(*parsed)
                    manifest = here / name / "manifest.json"
                    run.add(ws.rel(manifest) if manifest.is_file() else ws.rel(here / name))
            for name in sorted(filenames):
                if name.startswith(".") or fsio.is_temp(name):
                    continue
                stem = name.split(".", 1)[0]
                parsed = parse_job_id(stem) or _prefixed(stem)
                if not parsed:
                    continue
                path = here / name
                run = found.run(*parsed)
                run.add(ws.rel(path))
                if name.endswith(".json"):
                    _status_from(path, run, found)


def _prefixed(stem: str) -> tuple[str, str, datetime] | None:
    """A job id that starts a longer name (``<job_id>_invalid``, ``<job_id>-plan``)."""
    match = JOB_ID_RE.match(stem)
    return parse_job_id(match.group(0)) if match else None


def _status_from(path: Path, run: Evidence, found: _Found) -> None:
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            return
        doc = fsio.parse_json(path.read_bytes())
    except (OSError, ValueError):
        return
    if isinstance(doc, dict) and doc.get("job_id") == run.job_id:
        found.status(run, doc.get("status"), (doc.get("diagnostics") or {}).get("error_code"))


def collect(ws: Workspace) -> list[Evidence]:
    """Every run the workspace shows evidence of, oldest first."""
    found = _Found()
    _heartbeats(ws, found)
    _artefacts(ws, found)
    return sorted(found.runs.values(), key=lambda r: (r.started_at, r.job_id))


def record_for(run: Evidence, sequence: int) -> dict:
    """The rebuilt log line of ``run``: what the evidence shows, the rest marked unknown."""
    diagnostics: dict = {"rebuilt_from": run.sources[:10]}
    if run.status is None:
        diagnostics["status_known"] = False
    if run.error_code:
        diagnostics["error_code"] = run.error_code
    record = {
        **instant_record(run.job_id, run.job, run.status or "ok", run.started_at, attempts=1),
        "artefacts": [a for a in run.artefacts if a][:10],
        "diagnostics": diagnostics,
        "sequence": sequence,
        "rebuilt": True,
    }
    if run.heartbeat:
        record["heartbeat"] = run.heartbeat
    return record


def placeholder(sequence: int, at: datetime) -> dict:
    """The line for a lost sequence number nothing in the workspace accounts for."""
    job_id = f"{at.astimezone(clock.UTC):%Y%m%dT%H%M%SZ}-lost-{sequence:08x}"
    return {
        **instant_record(job_id, "lost", "skipped", at, attempts=0),
        "diagnostics": {"reason": "line_lost", "rebuilt_from": []},
        "sequence": sequence,
        "rebuilt": True,
    }

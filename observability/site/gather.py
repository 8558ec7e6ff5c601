"""What the status site shows, read from the workspace only: each section on its own, so a missing or
damaged input empties its section (with the reason) and never the whole site.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from observability import clock, fsio, jobs, runlog, schemas, secrets, slo, weekly_review
from observability.config.latency import LATENCY_CONFIG, LatencyConfig, load_latency
from observability.config.schedules import SCHEDULES_CONFIG, Schedule, load_schedules
from observability.cron import Cron
from observability.errors import InputError, ObservabilityError
from observability.freshness import age_seconds
from observability.outputs import cihealth, weekly as weekly_outputs
from observability.outputs.alertinbox import CACHE_PATH as INBOX_PATH
from observability.outputs.rollups import RollupRow, day_files, parse_parts, partition_dir, read_parts
from observability.site.mdhtml import https_url
from observability.workspace import Workspace

ROLLUP_FILE = "ops/signal_latency_rollup.csv"
LATENCY_ALERTS_DIR = "out/latency_alerts"
WEEKLY_HISTORY_DIR = "ops/weekly_report_history"
WEEKLY_OUT_DIR = "out/weekly_report"
DASHBOARD_DIR = "out/dashboard"
CHART_HOURS = 7 * 24  # the index chart: the last 7 days, one point per hour
WEEK_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")
STATUSES = ("ok", "warning", "dry_run", "skipped", "error")
SEVERITIES = ("info", "warning", "critical")
JOB_ID_FILE = re.compile(r"^\d{8}T\d{6}Z-[A-Za-z0-9_.-]+\.json$")
# A week's payload or review larger than this is named on the pages, not read: a 145 MB payload took 29 s
# and 1.9 GB to build and published a 75 MB page. The weekly job's own payloads are tens of kB.
MAX_WEEK_BYTES = 16 * 1024 * 1024


@dataclass
class Site:
    """Everything the pages and status.json are made of."""

    now: datetime
    objective: slo.Objective
    slo_source: str
    rows: list[RollupRow] = field(default_factory=list)
    sources: list[slo.SourceSlo] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    weeks: list[dict[str, Any]] = field(default_factory=list)
    datasets: list[dict[str, Any]] = field(default_factory=list)
    manifest: dict[str, Any] | None = None
    ci: dict[str, Any] | None = None  # the latest CI health snapshot (ops/ci/ci_health.json), when `ci health` ran
    ci_page: str | None = None  # its page (Markdown)
    problems: list[str] = field(default_factory=list)  # "<file>: <what is wrong>": shown on the pages
    inputs: list[str] = field(default_factory=list)  # workspace paths read (status.json provenance)


def gather(ws: Workspace, now: datetime) -> Site:
    cfg = _latency_config(ws)
    objective = slo.Objective(cfg.slo_p95_ms, cfg.failure_rate_threshold, cfg.slo_target_percent)
    site = Site(now=now, objective=objective, slo_source=cfg.slo_source)
    site.rows = _section(site, lambda: _rollups(ws, site), [])
    site.sources = slo.evaluate(site.rows, objective, now, sources=cfg.sources)
    site.alerts = _section(site, lambda: _alerts(ws), [])
    site.runs = _section(site, lambda: _runs(ws, now, site), [])
    site.weeks = _section(site, lambda: _weeks(ws, site.problems), [])
    site.manifest = _section(site, lambda: _manifest(ws), None)
    site.datasets = _datasets(ws, site.manifest, now, site.problems)
    site.ci, site.ci_page = _section(site, lambda: _ci(ws, site.problems), (None, None))
    if site.manifest is not None and not _inside(ws, ws.path(f"{DASHBOARD_DIR}/manifest.json"), site.problems):
        site.manifest = None
    fixed = (
        LATENCY_CONFIG,
        SCHEDULES_CONFIG,
        INBOX_PATH,
        ws.rel(ws.run_log),
        f"{DASHBOARD_DIR}/manifest.json",
        cihealth.SNAPSHOT_JSON,
    )
    found = [rel for rel in fixed if ws.path(rel).is_file()]
    if partition_dir(ws.path(ROLLUP_FILE)).is_dir() or ws.path(ROLLUP_FILE).is_file():
        found.append(ROLLUP_FILE)
    latest = _latest_file(ws, LATENCY_ALERTS_DIR)
    found += [ws.rel(latest)] if latest is not None else []
    site.inputs = sorted(set(found + [w["file"] for w in site.weeks]))
    # The site is public (GitHub Pages), the workspace is not: a secret value that reached an alert
    # title, a review or a log line is scrubbed before any page is rendered (HTML escaping would
    # change its spelling afterwards).
    site.alerts, site.runs, site.weeks = (secrets.redact_value(x) for x in (site.alerts, site.runs, site.weeks))
    site.datasets, site.problems = secrets.redact_value(site.datasets), secrets.redact_value(site.problems)
    site.manifest = secrets.redact_value(site.manifest)
    site.ci, site.ci_page = secrets.redact_value(site.ci), secrets.redact_value(site.ci_page)
    return site


def _section(site: Site, read, empty):
    try:
        return read()
    except ObservabilityError as exc:
        site.problems.append(exc.message)
        return empty


def _latency_config(ws: Workspace) -> LatencyConfig:
    """latency_alert.yaml (its SLO, threshold and target); a missing file means the defaults.
    An invalid one is a ConfigError (exit 2), as for the latency job."""
    path = ws.path(LATENCY_CONFIG)
    return load_latency(path if path.is_file() else None, display=LATENCY_CONFIG, slo_ms=None)


def _rollups(ws: Workspace, site: Site) -> list[RollupRow]:
    """The rollup rows of the last 29 days (the longest period, 28 days, plus the day it starts in): only
    those day files are read; an old single file is read whole."""
    path = ws.path(ROLLUP_FILE)
    directory = partition_dir(path)
    first = (site.now - timedelta(days=max(slo.PERIOD_DAYS) + 1)).strftime("%Y-%m-%d")
    try:
        days = [d for d in day_files(directory) if d >= first]
        if days:
            parts = [(directory / f"{d}.csv", (directory / f"{d}.csv").read_bytes()) for d in days]
        else:
            _, parts = read_parts(path)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise InputError(f"{ROLLUP_FILE}: cannot read ({exc.strerror or exc})") from None
    rows, warnings = parse_parts(parts, ws.rel)
    site.problems.extend(warnings)
    return rows


def _alerts(ws: Workspace) -> list[dict[str, Any]]:
    """Open alerts: the inbox's open issues (with their links), then alerts firing in the latest latency
    alert file that have no issue (the inbox has not run, or ran dry)."""
    inbox = fsio.read_json(ws.path(INBOX_PATH), default=None, what="alert inbox cache", display=INBOX_PATH)
    issues = inbox.get("issues") if isinstance(inbox, dict) else None
    if inbox is not None and not isinstance(issues, dict):
        raise InputError(f"{INBOX_PATH}: field issues: expected an object")
    found: list[dict[str, Any]] = []
    for fingerprint, entry in sorted((issues or {}).items()):
        if not isinstance(entry, dict) or entry.get("state") != "open" or entry.get("drill"):
            continue
        severity = entry.get("severity") or ("critical" if entry.get("kind") == "failure" else None)
        number = entry.get("number")
        found.append(
            {
                "id": fingerprint,
                "title": str(entry.get("title", "")),
                "severity": severity if severity in SEVERITIES else None,
                "kind": _text(entry.get("kind")),
                "since": _text(entry.get("started_at") or entry.get("opened_at")),
                "issue": number if isinstance(number, int) and not isinstance(number, bool) else None,
                "url": https_url(entry.get("html_url")),
            }
        )
    known = {a["id"] for a in found}
    latest = _latest_file(ws, LATENCY_ALERTS_DIR)
    if latest is not None:
        doc = fsio.read_json(latest, what="latency alert file", display=ws.rel(latest))
        items = doc.get("alerts") if isinstance(doc, dict) else None
        if not isinstance(items, list):
            raise InputError(f"{ws.rel(latest)}: field alerts: expected a list")
        for item in items:
            if isinstance(item, dict) and item.get("status") == "firing" and item.get("id") not in known:
                found.append(
                    {
                        "id": str(item.get("id")),
                        "title": str(item.get("message", "")),
                        "severity": item.get("severity") if item.get("severity") in SEVERITIES else None,
                        "kind": "alert",
                        "since": _text(item.get("started_at")),
                        "issue": None,
                        "url": None,
                    }
                )
    rank = {"critical": 0, "warning": 1, "info": 2}
    return sorted(found, key=lambda a: (rank.get(a["severity"] or "", 3), a["id"]))


def _latest_file(ws: Workspace, rel_dir: str) -> Path | None:
    directory = ws.path(rel_dir)
    try:
        names = sorted(n for n in os.listdir(directory) if JOB_ID_FILE.match(n))
    except (FileNotFoundError, NotADirectoryError):
        return None
    return directory / names[-1] if names else None


def _runs(ws: Workspace, now: datetime, site: Site) -> list[dict[str, Any]]:
    """The last run of every registered job (from the automation log), its age, and whether a scheduled
    run is overdue: a cron slot of schedules.yaml whose grace has passed with no run since."""
    problems: list[tuple[str, str]] = []
    last: dict[str, dict[str, Any]] = {}
    for record in runlog.iter_records(ws, problems=problems):
        name = record.get("job")
        stamp = record.get("started_at")
        if isinstance(name, str) and isinstance(stamp, str) and (name not in last or stamp >= last[name]["started_at"]):
            last[name] = record
    site.problems.extend(f"{path}: {message}" for path, message in problems)
    schedules = _schedules(ws, site)
    out = []
    for job in jobs.JOBS:
        run = last.get(job.name)
        started = parse_time(run.get("started_at")) if run else None
        own = [s for s in schedules if s.job == job.name]
        overdue = _overdue(own, started, now)
        if run is None and not own:
            continue  # never run and not scheduled: nothing to show
        out.append(
            {
                "job": job.name,
                "status": _text(run.get("status")) if run and run.get("status") in STATUSES else None,
                "job_id": _text(run.get("job_id")) if run else None,
                "started_at": _text(run.get("started_at")) if run else None,
                "age_seconds": age_seconds(started, now),
                "error_code": _text(_field(run, "diagnostics", "error_code")) if run else None,
                "run_url": https_url(_field(run, "github", "run_url")) if run else None,
                "scheduled": bool(own),
                "overdue_since": clock.iso(overdue) if overdue else None,
            }
        )
    return out


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _field(doc: dict[str, Any], block: str, key: str) -> Any:
    inner = doc.get(block)
    return inner.get(key) if isinstance(inner, dict) else None


def _schedules(ws: Workspace, site: Site) -> list[Schedule]:
    path = ws.path(SCHEDULES_CONFIG)
    if not path.is_file():
        return []
    try:
        return list(load_schedules(path, display=SCHEDULES_CONFIG))
    except ObservabilityError as exc:
        site.problems.append(exc.message)
        return []


def _overdue(schedules: list[Schedule], started: datetime | None, now: datetime) -> datetime | None:
    """The first cron slot after the last run (or in the last 8 days when none) whose grace has passed."""
    since = started if started is not None else now - timedelta(days=8)
    for schedule in schedules:
        grace = timedelta(minutes=schedule.grace_minutes)
        # a run up to the grace after a slot covers it; the first slot strictly after the last run counts
        for at in Cron.parse(schedule.cron).times(since + timedelta(seconds=1), now - grace):
            if started is None or at > started:
                return at
    return None


def parse_time(value: Any) -> datetime | None:
    """An ISO-8601 UTC time from a workspace file, else None (a damaged value is no time, never an error)."""
    try:
        return clock.parse_iso(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _weeks(ws: Workspace, problems: list[str]) -> list[dict[str, Any]]:
    """Weekly payloads, newest week first: delivered ones (ops/weekly_report_history/<week_start>.json),
    then the latest generated but not delivered (a dry run in out/weekly_report/) when its week is new."""
    weeks: dict[str, dict[str, Any]] = {}
    directory = ws.path(WEEKLY_HISTORY_DIR)
    try:
        names = sorted(n for n in os.listdir(directory) if WEEK_FILE.match(n))
    except (FileNotFoundError, NotADirectoryError):
        names = []
    for name in names:
        rel = f"{WEEKLY_HISTORY_DIR}/{name}"
        if not _inside(ws, ws.path(rel), problems) or not _small(ws, rel, problems):
            continue
        weeks[name[:-5]] = {"week_start": name[:-5], "file": rel, "delivered": True, "payload": _payload(ws, rel)}
    latest = _latest_file(ws, WEEKLY_OUT_DIR)
    if latest is not None and _inside(ws, latest, problems) and _small(ws, ws.rel(latest), problems):
        rel = ws.rel(latest)
        payload = _payload(ws, rel)
        start = payload.get("week_start") if isinstance(payload, dict) else None
        if isinstance(start, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", start) and start not in weeks:
            review = latest.with_suffix(".md")
            weeks[start] = {
                "week_start": start,
                "file": rel,
                "delivered": False,
                "payload": payload,
                "review": review.read_text(encoding="utf-8", errors="replace")
                if review.is_file() and _inside(ws, review, problems) and _small(ws, ws.rel(review), problems)
                else None,
            }
    found = [weeks[k] for k in sorted(weeks, reverse=True)]
    for week in found:
        if week.get("review") is None:
            week["review"] = _review(week, problems)
    return found


def _review(week: dict[str, Any], problems: list[str]) -> str | None:
    """The week's review rendered from its payload, as the weekly step summary shows it (SLO attainment
    included); None for a legacy script's payload or one that does not match the payload schema (its
    page then lists the stored fields, and the problem is said)."""
    payload = week["payload"]
    if weekly_outputs.is_legacy(payload):
        return None
    found = schemas.errors(weekly_outputs.SCHEMA_NAME, payload)
    if found:
        path, message = found[0]
        problems.append(
            f"{week['file']}: field {schemas.json_path(path)}: {message} (its week's page lists the stored fields)"
        )
        return None
    odd = weekly_outputs.odd_number(payload)
    if odd:
        problems.append(f"{week['file']}: field {odd} (its week's page lists the stored fields)")
        return None
    label = "delivered" if week["delivered"] else "generated, not delivered"
    delivery = {"state": "delivered" if week["delivered"] else "dry_run", "label": label}
    # Scrubbed before rendering too: the review escapes text ("|", "[", "\\"), which changes a secret's
    # spelling, and the site shows the escaped text as the value again.
    clean = secrets.redact_value(payload)
    return weekly_review.render(clean, status=label, delivery=delivery, artefacts=[], attempts=[])


def _small(ws: Workspace, rel: str, problems: list[str]) -> bool:
    """Whether ``rel`` is a regular file of at most MAX_WEEK_BYTES (a missing file is, for the reader to
    say); the page says why another is left out (reading a FIFO would wait for a writer forever)."""
    try:
        found = ws.path(rel).stat()
    except OSError:
        return True
    if not stat.S_ISREG(found.st_mode):
        problems.append(f"{rel}: not a regular file; left off the site")
        return False
    if found.st_size <= MAX_WEEK_BYTES:
        return True
    problems.append(f"{rel}: {found.st_size:,} bytes, more than {MAX_WEEK_BYTES:,}; left off the site")
    return False


def _ci(ws: Workspace, problems: list[str]) -> tuple[dict[str, Any] | None, str | None]:
    """The latest CI health snapshot ``ci health`` left in ops/ci/ (none: the CI page says how to get one)."""
    if not all(_inside(ws, ws.path(rel), problems) for rel in (cihealth.SNAPSHOT_JSON, cihealth.SNAPSHOT_MD)):
        return None, None
    found = cihealth.read_snapshot(ws)
    return found if found is not None else (None, None)


def _payload(ws: Workspace, rel: str) -> dict[str, Any]:
    doc = fsio.read_json(ws.path(rel), what="weekly payload", display=rel)
    if not isinstance(doc, dict):
        raise InputError(f"{rel}: expected a JSON object")
    return doc


def _manifest(ws: Workspace) -> dict[str, Any] | None:
    rel = f"{DASHBOARD_DIR}/manifest.json"
    doc = fsio.read_json(ws.path(rel), default=None, what="dashboard manifest", display=rel)
    if doc is not None and not (isinstance(doc, dict) and isinstance(doc.get("datasets"), list)):
        raise InputError(f"{rel}: field datasets: expected a list")
    return doc


def _inside(ws: Workspace, path: Path, problems: list[str]) -> bool:
    """Whether ``path`` (when it exists) really lies in the workspace: a symlink out of it is never read
    onto the site, which is published (it could name a key file); the page says why it is left out."""
    if not os.path.lexists(path):
        return True
    real, root = os.path.realpath(path), os.path.realpath(ws.root)
    if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
        return True
    problems.append(f"{ws.rel(path)}: a symlink to a file outside the workspace; left off the site")
    return False


def _datasets(
    ws: Workspace, manifest: dict[str, Any] | None, now: datetime, problems: list[str]
) -> list[dict[str, Any]]:
    out = []
    for entry in (manifest or {}).get("datasets", []):
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            continue
        name = Path(entry["path"]).name
        file = ws.path(DASHBOARD_DIR) / name
        refreshed = parse_time(entry.get("refreshed_at") or entry.get("generated_at"))
        rows = entry.get("row_count")
        out.append(
            {
                "dataset": str(entry.get("dataset", name)),
                "file": file
                if file.is_file() and Path(entry["path"]).name == entry["path"] and _inside(ws, file, problems)
                else None,
                "name": name,
                "rows": rows if isinstance(rows, int) and not isinstance(rows, bool) and rows >= 0 else None,
                "status": _text(entry.get("status")),
                "refreshed_at": clock.iso(refreshed) if refreshed else None,
                "age_seconds": age_seconds(refreshed, now),
                "checksum": entry.get("checksum_sha256"),
            }
        )
    return out

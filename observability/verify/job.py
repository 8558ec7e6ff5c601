"""The two verify job bodies: ``verify`` (nightly, the whole workspace) and ``verify job`` (one run)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from observability import clock, fsio, markdown, runlog, schemas
from observability.config import credentials as credentials_config, schedules as schedules_config
from observability.errors import ConfigError
from observability.runtime import JOB_ID_RE, JobContext, JobResult, derive_status
from observability.verify import cadence, heartbeats, logcheck, storage
from observability.verify.findings import Finding, to_alerts
from observability.verify.trace import trace, trace_from_log

REPORT_SCHEMA = "verify_report"
ALERTS_FILE = "ops/verify_alerts.json"  # the alert inbox's built-in "verify" source
CONTEXT = timedelta(days=8)  # a weekly job's latest run, plus a day
_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([mhd])$")


@dataclass(frozen=True)
class VerifyOptions:
    since: str = "24h"
    max_heartbeat_age_hours: float = 6.0
    schedules: str | None = None  # None: configs/observability/schedules.yaml when present
    strict: bool = False
    sync_to: str | None = None  # shared storage whose copies are re-read (--sync-to / OBS_SYNC_TO)
    storage: storage.StorageCheckOptions | None = None  # how (tests: no waits); None: the defaults


def parse_since(text: str, now: datetime) -> datetime:
    """``24h``, ``90m``, ``8d`` before ``now``, or an ISO-8601 timestamp."""
    match = _DURATION.match(text.strip())
    if match:
        amount, unit = float(match.group(1)), match.group(2)
        return now - timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[unit]: amount})
    try:
        since = clock.parse_iso(text)
    except ValueError:
        raise ConfigError(f"--since {text!r}: expected a duration like 24h, 90m, 8d or an ISO-8601 time") from None
    if since > now:
        raise ConfigError(f"--since {text!r}: is after the current time {clock.iso(now)}")
    return since


def _schedules(ctx: JobContext, path: str | None) -> tuple[schedules_config.Schedule, ...]:
    chosen = ctx.workspace.path(path or schedules_config.SCHEDULES_CONFIG)
    if path is None and not chosen.exists():
        ctx.warn(f"{ctx.workspace.rel(chosen)} not found: cadence not checked, heartbeats only for logged jobs")
        return ()
    return schedules_config.load_schedules(chosen, display=ctx.workspace.rel(chosen))


def _rotation(ctx: JobContext) -> tuple[list[Finding], dict[str, Any]]:
    """Secrets past their rotation date in configs/observability/credentials.yaml: one finding listing
    them all (one issue), reminded every ``remind_every_days``; no register, nothing checked."""
    path = ctx.workspace.path(credentials_config.CREDENTIALS_CONFIG)
    if not path.exists():
        return [], {"register": None}
    register = credentials_config.load_register(path, display=ctx.workspace.rel(path))
    late = credentials_config.overdue(register, ctx.now.date())
    check = {
        "register": ctx.workspace.rel(path),
        "secrets": len(register.credentials),
        "undated": sorted(c.name for c in register.credentials if not c.rotate_by),
        "overdue": len(late),
    }
    if not late:
        return [], check
    listed = [
        {"name": o.name, "environment": o.environment, "owner": o.owner, "rotate_by": o.rotate_by.isoformat()}
        for o in late
    ]
    names = "; ".join(f"{o.name} in {o.environment} (owner {o.owner}, due {o.rotate_by})" for o in late)
    earliest = min(o.rotate_by for o in late)
    finding = Finding(
        "secret_rotation_due",
        "credentials",
        f"{len(late)} secret(s) past their rotation date: {names}",
        at=datetime(earliest.year, earliest.month, earliest.day, tzinfo=clock.UTC),
        evidence={"secrets": listed},
        repeat_interval_hours=register.remind_every_days * 24.0,
    )
    return [finding], check


def read_from(since: datetime, now: datetime, schedules: tuple[schedules_config.Schedule, ...]) -> datetime:
    """Where the nightly check starts reading the log: the window, the day before it that cadence
    matches slots against, and at least CONTEXT back so a weekly job's latest run is traced."""
    grace = timedelta(minutes=max((s.grace_minutes for s in schedules), default=0))
    return min(since - grace - timedelta(days=1), now - CONTEXT)


def _latest_runs(records: list[dict[str, Any]], skip: str) -> list[str]:
    latest: dict[str, dict[str, Any]] = {}
    for record in records:
        if record["job"] != skip and record["sequence"] >= latest.get(record["job"], {}).get("sequence", 0):
            latest[record["job"]] = record
    return [latest[job]["job_id"] for job in sorted(latest)]


def _write_report(ctx: JobContext, kind: str, status: str, alerts: list, checks: dict, **extra) -> None:
    report = {
        "schema_version": "1.0.0",
        "kind": kind,
        "job_id": ctx.job_id,
        "status": status,
        "alerts": alerts,
        "checks": checks,
        **extra,
        **ctx.provenance(),
    }
    schemas.validate(REPORT_SCHEMA, report, what="verification report")
    path = ctx.workspace.out / "verify" / f"{ctx.job_id}.json"
    fsio.atomic_write_json(path, report)
    ctx.artefact(path)


def _markdown(title: str, status: str, alerts: list[dict[str, Any]], extra: list[str]) -> str:
    lines = [f"## {title}", "", f"**Status:** `{status}` · **findings:** {sum(a['breach_count'] for a in alerts)}", ""]
    if alerts:
        lines += ["| severity | rule | source | count | first finding |", "| --- | --- | --- | ---: | --- |"]
        lines += [
            f"| {a['severity']} | `{a['rule']}` | {markdown.cell(a['source'])} | {a['breach_count']} | "
            f"{markdown.cell(a['evidence']['items'][0]['message'])} |"
            for a in alerts
        ]
        lines.append("")
    return "\n".join(lines + extra) + "\n"


def verify_workspace(ctx: JobContext, options: VerifyOptions) -> JobResult:
    """Log schema and sequence, heartbeat freshness, cadence, and a trace of each job's latest run."""
    now = ctx.now
    since = parse_since(options.since, now)
    if options.max_heartbeat_age_hours <= 0:
        raise ConfigError("--max-heartbeat-age-hours: must be greater than 0")
    if options.sync_to:
        storage.check_url(options.sync_to)  # a bad URL is a usage error before anything is read
    schedules = _schedules(ctx, options.schedules)
    scan = logcheck.scan(ctx.workspace, since=read_from(since, now, schedules))
    records = scan.records
    found: list[Finding] = list(scan.findings)
    runs = cadence.runs_from(records)
    log_start = min((r.started for job_runs in runs.values() for r in job_runs), default=None)
    oldest = runlog.segments(ctx.workspace)
    if oldest and (log_start is None or oldest[0].first_at < log_start):
        log_start = oldest[0].first_at  # the retained history starts before what was read
    beats, stale = heartbeats.check(
        ctx.workspace,
        records,
        schedules,
        now=now,
        max_age=timedelta(hours=options.max_heartbeat_age_hours),
        deployed_at=log_start or now,
        skip=(ctx.job,),
    )
    found += stale
    runs.setdefault(ctx.job, []).append(cadence.Run(now, ctx.job_id))  # this very run covers tonight's slot
    reports, missed = cadence.check(runs, schedules, now=now, since=since, log_start=log_start)
    found += missed
    traced = []
    for job_id in _latest_runs(records, ctx.job):
        result = trace(ctx.workspace, job_id, records)
        traced.append({"job_id": job_id, "problems": len(result.findings)})
        found += result.findings
    rotation, rotation_check = _rotation(ctx)
    found += rotation
    stored = None
    if options.sync_to:
        stored = storage.check(ctx.workspace, options.storage or storage.StorageCheckOptions(options.sync_to), now=now)
        found += stored.findings
        for note in stored.notes:
            ctx.note(note)
    alerts = to_alerts(found, now=now)
    diagnostics: dict[str, Any] = {}
    if found and options.strict:
        diagnostics = {
            "error_code": "verification_failed",
            "error_message": f"{len(found)} finding(s): " + "; ".join(f.message for f in found[:3]),
        }
    status = derive_status(failed=bool(found and options.strict), findings=[f.rule for f in found])
    for finding in found:
        ctx.note(f"{finding.rule}: {finding.message}")
    for alert in alerts:  # one annotation per alert on GitHub, not one per missed slot
        ctx.warnings.append(f"{alert['rule']} ({alert['source']}): {alert['message']}")
    checks = {
        "log": {
            "lines": scan.lines,
            "valid": len(records),
            "first_sequence": scan.first_sequence,
            "last_sequence": scan.last_sequence,
        },
        "heartbeats": [b.as_dict() for b in beats],
        "cadence": [r.as_dict() for r in reports],
        "traced": traced,
        "credentials": rotation_check,
    }
    if stored is not None:
        checks["storage"] = stored.as_dict()
    window = {"since": clock.iso(since), "until": clock.iso(now)}
    _write_report(ctx, "nightly", status, alerts, checks, window=window)
    # the alert inbox reads the current firing set here: rewritten every night, so an alert that
    # is not found again (the missed slots left the window, the heartbeat is fresh) resolves
    current = ctx.workspace.path(ALERTS_FILE)
    fsio.atomic_write_json(
        current, {"job_id": ctx.job_id, "generated_at": clock.iso(now), "window": window, "alerts": alerts}
    )
    ctx.artefact(current)
    by_rule: dict[str, int] = {}
    for finding in found:
        by_rule[finding.rule] = by_rule.get(finding.rule, 0) + 1
    cadence_rows = [
        "| schedule | cron | judged | on time | late | missed |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    cadence_rows += [
        f"| {r.schedule.name} | `{r.schedule.cron}` | {r.judged} | {r.on_time} | {r.late} | {len(r.missed)} |"
        for r in reports
    ]
    return JobResult(
        failed=bool(found and options.strict),
        findings=[f.rule for f in found],
        figures={"findings": len(found), "findings_by_rule": by_rule, "window": window, "checks": checks},
        alerts=alerts,
        diagnostics=diagnostics,
        heartbeat={"findings": len(found), "last_verified_at": clock.iso(now)},
        summary_markdown=_markdown(
            "observability verify",
            status,
            alerts,
            markdown.details("Schedules in the window", cadence_rows) + _storage_lines(stored),
        ),
        outputs={"findings": str(len(found))},
    )


def _storage_lines(stored: storage.StorageCheck | None) -> list[str]:
    if stored is None:
        return []
    return [
        "",
        f"Shared storage `{stored.target}`: {stored.objects} object(s) re-read ({stored.bytes_read} bytes), "
        f"signatures {stored.signatures}, {len(stored.findings)} finding(s).",
    ]


def verify_one(ctx: JobContext, job_id: str) -> JobResult:
    """Trace ``job_id``; any problem ends the run status=error (exit 1) listing all of them."""
    if not JOB_ID_RE.match(job_id):
        raise ConfigError(f"--job-id {job_id!r}: expected YYYYMMDDThhmmssZ-<name>")
    result = trace_from_log(ctx.workspace, job_id)
    problems = [f.message for f in result.findings]
    for problem in problems:
        ctx.note(f"problem: {problem}")
    for note in result.notes:
        ctx.note(note)
    status = derive_status(failed=bool(problems))
    diagnostics = (
        {
            "error_code": "verification_failed",
            "error_message": f"{len(problems)} problem(s) with {job_id}: " + "; ".join(problems[:3]),
        }
        if problems
        else {}
    )
    alerts = to_alerts(result.findings, now=ctx.now)
    _write_report(ctx, "job", status, alerts, {"trace": result.as_dict()}, traced_job_id=job_id)
    return JobResult(
        failed=bool(problems),
        figures={"traced_job_id": job_id, "problems": problems, "trace": result.as_dict()},
        alerts=alerts,
        diagnostics=diagnostics,
        summary_markdown=_markdown(f"observability verify job {job_id}", status, alerts, []),
        outputs={"problems": str(len(problems))},
    )

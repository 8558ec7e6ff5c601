"""Operations KPIs per ISO week or calendar month, from the automation log (seed 002 §8 M4).

SLO breaches, delivery retries, mean export time and upload failure rate, each computed from the
lines runs wrote. Lines ``log rebuild`` wrote (``rebuilt: true``) are counted as runs but carry no
timings, attempts or alerts, so they are left out of those figures (and counted in ``rebuilt_lines``).
Shared by ``observability log kpi`` and the weekly review (its Markdown), so both say the same.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from observability import clock, runlog
from observability.markdown import cell
from observability.workspace import Workspace

SCHEMA = "log_kpi"
PERIODS = ("week", "month")
SLO_RULE = "latency_slo"  # the latency job's SLO alert (observability/latency/slo.py)
EXPORT_JOB = "dashboard"  # export time: the dashboard export's runs
UPLOAD_JOBS = ("dashboard", "sync")  # the bundle upload command, and sync push to shared storage
RAN = ("ok", "warning", "error")  # a run that did its work (not skipped, not a dry run)


def period_start(at: datetime, period: str) -> datetime:
    """The start (UTC midnight) of the ISO week (Monday) or calendar month holding ``at``."""
    day = at.astimezone(clock.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_start(start: datetime, period: str) -> datetime:
    if period == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def label(start: datetime, period: str) -> str:
    """``2026-W02`` or ``2026-01``."""
    if period == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{start:%Y-%m}"


class _Bucket:
    def __init__(self) -> None:
        self.runs = 0
        self.rebuilt = 0
        self.breaches = 0
        self.critical = 0
        self.retries = 0
        self.retried_runs = 0
        self.retries_by_job: dict[str, int] = defaultdict(int)
        self.export_ms: list[int] = []
        self.uploads = 0
        self.upload_failures = 0

    def row(self, start: datetime, period: str) -> dict[str, Any]:
        end = next_start(start, period)
        return {
            "period": label(start, period),
            "start": clock.iso(start),
            "end": clock.iso(end),
            "runs": self.runs,
            "rebuilt_lines": self.rebuilt,
            "slo_breaches": self.breaches,
            "slo_breaches_critical": self.critical,
            "delivery_retries": self.retries,
            "retried_runs": self.retried_runs,
            "retries_by_job": dict(sorted(self.retries_by_job.items())),
            "exports": len(self.export_ms),
            "mean_export_ms": round(sum(self.export_ms) / len(self.export_ms)) if self.export_ms else None,
            "uploads": self.uploads,
            "upload_failures": self.upload_failures,
            "upload_failure_rate": round(self.upload_failures / self.uploads, 4) if self.uploads else None,
        }


def _upload(record: dict[str, Any]) -> bool | None:
    """True: an upload that failed; False: one that worked; None: the run uploaded nothing."""
    diagnostics = record.get("diagnostics") or {}
    status = record.get("status")
    if record.get("job") == "sync":
        return None if status not in RAN else status == "error"
    upload = diagnostics.get("upload_status")
    if upload in ("ok", "failed"):
        return upload == "failed"
    if diagnostics.get("error_code") == "upload_failed":  # lines written before upload_status was logged
        return True
    return None


def compute(records: Iterable[dict[str, Any]], period: str) -> list[dict[str, Any]]:
    """One row per period that has lines, oldest first.

    An SLO breach is an episode: a ``latency_slo`` alert firing in a latency run when the previous
    latency run did not have it firing (an episode running across a period boundary counts in both).
    A delivery retry is every attempt after the first (``attempts - 1``) of any run.
    """
    buckets: dict[datetime, _Bucket] = defaultdict(_Bucket)
    ordered = sorted(
        (r for r in records if isinstance(r.get("started_at"), str)),
        key=lambda r: (r["started_at"], r.get("sequence", 0)),
    )
    firing_before: set[str] = set()
    seen_in_period: dict[datetime, set[str]] = defaultdict(set)
    for record in ordered:
        try:
            at = clock.parse_iso(record["started_at"])
        except ValueError:
            continue
        start = period_start(at, period)
        bucket = buckets[start]
        bucket.runs += 1
        if record.get("rebuilt"):
            bucket.rebuilt += 1
            continue
        job, status = record.get("job"), record.get("status")
        attempts = record.get("attempts")
        if isinstance(attempts, int) and attempts > 1:
            bucket.retries += attempts - 1
            bucket.retried_runs += 1
            bucket.retries_by_job[str(job)] += attempts - 1
        if job == "latency" and status in (*RAN, "dry_run"):
            firing = {
                a["id"]: a
                for a in record.get("alerts") or []
                if a.get("rule") == SLO_RULE and a.get("status", "firing") == "firing"
            }
            for fp, alert in firing.items():
                if fp not in firing_before or fp not in seen_in_period[start]:
                    bucket.breaches += 1
                    bucket.critical += alert.get("severity") == "critical"
                seen_in_period[start].add(fp)
            firing_before = set(firing)
        if job == EXPORT_JOB and status in ("ok", "warning") and isinstance(record.get("duration_ms"), int):
            bucket.export_ms.append(record["duration_ms"])
        if job in UPLOAD_JOBS:
            failed = _upload(record)
            if failed is not None:
                bucket.uploads += 1
                bucket.upload_failures += failed
    return [buckets[s].row(s, period) for s in sorted(buckets)]


def report(
    ws: Workspace,
    period: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    problems: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """The KPI document (schemas/log_kpi.schema.json) for the log lines started in [since, until)."""
    low = period_start(since, period) if since else None
    end = clock.iso(until) if until else None
    records = [
        _kept(r)
        for r in runlog.iter_records(ws, since=low, until=until, problems=problems)
        if end is None or r.get("started_at", "") < end
    ]
    return {"period": period, "periods": compute(records, period)}


_FIELDS = ("started_at", "sequence", "rebuilt", "job", "status", "attempts", "duration_ms")


def _kept(record: dict[str, Any]) -> dict[str, Any]:
    """Only what the figures read: a year of lines is ~3 KB each, mostly GitHub context and alerts."""
    kept = {k: record[k] for k in _FIELDS if k in record}
    kept["alerts"] = [
        {k: a[k] for k in ("id", "rule", "severity", "status") if k in a}
        for a in record.get("alerts") or []
        if isinstance(a, dict) and a.get("rule") == SLO_RULE and a.get("status", "firing") == "firing"
    ]
    diagnostics = record.get("diagnostics") or {}
    kept["diagnostics"] = {k: diagnostics[k] for k in ("upload_status", "error_code") if k in diagnostics}
    return kept


def _n(value, suffix: str = "") -> str:
    return "–" if value is None else f"{value:,}{suffix}"


def markdown(doc: dict[str, Any], *, title: str | None = None) -> str:
    """The KPI table (one row per period), for a step summary or the weekly review."""
    lines = [f"### {title or 'Operations KPIs per ' + doc['period']} (automation log)", ""]
    if not doc["periods"]:
        return "\n".join([*lines, "_No automation log lines in this range._", ""])
    lines += [
        "| period | runs | SLO breaches | delivery retries | mean export time | uploads | upload failure rate |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in doc["periods"]:
        rate = row["upload_failure_rate"]
        rebuilt = f" ({row['rebuilt_lines']} rebuilt)" if row["rebuilt_lines"] else ""
        lines.append(
            f"| {cell(row['period'])} | {row['runs']:,}{rebuilt} | {row['slo_breaches']} "
            f"({row['slo_breaches_critical']} critical) | {row['delivery_retries']} | "
            f"{_n(row['mean_export_ms'], ' ms')} | {row['uploads']} | "
            f"{'–' if rate is None else f'{rate * 100:.1f}%'} |"
        )
    return "\n".join([*lines, ""])

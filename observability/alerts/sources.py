"""Alert sources: where the current firing set comes from (docs/alerts.md, "Alert sources").

A source reads what its job left in the workspace and answers with a ``SourceReport``: the
alerts firing *now* and whether that answer is authoritative. Only an authoritative report
resolves issues (an alert that is no longer in it is over), so a runner that did not pull the
state store, or a job that never ran, closes nothing. Because sources read the jobs' current
state rather than the events of one run, a lost or skipped run never loses a resolution.

To plug in a new job, either add a class with ``name`` and ``collect(workspace)`` or, simpler,
let the job rewrite an *alert file* (``{"alerts": [alert items]}``, the items firing now) and
name it in ``configs/observability/alerts.yaml`` under ``sources`` (``ops/verify_alerts.json``
for ``observability verify`` is built in).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from observability import clock, fsio
from observability.alertitem import RANK, SEVERITIES, fingerprint
from observability.errors import ObservabilityError
from observability.outputs import weekly as weekly_outputs
from observability.workspace import Workspace

DRILL_PREFIX = "drill:"


@dataclass(frozen=True)
class Alert:
    """One alert firing now, normalised from any source."""

    fingerprint: str
    origin: str  # the source that reported it (latency, weekly, dashboard, verify, ...)
    rule: str
    subject: str  # what is affected: a feed, a dataset, the weekly report
    severity: str
    message: str
    owner: str
    next_action: str
    started_at: str | None = None
    last_breach_at: str | None = None
    breach_streak: int = 0
    breach_count: int = 0
    evidence: dict[str, Any] = field(default_factory=dict)
    job_id: str | None = None
    evidence_path: str | None = None
    runbook: str | None = None  # the source's own runbook link, else the inbox's
    repeat_interval_hours: float | None = None  # the item's own reminder interval (secret rotation: monthly)

    @property
    def drill(self) -> bool:
        return self.subject.startswith(DRILL_PREFIX) or self.origin.startswith(DRILL_PREFIX)


@dataclass
class SourceReport:
    name: str
    authoritative: bool
    alerts: list[Alert] = field(default_factory=list)
    resolved_at: dict[str, str] = field(default_factory=dict)  # fingerprint -> when the source saw it end
    note: str | None = None  # why the report is not authoritative, for stderr


class AlertSource(Protocol):
    """What ``alerts sync`` needs from a source."""

    name: str

    def collect(self, workspace: Workspace) -> SourceReport: ...


def _read(ws: Workspace, path: Path, what: str) -> Any:
    return fsio.read_json(path, default=None, what=what, display=ws.rel(path))


def _newest(directory: Path) -> Path | None:
    """The newest ``<job_id>.json`` (job ids start with a UTC timestamp, so names sort by time)."""
    try:
        files = sorted(p for p in directory.glob("*.json") if not p.name.startswith("."))
    except OSError:
        return None
    return files[-1] if files else None


def _items(ws: Workspace, path: Path | None, what: str) -> tuple[dict[str, dict], str | None]:
    if path is None:
        return {}, None
    doc = _read(ws, path, what)
    items = doc.get("alerts") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        return {}, None
    return (
        {i["id"]: i for i in items if isinstance(i, dict) and isinstance(i.get("id"), str)},
        doc.get("job_id") if isinstance(doc.get("job_id"), str) else None,
    )


class _JobSource:
    """A source read from one job's files, its alerts owned by ``owner`` with ``runbook``."""

    def __init__(self, owner: str, runbook: str):
        self.owner, self.runbook = owner, runbook


class LatencySource(_JobSource):
    """Latency SLO and no-data alerts: the firing set is ``ops/latency_state.json`` key ``alerts``;
    wording (message, next action, owner) comes from the newest ``out/latency_alerts/<job_id>.json``."""

    name = "latency"

    def collect(self, ws: Workspace) -> SourceReport:
        path = ws.ops / "latency_state.json"
        state = _read(ws, path, "latency state")
        if state is None:
            return SourceReport(self.name, False, note=f"{ws.rel(path)} not found (state not pulled?)")
        firing = state.get("alerts") if isinstance(state, dict) else None
        if not isinstance(firing, dict):
            return SourceReport(self.name, False, note=f"{ws.rel(path)}: no 'alerts' object")
        newest = _newest(ws.out / "latency_alerts")
        items, job_id = _items(ws, newest, "latency alerts")
        report = SourceReport(self.name, True)
        for fp, state_alert in sorted(firing.items()):
            item = {**state_alert, **{k: v for k, v in items.get(fp, {}).items() if v is not None}}
            subject = str(item.get("source", "unknown"))
            rule = str(item.get("rule", "latency_slo"))
            report.alerts.append(
                Alert(
                    fingerprint=fp,
                    origin=self.name,
                    rule=rule,
                    subject=subject,
                    severity=str(item["severity"]) if item.get("severity") in RANK else "warning",
                    message=str(item.get("message") or f"{subject}: {rule} firing"),
                    owner=str(item.get("owner") or self.owner),
                    next_action=str(item.get("next_action") or f"see {self.runbook}"),
                    started_at=item.get("started_at"),
                    last_breach_at=item.get("last_breach_at"),
                    breach_streak=int(item.get("breach_streak") or 0),
                    breach_count=int(item.get("breach_count") or 0),
                    evidence=dict(item.get("evidence") or {}),
                    job_id=job_id if fp in items else None,
                    evidence_path=ws.rel(newest) if newest and fp in items else ws.rel(path),
                )
            )
        for fp, item in items.items():
            if item.get("status") == "resolved" and item.get("resolved_at") and fp not in firing:
                report.resolved_at[fp] = item["resolved_at"]
        return report


class WeeklySource(_JobSource):
    """Weekly delivery failure: firing while the heartbeat names a week waiting for a replay."""

    name = "weekly"

    def collect(self, ws: Workspace) -> SourceReport:
        path = ws.heartbeat("weekly")
        beat = _read(ws, path, "weekly heartbeat")
        if not isinstance(beat, dict):
            return SourceReport(self.name, False, note=f"{ws.rel(path)} not found")
        report = SourceReport(self.name, True)
        week = beat.get("pending_replay")
        if not week:
            return report
        newest = _newest(ws.out / "weekly_alerts")
        items, job_id = _items(ws, newest, "weekly alerts")
        alert_id = weekly_outputs.delivery_alert_id()
        item = items.get(alert_id, {})
        if item.get("status") != "firing":
            item = {}
        report.alerts.append(
            Alert(
                fingerprint=alert_id,
                origin=self.name,
                rule=weekly_outputs.DELIVERY_RULE,
                subject=weekly_outputs.DELIVERY_SUBJECT,
                severity=str(item["severity"]) if item.get("severity") in RANK else "critical",
                message=str(item.get("message") or f"weekly report for {week} not delivered"),
                owner=str(item.get("owner") or self.owner),
                next_action=str(item.get("next_action") or f"observability weekly replay --week-start {week}"),
                started_at=item.get("started_at"),
                last_breach_at=item.get("last_breach_at"),
                breach_count=int(item.get("breach_count") or 1),
                evidence=dict(item.get("evidence") or {"week_start": week}),
                job_id=job_id if item else beat.get("job_id"),
                evidence_path=ws.rel(newest) if item and newest else ws.rel(path),
            )
        )
        return report


class DashboardSource(_JobSource):
    """Dashboard export: one alert per dataset the heartbeat marks ``failed``."""

    name = "dashboard"

    def collect(self, ws: Workspace) -> SourceReport:
        path = ws.heartbeat("dashboard")
        beat = _read(ws, path, "dashboard heartbeat")
        if not isinstance(beat, dict) or not isinstance(beat.get("datasets"), dict):
            return SourceReport(self.name, False, note=f"{ws.rel(path)} not found")
        report = SourceReport(self.name, True)
        for name, entry in sorted(beat["datasets"].items()):
            if not isinstance(entry, dict) or entry.get("status") != "failed":
                continue
            failure = found if isinstance(found := entry.get("last_failure"), dict) else {}
            stale = bool(entry.get("stale"))
            report.alerts.append(
                Alert(
                    fingerprint=fingerprint("dashboard", "export_failed", name),
                    origin=self.name,
                    rule="export_failed",
                    subject=name,
                    severity="warning" if stale else "critical",
                    message=(
                        f"dashboard dataset {name} failed to export ({failure.get('error_code', 'error')}: "
                        f"{failure.get('error_message', 'no detail')}); "
                        + ("the last good file is still served" if stale else "no good file exists")
                    ),
                    owner=self.owner,
                    next_action=f"fix the input named above, then `observability dashboard export --dataset {name}`; "
                    f"see docs/dashboard.md",
                    started_at=failure.get("at"),
                    last_breach_at=failure.get("at"),
                    breach_count=1,
                    evidence={k: failure.get(k) for k in ("error_code", "error_message", "job_id") if failure.get(k)},
                    job_id=failure.get("job_id") or beat.get("job_id"),
                    evidence_path=ws.rel(path),
                )
            )
        return report


class AlertFileSource:
    """Any job's current firing set as a file: ``{"alerts": [items]}``; a missing file is not authoritative.

    Items carry at least ``id`` (stable fingerprint), ``severity`` and ``message``; ``rule``,
    ``source`` (the subject), ``owner``, ``next_action``, ``started_at``, ``last_breach_at``,
    ``breach_streak``, ``breach_count``, ``evidence`` and ``runbook`` are used when present. Items with
    ``status: resolved`` are not firing (their ``resolved_at`` is used as the end time).
    """

    def __init__(self, name: str, path: str, owner: str, runbook: str):
        self.name, self.path, self.owner, self.runbook = name, path, owner, runbook

    def collect(self, ws: Workspace) -> SourceReport:
        path = ws.path(self.path)
        doc = _read(ws, path, f"{self.name} alerts")
        if doc is None:
            return SourceReport(self.name, False, note=f"{ws.rel(path)} not found")
        items = doc.get("alerts") if isinstance(doc, dict) else None
        if not isinstance(items, list):
            raise ObservabilityError(
                f"{ws.rel(path)}: field alerts: expected a list of alert items", error_code="invalid_input"
            )
        report = SourceReport(self.name, True)
        for index, item in enumerate(items):
            where = f"{ws.rel(path)}: field alerts[{index}]"
            if not isinstance(item, dict):
                raise ObservabilityError(f"{where}: expected an object", error_code="invalid_input")
            for key in ("id", "severity", "message"):
                if not isinstance(item.get(key), str) or not item[key]:
                    raise ObservabilityError(f"{where}.{key}: required string", error_code="invalid_input")
            if item["severity"] not in RANK:
                raise ObservabilityError(
                    f"{where}.severity: one of {', '.join(SEVERITIES)}", error_code="invalid_input"
                )
            _check_item(item, where)
            if item.get("status") == "resolved":
                if item.get("resolved_at"):
                    report.resolved_at[item["id"]] = item["resolved_at"]
                continue
            report.alerts.append(
                Alert(
                    fingerprint=item["id"],
                    origin=self.name,
                    rule=str(item.get("rule") or self.name),
                    subject=str(item.get("source") or self.name),
                    severity=item["severity"],
                    message=item["message"],
                    owner=str(item.get("owner") or self.owner),
                    next_action=str(item.get("next_action") or f"see {self.runbook}"),
                    started_at=item.get("started_at"),
                    last_breach_at=item.get("last_breach_at"),
                    breach_streak=int(item.get("breach_streak") or 0),
                    breach_count=int(item.get("breach_count") or 0),
                    evidence=dict(item.get("evidence") or {}),
                    job_id=doc.get("job_id"),
                    evidence_path=ws.rel(path),
                    runbook=str(item["runbook"]) if item.get("runbook") else None,
                    repeat_interval_hours=_hours(item.get("repeat_interval_hours")),
                )
            )
        return report


FINGERPRINT_RE = re.compile(r"[A-Za-z0-9_.:-]{1,128}")  # what the issue marker and the cache accept
# A runbook link, as alerts.yaml's runbooks (schemas/alert_inbox_config.schema.json): nothing that ends the link.
RUNBOOK_RE = re.compile(r"https://[^\s()<>\[\]`]{1,500}|/?[A-Za-z0-9_.-][A-Za-z0-9_./-]{0,499}(#[A-Za-z0-9_.-]+)?")


def _check_item(item: dict, where: str) -> None:
    """The optional fields of an alert-file item that the inbox stores or computes with, checked
    before anything is opened: a bad one makes the whole file unreadable (a warning naming it)."""

    def bad(key: str, expected: str) -> ObservabilityError:
        return ObservabilityError(f"{where}.{key}: {expected}", error_code="invalid_input")

    if not FINGERPRINT_RE.fullmatch(item["id"]):
        raise bad("id", "1 to 128 letters, digits, '_', '.', ':' or '-' (it is the issue's fingerprint)")
    for key in ("started_at", "last_breach_at", "resolved_at"):
        if item.get(key) is not None and not clock.is_timestamp(item[key]):
            raise bad(key, "an RFC 3339 timestamp such as 2026-01-08T10:00:00Z")
    for key in ("breach_streak", "breach_count"):
        value = item.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise bad(key, "a whole number, 0 or more")
    if item.get("evidence") is not None and not isinstance(item["evidence"], dict):
        raise bad("evidence", "an object")
    if item.get("runbook") and not (isinstance(item["runbook"], str) and RUNBOOK_RE.fullmatch(item["runbook"])):
        raise bad("runbook", "a repository path or an https:// URL without spaces, brackets or parentheses")


def _hours(value: Any) -> float | None:
    """An item's ``repeat_interval_hours``: a positive number, else the inbox's own interval."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 1e6:
        return float(value)
    return None


def builtin(owner: str, runbook: str, extra: tuple[tuple[str, str], ...] = ()) -> list[AlertSource]:
    """The sources ``alerts sync`` reads by default, then the alert files named in the config."""
    found: list[AlertSource] = [
        LatencySource(owner, runbook),
        WeeklySource(owner, runbook),
        DashboardSource(owner, runbook),
    ]
    names = {s.name for s in found}
    for name, path in (("verify", "ops/verify_alerts.json"), *extra):
        if name in names:
            found = [s for s in found if s.name != name]
        found.append(AlertFileSource(name, path, owner, runbook))
        names.add(name)
    return found

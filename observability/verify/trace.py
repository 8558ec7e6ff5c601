"""Trace one job id: its log line(s), every artefact they list, checksums recorded by a manifest, heartbeat.

Checksums are taken from where the jobs record them: dashboard manifests (``datasets[].checksum_sha256``,
the live one when this run is still the latest export, and the run's history snapshot), the latency
archive manifest (``sha256`` per archive of this job id) and weekly payloads
(``payload_checksum_sha256`` over the canonical body, and the value the log line recorded).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from observability import fsio, runlog, runner
from observability.digest import sha256_file
from observability.outputs.weekly import CHECKSUM_FIELD, checksum as weekly_checksum
from observability.verify.findings import Finding
from observability.workspace import Workspace

LATENCY_ARCHIVE_MANIFEST = "ops/signal_latency_archive/manifest.jsonl"
DASHBOARD_PRUNE_RECORD = "ops/dashboard_export_archive_manifest.jsonl"


@dataclass
class Trace:
    job_id: str
    job: str | None = None
    lines: list[dict[str, Any]] = field(default_factory=list)
    artefacts: list[dict[str, Any]] = field(default_factory=list)
    checksums: list[dict[str, Any]] = field(default_factory=list)
    heartbeat: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "job": self.job,
            "lines": self.lines,
            "artefacts": self.artefacts,
            "checksums": self.checksums,
            "heartbeat": self.heartbeat,
            "notes": self.notes,
            "problems": [f.message for f in self.findings],
        }


def _jsonl(path: Path) -> list[dict[str, Any]]:
    out = []
    try:
        with open(path, "rb") as handle:
            for raw in handle:
                try:
                    item = fsio.parse_json(raw)
                except ValueError:
                    continue
                if isinstance(item, dict):
                    out.append(item)
    except OSError:
        pass
    return out


def _json(path: Path) -> Any:
    try:
        return fsio.parse_json(path.read_bytes())
    except (OSError, ValueError):
        return None


class _Tracer:
    def __init__(self, workspace: Workspace, trace: Trace):
        self.ws, self.trace = workspace, trace

    def problem(self, rule: str, message: str, **evidence) -> None:
        self.trace.findings.append(
            Finding(rule, self.trace.job or "unknown", message, evidence={"job_id": self.trace.job_id, **evidence})
        )

    def checksum(self, path: Path, expected: str | None, recorded_in: str) -> None:
        shown = self.ws.rel(path)
        try:
            actual = sha256_file(path)
        except FileNotFoundError:
            self.problem(
                "artefact_missing",
                f"{shown}: missing (its checksum is recorded in {recorded_in})",
                path=shown,
                recorded_in=recorded_in,
            )
            return
        except OSError as exc:
            self.problem("artefact_missing", f"{shown}: unreadable ({exc.strerror or exc})", path=shown)
            return
        ok = actual == expected
        self.trace.checksums.append({"path": shown, "recorded_in": recorded_in, "ok": ok})
        if not ok:
            self.problem(
                "checksum_mismatch",
                f"{shown}: sha256 {actual[:16]}… does not match {str(expected)[:16]}… recorded in {recorded_in}",
                path=shown,
                recorded_in=recorded_in,
                expected=expected,
                actual=actual,
            )

    def dashboard_manifest(self, manifest: Path, *, snapshot: bool) -> None:
        doc = _json(manifest)
        if not isinstance(doc, dict) or not isinstance(doc.get("datasets"), list):
            return
        shown = self.ws.rel(manifest)
        if not snapshot and doc.get("job_id") != self.trace.job_id:
            self.trace.notes.append(
                f"{shown}: now written by {doc.get('job_id')}; this run's bundle is checked in its history snapshot"
            )
            return
        for entry in doc["datasets"]:
            if isinstance(entry, dict) and entry.get("path") and entry.get("checksum_sha256"):
                self.checksum(manifest.parent / entry["path"], entry["checksum_sha256"], shown)

    def weekly_payload(self, path: Path, logged: set[str]) -> None:
        doc = _json(path)
        if not isinstance(doc, dict) or not {CHECKSUM_FIELD, "schema_version", "week_start"} <= set(doc):
            return  # not a weekly payload (a heartbeat also carries the checksum field)
        shown = self.ws.rel(path)
        stored = doc[CHECKSUM_FIELD]
        actual = weekly_checksum(doc)
        ok = actual == stored and (not logged or stored in logged)
        self.trace.checksums.append({"path": shown, "recorded_in": f"{shown} {CHECKSUM_FIELD}", "ok": ok})
        if actual != stored:
            self.problem(
                "checksum_mismatch",
                f"{shown}: body checksum {actual[:16]}… does not match its "
                f"{CHECKSUM_FIELD} {str(stored)[:16]}… (edited or damaged)",
                path=shown,
                expected=stored,
                actual=actual,
            )
        elif logged and stored not in logged:
            self.problem(
                "checksum_mismatch",
                f"{shown}: {CHECKSUM_FIELD} {str(stored)[:16]}… is not the one the log line recorded for this run",
                path=shown,
                expected=sorted(logged),
            )

    def pruned(self) -> dict[str, str]:
        """Snapshot paths the dashboard pruned on purpose (retention), with the pruning job id."""
        return {
            str(r.get("snapshot")): str(r.get("job_id"))
            for r in _jsonl(self.ws.path(DASHBOARD_PRUNE_RECORD))
            if r.get("event") == "pruned"
        }


def trace(workspace: Workspace, job_id: str, records: list[dict[str, Any]]) -> Trace:
    """Everything about one run, with every problem as a finding (nothing stops at the first)."""
    result = Trace(job_id)
    lines = [r for r in records if r.get("job_id") == job_id]
    if not lines:
        result.findings.append(
            Finding(
                "job_not_found",
                "unknown",
                f"{workspace.rel(workspace.run_log)}: no line has job_id {job_id}",
                evidence={"job_id": job_id},
            )
        )
        return result
    tracer = _Tracer(workspace, result)
    result.job = lines[-1].get("job")
    for line in lines:
        result.lines.append(
            {k: line.get(k) for k in ("sequence", "status", "started_at", "completed_at", "attempts") if k in line}
            | ({"run_url": line["github"]["run_url"]} if (line.get("github") or {}).get("run_url") else {})
            | (
                {"error_code": line["diagnostics"]["error_code"]}
                if (line.get("diagnostics") or {}).get("error_code")
                else {}
            )
        )
    artefacts: list[str] = []
    for line in lines:
        artefacts += [a for a in line.get("artefacts", []) if a not in artefacts]
    pruned = None
    logged_checksums = {
        str(line["diagnostics"]["payload_checksum_sha256"])
        for line in lines
        if (line.get("diagnostics") or {}).get("payload_checksum_sha256")
    }
    elsewhere = _run_elsewhere(lines[-1])
    for artefact in artefacts:
        path = workspace.path(artefact)
        exists = path.exists()
        result.artefacts.append({"path": artefact, "exists": exists, "kind": "directory" if path.is_dir() else "file"})
        if not exists and elsewhere and not _travels(artefact):
            # Only ops/ state reaches the next runner (through the state store): out/ is kept in the
            # run's workflow artifact, and inputs are brought in again by each run that reads them.
            result.artefacts[-1]["in_run_artifact"] = elsewhere
            result.notes.append(f"{artefact}: made on another runner and not state; see the artifact of {elsewhere}")
            continue
        if not exists:
            pruned = tracer.pruned() if pruned is None else pruned
            if artefact in pruned:
                result.artefacts[-1]["pruned_by"] = pruned[artefact]
                result.notes.append(f"{artefact}: pruned by retention in {pruned[artefact]}")
            else:
                tracer.problem("artefact_missing", f"{artefact}: listed by the run but missing", path=artefact)
            continue
        if path.is_dir() and (path / "manifest.json").is_file():
            tracer.dashboard_manifest(path / "manifest.json", snapshot=True)
        elif path.name == "manifest.json":
            tracer.dashboard_manifest(path, snapshot=False)
        elif path.suffix == ".json":
            tracer.weekly_payload(path, logged_checksums)
    manifests = dict.fromkeys([LATENCY_ARCHIVE_MANIFEST] + [a for a in artefacts if a.endswith("manifest.jsonl")])
    for manifest in manifests:
        for entry in _jsonl(workspace.path(manifest)):
            if entry.get("job_id") == job_id and entry.get("path") and entry.get("sha256"):
                tracer.checksum(workspace.path(entry["path"]), entry["sha256"], workspace.rel(manifest))
    _heartbeat(workspace, result, lines[-1], records, tracer)
    return result


def _travels(artefact: str) -> bool:
    """True for a file the state store carries between runners (the rule of store/selection.py:
    ops/, less the upstream inputs and the repository's own configuration that live there)."""
    return artefact.startswith("ops/") and not any(
        artefact == f"ops/{top}" or artefact.startswith(f"ops/{top}/") for top in ("state_archive", "observability")
    )


def _run_elsewhere(line: dict[str, Any]) -> str | None:
    """The run URL of a logged run made by another GitHub Actions run than this process's, else None."""
    github = line.get("github") or {}
    if not github.get("run_url"):
        return None
    current = (runner.run_context() or {}).get("run_id")
    return None if current and str(current) == str(github.get("run_id")) else github["run_url"]


def trace_from_log(workspace: Workspace, job_id: str) -> Trace:
    """``trace`` reading only the log around the job id's time, plus the job's latest heartbeat run.

    A damaged segment on the way is a ``log_segment_damaged`` finding, never a crash.
    """
    problems: list[tuple[str, str]] = []
    records = list(runlog.iter_records(workspace, job_id=job_id, problems=problems))
    if records:
        line = records[-1]
        beat = runlog.heartbeat_of(line)
        if beat:
            latest = runlog.latest_record(
                workspace,
                lambda r: (
                    r.get("job") == line.get("job") and r.get("status") != "skipped" and runlog.heartbeat_of(r) == beat
                ),
                problems=problems,
            )
            if latest is not None and latest.get("job_id") != job_id:
                records.append(latest)
    result = trace(workspace, job_id, records)
    for path, message in dict(problems).items():
        result.findings.append(Finding("log_segment_damaged", "automation_log", message, evidence={"path": path}))
    return result


def _heartbeat(
    workspace: Workspace, result: Trace, line: dict[str, Any], records: list[dict[str, Any]], tracer: _Tracer
) -> None:
    shown = runlog.heartbeat_of(line)
    if not shown:
        return
    latest = [
        r
        for r in records
        if r.get("job") == result.job and r.get("status") != "skipped" and runlog.heartbeat_of(r) == shown
    ]
    latest.sort(key=lambda r: r.get("sequence", 0))
    if latest and latest[-1].get("job_id") != result.job_id:
        result.heartbeat = {"path": shown, "checked": False, "superseded_by": latest[-1].get("job_id")}
        result.notes.append(f"{shown}: now describes a later run ({latest[-1].get('job_id')})")
        return
    beat = _json(workspace.path(shown))
    if not isinstance(beat, dict):
        result.heartbeat = {"path": shown, "checked": True, "agrees": False}
        tracer.problem(
            "heartbeat_mismatch", f"{shown}: missing or not a JSON object, but this run is the job's latest", path=shown
        )
        return
    disagree = {k: (beat.get(k), line.get(k)) for k in ("job_id", "status") if beat.get(k) != line.get(k)}
    result.heartbeat = {
        "path": shown,
        "checked": True,
        "agrees": not disagree,
        "job_id": beat.get("job_id"),
        "status": beat.get("status"),
    }
    if disagree:
        said = ", ".join(f"{k} {h!r} (log: {lg!r})" for k, (h, lg) in disagree.items())
        tracer.problem("heartbeat_mismatch", f"{shown}: heartbeat says {said}", path=shown)

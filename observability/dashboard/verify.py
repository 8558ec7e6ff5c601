"""Check a dashboard bundle: manifest schema, completeness, checksums, row counts, row schemas,
freshness and history retention. Every problem is collected; nothing stops at the first one."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from observability import clock, fsio, schemas
from observability.dashboard import history, manifest as manifest_mod, rowcheck
from observability.dashboard.datasets import SPECS


@dataclass
class VerifyReport:
    problems: list[str] = field(default_factory=list)
    checked: dict[str, dict] = field(default_factory=dict)
    sequence: int | None = None

    def add(self, message: str) -> None:
        self.problems.append(message)


def file_matches(path: Path, checksum: str | None) -> bool:
    """True when ``path`` exists and its SHA-256 is ``checksum``."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() == checksum
    except OSError:
        return False


def check_dataset_file(path: Path, entry: dict, display: str) -> tuple[list[str], int | None]:
    """Problems with one dataset file against its manifest entry and its row schema."""
    problems: list[str] = []
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return [f"{display}: dataset file missing"], None
    except OSError as exc:
        return [f"{display}: cannot read ({exc.strerror or exc})"], None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != entry.get("checksum_sha256"):
        problems.append(f"{display}: checksum {digest} does not match the manifest's {entry.get('checksum_sha256')}")
    try:
        doc = fsio.parse_json(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return problems + [f"{display}: not valid JSON ({exc})"], None
    rows = doc.get("rows") if isinstance(doc, dict) else None
    if not isinstance(rows, list):
        return problems + [f"{display}: no rows array"], None
    name = entry.get("dataset")
    if doc.get("dataset") != name:
        problems.append(f"{display}: names dataset {doc.get('dataset')!r}, manifest says {name!r}")
    if len(rows) != entry.get("row_count"):
        problems.append(f"{display}: {len(rows)} rows, manifest says row_count {entry.get('row_count')}")
    if doc.get("row_count") != len(rows):
        problems.append(f"{display}: row_count field {doc.get('row_count')} but {len(rows)} rows")
    spec = SPECS.get(name) if isinstance(name, str) else None
    if spec is not None:
        bad = 0
        for index, row in enumerate(rows):
            err = rowcheck.first_error(spec.schema, row)
            if err:
                bad += 1
                if bad <= 5:
                    path_parts, message = err
                    problems.append(f"{display}: rows[{index}].{schemas.json_path(path_parts)}: {message}")
        if bad > 5:
            problems.append(f"{display}: {bad - 5} more rows fail schemas/{spec.schema}.schema.json")
    return problems, len(rows)


def verify_bundle(
    manifest_path: Path,
    *,
    datasets: tuple[str, ...],
    now: datetime,
    display,
    max_age_hours: float | None = None,
    history_dir: Path | None = None,
    retention_days: int | None = None,
    sequence_file: Path | None = None,
) -> VerifyReport:
    report = VerifyReport()
    shown = display(manifest_path)
    doc, problem = manifest_mod.load(manifest_path)
    if doc is None:
        report.add(f"{shown}: {problem or 'manifest not found'}")
        return report
    for parts, message in schemas.errors(manifest_mod.SCHEMA, doc):
        report.add(f"{shown}: field {schemas.json_path(parts)}: {message}")
    report.sequence = doc.get("sequence") if isinstance(doc.get("sequence"), int) else None
    found = manifest_mod.entries(doc)
    base = manifest_path.parent
    for name in datasets:
        entry = found.get(name)
        if entry is None:
            report.add(f"{shown}: dataset {name} missing from the manifest")
            continue
        rel = entry.get("path")
        if not isinstance(rel, str) or not rel or Path(rel).is_absolute() or ".." in Path(rel).parts:
            report.add(f"{shown}: dataset {name}: path {rel!r} must be relative to the manifest's directory")
            continue
        file_problems, rows = check_dataset_file(base / rel, entry, display(base / rel))
        for message in file_problems:
            report.add(message)
        report.checked[name] = {"rows": rows, "status": entry.get("status"), "refreshed_at": entry.get("refreshed_at")}
        if max_age_hours is not None and isinstance(entry.get("refreshed_at"), str):
            try:
                age = now - clock.parse_iso(entry["refreshed_at"])
            except ValueError:
                age = None
            if age is not None and age > timedelta(hours=max_age_hours):
                report.add(
                    f"{shown}: dataset {name} is stale: last refreshed {entry['refreshed_at']}"
                    f" ({age.total_seconds() / 3600:.1f} h ago, limit {max_age_hours:g} h)"
                )
        if entry.get("status") == "stale":
            failure = entry.get("last_failure") or {}
            report.add(
                f"{shown}: dataset {name} is the last good version: the export {failure.get('job_id')} "
                f"could not rebuild it ({failure.get('error_code')}: {failure.get('error_message')})"
            )
    if max_age_hours is not None and isinstance(doc.get("generated_at"), str):
        try:
            age = now - clock.parse_iso(doc["generated_at"])
            if age > timedelta(hours=max_age_hours):
                report.add(f"{shown}: stale manifest: generated {doc['generated_at']}, limit {max_age_hours:g} h")
        except ValueError:
            pass
    latest = 0
    if sequence_file is not None:
        latest = manifest_mod.last_sequence(sequence_file)
    if history_dir is not None:
        latest = max(latest, history.max_sequence(history_dir))
    if report.sequence is not None and latest > report.sequence:
        report.add(
            f"{shown}: stale manifest: sequence {report.sequence} but export {latest} has been issued "
            "(an older bundle was restored, or the last export did not finish)"
        )
    if history_dir is not None and retention_days is not None:
        # One day of grace: pruning runs with exports, so a snapshot may outlive the limit by one cadence.
        for snap in history.expired(history_dir, now - timedelta(days=1), retention_days):
            report.add(
                f"{display(snap.path)}: history snapshot from {clock.iso(snap.generated_at) if snap.generated_at else '(no date)'} is older "
                f"than the {retention_days}-day retention"
            )
    return report


@dataclass(frozen=True)
class VerifyOptions:
    manifest: str = "out/dashboard/manifest.json"
    datasets: tuple[str, ...] = tuple(SPECS)
    max_age_hours: float | None = 48.0
    history_dir: str = "ops/dashboard_export_history"
    retention_days: int = 56


def run_verify(ctx, opts: VerifyOptions):
    """Job body for ``observability dashboard verify``: every problem on stderr and in the summary."""
    from observability.runtime import JobResult

    ws = ctx.workspace
    manifest_path, history_dir = ws.path(opts.manifest), ws.output_dir(opts.history_dir, "--history-dir")
    # A history snapshot is old and superseded by design: check its integrity, not its freshness.
    snapshot = history_dir.resolve() in manifest_path.resolve().parents
    if snapshot:
        ctx.note("history snapshot: freshness and sequence checks skipped")
    report = verify_bundle(
        manifest_path,
        datasets=opts.datasets,
        now=ctx.started,
        display=ws.rel,
        max_age_hours=None if snapshot else opts.max_age_hours,
        history_dir=None if snapshot else history_dir,
        retention_days=opts.retention_days,
        sequence_file=None if snapshot else ws.path(manifest_mod.SEQUENCE_FILE),
    )
    for problem in report.problems:
        ctx.note(f"problem: {problem}")
    figures = {
        "manifest": ws.rel(ws.path(opts.manifest)),
        "manifest_sequence": report.sequence,
        "problems": report.problems,
        "problem_count": len(report.problems),
        "datasets": report.checked,
    }
    if report.problems:
        return JobResult(
            failed=True,
            figures=figures,
            diagnostics={
                "error_code": "bundle_invalid",
                "error_message": f"{len(report.problems)} problem(s): {report.problems[0]}",
            },
        )
    ctx.note(f"bundle ok: sequence {report.sequence}, {len(report.checked)} dataset(s) checked")
    return JobResult(figures=figures)

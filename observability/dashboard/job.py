"""``observability dashboard export``: rebuild datasets, write the manifest, snapshot, prune, upload.

Each dataset stands alone: one whose input is missing or bad keeps its last good file and manifest
entry (marked stale) while the others refresh, and the run ends ``status=error``. A dataset whose
inputs and options hash to the manifest's ``source_hash`` (and whose file still matches its
checksum) is kept as it is, so a re-export with unchanged inputs rewrites only the manifest.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from observability import clock, fsio, markdown, otel, provenance, resources, schemas
from observability.config import schedules as schedules_config
from observability.dashboard import (
    DATASETS,
    history,
    latency_rollup,
    manifest as manifest_mod,
    rowcheck,
    runs,
    snapshots,
    telemetry,
    upload as upload_mod,
)
from observability.dashboard.cache import ContentCache
from observability.dashboard.datasets import SPECS, BuildOptions
from observability.dashboard.sources import SourceData
from observability.dashboard.verify import file_matches
from observability.errors import ConfigError, InputError, ObservabilityError, SchemaError
from observability.outbound.retry import RetryPolicy
from observability.progress import Progress
from observability.runtime import JobContext, JobResult, derive_status
from observability.workspace import Workspace

DATASET_SCHEMA_VERSION = "1.0.0"
BUNDLE_LOCK = "ops/.dashboard_bundle.lock"
PRUNE_RECORD = "ops/dashboard_export_archive_manifest.jsonl"
CACHE_DIR = "ops/.dashboard_cache"
DEFAULT_HEARTBEAT = "ops/dashboard_export_heartbeat.json"
MAX_WARNINGS = 20
UPLOAD_MAX_WAIT_SECONDS = 300.0  # the upload command's backoff ceiling


@dataclass(frozen=True)
class ExportOptions:
    datasets: tuple[str, ...] = DATASETS
    output_dir: str = "out/dashboard"
    manifest: str | None = None
    provenance: str | None = None
    heartbeat_file: str = DEFAULT_HEARTBEAT
    history_dir: str = "ops/dashboard_export_history"
    history_retention_days: int = 56
    ev_history_limit: int = 32
    upload_command: str | None = None
    upload_timeout: float = 600.0
    upload_max_retries: int = 3  # attempts in all of the upload command
    upload_retry_wait_seconds: float = 10.0
    dry_run_upload: bool = False
    state_archive: str = "ops/state_archive"
    runs_dir: str = "runs"
    telemetry: str = "reports/portfolio_samples/router_demo/telemetry.json"
    latency_rollup: str = "ops/signal_latency_rollup.csv"
    use_cache: bool = True
    sync_to: str | None = None
    bundle_sync: BundleSync | None = field(default=None, repr=False)  # how --sync-to is done (given by the CLI)
    sleep: Callable[[float], None] | None = field(default=None, repr=False)  # None: time.sleep (tests: no waits)


@dataclass(frozen=True)
class BundleSync:
    """How ``--sync-to`` reaches shared storage. The caller hands in the sync job's own check and push
    (cli/dashboard.py), so the export never imports another job."""

    check_url: Callable[[str], None]  # a bad URL raises ConfigError before anything is exported
    push: Callable[[JobContext, str, str, bool], Any]  # (ctx, url, bundle_dir, dry_run) -> outcome (.status, .figures)
    failures: tuple[type[ObservabilityError], ...]  # errors that end the sync `failed`, not the run


@dataclass(frozen=True)
class DatasetInput:
    """Where one dataset's input is and how it is read: the export's half of a dataset's spec (the build
    half, builder and row schema, is ``datasets.SPECS``)."""

    option: str  # the ExportOptions field naming the input (a file or a directory in the workspace)
    cache: str  # the content cache the reader keeps under ops/.dashboard_cache/
    reader: Callable[[Workspace, Path, ContentCache], SourceData]
    upstream_command: str  # what writes the input upstream (README.json)
    build_options: Callable[[ExportOptions], dict[str, Any]] = lambda opts: {}  # hashed into source_hash


INPUTS: dict[str, DatasetInput] = {
    "ev_history": DatasetInput(
        "state_archive",
        "state_archive",
        snapshots.read,
        "upstream strategy runs archive EV state to ops/state_archive/<strategy>/<symbol>/<mode>/",
        lambda opts: {"ev_history_limit": opts.ev_history_limit},
    ),
    "slippage": DatasetInput(
        "telemetry",
        "telemetry",
        telemetry.read,
        "upstream router demo writes reports/portfolio_samples/router_demo/telemetry.json",
    ),
    "turnover": DatasetInput(
        "runs_dir", "runs", runs.read, "upstream backtest runner writes runs/index.csv and runs/<id>/daily.csv"
    ),
    "latency": DatasetInput(
        "latency_rollup",
        "latency_rollup",
        latency_rollup.read,
        "observability latency sample (writes ops/signal_latency_rollup.csv)",
    ),
}


@dataclass
class _Outcome:
    name: str
    status: str  # built | unchanged | failed
    entry: dict[str, Any] | None = None
    doc: dict[str, Any] | None = None
    error_code: str | None = None
    error_message: str | None = None
    warnings: list[str] = field(default_factory=list)


def _load_provenance(ctx: JobContext, opts: ExportOptions) -> dict[str, Any]:
    if not opts.provenance:
        return {}
    path = ctx.workspace.path(opts.provenance)
    shown = ctx.workspace.rel(path)
    try:
        doc = fsio.read_json(path, what="provenance file", display=shown)
    except InputError as exc:
        raise ConfigError(exc.message) from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{shown}: provenance must be a JSON object (command, commit_sha, inputs)")
    if "inputs" in doc and not (isinstance(doc["inputs"], list) and all(isinstance(i, str) for i in doc["inputs"])):
        raise ConfigError(f"{shown}: field inputs: must be a list of paths")
    if "command" in doc and not isinstance(doc["command"], str):
        raise ConfigError(f"{shown}: field command: must be a string")
    if "commit_sha" in doc and doc["commit_sha"] is not None and not isinstance(doc["commit_sha"], str):
        raise ConfigError(f"{shown}: field commit_sha: must be a string or null")
    return doc


class _Exporter:
    def __init__(self, ctx: JobContext, opts: ExportOptions):
        self.ctx = ctx
        self.opts = opts
        ws = ctx.workspace
        self.ws = ws
        self.now = clock.iso(ctx.started)
        self.out_dir = ws.output_dir(opts.output_dir, "--output-dir")
        self.manifest_path = (
            ws.output_file(opts.manifest, "--manifest")
            if opts.manifest
            else ws.output_file(self.out_dir / "manifest.json", "--output-dir")
        )
        if self.manifest_path.parent.resolve() != self.out_dir.resolve():
            raise ConfigError(
                f"--manifest {opts.manifest}: must be inside --output-dir {opts.output_dir} "
                "(dataset paths in the manifest are relative to it)"
            )
        self.history_dir = ws.output_dir(opts.history_dir, "--history-dir")
        self.snapshot = self.history_dir / ctx.job_id  # where the snapshot landed, once written
        ws.output_file(opts.heartbeat_file, "--heartbeat-file")
        self.caches: dict[str, ContentCache] = {}
        self._schedules: tuple[schedules_config.Schedule, ...] | None = None

    def refresh(self, name: str) -> str:
        """README.json's refresh schedule of dataset ``name``: from the workspace's schedules.yaml (the
        file the workflows and verify follow), else the bundled template's; an invalid file is a warning
        (``verify`` fails on it), never a failed export."""
        if self._schedules is None:
            path = self.ws.path(schedules_config.SCHEDULES_CONFIG)
            if not path.is_file():
                path = resources.template_dir() / schedules_config.SCHEDULES_CONFIG
            try:
                self._schedules = schedules_config.load_schedules(path, display=self.ws.rel(path))
            except ConfigError as exc:
                self.ctx.warn(f"{exc}; README.json gives no refresh schedule")
                self._schedules = ()
        return schedules_config.refresh(self._schedules, name)

    def dataset_rel(self, name: str) -> str:
        """A dataset file's path relative to the manifest's directory (always ``<name>.json`` in it)."""
        path = self.out_dir / f"{name}.json"
        return os.path.relpath(path, self.manifest_path.parent).replace(os.sep, "/")

    def unusable(self, name: str, entry: dict[str, Any]) -> str | None:
        """Why a previous manifest entry cannot be carried over (a hand-edited or foreign manifest)."""
        if name not in SPECS:
            return "unknown dataset"
        if entry.get("path") != self.dataset_rel(name):
            return f"path {entry.get('path')!r} is not {self.dataset_rel(name)!r}"
        probe = {
            "schema_version": manifest_mod.SCHEMA_VERSION,
            "sequence": 1,
            "generated_at": self.now,
            "job_id": self.ctx.job_id,
            "datasets": [entry],
            "provenance": {"command": "x", "commit_sha": None, "inputs": ["x"]},
        }
        problems = schemas.errors(manifest_mod.SCHEMA, probe)
        if problems:
            parts, message = problems[0]
            return f"field {schemas.json_path(parts[2:])}: {message}"
        return None

    def cache(self, name: str) -> ContentCache:
        if name not in self.caches:
            path = self.ws.path(CACHE_DIR) / f"{name}.json" if self.opts.use_cache else None
            self.caches[name] = ContentCache(path, name)
        return self.caches[name]

    def input_path(self, name: str) -> Path:
        return self.ws.path(getattr(self.opts, INPUTS[name].option))

    def read_source(self, name: str) -> SourceData:
        return INPUTS[name].reader(self.ws, self.input_path(name), self.cache(INPUTS[name].cache))

    def source_roots(self, names) -> list[str]:
        return [self.ws.rel(self.input_path(n)) for n in names]

    def options_for(self, name: str) -> dict[str, Any]:
        return INPUTS[name].build_options(self.opts)

    def build(self, name: str, previous: dict[str, Any] | None) -> _Outcome:
        spec = SPECS[name]
        try:
            source = self.read_source(name)
        except ObservabilityError as exc:
            return _Outcome(name, "failed", error_code=exc.error_code, error_message=exc.message)
        source_hash = source.source_hash(name, self.options_for(name), spec.builder_version)
        path = self.out_dir / f"{name}.json"
        rel = self.dataset_rel(name)
        if (
            previous
            and previous.get("source_hash") == source_hash
            and file_matches(path, previous.get("checksum_sha256"))
        ):
            entry = {**previous, "status": "ok", "refreshed_at": self.now}
            entry.pop("last_failure", None)
            return _Outcome(name, "unchanged", entry=entry, warnings=source.warnings)
        try:
            rows, meta = spec.builder(source, BuildOptions(self.opts.ev_history_limit, self.now))
            checking = Progress(f"dashboard export: {name}: checking rows", len(rows), unit="rows")
            for index, row in enumerate(rows):
                if not index & 0x3FF:
                    checking.update(index)
                problem = rowcheck.first_error(spec.schema, row)
                if problem:
                    parts, message = problem
                    raise SchemaError(
                        f"{name} row {index} ({row.get('snapshot_path') or row.get('run_id') or ''}): "
                        f"field {schemas.json_path(parts)}: {message}"
                    )
            checking.update(len(rows))
            checking.close()
        except ObservabilityError as exc:
            return _Outcome(name, "failed", error_code=exc.error_code, error_message=exc.message)
        doc = {
            "dataset": name,
            "schema": spec.schema,
            "schema_version": DATASET_SCHEMA_VERSION,
            "generated_at": self.now,
            "job_id": self.ctx.job_id,
            "row_count": len(rows),
            "source_hash": source_hash,
            "inputs": source.input_paths,
            "skipped_inputs": source.skipped,
            "options": self.options_for(name),
            "meta": meta,
            "rows": rows,
        }
        entry = {
            "dataset": name,
            "path": rel,
            "schema": spec.schema,
            "generated_at": self.now,
            "refreshed_at": self.now,
            "row_count": len(rows),
            "source_hash": source_hash,
            "job_id": self.ctx.job_id,
            "status": "ok",
            "inputs": self.source_roots([name]),
        }
        return _Outcome(name, "built", entry=entry, doc=doc, warnings=source.warnings)


def _readme(exporter: _Exporter, manifest_doc: dict[str, Any]) -> dict[str, Any]:
    datasets = {}
    for entry in manifest_doc["datasets"]:
        spec = SPECS[entry["dataset"]]
        datasets[entry["dataset"]] = {
            "path": entry["path"],
            "description": spec.description,
            "source": spec.source,
            "refresh_schedule": exporter.refresh(entry["dataset"]),
            "upstream_command": INPUTS[entry["dataset"]].upstream_command,
            "row_schema": f"schemas/{spec.schema}.schema.json",
            "status": entry["status"],
            "generated_at": entry["generated_at"],
            "refreshed_at": entry["refreshed_at"],
            "row_count": entry["row_count"],
        }
    return {
        "bundle": "observability dashboard datasets",
        "generated_at": manifest_doc["generated_at"],
        "job_id": manifest_doc["job_id"],
        "sequence": manifest_doc["sequence"],
        "manifest": exporter.manifest_path.name,
        "datasets": datasets,
        "export_command": "observability dashboard export",
        "verify_command": "observability dashboard verify",
        "docs": "docs/dashboard.md",
    }


def export(ctx: JobContext, opts: ExportOptions) -> JobResult:
    from filelock import FileLock

    unknown = [d for d in opts.datasets if d not in SPECS]
    if unknown:
        raise ConfigError(f"--dataset {unknown[0]}: unknown dataset (choose from {', '.join(DATASETS)})")
    selected = tuple(d for d in DATASETS if d in opts.datasets)
    user_provenance = _load_provenance(ctx, opts)
    argv = upload_mod.parse_command(opts.upload_command) if opts.upload_command else None
    if opts.sync_to:
        if opts.bundle_sync is None:
            raise ConfigError("--sync-to: this caller gave the export no shared-storage sync")
        opts.bundle_sync.check_url(opts.sync_to)  # a bad URL is a usage error before anything is exported
    exporter = _Exporter(ctx, opts)
    with FileLock(str(ctx.workspace.path(BUNDLE_LOCK)), timeout=manifest_mod.LOCK_TIMEOUT_SECONDS):
        bundle = _write_bundle(ctx, opts, exporter, selected, user_provenance)
    return _finish(ctx, opts, exporter, bundle, argv)


def _write_bundle(
    ctx: JobContext,
    opts: ExportOptions,
    exporter: _Exporter,
    selected: tuple[str, ...],
    user_provenance: dict[str, Any],
) -> _Bundle:
    """Under the bundle lock: the selected datasets rebuilt, then the manifest, README.json, the history
    snapshot and its pruning, and the bundle's files checked against the manifest."""
    ws = ctx.workspace
    _sweep_bundle_temps(ctx, exporter)
    previous_doc, previous = _previous_entries(ctx, exporter)
    outcomes: dict[str, _Outcome] = {}
    with (
        otel.span("compute", datasets=len(selected)),
        Progress("dashboard export: datasets", len(selected), unit="datasets") as progress,
    ):
        for name in selected:
            outcomes[name] = exporter.build(name, previous.get(name))
            progress.update(advance=1)
    for cache in exporter.caches.values():
        cache.save()
    sequence = manifest_mod.next_sequence(
        ws.path(manifest_mod.SEQUENCE_FILE), previous_doc, history.max_sequence(exporter.history_dir)
    )
    entries = _apply(ctx, exporter, outcomes, previous, sequence)
    files: dict[str, bytes] = {}
    for entry in entries.values():
        try:
            files[entry["path"]] = (exporter.manifest_path.parent / entry["path"]).read_bytes()
        except OSError:
            pass
    manifest_doc: dict[str, Any] = {
        "schema_version": manifest_mod.SCHEMA_VERSION,
        "sequence": sequence,
        "generated_at": exporter.now,
        "job_id": ctx.job_id,
        "datasets": [entries[n] for n in DATASETS if n in entries],
        "provenance": _bundle_provenance(ctx, exporter, selected, user_provenance),
    }
    with otel.span("writes"):
        manifest_bytes = manifest_mod.write(
            exporter.manifest_path, manifest_doc, display=ws.rel(exporter.manifest_path)
        )
        ctx.artefact(exporter.manifest_path)
        readme_path = exporter.out_dir / "README.json"
        readme_bytes = fsio.canonical_json(_readme(exporter, manifest_doc), indent=2).encode("utf-8")
        fsio.atomic_write_bytes(readme_path, readme_bytes)
        ctx.artefact(readme_path)
        files[exporter.manifest_path.name] = manifest_bytes
        files["README.json"] = readme_bytes
        pruned = _snapshot(ctx, opts, exporter, files)
    integrity = [
        f"{ws.rel(exporter.manifest_path.parent / e['path'])}: does not match its checksum"
        for e in manifest_doc["datasets"]
        if not file_matches(exporter.manifest_path.parent / e["path"], e["checksum_sha256"])
    ]
    return _Bundle(selected, outcomes, manifest_doc, pruned, integrity)


def _previous_entries(ctx: JobContext, exporter: _Exporter) -> tuple[dict[str, Any] | None, dict[str, dict]]:
    """The previous manifest (restored from the history when the bundle directory was emptied) and its
    entries that can be carried over; each one dropped is named in a warning."""
    ws = ctx.workspace
    restored = history.restore_latest(exporter.history_dir, exporter.manifest_path)
    if restored is not None:
        ctx.note(
            f"{ws.rel(exporter.manifest_path.parent)} was empty: restored the last bundle from {ws.rel(restored.path)}"
        )
    previous_doc, problem = manifest_mod.load(exporter.manifest_path)
    if problem:
        ctx.warn(f"{ws.rel(exporter.manifest_path)}: {problem}; previous entries cannot be kept")
    previous = {}
    for name, old in manifest_mod.entries(previous_doc).items():
        why = exporter.unusable(name, old)
        if why:
            ctx.warn(f"{ws.rel(exporter.manifest_path)}: entry {name} dropped ({why}); it will be rebuilt")
        else:
            previous[name] = old
    return previous_doc, previous


def _bundle_provenance(
    ctx: JobContext, exporter: _Exporter, selected: tuple[str, ...], user_provenance: dict[str, Any]
) -> dict[str, Any]:
    ws = ctx.workspace
    prov: dict[str, Any] = {
        "command": provenance.source_command(),
        "commit_sha": provenance.commit_sha(ws.root),
        "inputs": exporter.source_roots(selected),
    }
    prov.update(user_provenance)
    if not prov.get("inputs"):
        prov["inputs"] = exporter.source_roots(selected)
    origins = provenance.pulled_for(ws.root, prov["inputs"])
    if origins:
        prov["inputs_pulled"] = origins
    return prov


def _snapshot(ctx: JobContext, opts: ExportOptions, exporter: _Exporter, files: dict[str, bytes]) -> list[dict]:
    """The bundle's files copied into the history; snapshots older than the retention, and those thinned
    to one per UTC day past 48 hours, pruned."""
    ws = ctx.workspace
    snapshot = history.write_snapshot(exporter.history_dir, ctx.job_id, files)
    exporter.snapshot = snapshot  # <job_id>.2 when that name was taken: the summary names this one
    ctx.artefact(snapshot)
    pruned = history.prune(
        exporter.history_dir,
        ws.path(PRUNE_RECORD),
        now=ctx.started,
        retention_days=opts.history_retention_days,
        job_id=ctx.job_id,
        keep=snapshot.name,
        display=ws.rel,
    )
    if pruned:
        ctx.artefact(ws.path(PRUNE_RECORD))
        thinned = sum(1 for r in pruned if r.get("reason") == "thinned")
        if len(pruned) > thinned:
            ctx.note(
                f"pruned {len(pruned) - thinned} history snapshot(s) older than {opts.history_retention_days} days"
            )
        if thinned:
            ctx.note(
                f"pruned {thinned} history snapshot(s) older than {history.THIN_AFTER_HOURS} h "
                "that were not the last of their UTC day"
            )
    return pruned


def _sweep_bundle_temps(ctx: JobContext, exporter: _Exporter) -> None:
    """Temp files of bundle files, whatever their age: only exports write them, under the bundle lock held
    now, so each was left by a killed export. The job-start sweep waits an hour (it cannot know who else
    writes); an upload command syncing the directory would publish a younger one meanwhile."""
    names = {exporter.manifest_path.name, "README.json", *(exporter.dataset_rel(n) for n in DATASETS)}
    try:
        children = list(exporter.out_dir.iterdir())
    except OSError:
        return
    removed = []
    for path in children:
        if not (fsio.is_temp(path.name) and path.name[1:-13] in names) or path.is_symlink() or not path.is_file():
            continue
        try:
            path.unlink()
        except OSError:
            continue
        removed.append(path.name)
    if removed:
        ctx.note(
            f"removed {len(removed)} temp file(s) a killed export left in {ctx.workspace.rel(exporter.out_dir)}: "
            f"{', '.join(sorted(removed)[:5])}"
        )


def _apply(
    ctx: JobContext, exporter: _Exporter, outcomes: dict[str, _Outcome], previous: dict[str, dict], sequence: int
) -> dict[str, dict[str, Any]]:
    """Write rebuilt datasets and return the manifest entries: new, unchanged, stale or carried over."""
    entries: dict[str, dict[str, Any]] = {}
    for name in DATASETS:
        outcome = outcomes.get(name)
        old = previous.get(name)
        if outcome is None:  # not selected this run: carried over as it is
            if old is not None:
                entries[name] = old
        elif outcome.status == "built":
            doc = {**outcome.doc, "sequence": sequence}  # type: ignore[dict-item]
            # compact: big datasets encode several times faster than indented, and tools do not care
            data = (fsio.canonical_json(doc) + "\n").encode("utf-8")
            fsio.atomic_write_bytes(exporter.out_dir / f"{name}.json", data)
            ctx.artefact(exporter.out_dir / f"{name}.json")
            entries[name] = {
                **outcome.entry,  # type: ignore[dict-item]
                "sequence": sequence,
                "checksum_sha256": hashlib.sha256(data).hexdigest(),
            }
        elif outcome.status == "unchanged":
            entries[name] = outcome.entry  # type: ignore[assignment]
        elif old is not None:  # failed: the last good file and entry stay, marked stale
            failure = {
                "job_id": ctx.job_id,
                "at": exporter.now,
                "error_code": outcome.error_code or "job_failed",
                "error_message": outcome.error_message or "",
            }
            entries[name] = {**old, "status": "stale", "last_failure": failure}
    return entries


def _heartbeat(ctx: JobContext, opts: ExportOptions, selected, outcomes, manifest_doc) -> dict[str, Any]:
    path = ctx.workspace.path(opts.heartbeat_file)
    previous = ctx.previous_heartbeat(path)
    prev_sets = found if isinstance(found := previous.get("datasets"), dict) else {}
    entries = manifest_mod.entries(manifest_doc)
    datasets: dict[str, Any] = {}
    now = clock.iso(ctx.started)
    for name in DATASETS:
        old = found if isinstance(found := prev_sets.get(name), dict) else {}
        outcome = outcomes.get(name)
        if outcome is None:
            if old:
                datasets[name] = old
            continue
        beat = {k: v for k, v in old.items() if k in ("last_success_at", "last_failure")}
        entry = entries.get(name)
        if outcome.status == "failed":
            beat.update(
                status="failed",
                stale=entry is not None,
                last_failure={
                    "job_id": ctx.job_id,
                    "at": now,
                    "error_code": outcome.error_code,
                    "error_message": outcome.error_message,
                },
            )
        else:
            beat.update(status="ok", stale=False, last_success_at=now, unchanged=outcome.status == "unchanged")
        if entry is not None:
            beat.update(
                row_count=entry["row_count"],
                sequence=entry["sequence"],
                generated_at=entry["generated_at"],
                checksum_sha256=entry["checksum_sha256"],
            )
        datasets[name] = beat
    return {
        "job_id": ctx.job_id,
        "generated_at": now,
        "sequence": manifest_doc["sequence"],
        "datasets": datasets,
        "manifest": ctx.workspace.rel(
            ctx.workspace.path(opts.manifest)
            if opts.manifest
            else ctx.workspace.path(opts.output_dir) / "manifest.json"
        ),
    }


class _Bundle(NamedTuple):
    """What the locked part of an export wrote."""

    selected: tuple[str, ...]
    outcomes: dict[str, _Outcome]
    manifest_doc: dict[str, Any]
    pruned: list[dict]  # history snapshots pruned, one record each
    integrity: list[str]  # bundle files that do not match their checksum


def _finish(
    ctx: JobContext, opts: ExportOptions, exporter: _Exporter, bundle: _Bundle, argv: list[str] | None
) -> JobResult:
    """Upload and sync the bundle written, then the result: failed when a dataset failed, the bundle does not
    match its checksums, or the upload or sync failed; ``input_warnings`` and ``sync_warning`` are findings;
    ``--dry-run-upload`` makes it a dry run (nothing sent outward, with or without an upload command)."""
    failed = _log_outcomes(ctx, bundle)
    findings = ["input_warnings"] if ctx.warnings else []  # input warnings were added to ctx.warnings above
    diagnostics: dict[str, Any] = {}
    if failed:
        diagnostics.update(
            error_code=failed[0].error_code,
            error_message="; ".join(f"{o.name}: {o.error_message}" for o in failed),
            failed_datasets=[o.name for o in failed],
        )
    upload: dict[str, Any] | None = None
    if bundle.integrity:
        diagnostics.setdefault("error_code", "bundle_invalid")
        diagnostics.setdefault("error_message", bundle.integrity[0])
        diagnostics["bundle_problems"] = bundle.integrity[:10]
    elif argv is not None:
        with otel.span("delivery", kind="upload"):
            upload = _upload(ctx, opts, exporter, argv, bundle.manifest_doc, diagnostics)
        diagnostics["upload_status"] = upload["status"]  # the KPI report's upload failure rate reads it
    errored = bool(failed or bundle.integrity) or (upload is not None and upload["status"] == "failed")
    synced = None
    if opts.sync_to and opts.bundle_sync:
        with otel.span("push", kind="sync"):
            synced = _sync(ctx, opts, opts.bundle_sync, opts.sync_to, errored)
        if synced.get("status") == "failed":
            errored = True
            diagnostics.update(error_code=synced.pop("error_code"), error_message=synced.pop("error_message"))
        elif synced.get("status") == "warning":
            findings.append("sync_warning")
    status = derive_status(failed=errored, dry_run=opts.dry_run_upload, findings=findings)
    beat = _heartbeat(ctx, opts, bundle.selected, bundle.outcomes, bundle.manifest_doc)
    ws = ctx.workspace
    # The log line's `attempts`: the most any outward step (the upload command, the sync) needed.
    attempts = max([int(x.get("attempts") or 1) for x in (upload, synced) if x] or [1])
    return JobResult(
        attempts=attempts,
        failed=errored,
        dry_run=opts.dry_run_upload,
        findings=findings,
        figures=_figures(ws, exporter, bundle, upload, synced),
        diagnostics=diagnostics,
        heartbeat=beat,
        summary_markdown=_summary(bundle.manifest_doc, bundle.outcomes, status) + _outward_lines(upload, synced),
        outputs={"manifest": ws.rel(exporter.manifest_path), "manifest-sequence": str(bundle.manifest_doc["sequence"])},
    )


def _log_outcomes(ctx: JobContext, bundle: _Bundle) -> list[_Outcome]:
    """Input warnings (the first MAX_WARNINGS) and failed datasets in the log; the failed ones returned."""
    failed = [o for o in bundle.outcomes.values() if o.status == "failed"]
    warnings = [w for o in bundle.outcomes.values() for w in o.warnings]
    for message in warnings[:MAX_WARNINGS]:
        ctx.warn(message)
    if len(warnings) > MAX_WARNINGS:
        ctx.warn(f"{len(warnings) - MAX_WARNINGS} more input warnings not shown")
    kept = manifest_mod.entries(bundle.manifest_doc)
    for outcome in failed:
        ctx.note(
            f"dataset {outcome.name} failed ({outcome.error_code}: {outcome.error_message}); "
            + ("last good version kept" if outcome.name in kept else "no previous version")
        )
    return failed


def _upload(
    ctx: JobContext,
    opts: ExportOptions,
    exporter: _Exporter,
    argv: list[str],
    manifest_doc: dict[str, Any],
    diagnostics: dict[str, Any],
) -> dict[str, Any]:
    """``--upload-command`` (or, with ``--dry-run-upload``, what it would run); a failure noted in ``diagnostics``."""
    rendered = upload_mod.render(argv, exporter.out_dir)
    if opts.dry_run_upload:
        shown = upload_mod.outline(rendered, exporter.out_dir)
        target = ctx.workspace.out / "dashboard_upload" / f"{ctx.job_id}.json"
        fsio.atomic_write_json(
            target,
            {
                "job_id": ctx.job_id,
                "argv": shown,
                "bundle_dir": ctx.workspace.rel(exporter.out_dir),
                "sequence": manifest_doc["sequence"],
                "generated_at": exporter.now,
            },
        )
        ctx.artefact(target)
        return {"status": "dry_run", "argv": shown}
    policy = RetryPolicy(
        max_attempts=max(opts.upload_max_retries, 1),
        base_wait_seconds=opts.upload_retry_wait_seconds,
        max_wait_seconds=UPLOAD_MAX_WAIT_SECONDS,
        jitter=False,
    )
    try:
        done = upload_mod.run_with_retries(
            rendered, timeout=opts.upload_timeout, policy=policy, sleep=opts.sleep, note=ctx.note
        )
    except upload_mod.UploadError as exc:
        ctx.note(exc.message)
        if exc.details.get("stderr_tail"):
            ctx.note(f"upload stderr: {exc.details['stderr_tail']}")
        if "error_code" in diagnostics:
            diagnostics.setdefault("also", []).append({"error_code": exc.error_code, "error_message": exc.message})
        else:
            diagnostics.update(
                error_code=exc.error_code, error_message=exc.message, upload_returncode=exc.details.get("returncode")
            )
        return {"status": "failed", "returncode": exc.details.get("returncode"), "attempts": exc.details["attempts"]}
    return {"status": "ok", "returncode": 0, "duration_ms": done.duration_ms, "attempts": done.attempts}


def _figures(
    ws: Workspace, exporter: _Exporter, bundle: _Bundle, upload: dict[str, Any] | None, synced: dict[str, Any] | None
) -> dict[str, Any]:
    entries = manifest_mod.entries(bundle.manifest_doc)
    figures: dict[str, Any] = {
        "manifest_sequence": bundle.manifest_doc["sequence"],
        "manifest": ws.rel(exporter.manifest_path),
        "datasets": {
            name: {
                "status": o.status,
                **(
                    {"row_count": e["row_count"], "checksum_sha256": e["checksum_sha256"]}
                    if (e := entries.get(name))
                    else {}
                ),
            }
            for name, o in bundle.outcomes.items()
        },
        "history_snapshot": ws.rel(exporter.snapshot),
        "pruned_snapshots": len(bundle.pruned),
        "cache": {
            name: {"hits": c.hits, "misses": c.misses, "hashed": c.hashed}
            for name, c in sorted(exporter.caches.items())
        },
    }
    if upload is not None:
        figures["upload"] = upload
    if synced is not None:
        figures["sync"] = synced
    return figures


def _sync(ctx: JobContext, opts: ExportOptions, sync: BundleSync, to: str, failed: bool) -> dict[str, Any]:
    """``--sync-to``: the bundle just written goes to shared storage (``sync``: sync push's, from the CLI)."""
    if failed:
        ctx.note("export failed: the bundle was not synced")
        return {"status": "skipped", "reason": "export_failed"}
    try:
        outcome = sync.push(ctx, to, opts.output_dir, opts.dry_run_upload)
    except sync.failures as exc:
        ctx.note(exc.message)
        gave_up: dict[str, Any] = {"status": "failed", "error_code": exc.error_code, "error_message": exc.message}
        if isinstance(exc.details.get("attempts"), int):
            gave_up["attempts"] = exc.details["attempts"]
        return gave_up
    return {**outcome.figures, "status": outcome.status}


def _outward_lines(upload: dict[str, Any] | None, synced: dict[str, Any] | None) -> str:
    """The step summary's line on the upload command and the sync: what happened, in how many attempts."""
    lines = []
    if upload is not None and upload["status"] != "dry_run":
        lines.append(f"Upload command: **{upload['status']}** after {upload['attempts']} attempt(s).")
    if synced is not None and "attempts" in synced:
        lines.append(
            f"Sync to `{synced.get('target')}`: **{synced['status']}**, {synced.get('calls', 0)} storage call(s), "
            f"{synced.get('retries', 0)} retried (most attempts for one call: {synced['attempts']})."
        )
    return "\n" + "\n\n".join(lines) + "\n" if lines else ""


def _summary(manifest_doc: dict, outcomes: dict[str, _Outcome], status: str) -> str:
    lines = [
        f"## Dashboard export: {status}",
        "",
        f"Manifest sequence **{manifest_doc['sequence']}**, job `{manifest_doc['job_id']}`.",
        "",
        "| dataset | this run | rows | generated at | checksum |",
        "| --- | --- | ---: | --- | --- |",
    ]
    entries = manifest_mod.entries(manifest_doc)
    for name in DATASETS:
        entry = entries.get(name)
        outcome = outcomes.get(name)
        state = outcome.status if outcome else "not selected"
        if outcome and outcome.status == "failed":
            state = f"FAILED ({outcome.error_code}); " + ("last good kept" if entry else "no previous version")
        lines.append(
            f"| {name} | {markdown.cell(state)} | {entry['row_count'] if entry else '-'} | "
            f"{entry['generated_at'] if entry else '-'} | "
            f"`{entry['checksum_sha256'][:12] if entry else '-'}` |"
        )
    return "\n".join(lines) + "\n"

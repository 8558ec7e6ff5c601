"""``lake ingest``: every input the workspace holds, read by the one reader of its file
(observability/upstream/, observability/outputs/, the automation log), into the lake's Parquet tables.

Incremental: an input whose content hash the manifest already records is skipped; a changed input's
rows replace its earlier ones (also inside files ``lake compact`` merged). An input that disappears
keeps its rows: the lake is the history the 90-day rollups and the rotating log no longer hold.
Runs past their stage's retention are not ingested (docs/lake.md, "Retention").
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from observability import clock, fsio, runlog
from observability.digest import sha256, sha256_hex
from observability.errors import InputError
from observability.lake import schema, store
from observability.lake.config import LakeConfig
from observability.outputs import rollups
from observability.upstream import portfolio, records, runs, state_archive, telemetry, values
from observability.workspace import Workspace

Rows = dict[str, list[tuple[str | None, dict[str, Any]]]]  # table -> [(partition day, row)]
RUN_FILES = ("params.json", "metrics.json", "daily.csv", "records.csv")
# index.csv columns that are a run's settings, for ``params`` when the run has no params.json
PARAM_COLUMNS = (
    "mode", "equity", "or_n", "k_tp", "k_sl", "k_tr", "threshold_lcb", "min_or_atr", "rv_cuts", "allow_low_rv",
    "allowed_sessions", "warmup", "prior_alpha", "prior_beta", "include_expected_slip", "rv_quantile",
    "calibrate_days", "ev_mode", "size_floor",
)  # fmt: skip
NOT_METRICS = ("run_id", "run_dir", "manifest_id", "timestamp")  # every other numeric column is a stat


@dataclass
class Input:
    """One input: its workspace path, content hash, the tables it feeds and how to read its rows."""

    source: str
    sha256: str
    tables: tuple[str, ...]
    load: Callable[[], Rows]
    expired: dict[str, int] = field(default_factory=dict)  # runs its load left out, per stage (retention)


@dataclass
class Outcome:
    """What one lake's ingest did (the JSON summary's ``lakes`` entries)."""

    lake: str
    ingested: list[str]
    skipped: int
    rows: dict[str, int]
    files_written: int
    files_removed: int
    swept: list[str]
    expired: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "lake": self.lake,
            "inputs_ingested": len(self.ingested),
            "inputs_unchanged": self.skipped,
            "rows": dict(sorted(self.rows.items())),
            "files_written": self.files_written,
            "files_removed": self.files_removed,
            "orphans_removed": len(self.swept),
            "runs_past_retention": sum(self.expired.values()),
        }


def day(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(clock.UTC).date().isoformat()
    return value.isoformat()


# -- the inputs -----------------------------------------------------------------------------------


def inputs(ws: Workspace, cfg: LakeConfig, now: datetime, warn: Callable[[str], None]) -> list[Input]:
    """Every input the workspace holds now (a missing one is no input: the job may not run here)."""
    found: list[Input] = []
    found += _runs_inputs(ws, cfg, now, warn)
    found += _rollup_inputs(ws, cfg, warn)
    found += _archive_inputs(ws, cfg, warn)
    found += _json_input(
        ws, cfg.telemetry, ("router_telemetry",), lambda rel, doc: _telemetry_rows(rel, doc, now, warn)
    )
    found += _json_input(ws, cfg.portfolio_summary, ("strategies",), lambda rel, doc: _strategy_rows(rel, doc, warn))
    history = ws.path(cfg.weekly_history)
    if history.is_dir():
        for name in sorted(os.listdir(history)):
            if name.endswith(".json") and not name.startswith("."):
                found += _json_input(ws, f"{cfg.weekly_history}/{name}", ("weekly_reports",), _weekly_rows)
    found += _log_inputs(ws, warn)
    return found


def _read(ws: Workspace, rel: str) -> bytes | None:
    try:
        return ws.path(rel).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise InputError(f"{rel}: cannot read ({exc.strerror or exc})", input=rel) from None


def _json_input(ws: Workspace, rel: str, tables: tuple[str, ...], rows: Callable[[str, dict], Rows]) -> list[Input]:
    data = _read(ws, rel)
    if data is None:
        return []

    def load() -> Rows:
        try:
            doc = values.json_object(data)
        except ValueError as exc:
            raise InputError(f"{rel}: {exc}", input=rel) from None
        return rows(rel, doc)

    return [Input(rel, sha256_hex(data), tables, load)]


def _stamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return clock.parse_iso(value)
    except ValueError:
        return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


# runs/index.csv and each run's files ---------------------------------------------------------------


def _runs_inputs(ws: Workspace, cfg: LakeConfig, now: datetime, warn: Callable[[str], None]) -> list[Input]:
    rel = f"{cfg.runs}/index.csv"
    data = _read(ws, rel)
    if data is None:
        return []
    root = ws.path(cfg.runs)
    try:
        index = runs.parse_index(data)
    except ValueError as exc:
        raise InputError(f"{rel}: {exc}", input=rel) from None
    # One input: the index and every run file read with it, hashed together (a run's metrics.json
    # that changes changes the input), so a run's rows always come from one consistent reading.
    digest = sha256(data)
    run_files: dict[str, dict[str, bytes]] = {}
    try:
        folders = set(os.listdir(root))  # most runs have no folder (upstream keeps a few): one listing
    except OSError:
        folders = set()
    for row in index.rows:
        if row.run_id not in folders:
            continue
        try:
            folder = runs.run_folder(ws.root, root, row)
        except values.BadValue as exc:
            warn(f"{rel}: line {row.line}: {exc}; its run files skipped")
            continue
        files = {}
        inside = ws.root.resolve()
        for name in RUN_FILES:
            if (folder / name).is_symlink() and not (folder / name).resolve().is_relative_to(inside):
                warn(
                    f"{rel}: line {row.line}: {ws.rel(folder / name)} leads outside the workspace (symbolic link); skipped"
                )
                continue
            found = _read(ws, ws.rel(folder / name))
            if found is not None:
                files[name] = found
                digest.update(f"\0{row.run_id}/{name}\0".encode() + sha256_hex(found).encode())
        run_files[row.run_id] = files
    expired: dict[str, int] = {}
    return [
        Input(
            rel,
            digest.hexdigest(),
            ("runs", "stats", "trades"),
            lambda: _run_rows(rel, data, index, run_files, cfg, now, warn, expired),
            expired,
        )
    ]


def _strategy_of(cells: dict[str, str], metrics: dict[str, Any], default: str | None) -> str | None:
    """The run's strategy: upstream's manifest id, else the state archive key its state came from
    (``ops/state_archive/day_orb_5m.DayORB5m/...`` -> ``day_orb_5m``), else lake.yaml's default."""
    if cells.get("manifest_id"):
        return cells["manifest_id"]
    for path in (metrics.get("state_loaded"), cells.get("state_archive_path"), metrics.get("state_archive_path")):
        if isinstance(path, str) and "state_archive/" in path:
            key = path.split("state_archive/", 1)[1].split("/", 1)[0]
            if key and not key.endswith(".json"):
                return key.removeprefix(state_archive.STRATEGY_PREFIX).split(".", 1)[0]
    return default


def _cell_number(text: str) -> float | None:
    if text.lower() in ("true", "false"):
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _run_rows(
    rel: str,
    data: bytes,
    index: runs.Index,
    run_files: dict[str, dict[str, bytes]],
    cfg: LakeConfig,
    now: datetime,
    warn: Callable[[str], None],
    expired: dict[str, int],
) -> Rows:
    for message in index.skips.for_file(rel):
        warn(message)
    cells_by_id = runs.index_cells(data)
    out: Rows = defaultdict(list)
    for row in index.rows:
        cells = cells_by_id.get(row.run_id, {})
        stage, runner = cfg.stage_of(row.run_id)
        keep = cfg.retention_days.get(stage)
        if keep is not None and row.timestamp < now - timedelta(days=keep):
            expired[stage] = expired.get(stage, 0) + 1  # past its stage's retention: compact would purge it
            continue
        files = run_files.get(row.run_id, {})
        where = f"{cfg.runs}/{row.run_id}"
        params = _run_json(files, "params.json", where, warn)
        metrics = _run_json(files, "metrics.json", where, warn)
        start = end = None
        if "daily.csv" in files:
            try:
                daily, skips = runs.parse_daily_rows(files["daily.csv"])
                for message in skips.for_file(f"{where}/daily.csv"):
                    warn(message)
                totals = runs.daily_totals(daily)
                start = date.fromisoformat(totals["first"][:10]) if totals["first"] else None
                end = date.fromisoformat(totals["last"][:10]) if totals["last"] else None
            except ValueError as exc:
                warn(f"{where}/daily.csv: {exc}; start_date and end_date left empty")
        if params is None:
            params = {k: cells[k] for k in PARAM_COLUMNS if k in cells}
        git_sha = next(
            (d.get(k) for d in (params, metrics or {}) for k in ("git_sha", "commit") if isinstance(d.get(k), str)),
            None,
        )
        partition = day(row.timestamp)
        out["runs"].append(
            (
                partition,
                {
                    "run_id": row.run_id,
                    "strategy": _strategy_of(cells, metrics or {}, cfg.default_strategy),
                    "symbol": row.symbol,
                    "start_date": start,
                    "end_date": end,
                    "git_sha": git_sha,
                    "timestamp": row.timestamp,
                    "stage": stage,
                    "runner": runner,
                    "params": fsio.canonical_json(params),
                },
            )
        )
        figures: dict[str, float] = {}
        for column, text in cells.items():
            if column not in NOT_METRICS:
                value = _cell_number(text)
                if value is not None:
                    figures[column] = value
        for key, value in (metrics or {}).items():  # the run's own record: newer than its index row
            number = _number(value)
            if number is not None:
                figures[key] = number
        for metric in sorted(figures):
            out["stats"].append((partition, {"run_id": row.run_id, "metric": metric, "value": figures[metric]}))
        if "records.csv" in files:
            try:
                trades, skips = records.parse(files["records.csv"])
            except ValueError as exc:
                warn(f"{where}/records.csv: {exc}; file skipped")
                trades, skips = [], values.Skips()
            for message in skips.for_file(f"{where}/records.csv"):
                warn(message)
            for trade in trades:
                out["trades"].append(
                    (day(trade["timestamp"]), {"run_id": row.run_id, **trade, "symbol": trade["symbol"] or row.symbol})
                )
    return out


def _run_json(files: dict[str, bytes], name: str, where: str, warn: Callable[[str], None]) -> dict[str, Any] | None:
    if name not in files:
        return None
    try:
        return values.json_object(files[name])
    except ValueError as exc:
        warn(f"{where}/{name}: {exc}; file skipped")
        return None


# our own facts ----------------------------------------------------------------------------------


def _rollup_inputs(ws: Workspace, cfg: LakeConfig, warn: Callable[[str], None]) -> list[Input]:
    """One input per day partition of the latency rollups (or the old single file)."""
    try:
        _, parts = rollups.read_parts(ws.path(cfg.latency_rollup))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise InputError(
            f"{cfg.latency_rollup}: cannot read ({exc.strerror or exc})", input=cfg.latency_rollup
        ) from None
    found = []
    for path, data in parts:
        rel = ws.rel(path)

        def load(path: Path = path, data: bytes = data, rel: str = rel) -> Rows:
            rows, warnings = rollups.parse_parts([(path, data)], lambda _p: rel)
            for message in warnings:
                warn(message)
            out: Rows = defaultdict(list)
            for r in rows:
                hour = clock.parse_iso(r.hour_utc)
                out["latency_hourly"].append((day(hour), {**r.as_dict(), "hour_utc": hour}))
            return out

        found.append(Input(rel, sha256_hex(data), ("latency_hourly",), load))
    return found


def _archive_inputs(ws: Workspace, cfg: LakeConfig, warn: Callable[[str], None]) -> list[Input]:
    """One input per state snapshot file."""
    root = ws.path(cfg.state_archive)
    if not root.is_dir():
        return []
    try:
        archive = state_archive.read(ws, root)
    except InputError as exc:
        warn(exc.message)
        return []
    for message in archive.warnings:
        warn(message)
    known = {key.archive_key.removeprefix(state_archive.STRATEGY_PREFIX) for _, key, _ in archive.snapshots}
    hashes = dict(archive.inputs)
    found = []
    for rel, key, posterior in archive.snapshots:
        stamp = clock.parse_iso(key.generated_at)
        row = {
            "generated_at": stamp,
            "strategy": state_archive.canonical_strategy(key.archive_key, known),
            "symbol": key.symbol,
            "mode": key.mode,
            "variant": key.variant,
            **{k: posterior[k] for k in ("alpha", "beta", "decay", "conf")},
        }
        rows: Rows = {"ev_snapshots": [(day(stamp), row)]}
        found.append(Input(rel, hashes[rel], ("ev_snapshots",), _given(rows)))
    return found


def _given(rows: Rows) -> Callable[[], Rows]:
    return lambda: rows


def _telemetry_rows(rel: str, doc: dict, now: datetime, warn: Callable[[str], None]) -> Rows:
    try:
        entries, skips = telemetry.execution_health(doc)
    except ValueError as exc:
        raise InputError(f"{rel}: {exc}", input=rel) from None
    _, stamp, stamp_skips = telemetry.generated_at(doc)
    for message in skips.for_file(rel) + stamp_skips.for_file(rel):
        warn(message)
    at = clock.parse_iso(stamp) if stamp else now  # undated (the sample is): the time it was ingested
    return {"router_telemetry": [(day(at), {**e, "generated_at": at}) for e in entries]}


def _strategy_rows(rel: str, doc: dict, warn: Callable[[str], None]) -> Rows:
    try:
        summary, skips = portfolio.parse(doc)
    except ValueError as exc:
        raise InputError(f"{rel}: {exc}", input=rel) from None
    for message in skips.for_file(rel):
        warn(message)
    tiers = {s.get("manifest_id"): s.get("tier") for s in doc.get("strategies", []) if isinstance(s, dict)}
    updated = _stamp(summary.generated_at)
    return {
        "strategies": [
            (
                None,
                {
                    "strategy": s["manifest_id"],
                    "tier": tiers.get(s["manifest_id"]) if isinstance(tiers.get(s["manifest_id"]), str) else None,
                    "category": s["category"],
                    "last_updated": updated,
                },
            )
            for s in summary.strategies
        ]
    }


def _weekly_rows(rel: str, doc: dict) -> Rows:
    """A weekly report's headline figures (its runs, trades and pips; portfolio; latency; alerts)."""
    week = doc.get("week_start")
    try:
        week_start = date.fromisoformat(week) if isinstance(week, str) else None
    except ValueError:
        raise InputError(f"{rel}: field week_start: {week!r} is not a date (YYYY-MM-DD)", input=rel) from None
    generated = _stamp(doc.get("generated_at"))
    if generated is None:
        raise InputError(f"{rel}: field generated_at: missing or not ISO-8601", input=rel)
    runs_list = [r for r in doc.get("runs", []) if isinstance(r, dict)] if isinstance(doc.get("runs"), list) else []
    trades = [t for r in runs_list if (t := _count(r.get("trades"))) is not None]
    pips = [p for r in runs_list if (p := _number(r.get("total_pips"))) is not None]
    folio = _object(doc, "portfolio")
    latency = _object(doc, "latency")
    alerts = doc.get("alerts")
    row = {
        "week_start": week_start,
        "generated_at": generated,
        "runs": len(runs_list),
        "trades": sum(trades) if trades else None,
        "total_pips": sum(pips) if pips else None,
        "budget_status": folio.get("budget_status") if isinstance(folio.get("budget_status"), str) else None,
        "gross_exposure_pct": _number(folio.get("gross_exposure_pct")),
        "drawdown_pct": _number(folio.get("drawdown_pct")),
        "latency_p95_ms": _number(latency.get("p95_ms")),
        "latency_breaches": _count(latency.get("breach_count")),
        "alerts": len(alerts) if isinstance(alerts, list) else None,
    }
    return {"weekly_reports": [(day(generated), row)]}


def _log_inputs(ws: Workspace, warn: Callable[[str], None]) -> list[Input]:
    """The automation log (its segments and the live file) as one input: every job run and the alerts
    each reported."""
    problems: list[tuple[str, str]] = []
    lines = [line.data for line in runlog.iter_lines(ws, problems=problems) if not line.torn]
    for path, message in problems:
        warn(f"{path}: {message}")
    if not lines:
        return []
    digest = sha256()
    for data in lines:
        digest.update(data + b"\n")
    rel = ws.rel(ws.run_log)
    return [Input(rel, digest.hexdigest(), ("job_runs", "alerts"), lambda: _log_rows(ws, rel))]


def _log_rows(ws: Workspace, rel: str) -> Rows:
    out: Rows = defaultdict(list)
    for record in runlog.iter_records(ws, problems=[]):
        started = _stamp(record.get("started_at"))
        if started is None or not isinstance(record.get("job_id"), str):
            continue
        diagnostics = _object(record, "diagnostics")
        out["job_runs"].append(
            (
                day(started),
                {
                    "job_id": record["job_id"],
                    "job": _text(record.get("job")),
                    "status": _text(record.get("status")),
                    "started_at": started,
                    "completed_at": _stamp(record.get("completed_at")),
                    "duration_ms": _count(record.get("duration_ms")),
                    "attempts": _count(record.get("attempts")),
                    "error_code": _text(diagnostics.get("error_code")),
                    "commit_sha": _text(record.get("commit_sha")),
                    "sequence": _count(record.get("sequence")),
                },
            )
        )
        for alert in record.get("alerts") or []:
            if isinstance(alert, dict):
                out["alerts"].append(
                    (
                        day(started),
                        {
                            "job_id": record["job_id"],
                            "job": _text(record.get("job")),
                            "at": started,
                            "breach_streak": _count(alert.get("breach_streak")),
                            **{k: _text(alert.get(k)) for k in ("id", "rule", "source", "severity", "status")},
                        },
                    )
                )
    return out


def _object(doc: dict[str, Any], key: str) -> dict[str, Any]:
    found = doc.get(key)
    return found if isinstance(found, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# -- writing --------------------------------------------------------------------------------------


def ingest_into(lake: store.Lake, found: list[Input], now: datetime) -> Outcome:
    """Write the changed inputs of ``found`` into ``lake`` (one commit) and say what changed."""
    swept = store.sweep(lake)
    manifest = lake.manifest
    stamp = clock.iso(now)
    recorded: dict[str, set[str]] = defaultdict(set)
    for entry in manifest["inputs"]:
        recorded[entry["source"]].add(entry["sha256"])
    change = store.Change(drop=set(swept))  # orphans: removed after the commit
    ingested: list[str] = []
    skipped = 0
    counts: dict[str, int] = defaultdict(int)
    expired: dict[str, int] = {}
    for item in found:
        if recorded.get(item.source) == {item.sha256}:
            skipped += 1
            continue
        rows = item.load()
        for stage, n in item.expired.items():
            expired[stage] = expired.get(stage, 0) + n
        _remove_input(lake, change, item.source)
        for table in item.tables:
            by_day: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
            for partition, row in rows.get(table, []):
                by_day[partition].append({**row, schema.INPUT_COLUMN: item.source})
            files = [change.add(manifest, table, d, by_day[d]) for d in sorted(by_day, key=lambda d: d or "")]
            total = sum(len(v) for v in by_day.values())
            counts[table] += total
            manifest["inputs"].append(
                {
                    "source": item.source,
                    "sha256": item.sha256,
                    "table": table,
                    "files": files,
                    "rows": total,
                    "ingested_at": stamp,
                }
            )
        ingested.append(item.source)
    removed = len(change.drop - set(swept))
    if ingested or swept:
        store.commit(lake, change, stamp)
    return Outcome(lake.display, ingested, skipped, dict(counts), len(change.put), removed, swept, expired)


def _remove_input(lake: store.Lake, change: store.Change, source: str) -> None:
    """Take ``source``'s rows out of the lake: its own files dropped, a merged file rewritten without them."""
    manifest = lake.manifest
    mine = [e for e in manifest["inputs"] if e["source"] == source]
    if not mine:
        return
    manifest["inputs"] = [e for e in manifest["inputs"] if e["source"] != source]
    shared = {f for e in manifest["inputs"] for f in e["files"]}
    for key in sorted({f for e in mine for f in e["files"]}):
        meta = manifest["files"].pop(key, None)
        change.drop.add(key)
        if key not in shared or meta is None:
            continue
        data = change.put.get(key) or lake.bucket.get(key)
        if data is None:
            raise InputError(f"{lake.display}/{key}: listed in the manifest but missing")
        kept = [r for r in store.from_parquet(data) if r.get(schema.INPUT_COLUMN) != source]
        new = change.add(manifest, meta["table"], meta.get("date"), kept) if kept else None
        for entry in manifest["inputs"]:
            if key in entry["files"]:
                entry["files"] = sorted({*(f for f in entry["files"] if f != key), *([new] if new else [])})


def ingest(
    workspace: str | os.PathLike | Workspace = ".",
    lakes: tuple[str, ...] = (),
    *,
    config: LakeConfig | None = None,
    now: datetime | None = None,
    warn: Callable[[str], None] | None = None,
) -> list[Outcome]:
    """Ingest the workspace's inputs into each lake (``lakes``, else lake.yaml's, else ``lake/``).

    The Python API (``from observability.lake import ingest``); ``lake ingest`` runs it as a job.
    """
    ws = workspace if isinstance(workspace, Workspace) else Workspace.open(os.fspath(workspace))
    cfg = config or load_config(ws)
    when = now or clock.now()
    warnings: list[str] = []
    found = inputs(ws, cfg, when, warn or warnings.append)
    return [ingest_into(store.open_lake(ws, value), found, when) for value in (lakes or cfg.lake)]


def _expired_note(expired: dict[str, int], cfg: LakeConfig) -> str:
    """Which runs of the index were left out for their age, and the setting that decides it."""
    parts = ", ".join(
        f"{n} {stage} (older than {cfg.retention_days.get(stage)} days)" for stage, n in sorted(expired.items())
    )
    return (
        f"{sum(expired.values())} run(s) of {cfg.runs}/index.csv not ingested, past their stage's retention: "
        f"{parts}; lake.yaml retention_days sets it (null keeps a stage forever)"
    )


def load_config(ws: Workspace, path: str | None = None) -> LakeConfig:
    """lake.yaml (``path`` or configs/observability/lake.yaml when present; defaults otherwise)."""
    from observability.lake.config import LAKE_CONFIG, load_lake

    rel = path or LAKE_CONFIG
    full = ws.path(rel)
    if path is None and not full.exists():
        return LakeConfig()
    return load_lake(full, display=rel)


def _require_extra() -> None:
    """pyarrow present, else a ConfigError saying how to install the ``[lake]`` extra."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        from observability.errors import ConfigError

        raise ConfigError(
            "lake: pyarrow is not installed; install the extra: pip install 'observability[lake]'"
        ) from None


def ingest_job(ctx, lakes: tuple[str, ...], config: str | None):
    """The body of ``lake ingest``: every lake's outcome in the summary, skipped rows as warnings."""
    from observability.runtime import JobResult

    _require_extra()
    cfg = load_config(ctx.workspace, config)
    found = inputs(ctx.workspace, cfg, ctx.now, ctx.warn)
    outcomes = []
    for value in lakes or cfg.lake:
        outcome = ingest_into(store.open_lake(ctx.workspace, value), found, ctx.now)
        if outcome.swept:
            ctx.note(f"{outcome.lake}: removed {len(outcome.swept)} file(s) a killed run left")
        ctx.note(
            f"{outcome.lake}: {len(outcome.ingested)} input(s) ingested, {outcome.skipped} unchanged, "
            f"{outcome.files_written} file(s) written"
        )
        if outcome.expired:
            ctx.note(f"{outcome.lake}: {_expired_note(outcome.expired, cfg)}")
        outcomes.append(outcome.as_dict())
    return JobResult(
        figures={"lakes": outcomes, "inputs": len(found)},
        findings=["input_warnings"] if ctx.warnings else [],
        heartbeat={"inputs": len(found)},
    )

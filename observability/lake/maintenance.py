"""``lake compact``: merge each partition's small files into one, and purge runs past their stage's
retention (backtest 1 year, research 3 months, live forever by default; lake.yaml ``retention_days``).

Purging a run removes its ``runs`` row and its ``stats`` and ``trades`` rows. Both are one commit
(observability/lake/store.py): a killed compact leaves the lake as it was.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from observability import clock
from observability.lake import schema, store
from observability.lake.config import LakeConfig

RUN_TABLES = ("runs", "stats", "trades")


def expired_runs(lake: store.Lake, cfg: LakeConfig, now: datetime) -> set[str]:
    """Run ids whose timestamp is older than their stage's retention."""
    gone: set[str] = set()
    for key in store.live_files(lake.manifest, "runs"):
        data = lake.bucket.get(key)
        if data is None:
            continue
        for row in store.from_parquet(data):
            keep = cfg.retention_days.get(row["stage"])
            if keep is not None and row["timestamp"] < now - timedelta(days=keep):
                gone.add(row["run_id"])
    return gone


def compact_into(lake: store.Lake, cfg: LakeConfig, now: datetime, *, min_files: int | None = None) -> dict[str, Any]:
    """Merge every partition of at least ``min_files`` files (or holding a purged run) into one file."""
    need = min_files or cfg.compact_min_files
    swept = store.sweep(lake)
    manifest = lake.manifest
    gone = expired_runs(lake, cfg, now)
    by_partition: dict[tuple[str, str | None], list[str]] = defaultdict(list)
    for key, meta in manifest["files"].items():
        by_partition[(meta["table"], meta.get("date"))].append(key)
    change = store.Change(drop=set(swept))  # orphans: removed after the commit
    merged = purged = 0
    lost: dict[tuple[str, Any], int] = defaultdict(int)  # purged rows by (table, input)
    for (table, day), keys in sorted(by_partition.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        purge = bool(gone) and table in RUN_TABLES
        if len(keys) < need and not purge:
            continue
        rows: list[dict[str, Any]] = []
        for key in sorted(keys):
            data = lake.bucket.get(key)
            if data is None:
                from observability.errors import InputError

                raise InputError(f"{lake.display}/{key}: listed in the manifest but missing")
            rows += store.from_parquet(data)
        kept = [r for r in rows if r.get("run_id") not in gone] if purge else rows
        if len(kept) == len(rows) and len(keys) < need:
            continue
        purged += len(rows) - len(kept)
        for r in rows:
            if purge and r.get("run_id") in gone:
                lost[(table, r.get(schema.INPUT_COLUMN))] += 1
        for key in keys:
            manifest["files"].pop(key)
            change.drop.add(key)
        new = change.add(manifest, table, day, kept) if kept else None
        merged += len(keys)
        for entry in manifest["inputs"]:
            if entry["table"] == table and set(entry["files"]) & set(keys):
                files = {f for f in entry["files"] if f not in keys} | ({new} if new else set())
                entry["files"] = sorted(files)
    for entry in manifest["inputs"]:
        entry["rows"] -= lost.get((entry["table"], entry["source"]), 0)
    if change.put or change.drop or swept:
        store.commit(lake, change, clock.iso(now))
    return {
        "lake": lake.display,
        "files_merged": merged,
        "files_written": len(change.put),
        "runs_purged": len(gone),
        "rows_purged": purged,
        "orphans_removed": len(swept),
    }


def compact_job(ctx, lakes: tuple[str, ...], config: str | None, min_files: int | None):
    """The body of ``lake compact``."""
    from observability.lake.ingest import _require_extra, load_config
    from observability.runtime import JobResult

    _require_extra()
    cfg = load_config(ctx.workspace, config)
    done = []
    for value in lakes or cfg.lake:
        outcome = compact_into(store.open_lake(ctx.workspace, value), cfg, ctx.now, min_files=min_files)
        ctx.note(
            f"{outcome['lake']}: {outcome['files_merged']} file(s) merged into {outcome['files_written']}, "
            f"{outcome['runs_purged']} run(s) past retention purged"
        )
        done.append(outcome)
    return JobResult(figures={"lakes": done})

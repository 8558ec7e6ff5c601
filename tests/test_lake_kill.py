"""A real ``lake ingest`` process killed by SIGKILL at random points (after a random number of its
Parquet files landed, before or after its manifest): the lake still reads as before, and the next
run completes it to exactly what one uninterrupted ingest writes."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
from pathlib import Path

import pytest

from _support_lake_ingest import NOW, duckdb, lake, make_workspace, manifest, table
from _support_robust import clean_env, start_cli
from observability.lake import schema

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")


def parquet_files(root: Path) -> int:
    return sum(1 for _ in root.rglob("*.parquet")) if root.is_dir() else 0


def committed(ws: Path, before: bytes | None) -> bool:
    try:
        return (ws / "lake" / "_manifest.json").read_bytes() != before
    except FileNotFoundError:
        return False


def kill_after(ws: Path, files: int, *, commit: bool = False) -> None:
    """Start an ingest; SIGKILL it once ``files`` Parquet files exist (``commit``: once its manifest is
    written, before it removes the files it replaced), or when it ends by itself."""
    manifest_path = ws / "lake" / "_manifest.json"
    before = manifest_path.read_bytes() if manifest_path.exists() else None
    proc = start_cli(["lake", "ingest", "--workspace", str(ws)], env=clean_env(OBS_NOW=NOW))
    try:
        while proc.poll() is None and not (committed(ws, before) if commit else parquet_files(ws / "lake") >= files):
            try:
                proc.wait(timeout=0.002)
            except Exception:  # noqa: BLE001 - subprocess.TimeoutExpired: still running, look again
                pass
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()


def readable(root: Path) -> dict[str, int]:
    """Every table's row count read through the manifest; the manifest valid, each listed file whole."""
    if not (root / "_manifest.json").exists():
        return {}
    doc = manifest(root)
    for key in doc["files"]:
        assert (root / key).is_file(), key
        duckdb.sql(f"SELECT count(*) FROM read_parquet('{root / key}')").fetchall()
    return {name: len(table(root, name)) for name in schema.TABLES}


def test_a_killed_ingest_leaves_the_lake_readable_and_the_next_run_completes(tmp_path):
    reference = make_workspace(tmp_path / "reference", runs=40)
    assert lake(reference)[0] == 0
    expected = readable(reference / "lake")
    total = len(manifest(reference / "lake")["files"])
    rng = random.Random(4)
    for trial, files in enumerate([rng.randrange(1, total), rng.randrange(1, total), total]):
        ws = make_workspace(tmp_path / f"ws{trial}", runs=40)
        shutil.copyfile(reference / "ops" / "automation_runs.log", ws / "ops" / "automation_runs.log")
        kill_after(ws, files)
        before = readable(ws / "lake")
        assert before in ({}, expected) or before == {**expected, "job_runs": before["job_runs"]}
        code, summary, err = lake(ws)
        assert code == 0, err
        after = readable(ws / "lake")
        assert {k: v for k, v in after.items() if k not in ("job_runs",)} == {
            k: v for k, v in expected.items() if k not in ("job_runs",)
        }, (trial, files)
        live = set(manifest(ws / "lake")["files"])
        assert {p.relative_to(ws / "lake").as_posix() for p in (ws / "lake").rglob("*.parquet")} == live


def test_a_killed_reingest_keeps_the_previous_rows_readable(tmp_path):
    ws = make_workspace(tmp_path / "ws", runs=40)
    assert lake(ws)[0] == 0
    previous = readable(ws / "lake")
    index = ws / "runs" / "index.csv"
    index.write_text(index.read_text().replace(",USDJPY,conservative,", ",EURUSD,conservative,"))
    kill_after(ws, parquet_files(ws / "lake") + 10)
    during = readable(ws / "lake")
    assert during["runs"] == previous["runs"] == 40
    assert lake(ws)[0] == 0
    assert table(ws / "lake", "runs", "DISTINCT symbol") == [("EURUSD",)]
    assert json.loads((ws / "lake" / "_manifest.json").read_text())["version"] == 1
    assert os.listdir(ws / "lake")  # nothing half-written is left: every Parquet file is listed
    assert {p.relative_to(ws / "lake").as_posix() for p in (ws / "lake").rglob("*.parquet")} == set(
        manifest(ws / "lake")["files"]
    )
    # killed right after its commit: the new rows are the lake, the replaced files are removed next time
    index.write_text(index.read_text().replace(",EURUSD,conservative,", ",GBPUSD,conservative,"))
    kill_after(ws, 0, commit=True)
    assert table(ws / "lake", "runs", "DISTINCT symbol") == [("GBPUSD",)]
    assert readable(ws / "lake")["runs"] == 40
    assert lake(ws)[0] == 0
    assert {p.relative_to(ws / "lake").as_posix() for p in (ws / "lake").rglob("*.parquet")} == set(
        manifest(ws / "lake")["files"]
    )

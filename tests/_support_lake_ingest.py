"""Helpers for the lake ingest tests: a workspace the project generates itself (runs, rollups, state
snapshots, telemetry, portfolio summary, weekly payloads, an automation log), the CLI in-process, and
DuckDB over the files a lake's manifest lists. Skipped with a reason without the ``[lake]`` extra."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from _support_state import base_env
from observability.cli import cli

duckdb = pytest.importorskip("duckdb", reason="the [lake] extra (duckdb) is not installed: pip install -e '.[lake]'")
pytest.importorskip("pyarrow", reason="the [lake] extra (pyarrow) is not installed: pip install -e '.[lake]'")

NOW = "2026-03-02T06:00:00Z"
START = datetime(2026, 1, 10, 9, 30, tzinfo=UTC)
INDEX_HEADER = "run_id,run_dir,manifest_id,timestamp,symbol,mode,or_n,k_tp,trades,wins,total_pips,sharpe,max_drawdown,win_rate,pnl_per_trade,state_archive_path"
ROLLUP_HEADER = "hour_utc,source,count,failure_count,failure_rate,p50_ms,p95_ms,p99_ms,max_ms,breach_flag,breach_streak"


def run_id(i: int, at: datetime) -> str:
    stamp = at.strftime("%Y%m%d_%H%M%S")
    return f"grid_USDJPY_bridge_or4_ktp{i}_{stamp}" if i % 3 == 0 else f"USDJPY_conservative_{stamp}"


def make_workspace(root: Path, runs: int = 12) -> Path:
    """A workspace holding every input the lake reads; run ``i`` starts ``i`` days after START."""
    (root / "configs" / "observability").mkdir(parents=True, exist_ok=True)
    (root / "runs").mkdir(parents=True, exist_ok=True)
    lines = [INDEX_HEADER]
    for i in range(runs):
        at = START + timedelta(days=i)
        rid = run_id(i, at)
        archive = "ops/state_archive/day_orb_5m.DayORB5m/USDJPY/conservative/x.json" if i == 1 else ""
        lines.append(
            f"{rid},runs/{rid},,{at:%Y%m%d_%H%M%S},USDJPY,conservative,4,0.{i},{10 + i},{5 + i % 4},{i * 1.5},"
            f"{0.5 + i / 4},{-i},0.5,0.1,{archive}"
        )
        if i < 2:  # two runs with their own files
            folder = root / "runs" / rid
            folder.mkdir()
            (folder / "params.json").write_text(json.dumps({"symbol": "USDJPY", "k_tp": 0.6, "git_sha": "abc1234"}))
            (folder / "metrics.json").write_text(json.dumps({"trades": 3, "wins": 2, "total_pips": 4.5, "debug": {}}))
            (folder / "daily.csv").write_text(
                f"date,fills,wins,pnl_pips\n{at:%Y-%m-%d},2,1,3.0\n{at + timedelta(days=2):%Y-%m-%d},1,1,1.5\n"
            )
            (folder / "records.csv").write_text(
                f"entry_ts,side,qty,entry_px,pnl_pips\n{at:%Y-%m-%dT%H:%M:%SZ},BUY,1,150.25,2.5\n"
                f"{at + timedelta(hours=2):%Y-%m-%dT%H:%M:%SZ},sell,1,150.10,-1.0\n"
            )
    (root / "runs" / "index.csv").write_text("\n".join(lines) + "\n")
    rollup = root / "ops" / "signal_latency_rollup"
    rollup.mkdir(parents=True)
    for day in ("2026-03-01", "2026-03-02"):
        (rollup / f"{day}.csv").write_text(
            ROLLUP_HEADER + "\n"
            + "".join(f"{day}T{h:02d}:00:00Z,feed,10,1,0.1000,100.000,250.000,300.000,400.000,false,0\n" for h in range(3))
        )  # fmt: skip
    state = root / "ops" / "state_archive" / "day_orb_5m.DayORB5m" / "USDJPY" / "conservative"
    state.mkdir(parents=True)
    for stamp, alpha in (("20260301_010000", 2.0), ("20260301_020000", 3.0)):
        (state / f"{stamp}.json").write_text(
            json.dumps({"ev_global": {"alpha": alpha, "beta": 1.5, "decay": 0.02, "conf": 0.95}})
        )
    telemetry = root / "reports" / "portfolio_samples" / "router_demo"
    telemetry.mkdir(parents=True)
    (telemetry / "telemetry.json").write_text(
        json.dumps(
            {
                "generated_at": "2026-03-01T00:00:00Z",
                "execution_health": {"day_orb_5m_v1": {"slippage_bps": 1.5, "reject_rate": 0.01}},
            }
        )
    )
    (root / "reports" / "portfolio_summary.json").write_text(
        json.dumps(
            {
                "generated_at": "2026-03-01T00:00:00Z",
                "strategies": [
                    {"manifest_id": "day_orb_5m_v1", "category": "day", "tier": "A"},
                    {"manifest_id": "tokyo_mr", "category": "scalping"},
                ],
            }
        )
    )
    history = root / "ops" / "weekly_report_history"
    history.mkdir(parents=True)
    (history / "2026-02-23.json").write_text(
        json.dumps(
            {
                "week_start": "2026-02-23",
                "generated_at": "2026-03-01T06:00:00Z",
                "runs": [
                    {"run_id": "a", "trades": 3, "total_pips": 2.5},
                    {"run_id": "b", "trades": 4, "total_pips": -1.0},
                ],
                "portfolio": {"budget_status": "ok", "gross_exposure_pct": 30.5, "drawdown_pct": 0.3},
                "latency": {"p95_ms": 250.0, "breach_count": 1},
                "alerts": [{"id": "x"}],
            }
        )
    )
    log = {
        "job_id": "20260301T060000Z-latency-0000abcd",
        "job": "latency",
        "status": "warning",
        "started_at": "2026-03-01T06:00:00Z",
        "completed_at": "2026-03-01T06:00:01Z",
        "duration_ms": 1000,
        "attempts": 1,
        "artefacts": [],
        "alerts": [
            {
                "id": "abcd",
                "rule": "latency_slo",
                "source": "feed",
                "severity": "warning",
                "status": "firing",
                "breach_streak": 2,
            }
        ],
        "diagnostics": {},
        "sequence": 1,
    }
    (root / "ops" / "automation_runs.log").write_text(json.dumps(log) + "\n")
    return root


def lake(ws: Path, *args: str, command: str = "ingest", env: dict | None = None, now: str = NOW):
    """``observability lake COMMAND --workspace ws ARGS`` in-process; (exit code, summary or None, stderr)."""
    result = CliRunner().invoke(
        cli,
        ["lake", command, "--workspace", str(ws), *args],
        env=base_env(OBS_NOW=now, **(env or {})),
        catch_exceptions=False,
    )
    try:
        summary = json.loads(result.stdout)
    except ValueError:
        summary = None
    return result.exit_code, summary, result.stderr


def manifest(root: Path) -> dict:
    return json.loads((root / "_manifest.json").read_text())


def table(root: Path, name: str, columns: str = "*", where: str = "true", order: str = "1"):
    """Rows of ``name`` from the files the manifest lists (DuckDB)."""
    files = [str(root / k) for k, f in manifest(root)["files"].items() if f["table"] == name]
    if not files:
        return []
    listed = ", ".join(f"'{f}'" for f in files)
    return duckdb.sql(
        f"SELECT {columns} FROM read_parquet([{listed}], hive_partitioning = true) WHERE {where} ORDER BY {order}"
    ).fetchall()

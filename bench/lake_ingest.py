"""``lake ingest`` at scale: 10,000 runs and a year of hourly latency rollups (10 sources).

Workspace (generated here, cached under bench/.data/lake_ingest/): runs/index.csv with 10,000 rows in
upstream's header (one run every 52 minutes over a year, a third of them grid runs), and
ops/signal_latency_rollup/ with 365 day files of 24 h x 10 sources (87,600 rows). Three scenarios, each a
whole process (``python -m observability lake ingest``), wall and CPU time (user + sys) and peak RSS from
os.wait4 for that process alone, median of --repeat after one warm-up:

  cold         into an empty lake (a fresh copy of the workspace each round; the copy is not timed)
  unchanged    every input already ingested: hashes only
  one-day      one rollup day file changed: that input replaced

Usage: python bench/lake_ingest.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data" / "lake_ingest"
RUNS = 10_000
DAYS = 365
SOURCES = 10
HEADER = "run_id,run_dir,manifest_id,timestamp,symbol,mode,or_n,k_tp,k_sl,trades,wins,total_pips,sharpe,max_drawdown,win_rate,pnl_per_trade"
ROLLUP = "hour_utc,source,count,failure_count,failure_rate,p50_ms,p95_ms,p99_ms,max_ms,breach_flag,breach_streak"
START = datetime(2025, 3, 1, tzinfo=UTC)
NOW = "2026-03-01T00:00:00Z"


def build(root: Path) -> None:
    (root / "runs").mkdir(parents=True)
    (root / "configs" / "observability").mkdir(parents=True)
    (root / "configs" / "observability" / "lake.yaml").write_text("retention_days: {backtest: null, research: null}\n")
    lines = [HEADER]
    for i in range(RUNS):
        at = START + timedelta(minutes=52 * i)
        kind = f"grid_USDJPY_bridge_or4_ktp{i % 7}" if i % 3 == 0 else "USDJPY_conservative"
        lines.append(
            f"{kind}_{at:%Y%m%d_%H%M%S}_{i},,,{at:%Y%m%d_%H%M%S},USDJPY,conservative,4,0.6,0.4,"
            f"{100 + i % 50},{50 + i % 40},{(i % 200) - 100}.5,{(i % 30) / 10},{-(i % 17)},0.55,0.12"
        )
    (root / "runs" / "index.csv").write_text("\n".join(lines) + "\n")
    rollups = root / "ops" / "signal_latency_rollup"
    rollups.mkdir(parents=True)
    for d in range(DAYS):
        day = (START + timedelta(days=d)).date().isoformat()
        rows = "".join(
            f"{day}T{h:02d}:00:00Z,source{s},60,1,0.0167,120.000,340.000,410.000,800.000,false,0\n"
            for h in range(24)
            for s in range(SOURCES)
        )
        (rollups / f"{day}.csv").write_text(ROLLUP + "\n" + rows)


def timed(ws: Path) -> tuple[float, float, float]:
    env = {**os.environ, "OBS_NOW": NOW, "PYTHONDONTWRITEBYTECODE": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "observability", "lake", "ingest", "--workspace", str(ws)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"lake ingest failed: {proc.stderr.read().decode() if proc.stderr else status}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    source = DATA / "workspace"
    if not source.exists():
        build(source)
    results: dict[str, list[tuple[float, float, float]]] = {"cold": [], "unchanged": [], "one-day": []}
    for round_ in range(args.repeat + 1):
        ws = DATA / "scratch"
        shutil.rmtree(ws, ignore_errors=True)
        shutil.copytree(source, ws)
        cold = timed(ws)
        unchanged = timed(ws)
        day = ws / "ops" / "signal_latency_rollup" / f"{(START + timedelta(days=100)).date().isoformat()}.csv"
        day.write_text(day.read_text().replace(",false,0\n", ",true,1\n", 1))
        one = timed(ws)
        if round_:  # the first round warms the page cache and .pyc files
            results["cold"].append(cold)
            results["unchanged"].append(unchanged)
            results["one-day"].append(one)
    print(f"lake ingest: {RUNS:,} runs, {DAYS} days x 24 h x {SOURCES} sources of rollups, median of {args.repeat}")
    for name, found in results.items():
        wall = statistics.median(r[0] for r in found)
        cpu = statistics.median(r[1] for r in found)
        rss = statistics.median(r[2] for r in found)
        print(f"  {name:10s} wall {wall:.2f} s  cpu {cpu:.2f} s  peak RSS {rss:.0f} MiB")
    lake = DATA / "scratch" / "lake"
    size = sum(p.stat().st_size for p in lake.rglob("*.parquet"))
    print(f"  lake: {sum(1 for _ in lake.rglob('*.parquet'))} files, {size / 1024 / 1024:.1f} MiB")


if __name__ == "__main__":
    main()

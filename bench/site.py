"""``site build`` against the number of latency sources: whole-process wall time, CPU and peak RSS.

Workspaces (written directly, under bench/.data/site/<label>/): ``ops/`` with 90 days of hourly
rollups as the latency job's day files (one row per source per hour, p95 around 2 s with one breaching
hour a day per source), nothing else: the rollups are what grows. Each run is a whole process
(``python -m observability site build --out _site``); one warm-up, then --repeat runs, median reported.

Usage: python bench/site.py [--repeat N] [--sources 10,100,1000]
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
DATA = HERE / ".data" / "site"
NOW = datetime(2026, 1, 8, 12, 7, tzinfo=UTC)
HEADER = "hour_utc,source,count,failure_count,failure_rate,p50_ms,p95_ms,p99_ms,max_ms,breach_flag,breach_streak\n"


def make(path: Path, sources: int, days: int = 90) -> None:
    if (path / "ops" / "done").exists():
        return
    shutil.rmtree(path, ignore_errors=True)
    directory = path / "ops" / "signal_latency_rollup"
    directory.mkdir(parents=True)
    start = NOW.replace(hour=0, minute=0) - timedelta(days=days - 1)
    for day in range(days):
        base = start + timedelta(days=day)
        lines = [HEADER]
        for hour in range(24 if day < days - 1 else NOW.hour + 1):
            stamp = (base + timedelta(hours=hour)).strftime("%Y-%m-%dT%H:00:00Z")
            for s in range(sources):
                p95 = 150000.0 if (hour + s) % 24 == 3 else 2000.0 + (s * 37 + hour * 11) % 500
                breach = "true" if p95 > 120000 else "false"
                lines.append(
                    f"{stamp},feed{s:04d},12,0,0.0000,{p95 / 2:.3f},{p95:.3f},{p95:.3f},{p95:.3f},{breach},0\n"
                )
        (directory / f"{base:%Y-%m-%d}.csv").write_text("".join(lines))
    (path / "ops" / "done").write_text("")


def run_once(path: Path) -> tuple[float, float, int]:
    env = {**os.environ, "OBS_NOW": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"), "PYTHONDONTWRITEBYTECODE": "1"}
    env = {k: v for k, v in env.items() if not k.startswith("GITHUB_")}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "observability", "site", "build", "--workspace", str(path), "--out", "_site"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"site build failed in {path}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sources", default="10,100,1000")
    args = parser.parse_args()
    print("| sources | rollup rows | wall s (median) | CPU s | peak RSS MiB | site files | index.html KiB |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for count in (int(n) for n in args.sources.split(",")):
        path = DATA / f"s{count}"
        make(path, count)
        run_once(path)
        runs = [run_once(path) for _ in range(args.repeat)]
        rows = sum(1 for f in (path / "ops" / "signal_latency_rollup").iterdir() for _ in f.open()) - 90
        files = sum(1 for p in (path / "_site").rglob("*") if p.is_file())
        index = (path / "_site" / "index.html").stat().st_size // 1024
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        rss = max(r[2] for r in runs)
        print(f"| {count:,} | {rows:,} | {wall:.2f} | {cpu:.2f} | {rss} | {files} | {index:,} |")


if __name__ == "__main__":
    main()

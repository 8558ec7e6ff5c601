"""Reading a large signal log: one ``observability latency sample`` that ingests 100,000 new rows.

The 15-minute cycle (bench/run.py) reads ~150 rows, too few to show the reader's cost; this reads a
whole backlog (a first run on a long log, or a run after a long outage). The log is the current
notifier format, 10 sources, 5 s apart; 20 % of rows fail and carry a detail, some of them quoted
with escaped quotes (a quoted detail holding doubled quotes), so both the plain-line path and the csv path are used.
Each run is a separate process on a fresh workspace (the copy is not timed); one warm-up, then
--repeat runs; the median wall and CPU time (user + sys of the child) are printed.

Usage: python bench/signal_log.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRATCH = HERE / ".data" / "signal_log"
ROWS = 100_000
NOW = "2026-01-10T00:00:00Z"


def make_log(path: Path) -> None:
    rng = random.Random(1)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    lines = ["timestamp_utc,latency_ms,status,detail,source"]
    for i in range(ROWS):
        status = rng.choice(["success"] * 8 + ["failure", "error"])
        detail = "" if status == "success" else rng.choice(["HTTP 503", "timeout after 10 s", '"said ""no"""'])
        lines.append(
            f"{start + timedelta(seconds=5 * i):%Y-%m-%dT%H:%M:%SZ},{rng.uniform(10, 3000):.6f},"
            f"{status},{detail},feed_{i % 10}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description="signal-log reader benchmark")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    SCRATCH.mkdir(parents=True, exist_ok=True)
    log = SCRATCH / "signal.csv"
    if not log.exists():
        make_log(log)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "OBS_"))}
    env["OBS_NOW"] = NOW
    walls, cpus = [], []
    for run in range(args.repeat + 1):
        ws = SCRATCH / "ws"
        shutil.rmtree(ws, ignore_errors=True)
        (ws / "logs").mkdir(parents=True)
        shutil.copyfile(log, ws / "logs" / "signal.csv")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "observability",
                "latency",
                "sample",
                "--workspace",
                str(ws),
                "--input",
                "logs/signal.csv",
                "--max-raw-bytes",
                str(1 << 30),
                "--raw-retention-days",
                "3650",
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0 or f'"samples_written": {ROWS}' not in proc.stdout:
            sys.exit(f"run failed or stored the wrong number of rows:\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}")
        if run:  # the first run warms the page cache and .pyc files
            walls.append(wall)
            cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    print(
        f"{ROWS} rows: median wall {statistics.median(walls):.3f} s ({min(walls):.3f}-{max(walls):.3f}), "
        f"median CPU {statistics.median(cpus):.3f} s; load average {os.getloadavg()}"
    )


if __name__ == "__main__":
    main()

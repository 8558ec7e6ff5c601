"""The weekly report benchmark: whole-process timing over the nominal workspace, dry-run.

Workspace (built once, cached under bench/.data/weekly/): the upstream-sized runs/index.csv (229 runs,
the 39-column upstream header), a 2,190-row daily.csv for every run (six years, as upstream), the
portfolio summary and router telemetry, 90 days x 10 sources of hourly latency rollups and 96 latency
alert files in the reported week.

Scenario: `python -m observability weekly report --dry-run-webhook --week-start 2026-01-05` as its own
process (interpreter start-up and imports included, as on a runner), run --repeat times on the same
workspace (median, min, max reported). Target (issue 3): <= 1 s.

Usage: python bench/weekly.py [--repeat N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / ".data" / "weekly"
SOURCE = DATA / "workspace"
NOW = "2026-01-12T00:30:00Z"
WEEK = "2026-01-05"
RUNS, DAILY_DAYS, ROLLUP_DAYS = 229, 2190, 90
SOURCES = tuple(f"feed_{n:02d}" for n in range(10))
TARGET_SECONDS = 1.0
GENERATOR_VERSION = "1"


def build(target: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from observability.samplegen import weekly as samplegen

    samplegen.write_inputs(target, runs=RUNS, daily_runs=RUNS, daily_days=DAILY_DAYS)
    end = datetime(2026, 1, 12, tzinfo=UTC)
    samplegen.write_rollups(target / "ops" / "signal_latency_rollup.csv", end=end, days=ROLLUP_DAYS, sources=SOURCES)
    alerts = target / "out" / "latency_alerts"
    alerts.mkdir(parents=True)
    start = datetime(2026, 1, 5, tzinfo=UTC)
    for n in range(96):  # a busy week: an alert file every 105 minutes
        at = start + timedelta(minutes=105 * n)
        job_id = at.strftime("%Y%m%dT%H%M%SZ") + "-latency"
        item = {
            "id": f"{n % 7:016x}",
            "rule": "latency_slo",
            "source": SOURCES[n % 10],
            "severity": "warning",
            "status": "firing" if n % 3 else "resolved",
            "message": f"synthetic alert {n}",
            "owner": "observability-oncall",
            "next_action": "docs/runbook.md#latency",
            "breach_count": n,
            "breach_streak": n % 4,
            "last_breach_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "started_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        (alerts / f"{job_id}.json").write_text(json.dumps({"job_id": job_id, "alerts": [item]}), encoding="utf-8")
    (target / ".generator").write_text(GENERATOR_VERSION, encoding="utf-8")


def ensure_workspace() -> Path:
    marker = SOURCE / ".generator"
    if not marker.exists() or marker.read_text() != GENERATOR_VERSION:
        shutil.rmtree(SOURCE, ignore_errors=True)
        build(SOURCE)
    return SOURCE


def run_once(workspace: Path) -> tuple[float, dict]:
    env = {**os.environ, "OBS_NOW": NOW, "PYTHONPATH": str(ROOT)}
    for name in ("GITHUB_ACTIONS", "OBS_WEEKLY_WEBHOOK_URL", "OBS_WEBHOOK_SECRET"):
        env.pop(name, None)
    t0 = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "observability",
            "weekly",
            "report",
            "--dry-run-webhook",
            "--week-start",
            WEEK,
            "--workspace",
            str(workspace),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"weekly report failed ({done.returncode}):\n{done.stderr}")
    return elapsed, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON document")
    args = parser.parse_args()
    workspace = ensure_workspace()
    times, last = [], {}
    for _ in range(args.repeat):
        elapsed, last = run_once(workspace)
        times.append(elapsed)
    figures = {
        "scenario": "dry_run",
        "runs": RUNS,
        "daily_rows_per_run": DAILY_DAYS,
        "rollup_days": ROLLUP_DAYS,
        "sources": len(SOURCES),
        "repeat": args.repeat,
        "median_s": round(statistics.median(times), 3),
        "min_s": round(min(times), 3),
        "max_s": round(max(times), 3),
        "job_duration_ms": last.get("duration_ms"),
        "payload_size_bytes": last.get("payload_size_bytes"),
        "target_s": TARGET_SECONDS,
        "within_target": statistics.median(times) <= TARGET_SECONDS,
        "python": sys.version.split()[0],
        "date": date.today().isoformat(),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(
            f"weekly report (dry run, {RUNS} runs, {ROLLUP_DAYS} days x {len(SOURCES)} sources of rollups): "
            f"median {figures['median_s']} s (min {figures['min_s']}, max {figures['max_s']}) over {args.repeat}"
            f" run(s); in-process {figures['job_duration_ms']} ms; payload {figures['payload_size_bytes']} bytes; "
            f"target <= {TARGET_SECONDS} s: {'met' if figures['within_target'] else 'MISSED'}"
        )


if __name__ == "__main__":
    main()

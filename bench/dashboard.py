"""The dashboard export benchmark: whole-process timings over a large synthetic workspace.

Workspace (built once, cached under bench/.data/dashboard/): 1,000 runs in runs/index.csv, each
with a 2,000-row daily.csv (~60 MB in all), 100 state snapshots across 5 strategy series (every
archive layout), the router telemetry and 90 days x 10 sources of hourly latency rollups.

Scenarios, each `python -m observability dashboard export` as its own process (interpreter start-up
and imports included, as on a runner), run --repeat times (median, min, max reported):

  cold       fresh copy of the workspace: no manifest, no cache (copy not timed)
  unchanged  the same workspace again right after an export: nothing changed since
  one_run    one daily.csv rewritten with new content before the run: turnover rebuilt,
             every other file served from the content-keyed cache

Targets (issue 4): cold <= 5 s, unchanged <= 1 s.

Usage: python bench/dashboard.py [--repeat N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / ".data" / "dashboard"
SOURCE = DATA / "workspace"
SCRATCH = DATA / "scratch"
NOW = "2026-01-08T00:07:00Z"
RUNS, DAILY_ROWS, SNAPSHOTS = 1000, 2000, 100
TARGETS = {"cold": 5.0, "unchanged": 1.0}
GENERATOR_VERSION = "1"


def _daily(rng: random.Random, start: date) -> str:
    lines = ["date,breakouts,gate_pass,gate_block,ev_pass,ev_reject,fills,wins,pnl_pips\n"]
    for i in range(DAILY_ROWS):
        fills = rng.choice((0, 0, 0, 1, 2))
        wins = rng.randint(0, fills)
        pnl = round(rng.uniform(-8, 8) * fills, 4)
        day = (start + timedelta(days=i)).isoformat()
        if i % 3 == 0:
            day += " 00:00:00"  # upstream sometimes writes a time part
        lines.append(f"{day},{rng.randint(5, 250)},{rng.randint(0, 120)},{rng.randint(0, 120)},{fills},0,"
                     f"{fills},{wins},{pnl}\n")
    return "".join(lines)


def build(target: Path) -> None:
    rng = random.Random(42)
    runs = target / "runs"
    runs.mkdir(parents=True)
    index = ["run_id,run_dir,manifest_id,timestamp,symbol,mode,equity,trades,wins,total_pips,win_rate\n"]
    for n in range(RUNS):
        run_id = f"USDJPY_conservative_2025{(n // 28) % 12 + 1:02d}{n % 28 + 1:02d}_{n:06d}"
        (runs / run_id).mkdir()
        (runs / run_id / "daily.csv").write_text(_daily(rng, date(2018, 1, 1)), encoding="utf-8")
        empty = n % 5 == 0
        index.append(f"{run_id},runs/{run_id},,20250101_{n % 240000:06d},USDJPY,conservative,100000.0,"
                     f"{'' if empty else 100},{'' if empty else 55},,{'' if empty else 0.55}\n")
    (runs / "index.csv").write_text("".join(index), encoding="utf-8")
    archive = target / "ops" / "state_archive"
    layouts = ["day_orb_5m.DayORB5m/USDJPY/conservative/{s}.json",
               "strategies.day_orb_5m.DayORB5m/USDJPY/conservative/{s}_state.json",
               "tokyo_micro_mean_reversion.TokyoMicroMeanReversion/USDJPY/conservative/{s}_USDJPY_conservative_{s}.json",
               "day_orb_5m/USDJPY/bridge/{s}.json",
               "grid_USDJPY_bridge_or4_ktp0.6_ksl0.4_20250921_130919_{s}.json"]
    for n in range(SNAPSHOTS):
        stamp = f"202510{n // 24 + 1:02d}_{n % 24:02d}0000"
        path = archive / layouts[n % len(layouts)].format(s=stamp)
        path.parent.mkdir(parents=True, exist_ok=True)
        alpha = 20 + rng.random() * 10
        path.write_text(json.dumps({"meta": {"symbol": "USDJPY"}, "ev_global": {
            "alpha": alpha, "beta": 50 - alpha, "decay": 0.02, "conf": 0.95},
            "ev_buckets": {f"b{i}": {"alpha": 1.0, "beta": 1.0} for i in range(9)}}), encoding="utf-8")
    telemetry = target / "reports" / "portfolio_samples" / "router_demo" / "telemetry.json"
    telemetry.parent.mkdir(parents=True)
    telemetry.write_text(json.dumps({"execution_health": {f"s{i}": {"slippage_bps": 2.0 + i, "reject_rate": 0.01}
                                                          for i in range(10)}}), encoding="utf-8")
    rollup = [("hour_utc,source,count,failure_count,failure_rate,p50_ms,p95_ms,p99_ms,max_ms,breach_flag,"
               "breach_streak\n")]
    start = date(2025, 10, 10)
    for d in range(90):
        for h in range(24):
            for s in range(10):
                rollup.append(f"{(start + timedelta(days=d)).isoformat()}T{h:02d}:00:00Z,feed_{s},60,0,0.0000,"
                              "1800.000,2500.000,3000.000,3100.000,false,0\n")
    (target / "ops" / "signal_latency_rollup.csv").write_text("".join(rollup), encoding="utf-8")
    (target / ".generator").write_text(GENERATOR_VERSION)


def source_workspace() -> Path:
    if not (SOURCE / ".generator").exists() or (SOURCE / ".generator").read_text() != GENERATOR_VERSION:
        shutil.rmtree(SOURCE, ignore_errors=True)
        tmp = DATA / "workspace.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        build(tmp)
        os.replace(tmp, SOURCE)
    return SOURCE


def export(ws: Path, job_id: str) -> tuple[float, dict]:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "OBS_WORKSPACE")}
    env["OBS_NOW"] = NOW
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "observability", "dashboard", "export", "--workspace", str(ws),
                           "--job-id", job_id], capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"export failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed, json.loads(done.stdout)


def fresh_copy() -> Path:
    shutil.rmtree(SCRATCH, ignore_errors=True)
    shutil.copytree(source_workspace(), SCRATCH)
    return SCRATCH


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    source_workspace()
    results: dict[str, list[float]] = {"cold": [], "unchanged": [], "one_run": []}
    statuses: dict[str, dict] = {}
    counter = 0

    def job_id() -> str:
        nonlocal counter
        counter += 1
        return f"20260108T{counter // 3600:02d}{counter // 60 % 60:02d}{counter % 60:02d}Z-dashboard"

    for _ in range(args.repeat):
        ws = fresh_copy()
        elapsed, summary = export(ws, job_id())
        results["cold"].append(elapsed)
        statuses["cold"] = summary["datasets"]
        elapsed, summary = export(ws, job_id())
        results["unchanged"].append(elapsed)
        statuses["unchanged"] = summary["datasets"]
        daily = next((ws / "runs").glob("USDJPY_*/daily.csv"))
        daily.write_text(daily.read_text() + "2030-01-01,1,1,0,1,0,1,1,1.0\n")
        elapsed, summary = export(ws, job_id())
        results["one_run"].append(elapsed)
        statuses["one_run"] = summary["datasets"]
    shutil.rmtree(SCRATCH, ignore_errors=True)
    report = {name: {"median_s": round(statistics.median(v), 3), "min_s": round(min(v), 3), "max_s": round(max(v), 3),
                     "target_s": TARGETS.get(name), "datasets": {k: d["status"] for k, d in statuses[name].items()}}
              for name, v in results.items()}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"dashboard export: {RUNS} runs x {DAILY_ROWS} daily rows, {SNAPSHOTS} snapshots, "
              f"{args.repeat} repeats")
        for name, figures in report.items():
            target = f" (target <= {figures['target_s']} s)" if figures["target_s"] else ""
            print(f"  {name:10s} median {figures['median_s']:.3f} s  min {figures['min_s']:.3f}  "
                  f"max {figures['max_s']:.3f}{target}  {figures['datasets']}")
    failed = [n for n, f in report.items() if f["target_s"] and f["median_s"] > f["target_s"]]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Lake query latency: three questions over 10,000 runs, by the lake and by scripts over the raw files.

Data (built once per size under bench/.data/lake_query/): --runs runs in the upstream layout
(runs/index.csv with the numeric columns, and runs/<run_id>/metrics.json + params.json per run), over
18 months and 8 strategies, and the same runs as a lake in the layout of docs/lake.md (runs and stats
hive-partitioned by day, one part file per day as a daily ingest leaves them, before any compaction),
written here with PyArrow so the bench does not depend on `lake ingest`; and once more as one file per
table (lake_single), to show what the number of files costs.

Questions:

  q1  runs with sharpe > 2.0 in 2024-Q4, the 10 best by sharpe
  q2  sharpe by strategy in 2024-Q4: count, mean, median, min, max, stddev
  q3  total pips and runs per month, every month

Ways, each a whole process (interpreter start-up and imports included, as on a runner), run once to warm
up and then --repeat times, interleaved round by round; medians (min-max) of wall time and CPU time:

  cli       `observability lake runs|stats|query` (the JSON summary's result)
  api       `python -c` with observability.lake.query_runs / aggregate_stats / query
  api1file  the same over the same rows written as one Parquet file per table (no daily partitions)
  rawjson   Python over runs/*/metrics.json + params.json (what grepping results/ becomes)
  pandas    pandas.read_csv of runs/index.csv (skipped when pandas is not installed)

Every way's answer is checked against the others (floats to 1e-9 relative) before any figure is printed.

Usage: python bench/lake_query.py [--runs N] [--repeat N] [--json]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / ".data" / "lake_query"
PY = sys.executable
STRATEGIES = ("orb", "meanrev", "momentum", "carry", "breakout", "grid", "scalper", "swing")
SYMBOLS = ("USDJPY", "EURUSD", "GBPUSD", "AUDUSD")
START = dt.datetime(2024, 1, 1)
DAYS = 548  # 2024-01-01 .. 2025-07-01
GENERATOR_VERSION = "2"  # 2: lake_single


def build(n: int) -> Path:
    """The raw runs and the lake for ``n`` runs (cached; rebuilt when the generator changes)."""
    base = DATA / f"{n}"
    stamp = base / "version"
    if stamp.is_file() and stamp.read_text() == GENERATOR_VERSION:
        return base
    import pyarrow as pa
    import pyarrow.parquet as pq

    shutil.rmtree(base, ignore_errors=True)
    rng = random.Random(15)
    runs, index_rows = [], []
    for i in range(n):
        when = START + dt.timedelta(seconds=rng.randrange(DAYS * 86400))
        strategy, symbol = rng.choice(STRATEGIES), rng.choice(SYMBOLS)
        run_id = f"{strategy}_{symbol}_{when:%Y%m%d_%H%M%S}_{i:05d}"
        trades = rng.randint(5, 300)
        wins = rng.randint(0, trades)
        metrics = {
            "trades": trades,
            "wins": wins,
            "win_rate": wins / trades,
            "total_pips": round(rng.gauss(0, 150), 6),
            "sharpe": round(rng.gauss(0.5, 1.2), 6),
            "max_drawdown": round(-abs(rng.gauss(0, 300)), 6),
        }
        run_dir = base / "raw" / "runs" / run_id
        run_dir.mkdir(parents=True)
        (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
        (run_dir / "params.json").write_text(json.dumps({"symbol": symbol, "mode": strategy, "k_tp": 1.0}, indent=2))
        index_rows.append(
            {"run_id": run_id, "timestamp": f"{when:%Y%m%d_%H%M%S}", "symbol": symbol, "mode": strategy, **metrics}
        )
        runs.append((run_id, strategy, symbol, when, metrics))
    with (base / "raw" / "runs" / "index.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(index_rows[0]))
        writer.writeheader()
        writer.writerows(index_rows)
    by_day: dict[str, list] = {}
    for run in runs:
        by_day.setdefault(run[3].date().isoformat(), []).append(run)
    for day, items in by_day.items():
        for table, rows in (
            (
                "runs",
                {
                    "run_id": [r[0] for r in items],
                    "strategy": [r[1] for r in items],
                    "symbol": [r[2] for r in items],
                    "start_date": [(r[3] - dt.timedelta(days=90)).date() for r in items],
                    "end_date": [r[3].date() for r in items],
                    "git_sha": ["0" * 40 for _ in items],
                    "timestamp": [r[3] for r in items],
                    "stage": ["backtest" for _ in items],
                    "runner": ["run_sim.py" for _ in items],
                    "params": [json.dumps({"k_tp": 1.0}) for _ in items],
                },
            ),
            (
                "stats",
                {
                    "run_id": [r[0] for r in items for _ in r[4]],
                    "metric": [m for r in items for m in r[4]],
                    "value": [float(v) for r in items for v in r[4].values()],
                },
            ),
        ):
            target = base / "lake" / table / f"date={day}"
            target.mkdir(parents=True)
            pq.write_table(pa.table(rows), target / "part-00000.parquet")
    for table in ("runs", "stats"):  # the same rows, one file per table: what coarser partitions approach
        parts = [pq.read_table(p) for p in sorted((base / "lake" / table).rglob("*.parquet"))]
        (base / "lake_single" / table).mkdir(parents=True)
        pq.write_table(pa.concat_tables(parts), base / "lake_single" / table / "part-00000.parquet")
    (base / "ws" / "ops").mkdir(parents=True)
    stamp.write_text(GENERATOR_VERSION)
    return base


# The scripts each way runs; {lake} and {raw} are filled in. Each prints its answer as JSON.
API = {
    "q1": "from observability.lake import query_runs; import json; print(json.dumps([[r['run_id'], r['sharpe']] for r in "
    "query_runs('sharpe > 2.0', lake={lake!r}, since='2024-10-01', until='2024-12-31', order_by='sharpe desc, run_id', limit=10)]))",
    "q2": "from observability.lake import aggregate_stats; import json; print(json.dumps([[r['strategy'], r['count'], r['mean'], "
    "r['median'], r['min'], r['max'], r['stddev']] for r in aggregate_stats('sharpe', group_by='strategy', period='2024-Q4', lake={lake!r})]))",
    "q3": "from observability.lake import query; import json; print(json.dumps([[r['month'], r['runs'], r['pips']] for r in query("
    "\"SELECT strftime(r.timestamp, '%Y-%m') AS month, count(*) AS runs, sum(s.value) AS pips FROM runs r JOIN stats s "
    "USING (run_id) WHERE s.metric = 'total_pips' GROUP BY 1 ORDER BY 1\", lake={lake!r})]))",
}
SQL_Q3 = (
    "SELECT strftime(r.timestamp, '%Y-%m') AS month, count(*) AS runs, sum(s.value) AS pips "
    "FROM runs r JOIN stats s USING (run_id) WHERE s.metric = 'total_pips' GROUP BY 1 ORDER BY 1"
)
CLI = {
    "q1": [
        "runs",
        "--where",
        "sharpe > 2.0",
        "--since",
        "2024-10-01",
        "--until",
        "2024-12-31",
        "--order-by",
        "sharpe desc, run_id",
        "--limit",
        "10",
    ],
    "q2": ["stats", "--metric", "sharpe", "--group-by", "strategy", "--period", "2024-Q4"],
    "q3": ["query", SQL_Q3],
}
CLI_FIELDS = {
    "q1": ("run_id", "sharpe"),
    "q2": ("strategy", "count", "mean", "median", "min", "max", "stddev"),
    "q3": ("month", "runs", "pips"),
}
RAW = """
import json, os, statistics, datetime as dt
root = {raw!r} + '/runs'
rows = []
for name in os.listdir(root):
    d = os.path.join(root, name)
    if not os.path.isdir(d):
        continue
    with open(d + '/metrics.json') as f: m = json.load(f)
    with open(d + '/params.json') as f: p = json.load(f)
    when = dt.datetime.strptime(name.split('_')[2] + name.split('_')[3], '%Y%m%d%H%M%S')
    rows.append((name, p['mode'], when, m))
q4 = [r for r in rows if dt.datetime(2024, 10, 1) <= r[2] < dt.datetime(2025, 1, 1)]
"""
RAW_Q = {
    "q1": "best = sorted((r for r in q4 if r[3]['sharpe'] > 2.0), key=lambda r: (-r[3]['sharpe'], r[0]))[:10]\n"
    "print(json.dumps([[r[0], r[3]['sharpe']] for r in best]))",
    "q2": "g = {{}}\nfor r in q4: g.setdefault(r[1], []).append(r[3]['sharpe'])\n"
    "print(json.dumps([[k, len(v), statistics.fmean(v), statistics.median(v), min(v), max(v), statistics.stdev(v) if len(v) > 1 else None] for k, v in sorted(g.items())]))",
    "q3": "g = {{}}\nfor r in rows: g.setdefault(r[2].strftime('%Y-%m'), []).append(r[3]['total_pips'])\n"
    "print(json.dumps([[k, len(v), sum(v)] for k, v in sorted(g.items())]))",
}
PANDAS = """
import json, pandas as pd
df = pd.read_csv({raw!r} + '/runs/index.csv', dtype={{'timestamp': str}})
df['when'] = pd.to_datetime(df['timestamp'], format='%Y%m%d_%H%M%S')
q4 = df[(df['when'] >= '2024-10-01') & (df['when'] < '2025-01-01')]
"""
PANDAS_Q = {
    "q1": "best = q4[q4['sharpe'] > 2.0].sort_values(['sharpe', 'run_id'], ascending=[False, True]).head(10)\n"
    "print(json.dumps([[r, float(s)] for r, s in zip(best['run_id'], best['sharpe'])]))",
    "q2": "g = q4.groupby('mode')['sharpe'].agg(['count', 'mean', 'median', 'min', 'max', 'std'])\n"
    "print(json.dumps([[k, int(r['count']), float(r['mean']), float(r['median']), float(r['min']), float(r['max']), float(r['std'])] for k, r in g.iterrows()]))",
    "q3": "df['month'] = df['when'].dt.strftime('%Y-%m')\ng = df.groupby('month')['total_pips'].agg(['count', 'sum'])\n"
    "print(json.dumps([[k, int(r['count']), float(r['sum'])] for k, r in g.iterrows()]))",
}


def _has_pandas() -> bool:
    return subprocess.run([PY, "-c", "import pandas"], capture_output=True).returncode == 0


def commands(base: Path) -> dict[str, dict[str, list[str]]]:
    lake, raw, ws = str(base / "lake"), str(base / "raw"), str(base / "ws")
    ways = {
        "cli": {
            q: [PY, "-m", "observability", "lake", *args, "--lake", lake, "--workspace", ws] for q, args in CLI.items()
        },
        "api": {q: [PY, "-c", code.format(lake=lake)] for q, code in API.items()},
        "api1file": {q: [PY, "-c", code.format(lake=str(base / "lake_single"))] for q, code in API.items()},
        "rawjson": {q: [PY, "-c", RAW.format(raw=raw) + code.format()] for q, code in RAW_Q.items()},
    }
    if _has_pandas():
        ways["pandas"] = {q: [PY, "-c", PANDAS.format(raw=raw) + code] for q, code in PANDAS_Q.items()}
    return ways


def run_once(argv: list[str]) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + sys of the child) and its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{argv[:4]}... failed ({done.returncode}):\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def answer(way: str, question: str, stdout: str) -> list:
    if way == "baseline":  # interpreter start-up and the DuckDB and PyArrow imports: no answer
        return []
    if way == "cli":
        rows = json.loads(stdout)["result"]["rows"]
        value = [[r[f] for f in CLI_FIELDS[question]] for r in rows]
    else:
        value = json.loads(stdout.strip().splitlines()[-1])
    return value


def same(a, b) -> bool:
    """Equal answers, floats to 1e-9 relative (sums in another order differ in the last digits)."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    base = build(args.runs)
    built = time.perf_counter() - started
    ways = commands(base)
    ways["baseline"] = {q: [PY, "-c", "import duckdb, pyarrow"] for q in ("q1", "q2", "q3")}
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    answers: dict[str, dict[str, list]] = {}
    for round_no in range(args.repeat + 1):
        for question in ("q1", "q2", "q3"):
            for way, argvs in ways.items():
                wall, cpu, out = run_once(argvs[question])
                if round_no == 0:
                    answers.setdefault(question, {})[way] = answer(way, question, out)
                else:
                    times.setdefault((way, question), []).append((wall, cpu))
    for question, by_way in answers.items():
        by_way.pop("baseline", None)
        first = next(iter(by_way.values()))
        for way, value in by_way.items():
            if not same(value, first):
                raise SystemExit(f"{question}: {way} answers {value[:3]}..., others {first[:3]}...")
    lake_bytes = sum(p.stat().st_size for p in (base / "lake").rglob("*.parquet"))
    lake_files = sum(1 for _ in (base / "lake").rglob("*.parquet"))
    report = {
        "runs": args.runs,
        "repeat": args.repeat,
        "lake_mib": round(lake_bytes / 2**20, 2),
        "lake_files": lake_files,
        "build_s": round(built, 1),
        "rows": {q: len(v["cli"]) for q, v in answers.items()},
        "times": {
            f"{way} {q}": {
                "wall_median": round(statistics.median(w for w, _ in t), 3),
                "wall_min": round(min(w for w, _ in t), 3),
                "wall_max": round(max(w for w, _ in t), 3),
                "cpu_median": round(statistics.median(c for _, c in t), 3),
            }
            for (way, q), t in times.items()
        },
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{args.runs} runs; lake {report['lake_mib']} MiB in {lake_files} files; answers agree")
    print(f"{'way':8} {'question':8} {'wall median (min-max)':28} cpu median")
    for key, t in report["times"].items():
        way, q = key.split()
        print(
            f"{way:8} {q:8} {t['wall_median']:.3f} s ({t['wall_min']:.3f}-{t['wall_max']:.3f}){'':6} {t['cpu_median']:.3f} s"
        )


if __name__ == "__main__":
    main()

"""Small lakes built with PyArrow following the layout contract of docs/lake.md, for the query tests.

Fact tables are hive-partitioned ``<root>/<table>/date=YYYY-MM-DD/part-*.parquet``; dimension tables
are ``<root>/<table>/part-*.parquet``. ``upstream_lake`` maps the real upstream fixtures' runs/index.csv
and each run's metrics.json onto runs + stats the way the ingest documents it.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from collections import defaultdict
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow", reason="the lake needs the [lake] extra (pyarrow)")
pq = pytest.importorskip("pyarrow.parquet", reason="the lake needs the [lake] extra (pyarrow)")
pytest.importorskip("duckdb", reason="the lake needs the [lake] extra (duckdb)")

RUNS_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("strategy", pa.string()),
        ("symbol", pa.string()),
        ("start_date", pa.date32()),
        ("end_date", pa.date32()),
        ("git_sha", pa.string()),
        ("timestamp", pa.timestamp("us")),
        ("stage", pa.string()),
        ("runner", pa.string()),
        ("params", pa.string()),
    ]
)
STATS_SCHEMA = pa.schema([("run_id", pa.string()), ("metric", pa.string()), ("value", pa.float64())])
STRATEGIES_SCHEMA = pa.schema(
    [("strategy", pa.string()), ("tier", pa.string()), ("category", pa.string()), ("last_updated", pa.date32())]
)


def write_fact(root: Path, table: str, rows: list[dict], schema, day_of) -> None:
    """Rows of a fact table, one part file per ``date=`` partition (``day_of(row)``)."""
    by_day: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_day[day_of(row)].append(row)
    for day, part in sorted(by_day.items()):
        target = root / table / f"date={day}"
        target.mkdir(parents=True, exist_ok=True)
        pq.write_table(
            pa.Table.from_pylist(part, schema=schema), target / f"part-{len(list(target.iterdir())):05d}.parquet"
        )


def write_dimension(root: Path, table: str, rows: list[dict], schema) -> None:
    (root / table).mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), root / table / "part-00000.parquet")


def run(run_id: str, when: str, strategy="day_orb_5m", symbol="USDJPY", stage="backtest", **metrics) -> dict:
    """One run as the tests describe it: its row of ``runs`` and its metrics (``_metrics``)."""
    stamp = dt.datetime.fromisoformat(when)
    return {
        "run_id": run_id,
        "strategy": strategy,
        "symbol": symbol,
        "start_date": stamp.date() - dt.timedelta(days=30),
        "end_date": stamp.date(),
        "git_sha": "0" * 40,
        "timestamp": stamp,
        "stage": stage,
        "runner": "run_sim.py",
        "params": json.dumps({"k_tp": 1.0}),
        "_metrics": metrics,
    }


def make_lake(root: Path, runs: list[dict], strategies: list[dict] | None = None) -> Path:
    """A lake of ``runs`` (from :func:`run`) and their ``stats``, the runs split by date partition."""
    day = {r["run_id"]: r["timestamp"].date().isoformat() for r in runs}
    write_fact(
        root,
        "runs",
        [{k: v for k, v in r.items() if k != "_metrics"} for r in runs],
        RUNS_SCHEMA,
        lambda r: day[r["run_id"]],
    )
    stats = [{"run_id": r["run_id"], "metric": m, "value": v} for r in runs for m, v in r["_metrics"].items()]
    write_fact(root, "stats", stats, STATS_SCHEMA, lambda s: day[s["run_id"]])
    if strategies:
        write_dimension(root, "strategies", strategies, STRATEGIES_SCHEMA)
    # The manifest lists every file, as ingest's does: queries read only the files it lists.
    files = {
        path.relative_to(root).as_posix(): {"table": path.relative_to(root).parts[0]}
        for path in sorted(root.rglob("*.parquet"))
    }
    (root / "_manifest.json").write_text(json.dumps({"version": 1, "schema_version": 1, "inputs": [], "files": files}))
    return root


# Read at import, as the other helpers do: the test environment is scrubbed of OBS_* before each test.
FIXTURES = Path(
    os.environ.get("OBS_TEST_UPSTREAM_FIXTURES") or Path(__file__).resolve().parents[2] / "shared/fixtures/upstream"
)


def upstream_fixtures() -> Path:
    """The real upstream fixtures, or a skip saying where they were looked for."""
    found = FIXTURES
    if not (found / "runs" / "index.csv").is_file():
        pytest.skip(f"the upstream fixtures are not at {found} (set OBS_TEST_UPSTREAM_FIXTURES)")
    return found


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text not in (None, "") else None
    except ValueError:
        return None
    return value


def upstream_runs(upstream: Path) -> list[dict]:
    """runs/index.csv and each run's metrics.json as :func:`run` rows: every numeric column of the
    index and every numeric top-level key of metrics.json is a metric; strategy is the index's mode,
    stage research for grid searches (grid_*) else backtest."""
    skip = {"run_id", "run_dir", "manifest_id", "timestamp", "symbol", "mode", "state_path"}
    found: dict[str, dict] = {}
    with (upstream / "runs" / "index.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            metrics = {k: v for k, v in ((k, _number(v)) for k, v in row.items() if k not in skip) if v is not None}
            stamp = dt.datetime.strptime(row["timestamp"], "%Y%m%d_%H%M%S").isoformat()
            stage = "research" if row["run_id"].startswith("grid_") else "backtest"
            found[row["run_id"]] = run(
                row["run_id"], stamp, strategy=row["mode"], symbol=row["symbol"], stage=stage, **metrics
            )
    for metrics_file in sorted((upstream / "runs").glob("*/metrics.json")):
        run_id = metrics_file.parent.name
        data = json.loads(metrics_file.read_text())
        numbers = {k: float(v) for k, v in data.items() if isinstance(v, int | float) and not isinstance(v, bool)}
        if run_id in found:
            found[run_id]["_metrics"].update(numbers)
        else:
            stamp = dt.datetime.strptime(run_id[-15:], "%Y%m%d_%H%M%S").isoformat()
            params = json.loads((metrics_file.parent / "params.json").read_text())
            found[run_id] = run(
                run_id, stamp, strategy=params.get("mode", "unknown"), symbol=params.get("symbol"), **numbers
            )
    return list(found.values())


def upstream_lake(root: Path) -> tuple[Path, list[dict]]:
    runs = upstream_runs(upstream_fixtures())
    return make_lake(root, runs), runs

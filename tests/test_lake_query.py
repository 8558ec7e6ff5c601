"""lake query / runs / stats and the Python API over small lakes built to the layout contract."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import shutil
import statistics
from pathlib import Path

import pytest

import _support_state
from _support_inprocess import run_cli_in_process
from _support_lake import make_lake, run, upstream_fixtures, upstream_lake
from observability.lake import aggregate_stats, query, query_runs
from observability.lake.query import LakeQueryError, LakeUnavailableError

s3_server = _support_state.s3_server

RUNS = [
    run("a1", "2024-10-03T09:00:00", strategy="orb", symbol="USDJPY", sharpe=2.5, win_rate=0.6, trades=40),
    run("a2", "2024-11-15T09:00:00", strategy="orb", symbol="EURUSD", sharpe=1.2, win_rate=0.5, trades=30),
    run("a3", "2024-12-31T23:00:00", strategy="meanrev", symbol="USDJPY", stage="research", sharpe=3.1, win_rate=0.7),
    run("a4", "2024-09-30T23:59:59", strategy="meanrev", symbol="USDJPY", sharpe=4.0, win_rate=0.9),
    run("a5", "2025-01-01T00:00:00", strategy="orb", symbol="USDJPY", stage="live", sharpe=2.2),
    run("a6", "2024-10-20T12:00:00", strategy="orb", symbol="USDJPY", sharpe=float("nan")),
]


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    return make_lake(
        tmp_path / "lake",
        RUNS,
        strategies=[{"strategy": "orb", "tier": "A", "category": "breakout", "last_updated": dt.date(2024, 9, 1)}],
    )


@pytest.fixture
def ws(tmp_path: Path, lake: Path) -> Path:
    (tmp_path / "ops").mkdir()
    return tmp_path


def cli(ws: Path, *args: str):
    result = run_cli_in_process(["lake", *args, "--workspace", str(ws)])
    summary = json.loads(result.stdout) if result.stdout.strip() else {}
    return result, summary


# --- the Python API


def test_query_runs_answers_the_seeds_first_question(lake: Path) -> None:
    rows = query_runs(
        "sharpe > 2.0", lake=lake, since="2024-10-01", until="2024-12-31", order_by="sharpe desc", limit=10
    )
    assert [(r["run_id"], r["sharpe"]) for r in rows] == [("a3", 3.1), ("a1", 2.5)]
    assert rows[0]["strategy"] == "meanrev" and rows[0]["timestamp"] == "2024-12-31T23:00:00"


def test_query_runs_takes_the_seeds_filter_set_with_a_bare_date(lake: Path) -> None:
    rows = query_runs({"sharpe > 2.0", "start_date >= 2024-10-01"}, lake=lake, order_by="sharpe desc", limit=10)
    assert [r["run_id"] for r in rows] == ["a3", "a5"]  # start_date is 30 days before the run: a1's is in September


def test_where_combines_and_or_not_and_parentheses(lake: Path) -> None:
    rows = query_runs(
        "(symbol = 'EURUSD' or stage = \"live\") and not sharpe < 2 or trades >= 40", lake=lake, order_by="run_id"
    )
    assert [r["run_id"] for r in rows] == ["a1", "a5"]
    assert [r["run_id"] for r in query_runs("win_rate is null", lake=lake, order_by="run_id")] == ["a5", "a6"]


def test_aggregate_stats_answers_the_seeds_second_question(lake: Path) -> None:
    rows = aggregate_stats("sharpe", group_by="strategy", period="2024-Q4", lake=lake)
    # a4 is in Q3 by one second, a5 in 2025, a6's NaN is no value
    assert rows == [
        {"strategy": "meanrev", "count": 1, "mean": 3.1, "median": 3.1, "min": 3.1, "max": 3.1, "stddev": None},
        {
            "strategy": "orb",
            "count": 2,
            "mean": pytest.approx(1.85),
            "median": pytest.approx(1.85),
            "min": 1.2,
            "max": 2.5,
            "stddev": pytest.approx(statistics.stdev([2.5, 1.2])),
        },
    ]


@pytest.mark.parametrize(
    ("period", "group_by", "expected"),
    [
        ("2024-10", "symbol", [("USDJPY", 1)]),
        ("2024", "month", [("2024-09", 1), ("2024-10", 1), ("2024-11", 1), ("2024-12", 1)]),
        ("2025-q1", "stage", [("live", 1)]),
        (None, None, [(None, 5)]),
    ],
)
def test_aggregate_stats_periods_and_groups(lake: Path, period, group_by, expected) -> None:
    rows = aggregate_stats("sharpe", group_by=group_by, period=period, lake=lake)
    assert [(r.get(group_by) if group_by else None, r["count"]) for r in rows] == expected


def test_explain_of_a_select_runs(lake: Path) -> None:
    rows = query("EXPLAIN ANALYZE SELECT count(*) FROM runs", lake=lake)
    assert rows[0]["explain_key"] == "analyzed_plan"


def test_query_reads_every_table_as_a_view(lake: Path) -> None:
    rows = query(
        "SELECT r.strategy, s.tier, count(*) AS n FROM runs r JOIN strategies s USING (strategy) GROUP BY ALL",
        lake=lake,
    )
    assert rows == [{"strategy": "orb", "tier": "A", "n": 4}]
    assert query("SELECT count(DISTINCT date) AS days FROM stats", lake=lake) == [{"days": 6}]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("CREATE TABLE x AS SELECT 1", "CREATE statements are refused"),
        ("COPY runs TO 'lake/x.csv'", "COPY statements are refused"),
        ("ATTACH 'other.db'", "ATTACH statements are refused"),
        ("INSTALL httpfs", "statements are refused"),
        ("SET enable_external_access = true", "SET statements are refused"),
        ("EXPLAIN ANALYZE COPY runs TO '{lake}/x.csv'", "COPY statements are refused"),
        ("/* */ EXPLAIN ANALYZE COPY runs TO '{lake}/x.csv'", "EXPLAIN: write it as EXPLAIN [ANALYZE] SELECT"),
        ("EXPLAIN ANALYZE CREATE TABLE t AS SELECT 1", "CREATE statements are refused"),
        ("SELECT 1; SELECT 2", "exactly one statement (got 2)"),
        ("SELEC 1", "does not parse"),
        ("SELECT * FROM read_csv('/etc/passwd')", "reaches outside the lake"),
        ("SELECT * FROM read_parquet('{lake}/../elsewhere.parquet')", "reaches outside the lake"),
        ("SELECT * FROM nonesuch", "the query failed"),
    ],
)
def test_query_is_read_only_and_stays_in_the_lake(lake: Path, sql: str, message: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"x": [1]}), lake.parent / "elsewhere.parquet")
    with pytest.raises(LakeQueryError, match=re.escape(message)):
        query(sql.format(lake=lake), lake=lake)
    assert sorted(p.name for p in lake.iterdir()) == ["_manifest.json", "runs", "stats", "strategies"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda lake: query_runs("sharp > 2", lake=lake), "--where: unknown column 'sharp'; known: .*sharpe.*symbol"),
        (lambda lake: query_runs("sharpe >", lake=lake), "expected a literal .*found the end"),
        (lambda lake: query_runs("sharpe > run_id", lake=lake), "expected a literal .*'run_id' at column 10"),
        (lambda lake: query_runs("sharpe > 1; drop table runs", lake=lake), "cannot read ';"),
        (lambda lake: query_runs("(sharpe > 1", lake=lake), "expected '\\)'"),
        (lambda lake: query_runs(order_by="sharpe sideways", lake=lake), "--order-by: expected 'name"),
        (lambda lake: query_runs(order_by="profit desc", lake=lake), "--order-by: unknown column 'profit'"),
        (lambda lake: query_runs(since="last week", lake=lake), "--since: 'last week' is not an ISO date"),
        (
            lambda lake: aggregate_stats("sortino", lake=lake),
            "--metric: unknown metric 'sortino'; known: sharpe, trades, win_rate",
        ),
        (lambda lake: aggregate_stats("sharpe", group_by="colour", lake=lake), "--group-by: unknown 'colour'"),
        (lambda lake: aggregate_stats("sharpe", period="2024-13", lake=lake), "--period: '2024-13' is not a year"),
    ],
)
def test_bad_filters_name_the_problem(lake: Path, call, message: str) -> None:
    with pytest.raises(LakeQueryError, match=message):
        call(lake)


def test_a_missing_lake_says_to_ingest_first(tmp_path: Path) -> None:
    with pytest.raises(LakeUnavailableError, match="no lake at .*lake ingest"):
        query_runs(lake=tmp_path / "nowhere")


def test_a_missing_extra_is_a_setup_error_exit_2_like_ingest(ws: Path, monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "duckdb", None)  # import duckdb raises ImportError
    with pytest.raises(LakeUnavailableError, match=r"pip install 'observability\[lake\]'"):
        query_runs(lake=ws / "lake")
    result, summary = cli(ws, "runs", "--limit", "1")
    assert result.returncode == 2, result.stderr
    assert summary["diagnostics"]["error_code"] == "lake_extra_missing"
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    ingest = run_cli_in_process(["lake", "ingest", "--workspace", str(ws)])
    assert ingest.returncode == 2  # the same exit for the same cause


# --- the commands


def test_lake_runs_command_puts_rows_in_the_summary_and_the_table_on_stderr(ws: Path) -> None:
    result, summary = cli(
        ws, "runs", "--where", "sharpe > 2.0", "--since", "2024-10-01", "--order-by", "sharpe desc", "--limit", "10"
    )
    assert result.returncode == 0, result.stderr
    assert summary["status"] == "ok" and summary["output"] is None
    assert [r["run_id"] for r in summary["result"]["rows"]] == ["a3", "a1", "a5"]
    assert summary["result"]["row_count"] == 3 and summary["result"]["truncated"] is False
    header = result.stderr.splitlines()[0].split()
    assert header[:3] == ["run_id", "strategy", "symbol"] and "(3 rows)" in result.stderr


@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_lake_stats_command_writes_out_in_the_format(ws: Path, fmt: str) -> None:
    result, summary = cli(
        ws,
        "stats",
        "--metric",
        "sharpe",
        "--group-by",
        "strategy",
        "--period",
        "2024-Q4",
        "--format",
        fmt,
        "--out",
        f"out/q.{fmt}",
    )
    assert result.returncode == 0, result.stderr
    text = (ws / "out" / f"q.{fmt}").read_text()
    assert summary["output"] == f"out/q.{fmt}" and f"out/q.{fmt}" in summary["artefacts"]
    if fmt == "csv":
        assert list(csv.DictReader(text.splitlines()))[1]["mean"] == "1.85"
    elif fmt == "json":
        assert json.loads(text) == summary["result"]["rows"]
    else:
        assert text.splitlines()[2].split() == ["meanrev", "1", "3.1", "3.1", "3.1", "3.1"]
    assert "meanrev" not in result.stderr  # the answer went to --out


def test_lake_query_command_refuses_a_write_with_exit_2(ws: Path) -> None:
    result, summary = cli(ws, "query", "DROP VIEW runs")
    assert result.returncode == 2
    assert summary["diagnostics"]["error_code"] == "invalid_query"
    assert "DROP statements are refused" in summary["diagnostics"]["error_message"]


def test_lake_runs_command_names_the_bad_column(ws: Path) -> None:
    result, summary = cli(ws, "runs", "--where", "sharp > 2")
    assert result.returncode == 2
    assert summary["diagnostics"]["error_message"].startswith("--where: unknown column 'sharp'; known: ")


def test_lake_query_reads_an_s3_lake(ws: Path, lake: Path, s3_server) -> None:
    from _support_robust import clean_env
    from _support_state import fresh_bucket, s3_client, s3_env

    bucket = fresh_bucket(s3_server)
    client = s3_client(s3_server)
    for path in lake.rglob("*.parquet"):
        client.put_object(Bucket=bucket, Key=f"team/lake/{path.relative_to(lake).as_posix()}", Body=path.read_bytes())
    result = run_cli_in_process(
        [
            "lake",
            "query",
            "--lake",
            f"s3://{bucket}/team/lake",
            "SELECT count(*) AS n FROM runs",
            "--workspace",
            str(ws),
        ],
        env={k: v for k, v in {**clean_env(), **s3_env(s3_server)}.items() if v is not None},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"]["rows"] == [{"n": 6}]


# --- the seed's three questions on the real upstream fixtures


def _index() -> list[dict]:
    with (upstream_fixtures() / "runs" / "index.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_upstream_runs_with_a_high_win_rate_in_september(tmp_path: Path) -> None:
    lake, _ = upstream_lake(tmp_path / "lake")
    rows = query_runs(
        "win_rate > 0.75", lake=lake, since="2025-09-01", until="2025-09-30", order_by="win_rate desc, run_id", limit=10
    )
    expected = sorted(
        (
            (-float(r["win_rate"]), r["run_id"])
            for r in _index()
            if r["win_rate"] and float(r["win_rate"]) > 0.75 and r["timestamp"].startswith("202509")
        ),
    )[:10]
    assert [(-r["win_rate"], r["run_id"]) for r in rows] == expected and rows


def test_upstream_mean_win_rate_by_strategy_in_the_quarter(tmp_path: Path) -> None:
    lake, _ = upstream_lake(tmp_path / "lake")
    rows = {r["strategy"]: r for r in aggregate_stats("win_rate", group_by="strategy", period="2025-Q3", lake=lake)}
    by_mode: dict[str, list[float]] = {}
    for r in _index():
        if r["win_rate"] and r["timestamp"][:6] in ("202507", "202508", "202509"):
            by_mode.setdefault(r["mode"], []).append(float(r["win_rate"]))
    assert set(rows) == set(by_mode)
    for mode, values in by_mode.items():
        assert rows[mode]["count"] == len(values)
        assert rows[mode]["mean"] == pytest.approx(statistics.fmean(values))
        assert rows[mode]["median"] == pytest.approx(statistics.median(values))


def test_upstream_total_pips_per_month_in_sql(tmp_path: Path) -> None:
    lake, runs = upstream_lake(tmp_path / "lake")
    rows = query(
        "SELECT strftime(r.timestamp, '%Y-%m') AS month, count(*) AS runs, sum(s.value) AS pips "
        "FROM runs r JOIN stats s USING (run_id) WHERE s.metric = 'total_pips' GROUP BY 1 ORDER BY 1",
        lake=lake,
    )
    expected: dict[str, list[float]] = {}
    for r in runs:
        if "total_pips" in r["_metrics"]:
            expected.setdefault(r["timestamp"].strftime("%Y-%m"), []).append(r["_metrics"]["total_pips"])
    assert [(x["month"], x["runs"]) for x in rows] == [(m, len(v)) for m, v in sorted(expected.items())]
    assert [x["pips"] for x in rows] == [pytest.approx(sum(v)) for _, v in sorted(expected.items())]


def test_only_the_files_the_manifest_lists_are_read(lake: Path) -> None:
    # A file a killed ingest left behind (never committed to the manifest) is not read; a manifest
    # naming a file outside the lake is refused, not followed.
    before = query("SELECT count(*) AS n FROM runs", lake=lake)[0]["n"]
    listed = json.loads((lake / "_manifest.json").read_text())
    stray = next(rel for rel, f in listed["files"].items() if f["table"] == "runs")
    shutil.copy(lake / stray, (lake / stray).with_name("part-leftover.parquet"))
    assert query("SELECT count(*) AS n FROM runs", lake=lake)[0]["n"] == before
    listed["files"]["../outside.parquet"] = {"table": "runs"}
    (lake / "_manifest.json").write_text(json.dumps(listed))
    with pytest.raises(LakeUnavailableError, match=r"files\.\.\./outside\.parquet: not a Parquet file of this lake"):
        query("SELECT count(*) AS n FROM runs", lake=lake)

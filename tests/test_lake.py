"""lake ingest and lake compact on a generated workspace: the tables against schema.py, idempotence,
replacement of a changed input (also after compaction), retention, S3 on moto, and bad input."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import pytest

import _support_state
from _support_lake_ingest import duckdb, lake, make_workspace, manifest, table
from _support_state import fresh_bucket, s3_client, s3_env
from observability import schemas
from observability.lake import schema

s3_server = _support_state.s3_server
FIXTURES = Path(
    os.environ.get("OBS_TEST_UPSTREAM_FIXTURES")
    or Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "upstream"
)


@pytest.fixture
def ws(tmp_path) -> Path:
    return make_workspace(tmp_path / "ws")


def test_every_table_is_written_with_the_schema_of_schema_py(ws):
    code, summary, err = lake(ws)
    assert code == 0, err
    assert summary["status"] == "ok", summary
    root = ws / "lake"
    doc = manifest(root)
    assert schemas.errors("lake_manifest", doc) == []
    assert doc["schema_version"] == schema.SCHEMA_VERSION
    for name, spec in schema.TABLES.items():
        files = [k for k, f in doc["files"].items() if f["table"] == name]
        assert files, f"no file for {name}"
        for key in files:
            prefix = f"{name}/date=" if spec.partition_by else f"{name}/part-"
            assert key.startswith(prefix) and key.endswith(".parquet"), key
            described = duckdb.sql(
                f"DESCRIBE SELECT * FROM read_parquet('{root / key}', hive_partitioning = false)"
            ).fetchall()
            assert [(c[0], c[1]) for c in described] == list(spec.columns), (name, key)
    assert summary["lakes"][0]["rows"] == {
        "alerts": 1, "ev_snapshots": 2, "job_runs": 1, "latency_hourly": 6, "router_telemetry": 1, "runs": 12,
        "stats": 12 * 9, "strategies": 2, "trades": 4, "weekly_reports": 1,
    }  # fmt: skip
    # stage and strategy by the documented mapping; params, dates and git_sha from the run's files
    rows = table(root, "runs", "run_id, stage, runner, strategy, start_date, end_date, git_sha", order="timestamp")
    assert [r[1:4] for r in rows[:4]] == [
        ("research", "grid", None),
        ("backtest", "single", "day_orb_5m"),
        ("backtest", "single", None),
        ("research", "grid", None),
    ]
    assert str(rows[0][4]) == "2026-01-10" and str(rows[0][5]) == "2026-01-12" and rows[0][6] == "abc1234"
    # metrics.json wins over the index row; every numeric index column is a stat
    first = rows[0][0]
    stats = dict(table(root, "stats", "metric, value", where=f"run_id = '{first}'"))
    assert stats["trades"] == 3 and stats["k_tp"] == 0.0 and stats["sharpe"] == 0.5 and "mode" not in stats
    assert table(root, "trades", "side, quantity, price, pnl", where=f"run_id = '{first}'", order="timestamp") == [
        ("buy", 1.0, 150.25, 2.5),
        ("sell", 1.0, 150.10, -1.0),
    ]
    assert table(root, "strategies", "strategy, tier, category") == [
        ("day_orb_5m_v1", "A", "day"),
        ("tokyo_mr", None, "scalping"),
    ]
    assert table(root, "weekly_reports", "runs, trades, total_pips, latency_breaches, alerts") == [(2, 7, 1.5, 1, 1)]
    assert table(root, "alerts", "rule, severity, breach_streak") == [("latency_slo", "warning", 2)]
    # the job is logged like every job
    lines = [json.loads(line) for line in (ws / "ops" / "automation_runs.log").read_text().splitlines()]
    assert lines[-1]["job"] == "lake" and lines[-1]["status"] == "ok"


def test_a_second_ingest_skips_every_unchanged_input(ws):
    assert lake(ws)[0] == 0
    before = manifest(ws / "lake")
    files = sorted(p.relative_to(ws).as_posix() for p in (ws / "lake").rglob("*"))
    code, summary, _ = lake(ws, now="2026-03-03T06:00:00Z")
    assert code == 0
    done = summary["lakes"][0]
    # only the automation log changed (the first ingest's own line): nothing else is read again
    assert done["inputs_ingested"] == 1
    assert done["inputs_unchanged"] == len({e["source"] for e in before["inputs"]}) - 1
    after = manifest(ws / "lake")
    assert [e for e in after["inputs"] if e["table"] != "job_runs" and e["table"] != "alerts"] == [
        e for e in before["inputs"] if e["table"] not in ("job_runs", "alerts")
    ]
    assert len(table(ws / "lake", "job_runs")) == 2
    # (each commit adds its record under _commits/)
    assert sorted(
        p.relative_to(ws).as_posix()
        for p in (ws / "lake").rglob("*")
        if "job_runs" not in str(p) and "_commits" not in str(p)
    ) == [f for f in files if "job_runs" not in f and "_commits" not in f]


def test_a_changed_input_replaces_its_rows(ws):
    assert lake(ws)[0] == 0
    first = table(ws / "lake", "runs", "run_id", order="timestamp")[0][0]
    (ws / "runs" / first / "metrics.json").write_text(json.dumps({"trades": 30, "sharpe": 2.5}))
    code, summary, _ = lake(ws)
    assert code == 0
    assert table(ws / "lake", "stats", "value", where=f"run_id = '{first}' AND metric = 'trades'") == [(30.0,)]
    assert len(table(ws / "lake", "runs")) == 12  # replaced, not added
    live = set(manifest(ws / "lake")["files"])
    on_disk = {p.relative_to(ws / "lake").as_posix() for p in (ws / "lake").rglob("*.parquet")}
    assert on_disk == live  # the replaced files are gone


def test_compact_merges_a_partition_and_a_later_change_still_replaces_only_its_rows(ws):
    assert lake(ws)[0] == 0
    root = ws / "lake"
    snapshots = [k for k, f in manifest(root)["files"].items() if f["table"] == "ev_snapshots"]
    assert len(snapshots) == 2  # two inputs, one day
    code, summary, err = lake(ws, command="compact")
    assert code == 0, err
    assert summary["lakes"][0]["files_merged"] >= 2
    merged = [k for k, f in manifest(root)["files"].items() if f["table"] == "ev_snapshots"]
    assert len(merged) == 1
    assert schemas.errors("lake_manifest", manifest(root)) == []
    snapshot = next((ws / "ops" / "state_archive").rglob("20260301_020000.json"))
    snapshot.write_text(json.dumps({"ev_global": {"alpha": 9.0, "beta": 1.5}}))
    assert lake(ws)[0] == 0
    assert table(root, "ev_snapshots", "alpha", order="alpha") == [(2.0,), (9.0,)]
    assert {p.relative_to(root).as_posix() for p in root.rglob("*.parquet")} == set(manifest(root)["files"])


def test_compact_purges_runs_past_their_stage_retention(ws):
    (ws / "configs" / "observability" / "lake.yaml").write_text(
        'stages:\n  - {pattern: "^grid_", stage: research}\n  - {pattern: "_2026011[01]_", stage: live}\n'
    )
    assert lake(ws)[0] == 0
    # 100 days after the first run: research (90 days) goes, backtest (365) and live (forever) stay
    code, summary, _ = lake(ws, command="compact", now="2026-04-21T00:00:00Z")
    assert code == 0
    kept = table(ws / "lake", "runs", "stage, count(*)", where="true GROUP BY stage", order="stage")
    assert kept == [("backtest", 7), ("live", 1)]
    assert summary["lakes"][0]["runs_purged"] == 4
    gone = {r for (r,) in table(ws / "lake", "stats", "DISTINCT run_id")} - {
        r for (r,) in table(ws / "lake", "runs", "run_id")
    }
    assert gone == set()
    entry = next(e for e in manifest(ws / "lake")["inputs"] if e["table"] == "runs")
    assert entry["rows"] == 8


def test_ingest_says_how_many_runs_it_left_out_for_their_age(ws):
    # 100 days after the first run: the 4 research runs are past 90 days, the backtests are kept
    code, summary, err = lake(ws, now="2026-04-21T00:00:00Z")
    assert code == 0 and summary["status"] == "ok"
    done = summary["lakes"][0]
    assert done["rows"]["runs"] == 8 and done["runs_past_retention"] == 4
    assert (
        "4 run(s) of runs/index.csv not ingested, past their stage's retention: 4 research (older than 90 days)" in err
    )
    assert "retention_days" in err


def test_a_lake_whose_every_run_is_past_retention_says_so_when_queried(ws):
    code, summary, err = lake(ws, now="2027-06-01T00:00:00Z")
    assert code == 0 and summary["lakes"][0]["runs_past_retention"] == 12
    assert summary["lakes"][0]["rows"].get("runs", 0) == 0
    code, summary, err = lake(ws, "--where", "sharpe > 0", command="runs", now="2027-06-01T00:00:00Z")
    assert code == 1
    message = summary["diagnostics"]["error_message"]
    assert "no runs table" in message and "retention" in message


def test_bad_rows_are_warnings_naming_file_line_and_field(ws):
    index = ws / "runs" / "index.csv"
    index.write_text(
        index.read_text() + "USDJPY_conservative_20260301_000000,,,20260301_000000,USDJPY,c,4,0.1,lots,1,1,1,1,0.5,1,\n"
    )
    code, summary, err = lake(ws)
    assert code == 0 and summary["status"] == "warning"
    assert "runs/index.csv: line 14: field trades" in err


def test_an_unusable_input_fails_naming_it_and_commits_nothing(ws):
    (ws / "ops" / "weekly_report_history" / "2026-03-02.json").write_text(json.dumps({"week_start": "2026-03-02"}))
    code, summary, _ = lake(ws)
    assert code == 1
    assert summary["diagnostics"]["error_message"].startswith(
        "ops/weekly_report_history/2026-03-02.json: field generated_at"
    )
    assert not (ws / "lake" / "_manifest.json").exists()


@pytest.mark.parametrize(
    "args,config,message",
    [
        (("--lake", "ops/lake"), None, "--lake ops/lake: not under ops/"),
        (("--lake", "git+file:///tmp/x.git"), None, "--lake git+file:///tmp/x.git: a lake is"),
        ((), "retention_days: {research: 0}\n", "lake.yaml"),
    ],
)
def test_bad_settings_exit_2_naming_them(ws, args, config, message):
    if config:
        (ws / "configs" / "observability" / "lake.yaml").write_text(config)
    code, summary, _ = lake(ws, *args)
    assert code == 2
    assert message in summary["diagnostics"]["error_message"]


def test_a_lake_in_the_workspace_and_in_s3(ws, s3_server):
    bucket = fresh_bucket(s3_server)
    code, summary, err = lake(ws, "--lake", "lake", "--lake", f"s3://{bucket}/history", env=s3_env(s3_server))
    assert code == 0, err
    assert [d["lake"] for d in summary["lakes"]] == ["lake", f"s3://{bucket}/history"]
    client = s3_client(s3_server)
    remote = json.loads(client.get_object(Bucket=bucket, Key="history/_manifest.json")["Body"].read())
    local = manifest(ws / "lake")
    assert remote["inputs"] == local["inputs"] and remote["files"] == local["files"]
    key = next(k for k, f in remote["files"].items() if f["table"] == "runs")
    assert client.get_object(Bucket=bucket, Key=f"history/{key}")["Body"].read() == (ws / "lake" / key).read_bytes()
    again = lake(ws, "--lake", f"s3://{bucket}/history", env=s3_env(s3_server))[1]
    assert again["lakes"][0]["inputs_ingested"] == 1  # the automation log only


@pytest.mark.skipif(not (FIXTURES / "runs" / "index.csv").is_file(), reason=f"upstream fixtures not at {FIXTURES}")
def test_the_real_upstream_files(tmp_path):
    ws = tmp_path / "ws"
    (ws / "ops").mkdir(parents=True)
    shutil.copytree(FIXTURES / "runs", ws / "runs")
    shutil.copytree(FIXTURES / "ops" / "state_archive", ws / "ops" / "state_archive")
    shutil.copytree(FIXTURES / "reports", ws / "reports")
    (ws / "configs" / "observability").mkdir(parents=True)
    (ws / "configs" / "observability" / "lake.yaml").write_text(
        "default_strategy: day_orb_5m\nretention_days: {backtest: null, research: null}\n"
    )
    code, summary, err = lake(ws)
    assert code == 0, err
    rows = summary["lakes"][0]["rows"]
    assert rows["runs"] == 229 and rows["ev_snapshots"] > 0 and rows["strategies"] == 2
    stages = dict(table(ws / "lake", "runs", "stage, count(*)", where="true GROUP BY stage", order="stage"))
    assert stages == {"backtest": 13, "research": 216}
    assert table(ws / "lake", "runs", "count(*)", where="strategy IS NULL") == [(0,)]
    # The seed's questions, through the query API over what ingest wrote, against index.csv read directly.
    from observability.lake import aggregate_stats, query, query_runs

    with (FIXTURES / "runs" / "index.csv").open(newline="") as handle:
        index = list(csv.DictReader(handle))
    found = query_runs("win_rate > 0.75", lake=ws / "lake", since="2025-09-01", order_by="win_rate desc, run_id")
    expected = sorted(
        (-float(r["win_rate"]), r["run_id"])
        for r in index
        if r["win_rate"] and float(r["win_rate"]) > 0.75 and r["timestamp"] >= "20250901"
    )
    assert found and [(-r["win_rate"], r["run_id"]) for r in found] == expected[: len(found)]
    by_stage: dict[str, list[float]] = {}
    for r in index:
        if r["win_rate"] and r["timestamp"][:6] in ("202507", "202508", "202509"):
            by_stage.setdefault("research" if r["run_id"].startswith("grid_") else "backtest", []).append(
                float(r["win_rate"])
            )
    stats = {r["stage"]: r for r in aggregate_stats("win_rate", group_by="stage", period="2025-Q3", lake=ws / "lake")}
    assert {k: v["count"] for k, v in stats.items()} == {k: len(v) for k, v in by_stage.items()}
    assert stats["research"]["mean"] == pytest.approx(sum(by_stage["research"]) / len(by_stage["research"]))
    (total,) = query("SELECT count(DISTINCT run_id) AS n FROM stats WHERE metric = 'total_pips'", lake=ws / "lake")
    assert total["n"] == sum(1 for r in index if r["total_pips"])

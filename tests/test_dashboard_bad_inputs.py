"""Bad inputs: a broken file fails its dataset (naming the file) or is skipped with a warning; never a crash."""

from __future__ import annotations

import json

import pytest

from _support_dashboard import (
    DAILY_HEADER,
    INDEX_HEADER,
    bundle,
    entry,
    export,
    make_workspace,
    manifest,
    snapshot,
    write_json,
)

TELEMETRY = "reports/portfolio_samples/router_demo/telemetry.json"
ROLLUP = "ops/signal_latency_rollup.csv"
ARCHIVE = "ops/state_archive"


# (dataset, file, content) -> the dataset fails with error_code, the message names the file
FATAL = [
    ("slippage", TELEMETRY, b"", "invalid_input"),
    ("slippage", TELEMETRY, b'{"execution_health": ', "invalid_input"),
    ("slippage", TELEMETRY, b"[]", "invalid_input"),
    ("slippage", TELEMETRY, b'{"execution_health": []}', "invalid_input"),
    ("slippage", TELEMETRY, b'{"execution_health": {}}', "invalid_input"),
    ("slippage", TELEMETRY, b'{"execution_health": {"a": {"reject_rate": 7}}}', "invalid_input"),
    ("slippage", TELEMETRY, b"\xff\xfe\x00", "invalid_input"),
    ("slippage", TELEMETRY, b'{"generated_at": "yesterday", "execution_health": {}}', "invalid_input"),  # no entry
    # Nested past any parser's stack: once a RecursionError that failed the whole export (issue 10, item 10).
    ("slippage", TELEMETRY, b"[" * 100_000, "invalid_input"),
    ("slippage", TELEMETRY, b'{"execution_health": ' + b"[" * 70 + b"]" * 70 + b"}", "invalid_input"),
    ("turnover", "runs/index.csv", b"", "invalid_input"),
    ("turnover", "runs/index.csv", b"id,trades\nx,1\n", "invalid_input"),
    ("turnover", "runs/index.csv", b"\xff\xfe", "invalid_input"),
    ("latency", ROLLUP, b"", "invalid_input"),
    ("latency", ROLLUP, b"hour,source\n", "invalid_input"),
]  # a bad rollup row is skipped with a warning, as in the weekly report (below and test_upstream_bad_inputs.py)


@pytest.mark.parametrize("dataset, rel, content, code", FATAL, ids=[f"{d}-{i}" for i, (d, *_rest) in enumerate(FATAL)])
def test_broken_input_fails_only_its_dataset(tmp_path, dataset, rel, content, code):
    make_workspace(tmp_path)
    (tmp_path / rel).write_bytes(content)
    result = export(tmp_path)
    assert result.exit_code == 1, result
    assert result.summary["diagnostics"]["error_code"] == code
    assert result.summary["diagnostics"]["failed_datasets"] == [dataset]
    assert rel in result.summary["diagnostics"]["error_message"]
    assert "Traceback" not in result.stderr
    assert {e["dataset"] for e in manifest(tmp_path)["datasets"]} == {
        "ev_history",
        "slippage",
        "turnover",
        "latency",
    } - {dataset}


@pytest.mark.parametrize("rel", [TELEMETRY, "runs/index.csv", ROLLUP, ARCHIVE])
def test_missing_input_is_missing_input(tmp_path, rel):
    import shutil

    make_workspace(tmp_path)
    target = tmp_path / rel
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    result = export(tmp_path)
    assert result.exit_code == 1
    assert result.summary["diagnostics"]["error_code"] == "missing_input"
    assert rel in result.summary["diagnostics"]["error_message"]


SNAPSHOT_JUNK = [
    b"{",
    b"[]",
    b'{"meta": {}}',
    b'{"ev_global": {"alpha": "many", "beta": 1}}',
    b'{"ev_global": {"alpha": 0, "beta": 1}}',
    b'{"ev_global": {"alpha": 1, "beta": -2}}',
    b'{"ev_global": {"alpha": 1, "beta": 2, "conf": 1.5}}',
    b'{"ev_global": {"alpha": NaN, "beta": 2}}',
    b'{"ev_global": {"alpha": true, "beta": 2}}',
    b'{"ev_global": {"alpha": 1, "beta": 2, "decay": -0.1}}',
    b"[" * 100_000,
]


@pytest.mark.parametrize("content", SNAPSHOT_JUNK)
def test_an_unusable_snapshot_is_skipped_with_a_warning(tmp_path, content):
    make_workspace(tmp_path)
    bad = tmp_path / ARCHIVE / "day_orb_5m.DayORB5m/USDJPY/conservative/20260107_120000.json"
    bad.write_bytes(content)
    result = export(tmp_path)
    assert result.exit_code == 0, result
    assert result.summary["status"] == "warning"
    assert any("20260107_120000.json" in w and "skipped" in w for w in result.summary["diagnostics"]["warnings"])
    doc = bundle(tmp_path, "ev_history")
    assert doc["skipped_inputs"] == 1
    assert all(r["generated_at"] != "2026-01-07T12:00:00Z" for r in doc["rows"])


def test_unrecognised_archive_paths_are_warnings(tmp_path):
    make_workspace(tmp_path)
    write_json(tmp_path / ARCHIVE / "day_orb_5m.DayORB5m/USDJPY/latest.json", snapshot(1, 1))
    write_json(tmp_path / ARCHIVE / "notes.json", {})
    result = export(tmp_path, "--dataset", "ev_history")
    assert result.summary["status"] == "warning"
    assert sum("not a recognised state snapshot path" in w for w in result.summary["diagnostics"]["warnings"]) == 2


def test_an_archive_with_nothing_usable_fails_the_dataset(tmp_path):
    make_workspace(tmp_path)
    import shutil

    shutil.rmtree(tmp_path / ARCHIVE)
    (tmp_path / ARCHIVE).mkdir()
    write_json(tmp_path / ARCHIVE / "day_orb_5m.DayORB5m/USDJPY/conservative/20260101_000000.json", {"x": 1})
    result = export(tmp_path, "--dataset", "ev_history")
    assert result.exit_code == 1 and result.summary["diagnostics"]["error_code"] == "invalid_input"
    assert "no usable state snapshot" in result.summary["diagnostics"]["error_message"]


@pytest.mark.parametrize(
    "row",
    [
        ",runs/x,,20260101_000000,USDJPY,conservative,100000,,,,1,1,0,,,1.0,\n",  # empty run_id
        "r2,,,20260101_000000,USDJPY,conservative,100000,,,,many,1,0,,,0.5,\n",  # trades not a number
        "r3,,,20260101_000000,USDJPY,conservative,100000,,,,2,5,0,,,0.5,\n",  # wins > trades
        "r4,,,20260101_000000,USDJPY,conservative,100000,,,,2,1,0,,,1.5,\n",  # win_rate > 1
        "r5,,,20260101_000000,USDJPY,conservative,100000,,,,-2,0,0,,,,\n",  # negative trades
    ],
)
def test_bad_index_rows_are_skipped_with_a_warning(tmp_path, row):
    make_workspace(tmp_path)
    with open(tmp_path / "runs/index.csv", "a") as handle:
        handle.write(row)
    result = export(tmp_path, "--dataset", "turnover")
    assert result.exit_code == 0, result
    assert result.summary["status"] == "warning"
    assert any("runs/index.csv: line 5" in w for w in result.summary["diagnostics"]["warnings"])
    assert entry(tmp_path, "turnover")["row_count"] == 3


@pytest.mark.parametrize(
    "daily",
    [
        "",
        "date,fills\n2026-01-01,1\n",
        DAILY_HEADER + "2026-01-01,1,1,0,1,0,two,1,0.5\n",
        DAILY_HEADER + "01/02/2026,1,1,0,1,0,1,1,0.5\n",
        DAILY_HEADER + "2026-01-01,1,1,0,1,0,1,3,0.5\n",
        DAILY_HEADER + "2026-01-01,1,1\n",
    ],
)
def test_a_bad_daily_csv_drops_only_that_runs_daily_figures(tmp_path, daily):
    make_workspace(tmp_path)
    (tmp_path / "runs/USDJPY_conservative_20260105_010000/daily.csv").write_text(daily)
    result = export(tmp_path, "--dataset", "turnover")
    assert result.exit_code == 0 and result.summary["status"] == "warning", result
    assert any("USDJPY_conservative_20260105_010000/daily.csv" in w for w in result.summary["diagnostics"]["warnings"])
    rows = {r["run_id"]: r for r in bundle(tmp_path, "turnover")["rows"]}
    run = rows["USDJPY_conservative_20260105_010000"]
    assert run["has_daily"] is False and run["trades"] == 6 and run["trades_source"] == "index"


def test_bom_and_crlf_index(tmp_path):
    make_workspace(tmp_path)
    text = (tmp_path / "runs/index.csv").read_text()
    (tmp_path / "runs/index.csv").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    result = export(tmp_path, "--dataset", "turnover")
    assert result.exit_code == 0 and result.summary["status"] == "ok", result
    assert entry(tmp_path, "turnover")["row_count"] == 3


def test_index_header_only_gives_an_empty_dataset(tmp_path):
    make_workspace(tmp_path)
    (tmp_path / "runs/index.csv").write_text(INDEX_HEADER)
    result = export(tmp_path, "--dataset", "turnover")
    assert result.exit_code == 0
    assert entry(tmp_path, "turnover")["row_count"] == 0


def test_telemetry_entry_with_a_bad_value_is_skipped(tmp_path):
    make_workspace(tmp_path)
    doc = json.loads((tmp_path / TELEMETRY).read_text())
    doc["execution_health"]["broken"] = {"slippage_bps": "high"}
    doc["execution_health"]["odd"] = 3
    (tmp_path / TELEMETRY).write_text(json.dumps(doc))
    result = export(tmp_path, "--dataset", "slippage")
    assert result.summary["status"] == "warning"
    assert [r["strategy"] for r in bundle(tmp_path, "slippage")["rows"]] == [
        "day_orb_5m_v1",
        "tokyo_micro_mean_reversion_v0",
    ]


def test_a_bad_rollup_row_is_skipped_with_a_warning_naming_file_and_line(tmp_path):
    """Once fatal for the whole dataset (issue 12 item 1): now the weekly report's rule, skip and warn."""
    make_workspace(tmp_path)
    (tmp_path / ROLLUP).write_bytes(
        b"hour_utc,source,count,failure_count,failure_rate,p50_ms,p95_ms,p99_ms,max_ms,breach_flag,breach_streak\n"
        b"2026-01-07T00:00:00Z,a,x,0,0,1,1,1,1,false,0\n"
        b"2026-01-07T00:00:00Z,b,4,0,0.0000,1.000,1.000,1.000,1.000,false,0\n"
    )
    result = export(tmp_path, "--dataset", "latency")
    assert result.exit_code == 0, result
    assert result.summary["status"] == "warning"
    assert result.summary["diagnostics"]["warnings"] == [
        f"{ROLLUP}: line 2: field count: 'x' is not a count (a whole number >= 0); row skipped"
    ]
    assert [r["source"] for r in bundle(tmp_path, "latency")["rows"]] == ["b"]
    assert bundle(tmp_path, "latency")["skipped_inputs"] == 1


def test_unknown_dataset_is_a_usage_error(tmp_path):
    make_workspace(tmp_path)
    result = export(tmp_path, "--dataset", "pnl")
    assert result.exit_code == 2 and "pnl" in result.stderr


def test_rows_failing_their_schema_fail_the_dataset_and_keep_the_last_good_file(tmp_path, monkeypatch):
    from observability.dashboard import datasets

    make_workspace(tmp_path)
    assert export(tmp_path).exit_code == 0
    good = (tmp_path / "out/dashboard/slippage.json").read_bytes()
    (tmp_path / TELEMETRY).write_text(json.dumps({"execution_health": {"x": {"slippage_bps": 1.0}}}))
    spec = datasets.SPECS["slippage"]

    def broken(source, opts):
        rows, meta = spec.builder(source, opts)
        return [{**rows[0], "reject_rate": 3.0}], meta

    monkeypatch.setitem(
        datasets.SPECS,
        "slippage",
        datasets.DatasetSpec("slippage", broken, spec.builder_version, spec.source, spec.description),
    )
    result = export(tmp_path, now="2026-01-09T00:07:00Z")
    assert result.exit_code == 1
    assert result.summary["diagnostics"]["error_code"] == "schema_validation_failed"
    assert "field reject_rate" in result.summary["diagnostics"]["error_message"]
    assert (tmp_path / "out/dashboard/slippage.json").read_bytes() == good
    assert entry(tmp_path, "slippage")["status"] == "stale"


@pytest.mark.parametrize(
    "change",
    [
        {"path": "../../../tmp/elsewhere.json"},
        {"path": "/etc/passwd"},
        {"checksum_sha256": "not-a-checksum"},
        {"row_count": -1},
    ],
)
def test_a_hand_edited_manifest_entry_is_dropped_not_followed(tmp_path, change):
    make_workspace(tmp_path)
    assert export(tmp_path).exit_code == 0
    path = tmp_path / "out/dashboard/manifest.json"
    doc = json.loads(path.read_text())
    doc["datasets"][0].update(change)
    path.write_text(json.dumps(doc))
    result = export(tmp_path, "--dataset", "turnover", now="2026-01-09T00:07:00Z")
    assert result.exit_code == 0 and result.summary["status"] == "warning", result
    assert any("entry ev_history dropped" in w for w in result.summary["diagnostics"]["warnings"])
    assert [e["dataset"] for e in manifest(tmp_path)["datasets"]] == ["slippage", "turnover", "latency"]
    snapshot = tmp_path / "ops/dashboard_export_history/20260109T000700Z-dashboard"
    assert all(p.resolve().is_relative_to(snapshot) for p in snapshot.rglob("*"))
    again = export(tmp_path, now="2026-01-09T01:07:00Z")
    assert again.summary["datasets"]["ev_history"]["status"] == "built"


@pytest.mark.parametrize("rel", [TELEMETRY, ROLLUP, "runs/index.csv"])
def test_an_input_that_is_a_directory_fails_only_its_dataset_and_says_so(tmp_path, rel):
    make_workspace(tmp_path)
    (tmp_path / rel).unlink()
    (tmp_path / rel).mkdir()
    result = export(tmp_path)
    assert result.exit_code == 1, result
    assert result.summary["diagnostics"]["error_code"] == "invalid_input"
    message = result.summary["diagnostics"]["error_message"]
    assert rel in message and "is a directory" in message, message
    assert "Traceback" not in result.stderr
    assert len(manifest(tmp_path)["datasets"]) == 3


def test_a_state_archive_that_is_a_file_fails_ev_history_and_says_so(tmp_path):
    import shutil

    make_workspace(tmp_path)
    shutil.rmtree(tmp_path / ARCHIVE)
    (tmp_path / ARCHIVE).write_text("not a directory\n", encoding="utf-8")
    result = export(tmp_path)
    assert result.exit_code == 1, result
    assert result.summary["diagnostics"]["failed_datasets"] == ["ev_history"]
    assert f"{ARCHIVE}: state archive is a file" in result.summary["diagnostics"]["error_message"]
    assert {e["dataset"] for e in manifest(tmp_path)["datasets"]} == {"slippage", "turnover", "latency"}


def test_a_runs_dir_that_is_a_file_fails_turnover_and_says_so(tmp_path):
    make_workspace(tmp_path)
    (tmp_path / "afile").write_text("x\n", encoding="utf-8")
    result = export(tmp_path, "--runs-dir", "afile")
    assert result.exit_code == 1, result
    assert result.summary["diagnostics"]["failed_datasets"] == ["turnover"]
    message = result.summary["diagnostics"]["error_message"]
    assert "afile/index.csv" in message and "a directory on its path is a file" in message, message


def test_daily_pips_that_would_overflow_the_totals_are_skipped_rows(tmp_path):
    """Two finite rows of 1e308 pips once overflowed the run's totals (inf) and the export then failed
    saving its cache: such a row is no real figure, skipped with a warning naming line and field."""
    make_workspace(tmp_path)
    (tmp_path / "runs/USDJPY_conservative_20260105_010000/daily.csv").write_text(
        DAILY_HEADER + "2026-01-01,1,1,0,1,0,1,1,1e308\n2026-01-02,1,1,0,1,0,1,1,1e308\n"
        "2026-01-03,1,1,0,1,0,1,1,-1e308\n2026-01-04,2,1,0,1,0,2,1,3.5\n"
    )
    result = export(tmp_path, "--dataset", "turnover")
    assert result.exit_code == 0 and result.summary["status"] == "warning", result
    warnings = result.summary["diagnostics"]["warnings"]
    for line in (2, 3, 4):
        assert any(
            f"USDJPY_conservative_20260105_010000/daily.csv: line {line}: field pnl_pips" in w for w in warnings
        ), warnings
    run = {r["run_id"]: r for r in bundle(tmp_path, "turnover")["rows"]}["USDJPY_conservative_20260105_010000"]
    assert run["has_daily"] is True

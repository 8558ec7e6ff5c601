"""`observability migrate LEGACY_DIR`: a legacy script-based ops/ tree imported without loss, idempotently,
refusing bad input by file and line with nothing written; on the real upstream artefacts and a synthetic tree."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from _support_cli import Run
from observability.cli import cli
from observability.outputs import rollups

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(os.environ.get("OBS_TEST_UPSTREAM_FIXTURES") or ROOT.parent / "shared" / "fixtures" / "upstream")
NOW = "2026-01-08T00:07:00Z"

ROLLUP_HEADER = (
    "hour_utc,window_end_utc,count,failure_count,failure_rate,p50_ms,p95_ms,p99_ms,max_ms,breach_flag,breach_streak\n"
)


def _run(args: list[str], now: str = NOW) -> Run:
    env = {"OBS_NOW": now, "GITHUB_ACTIONS": None, "OBS_WEEKLY_WEBHOOK_URL": None, "OBS_DASHBOARD_UPLOAD_COMMAND": None}
    return Run(CliRunner().invoke(cli, args, env=env))


def _tree(root: Path, skip: tuple[str, ...] = ("automation_runs.log", "automation_runs.sequence")) -> dict[str, str]:
    """Every file under ``root`` and the hash of its bytes (the log, which every run appends to, left out)."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and p.name not in skip
        and not p.name.endswith(".lock")  # the run's own job and log locks
        and "out" not in p.relative_to(root).parts[:1]
    }


@pytest.fixture
def ws(tmp_path) -> Path:
    target = tmp_path / "ws"
    shutil.copytree(ROOT / "ops-template", target)
    return target


def _legacy(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    root = tmp_path / "legacy"
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


SYNTHETIC = {
    "ops/signal_latency.csv": (
        "timestamp_utc,latency_ms,status,detail,source\n"
        "2026-01-07T10:05:00Z,1200.000000,success,,router_demo\n"
        "2026-01-07T10:20:00Z,1300.500000,success,,\n"  # no source: --source
        '2026-01-07T11:05:00Z,9000.000000,error,"timeout, retried",broker_api\n'
    ),
    "ops/signal_latency_rollup.csv": ROLLUP_HEADER
    + "2026-01-06T09:00:00Z,2026-01-06T10:00:00Z,4,0,0.0,100.0,200.0,250.0,260.0,False,0\n"
    + "2026-01-06T10:00:00Z,2026-01-06T11:00:00Z,4,1,0.25,110.0,6000.0,7000.0,7100.0,True,1\n"
    + "2026-01-07T10:00:00Z,2026-01-07T11:00:00Z,2,0,0.0,1200.0,1300.0,1300.0,1300.5,False,0\n",  # raw has it
    "ops/weekly_report_history/2026-01-05.json": '{"schema_version": "1.0.0", "week_start": "2026-01-05"}\n',
    "ops/weekly_report_history/2026-01-05.sig": "ab" * 32 + "\n",
    "ops/dashboard_export_history/20260105T003000Z.json": '{"sequence": 3, "datasets": []}\n',
    "ops/automation_runs.log": '{"job_id": "20260105T003000Z-observability-dashboard", "status": "ok"}\n',
    "ops/dashboard_export_heartbeat.json": '{"job_id": "20260105T003000Z-observability-dashboard"}\n',
    "ops/.latency.lock": "",
}


def test_a_synthetic_legacy_tree_is_imported_without_loss(tmp_path, ws):
    legacy = _legacy(tmp_path, SYNTHETIC)
    run = _run(["migrate", str(legacy), "--workspace", str(ws)])
    assert run.exit_code == 0 and run.summary["status"] == "ok", run
    assert (run.summary["samples_imported"], run.summary["rollup_rows_imported"]) == (3, 2)
    assert run.summary["rollup_rows_covered_by_raw_samples"] == 1
    # every legacy file but the lock is kept byte for byte
    for rel, content in SYNTHETIC.items():
        kept = ws / "ops" / "legacy" / rel.removeprefix("ops/")
        if rel.endswith(".lock"):
            assert not kept.exists()
        else:
            assert kept.read_bytes() == content.encode(), rel
    raw = (ws / "ops" / "signal_latency.csv").read_text().splitlines()
    assert raw == [
        "timestamp_utc,source,latency_ms,status,detail,ingest_latency_ms",
        "2026-01-07T10:05:00Z,router_demo,1200.000,success,,",
        "2026-01-07T10:20:00Z,legacy,1300.500,success,,",
        '2026-01-07T11:05:00Z,broker_api,9000.000,error,"timeout, retried",',
    ]
    day = ws / "ops" / "signal_latency_rollup" / "2026-01-06.csv"
    rows, warnings = rollups.parse_parts([(day, day.read_bytes())], str)
    assert warnings == []
    assert [(r.hour_utc, r.source, r.count, r.failure_count, r.p95_ms, r.breach_flag) for r in rows] == [
        ("2026-01-06T09:00:00Z", "legacy", 4, 0, 200.0, False),
        ("2026-01-06T10:00:00Z", "legacy", 4, 1, 6000.0, True),
    ]
    assert not (ws / "ops" / "signal_latency_rollup" / "2026-01-07.csv").exists()  # the latency job recomputes it
    for name in ("2026-01-05.json", "2026-01-05.sig"):
        assert (ws / "ops" / "weekly_report_history" / name).read_bytes() == (
            legacy / "ops" / "weekly_report_history" / name
        ).read_bytes()
    report = json.loads((ws / run.summary["report"]).read_text())
    assert {a["source"].split("/legacy/", 1)[1] for a in report["actions"]} == {
        k for k in SYNTHETIC if not k.endswith(".lock")
    }
    # and the workspace works: the latency job adopts the samples, verify finds nothing wrong with them
    assert _run(["latency", "sample", "--workspace", str(ws), "--input", "sample/signal_notifier.csv"]).exit_code == 0
    check = _run(["verify", "--workspace", str(ws)])
    assert check.exit_code == 0 and not [a for a in check.summary["alerts"] if "legacy" in json.dumps(a)], check


def test_a_second_import_changes_nothing(tmp_path, ws):
    legacy = _legacy(tmp_path, SYNTHETIC)
    assert _run(["migrate", str(legacy), "--workspace", str(ws)]).exit_code == 0
    before = _tree(ws)
    again = _run(["migrate", str(legacy), "--workspace", str(ws)])
    assert again.exit_code == 0 and again.summary["files_written"] == 0, again
    assert _tree(ws) == before


def test_the_dry_run_writes_only_its_report(tmp_path, ws):
    legacy = _legacy(tmp_path, SYNTHETIC)
    before = _tree(ws)
    run = _run(["migrate", str(legacy), "--workspace", str(ws), "--dry-run"])
    assert run.exit_code == 0 and run.summary["status"] == "dry_run", run
    assert (
        run.summary["would_write"] == 11
    )  # 7 kept copies, 2 copied, the raw store, 1 day of rollups and run.summary["files_written"] == 0
    assert _tree(ws) == before
    report = json.loads((ws / run.summary["report"]).read_text())
    assert report["dry_run"] is True and report["samples"]["imported"] == 3


@pytest.mark.parametrize(
    "rel,content,expected",
    [
        (
            "ops/signal_latency.csv",
            "timestamp_utc,latency_ms,status,detail,source\n2026-01-07T10:05:00Z,12,success,,a\n"
            "2026-01-07T10:20:00Z,fast,success,,a\n",
            "legacy/ops/signal_latency.csv: line 3: latency_ms 'fast' is not a number",
        ),
        (
            "ops/signal_latency_rollup.csv",
            ROLLUP_HEADER + "2026-01-06T09:00:00Z,x,4,9,0.0,100.0,200.0,250.0,260.0,False,0\n",
            "legacy/ops/signal_latency_rollup.csv: line 2: field failure_count: 9 failures > 4 samples",
        ),
        (
            "ops/signal_latency_rollup.csv",
            "hour_utc,p95_ms\n2026-01-06T09:00:00Z,1\n",
            "legacy/ops/signal_latency_rollup.csv: line 1: not a legacy rollup header",
        ),
        (
            "ops/weekly_report_history/2026-01-05.json",
            '{"week_start": "2026-01-05"',
            "legacy/ops/weekly_report_history/2026-01-05.json: not JSON",
        ),
    ],
    ids=["raw", "rollup-row", "rollup-header", "weekly"],
)
def test_bad_input_is_refused_by_file_and_line_with_nothing_written(tmp_path, ws, rel, content, expected):
    legacy = _legacy(tmp_path, {**SYNTHETIC, rel: content})
    before = _tree(ws)
    run = _run(["migrate", str(legacy), "--workspace", str(ws)])
    assert run.exit_code == 1 and run.error_code == "invalid_input", run
    assert expected in run.summary["diagnostics"]["error_message"], run
    assert _tree(ws) == before


def test_not_a_legacy_tree_and_a_raw_store_owned_by_the_latency_job_are_refused(tmp_path, ws):
    empty = tmp_path / "empty"
    empty.mkdir()
    run = _run(["migrate", str(empty), "--workspace", str(ws)])
    assert run.exit_code == 2 and "no legacy ops/ tree" in run.summary["diagnostics"]["error_message"]
    assert _run(["latency", "sample", "--workspace", str(ws), "--input", "sample/signal_notifier.csv"]).exit_code == 0
    before = _tree(ws)
    run = _run(["migrate", str(_legacy(tmp_path, SYNTHETIC)), "--workspace", str(ws)])
    assert run.exit_code == 2 and "latency sample --input" in run.summary["diagnostics"]["error_message"], run
    assert _tree(ws) == before


def test_a_different_file_already_in_the_workspace_stays_and_is_reported(tmp_path, ws):
    ours = ws / "ops" / "weekly_report_history" / "2026-01-05.json"
    ours.parent.mkdir(parents=True)
    ours.write_text('{"week_start": "2026-01-05", "ours": true}\n')
    run = _run(["migrate", str(_legacy(tmp_path, SYNTHETIC)), "--workspace", str(ws)])
    assert run.exit_code == 0 and run.summary["status"] == "warning" and run.summary["conflicts"] == 1, run
    assert json.loads(ours.read_text())["ours"] is True
    assert (ws / "ops" / "legacy" / "weekly_report_history" / "2026-01-05.json").read_text() == SYNTHETIC[
        "ops/weekly_report_history/2026-01-05.json"
    ]


@pytest.mark.skipif(
    not (FIXTURES / "ops" / "state_archive").is_dir(),
    reason=f"upstream fixtures not found at {FIXTURES} (set OBS_TEST_UPSTREAM_FIXTURES to point elsewhere)",
)
def test_the_real_upstream_trees_are_imported_without_loss_and_idempotently(ws):
    for legacy in (FIXTURES, FIXTURES / "legacy-outputs"):
        run = _run(["migrate", str(legacy), "--workspace", str(ws)])
        assert run.exit_code == 0 and run.summary["status"] == "ok", run
        for path in (legacy / "ops").rglob("*"):
            if path.is_file():
                rel = path.relative_to(legacy / "ops")
                assert (ws / "ops" / "legacy" / rel).read_bytes() == path.read_bytes(), rel
    raw = (ws / "ops" / "signal_latency.csv").read_text().splitlines()
    # both upstream formats: the script's row (its source kept) and the notifier's (ts_ack - ts_emit)
    assert raw[1:] == [
        "2025-09-21T03:45:16Z,legacy,0.135,failure,noop,",
        "2025-10-11T11:35:42Z,router_demo,2100.000,success,,",
    ]
    history = FIXTURES / "legacy-outputs" / "ops" / "weekly_report_history"
    for path in history.iterdir():
        assert (ws / "ops" / "weekly_report_history" / path.name).read_bytes() == path.read_bytes()
    archive = FIXTURES / "ops" / "state_archive"
    for path in archive.rglob("*.json"):
        assert (ws / "ops" / "state_archive" / path.relative_to(archive)).read_bytes() == path.read_bytes()
    before = _tree(ws)
    for legacy in (FIXTURES, FIXTURES / "legacy-outputs"):
        again = _run(["migrate", str(legacy), "--workspace", str(ws)])
        assert again.exit_code == 0 and again.summary["files_written"] == 0, again
    assert _tree(ws) == before
    assert _run(["latency", "sample", "--workspace", str(ws), "--input", "sample/signal_notifier.csv"]).exit_code == 0
    assert _run(["dashboard", "export", "--workspace", str(ws)]).exit_code == 0
    check = _run(["verify", "--workspace", str(ws)])
    assert check.summary["status"] == "ok", check

"""`observability log rebuild`: a gapped or damaged automation log is rebuilt from heartbeats, histories
and artefacts, marked `rebuilt`, without dropping a valid line, and `verify` accepts the result."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from _support_cli import Run
from observability import runlog
from observability.cli import cli
from observability.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "ops-template"


def _run(args: list[str], now: str) -> Run:
    env = {"OBS_NOW": now, "GITHUB_ACTIONS": None, "OBS_WEEKLY_WEBHOOK_URL": None, "OBS_DASHBOARD_UPLOAD_COMMAND": None}
    return Run(CliRunner().invoke(cli, args, env=env))


# One worker runs this file (the worked workspace is made once, not once per worker under -n).
pytestmark = pytest.mark.xdist_group("log_rebuild")


@pytest.fixture(scope="module")
def worked(tmp_path_factory) -> Path:
    """A sample workspace after a few real runs: six log lines, heartbeats, artefacts."""
    ws = tmp_path_factory.mktemp("worked") / "ws"
    shutil.copytree(TEMPLATE, ws)
    steps = [
        (["latency", "sample", "--input", "sample/signal_notifier.csv"], "2026-01-08T00:07:00Z"),
        (["weekly", "report", "--week-start", "2026-01-05", "--dry-run"], "2026-01-08T00:08:00Z"),
        (["dashboard", "export"], "2026-01-08T00:09:00Z"),
        (["verify"], "2026-01-08T00:10:00Z"),
        (["latency", "sample", "--input", "sample/signal_notifier.csv"], "2026-01-08T00:22:00Z"),
        (["verify"], "2026-01-08T00:23:00Z"),
    ]
    for args, now in steps:
        assert _run([*args, "--workspace", str(ws)], now).exit_code == 0, args
    return ws


@pytest.fixture
def ws(worked, tmp_path) -> Path:
    copy = tmp_path / "ws"
    shutil.copytree(worked, copy)
    return copy


def _lines(ws: Path) -> list[bytes]:
    return ws.joinpath("ops", "automation_runs.log").read_bytes().splitlines()


def _log_findings(ws: Path, now: str) -> list[dict]:
    run = _run(["verify", "--workspace", str(ws)], now)
    assert run.summary is not None, run
    return [a for a in run.summary["alerts"] if a.get("source") == "automation_log" or "log" in a.get("rule", "")]


def _rebuild(ws: Path, now: str, *extra: str) -> Run:
    run = _run(["log", "rebuild", "--workspace", str(ws), *extra], now)
    assert run.exit_code == 0, run
    return run


def test_a_gap_is_filled_from_evidence_and_verify_accepts_it(ws):
    lines = _lines(ws)
    originals = [json.loads(line) for line in lines]
    lost = [originals[1], originals[3]]  # the weekly run and the first verify
    kept = [line for i, line in enumerate(lines) if i not in (1, 3)]
    ws.joinpath("ops", "automation_runs.log").write_bytes(b"\n".join(kept) + b"\n")
    assert _log_findings(ws, "2026-01-08T00:30:00Z"), "verify must see the gap before the rebuild"

    run = _rebuild(ws, "2026-01-08T00:31:00Z")
    assert run.summary["lines_rebuilt"] == 2 and run.summary["lines_placeholder"] == 0
    after = [json.loads(line) for line in _lines(ws)]
    for line in kept:  # every valid line is still there, byte for byte
        assert line in _lines(ws)
    rebuilt = {r["sequence"]: r for r in after if r.get("rebuilt")}
    assert sorted(rebuilt) == [2, 4]
    assert {r["job_id"] for r in rebuilt.values()} == {r["job_id"] for r in lost}
    for original in lost:
        again = next(r for r in rebuilt.values() if r["job_id"] == original["job_id"])
        assert again["job"] == original["job"] and again["status"] == original["status"]
        assert again["sequence"] == original["sequence"]
        assert again["diagnostics"]["rebuilt_from"]
    assert not _log_findings(ws, "2026-01-08T00:32:00Z")


def test_the_dry_run_writes_nothing_to_the_log_and_shows_the_plan(ws):
    lines = _lines(ws)
    damaged = [*lines[:2], *lines[3:]]
    ws.joinpath("ops", "automation_runs.log").write_bytes(b"\n".join(damaged) + b"\n")
    run = _rebuild(ws, "2026-01-08T00:31:00Z", "--dry-run")
    assert run.summary["status"] == "dry_run" and run.summary["lines_rebuilt"] == 1
    assert _lines(ws)[:-1] == damaged  # only the dry run's own line was appended
    plan = [json.loads(line) for line in ws.joinpath(run.summary["plan"]).read_text().splitlines()]
    assert plan[0]["file"] == "ops/automation_runs.log" and plan[0]["line"]["sequence"] == 3
    assert "would write sequence 3" in run.stderr


def test_an_invalid_line_is_moved_aside_not_lost_and_its_number_rebuilt(ws):
    lines = _lines(ws)
    broken = lines[2][:40]  # the dashboard line, cut: not JSON
    ws.joinpath("ops", "automation_runs.log").write_bytes(b"\n".join([*lines[:2], broken, *lines[3:]]) + b"\n")
    run = _rebuild(ws, "2026-01-08T00:31:00Z")
    assert run.summary["lines_invalid"] == 1 and run.summary["lines_rebuilt"] == 1
    aside = list((ws / "ops" / "log_rebuild").rglob("*.line3"))
    assert len(aside) == 1 and aside[0].read_bytes() == broken
    third = json.loads(_lines(ws)[2])
    assert third["sequence"] == 3 and third["job"] == "dashboard" and third["rebuilt"] is True
    assert third["heartbeat"] == "ops/dashboard_export_heartbeat.json"
    assert not _log_findings(ws, "2026-01-08T00:32:00Z")


def test_numbers_nothing_accounts_for_get_placeholders_and_the_sequence_file_is_honoured(ws):
    lines = _lines(ws)
    ws.joinpath("ops", "automation_runs.sequence").write_text("9\n")  # three lines lost from the end
    run = _rebuild(ws, "2026-01-08T00:31:00Z")
    assert run.summary["lines_placeholder"] == 3 and run.summary["sequence_file"] == 9
    after = [json.loads(line) for line in _lines(ws)]
    assert [r["sequence"] for r in after] == list(range(1, 11))  # 10: the rebuild's own line
    assert all(r["job"] == "lost" and r["rebuilt"] for r in after[6:9])
    assert _lines(ws)[:6] == lines
    assert not _log_findings(ws, "2026-01-08T00:32:00Z")


def test_a_damaged_segment_is_moved_aside_and_its_range_rebuilt(ws):
    workspace = Workspace(ws)
    lines = _lines(ws)
    # Rotate the first three lines into a segment, then damage it.
    segment = (
        ws / "ops" / "automation_runs" / runlog.segment_name(1, 3, *(runlog.line_fields(lines[i])[1] for i in (0, 2)))
    )
    segment.parent.mkdir(parents=True)
    segment.write_bytes(gzip.compress(b"".join(line + b"\n" for line in lines[:3]))[:30])
    ws.joinpath("ops", "automation_runs.log").write_bytes(b"".join(line + b"\n" for line in lines[3:]))
    assert _log_findings(ws, "2026-01-08T00:30:00Z")
    run = _rebuild(ws, "2026-01-08T00:31:00Z")
    assert run.summary["segments_damaged"] == 1
    assert any(p.name.endswith(".jsonl.gz") for p in (ws / "ops" / "log_rebuild").rglob("*"))
    # its replacement may carry the same name (same range, same times): it reads now
    found = runlog.segments(workspace)
    assert [(s.first_sequence, s.last_sequence) for s in found] == [(1, 3)]
    held = [json.loads(x) for x in runlog.read_segment(workspace, found[0]).splitlines()]
    assert [r["job"] for r in held] == ["latency", "weekly", "dashboard"]
    assert all(r["rebuilt"] for r in held)
    assert not _log_findings(ws, "2026-01-08T00:32:00Z")


def test_a_lost_log_is_rebuilt_from_the_evidence_alone(ws):
    ws.joinpath("ops", "automation_runs.log").unlink()
    run = _rebuild(ws, "2026-01-08T00:31:00Z")
    after = [json.loads(line) for line in _lines(ws)]
    rebuilt = [r for r in after if r.get("rebuilt")]
    assert [r["sequence"] for r in after] == list(range(1, len(after) + 1))
    assert {r["job"] for r in rebuilt} >= {"latency", "weekly", "dashboard", "verify"}
    assert run.summary["lines_placeholder"] == 0
    assert not _log_findings(ws, "2026-01-08T00:32:00Z")


def test_a_lost_log_is_rebuilt_after_another_run_wrote_a_new_one(ws):
    """The usual order on call: verify (or any job) runs first, finds the log gone and starts a new one
    whose first line says which numbers were lost; the rebuild fills those, not only the tail."""
    ws.joinpath("ops", "automation_runs.log").unlink()
    lost = [a for a in _log_findings(ws, "2026-01-08T00:30:00Z") if a["rule"] == "log_missing"]
    assert lost, "verify reports the lost log"
    run = _rebuild(ws, "2026-01-08T00:31:00Z")
    after = [json.loads(line) for line in _lines(ws)]
    assert [r["sequence"] for r in after] == list(range(1, len(after) + 1))
    assert {r["job"] for r in after if r.get("rebuilt")} >= {"latency", "weekly", "dashboard", "verify"}
    assert run.summary["runs_unplaced"] == 0
    assert not _log_findings(ws, "2026-01-08T00:32:00Z")


def test_a_whole_log_needs_nothing_and_a_second_rebuild_changes_nothing(ws):
    before = _lines(ws)
    run = _rebuild(ws, "2026-01-08T00:31:00Z")
    assert run.summary["lines_rebuilt"] == 0 and run.summary["written"] == []
    assert _lines(ws)[:-1] == before
    del_second = [*before[:1], *before[2:]]
    ws.joinpath("ops", "automation_runs.log").write_bytes(b"\n".join(del_second) + b"\n")
    _rebuild(ws, "2026-01-08T00:32:00Z")
    once = _lines(ws)
    again = _rebuild(ws, "2026-01-08T00:33:00Z")
    assert again.summary["lines_rebuilt"] == 0 and _lines(ws)[:-1] == once


def test_a_torn_last_line_is_moved_aside_even_without_a_gap(ws):
    log = ws / "ops" / "automation_runs.log"
    log.write_bytes(log.read_bytes() + b'{"job_id": "2026')  # a writer killed mid-line
    run = _rebuild(ws, "2026-01-08T00:31:00Z")
    assert run.summary["lines_invalid"] == 1 and run.summary["lines_rebuilt"] == 0
    assert "ops/automation_runs.log" in run.summary["written"]  # rewritten without it, not left to the next append
    assert b'{"job_id": "2026' in b"".join(p.read_bytes() for p in (ws / "ops" / "log_rebuild").rglob("*.line*"))
    assert all(json.loads(line) for line in _lines(ws))

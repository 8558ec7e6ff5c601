"""`diagnostics.config_version` on every automation-log line (seed 002 §5.1, §6): the version of the
configuration the run saw, a hash of configs/observability/*.yaml; lines written before it still verify."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from _support_latency import current_row, ok_run, run_latency, ts, write_log
from observability import runlog
from observability.locking import FileLock
from observability.workspace import Workspace

NOW = ts("2025-10-11T12:00:00Z")


def _expected(ws: Path) -> str:
    """The documented definition, computed independently of the code under test."""
    outer = hashlib.sha256()
    files = sorted(p for p in (ws / "configs" / "observability").iterdir() if p.suffix in (".yaml", ".yml"))
    for path in files:
        outer.update(f"{path.name}\n{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    return outer.hexdigest()[:12] if files else "none"


def _lines(ws: Path) -> list[dict]:
    return [json.loads(line) for line in (ws / "ops" / "automation_runs.log").read_text().splitlines()]


def _workspace(ws: Path) -> Path:
    config = ws / "configs" / "observability"
    config.mkdir(parents=True)
    (config / "latency_alert.yaml").write_text("slo_p95_ms: 250000\n")
    (config / "weekly_report.yaml").write_text("owner: research-ops\n")
    (config / "notes.txt").write_text("not configuration\n")
    write_log(ws / "logs" / "n.csv", [current_row("2025-10-11T11:10:00Z", 100.0)])
    return ws


def test_every_line_carries_the_version_of_the_configuration_it_ran_with(tmp_path):
    ws = _workspace(tmp_path)
    ok_run(ws, "--input", "logs/n.csv", now=NOW)
    first = _expected(ws)
    (ws / "configs" / "observability" / "weekly_report.yaml").write_text("owner: someone-else\n")
    ok_run(ws, "--input", "logs/n.csv", now=NOW)
    (ws / "configs" / "observability" / "notes.txt").write_text("changed, but not configuration\n")
    with FileLock(str(ws / "ops" / ".latency.lock")):  # a run that is skipped is logged too
        skipped = run_latency(ws, "--input", "logs/n.csv", "--lock-timeout", "0", now=NOW)
    assert skipped.summary["status"] == "skipped", skipped
    versions = [line["diagnostics"]["config_version"] for line in _lines(ws)]
    assert versions == [first, _expected(ws), _expected(ws)] and first != _expected(ws)
    assert runlog.config_version(Workspace.open(str(ws))) == _expected(ws)


def test_a_workspace_without_configuration_says_none(tmp_path):
    (tmp_path / "ops").mkdir()
    write_log(tmp_path / "logs" / "n.csv", [current_row("2025-10-11T11:10:00Z", 100.0)])
    ok_run(tmp_path, "--input", "logs/n.csv", now=NOW)
    assert _lines(tmp_path)[-1]["diagnostics"]["config_version"] == "none"


def test_lines_written_before_the_field_still_verify(tmp_path):
    from click.testing import CliRunner

    from observability.cli import cli

    ws = _workspace(tmp_path)
    ok_run(ws, "--input", "logs/n.csv", now=NOW)
    log = ws / "ops" / "automation_runs.log"
    old = _lines(ws)[0]
    del old["diagnostics"]["config_version"]
    log.write_text(json.dumps(old, sort_keys=True) + "\n")
    done = CliRunner().invoke(
        cli, ["verify", "--workspace", str(ws)], env={"OBS_NOW": "2025-10-11T12:30:00Z", "OBS_SYNC_TO": None}
    )
    summary = json.loads(done.stdout)
    assert done.exit_code == 0 and not [a for a in summary["alerts"] if a["rule"] == "log_invalid_line"], summary
    assert "config_version" not in _lines(ws)[0]["diagnostics"]
    assert _lines(ws)[-1]["diagnostics"]["config_version"] == _expected(ws)

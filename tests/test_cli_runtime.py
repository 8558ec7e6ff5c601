"""The contract every job command keeps, exercised through the latency command."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from filelock import FileLock
from jsonschema import Draft202012Validator

from observability import runlog, runner as runner_io
from observability.cli import cli
from observability.clock import parse_iso
from observability.resources import schema_path
from observability.samplegen.notifier import rows, write_current

NOW = "2026-01-08T00:07:00Z"


def _workspace(tmp_path: Path, minutes: int = 60) -> Path:
    end = parse_iso(NOW) - timedelta(minutes=7)
    data = rows(end - timedelta(minutes=minutes), end, ["feed_a", "feed_b"], step=timedelta(minutes=1))
    write_current(tmp_path / "logs" / "signal.csv", data)
    return tmp_path


def _run(ws: Path, *extra: str, env: dict | None = None):
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["latency", "sample", "--workspace", str(ws), "--input", "logs/signal.csv", *extra],
        env={"OBS_NOW": NOW, "GITHUB_ACTIONS": None, **(env or {})},
        catch_exceptions=False,
    )
    return result


def _log_lines(ws: Path) -> list[dict]:
    return [json.loads(line) for line in (ws / "ops" / "automation_runs.log").read_text().splitlines()]


def test_stdout_is_one_json_summary_and_stderr_is_human(tmp_path):
    ws = _workspace(tmp_path)
    result = _run(ws)
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)  # exactly one document: json.loads refuses trailing data
    assert summary["status"] == "ok"
    assert re.fullmatch(r"20260108T000700Z-latency-[0-9a-f]{8}", summary["job_id"])
    for key in (
        "duration_ms",
        "artefacts",
        "diagnostics",
        "samples_written",
        "rollups_written",
        "breach_count",
        "breach_streak",
        "next_rotation_bytes",
        "lock_latency_ms",
        "sources",
        "alerts",
    ):
        assert key in summary, key
    assert summary["samples_written"] == 120
    assert all(not a.startswith("/") for a in summary["artefacts"])
    assert f"latency: ok ({summary['job_id']})" in result.stderr
    assert "{" not in result.stderr.splitlines()[-1]


def test_automation_log_lines_validate_and_sequence_is_monotonic(tmp_path):
    ws = _workspace(tmp_path)
    for _ in range(3):
        assert _run(ws).exit_code == 0
    lines = _log_lines(ws)
    validator = Draft202012Validator(json.loads(schema_path("automation_run").read_text()))
    for line in lines:
        assert not list(validator.iter_errors(line))
    assert [line["sequence"] for line in lines] == [1, 2, 3]
    assert (ws / "ops" / "automation_runs.sequence").read_text().strip() == "3"
    assert {line["job"] for line in lines} == {"latency"}
    assert {line["heartbeat"] for line in lines} == {"ops/latency_job_heartbeat.json"}  # which file is its own


def test_sequence_survives_a_lost_sequence_file(tmp_path):
    ws = _workspace(tmp_path)
    _run(ws)
    _run(ws)
    (ws / "ops" / "automation_runs.sequence").write_text("1\n")  # as if a run died before updating it
    _run(ws)
    assert [line["sequence"] for line in _log_lines(ws)] == [1, 2, 3]


def test_explicit_job_id_and_bad_job_id(tmp_path):
    ws = _workspace(tmp_path)
    good = _run(ws, "--job-id", "20260101T000000Z-latency-drill")
    assert json.loads(good.stdout)["job_id"] == "20260101T000000Z-latency-drill"
    bad = _run(ws, "--job-id", "../../etc/passwd")
    assert bad.exit_code == 2
    summary = json.loads(bad.stdout)
    assert summary["status"] == "error"
    assert summary["diagnostics"]["error_code"] == "invalid_config"
    assert "--job-id" in summary["diagnostics"]["error_message"]


def test_lock_held_elsewhere_ends_skipped_with_exit_0(tmp_path):
    ws = _workspace(tmp_path)
    (ws / "ops").mkdir()
    with FileLock(str(ws / "ops" / ".latency.lock")):
        result = _run(ws, "--lock-timeout", "0.2")
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert summary["status"] == "skipped"
    assert summary["diagnostics"]["reason"] == "lock_not_acquired"
    assert not (ws / "ops" / "signal_latency.csv").exists()
    assert _log_lines(ws)[-1]["status"] == "skipped"


def test_unknown_flag_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(cli, ["latency", "sample", "--no-such-flag"])
    assert result.exit_code == 2
    assert "No such option" in result.stderr


def test_off_github_nothing_of_actions_is_printed(tmp_path, monkeypatch):
    ws = _workspace(tmp_path)
    out, summary_file = tmp_path / "gh_out", tmp_path / "gh_summary"
    result = _run(ws, env={"GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary_file)})
    assert "::" not in result.stderr
    assert not out.exists() and not summary_file.exists()


def test_github_actions_outputs_summary_and_annotations(tmp_path):
    ws = _workspace(tmp_path)
    out, summary_file = tmp_path / "gh_out", tmp_path / "gh_summary"
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(out),
        "GITHUB_STEP_SUMMARY": str(summary_file),
        "GITHUB_RUN_ID": "42",
        "GITHUB_REPOSITORY": "acme/obs",
        "GITHUB_EVENT_NAME": "schedule",
        "GITHUB_SHA": "a" * 40,
    }
    result = _run(ws, env=env)
    assert result.exit_code == 0
    text = out.read_text()
    match = re.search(r"^status<<(ghadelimiter_[0-9a-f-]+)\nok\n\1$", text, re.M)
    assert match, text
    assert re.search(r"^job-id<<(ghadelimiter_[0-9a-f-]+)\n20260108T000700Z-latency-[0-9a-f]{8}\n\1$", text, re.M)
    md = summary_file.read_text()
    assert "## Signal latency" in md and "| feed_a |" in md
    line = _log_lines(ws)[-1]
    assert line["github"]["run_url"] == "https://github.com/acme/obs/actions/runs/42"
    assert line["github"]["event"] == "schedule"
    assert line["commit_sha"] == "a" * 40


def test_error_annotation_is_escaped(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    runner_io.annotate("error", "line one\nline two 100%", title="a: b, c")
    err = capsys.readouterr().err
    assert err == "::error title=a%3A b%2C c::line one%0Aline two 100%25\n"


def test_multiline_output_value_cannot_break_out(tmp_path, monkeypatch):
    target = tmp_path / "out"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(target))
    runner_io.set_outputs({"summary": "a\nstatus=forged\nb"})
    text = target.read_text()
    delimiter = text.splitlines()[0].split("<<", 1)[1]
    assert text == f"summary<<{delimiter}\na\nstatus=forged\nb\n{delimiter}\n"


def test_step_summary_is_capped_under_one_mebibyte(tmp_path, monkeypatch):
    target = tmp_path / "summary"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(target))
    runner_io.append_summary("x" * (2 * 1024 * 1024))
    assert target.stat().st_size < 1024 * 1024
    assert "truncated" in target.read_text()


def test_log_line_is_cut_under_4kb_and_marked(tmp_path):
    from observability.workspace import Workspace

    ws = Workspace(tmp_path)
    record = {
        "job_id": "20260101T000000Z-latency",
        "job": "latency",
        "status": "error",
        "started_at": NOW,
        "completed_at": NOW,
        "duration_ms": 1,
        "attempts": 1,
        "artefacts": [f"out/file_{i}.json" for i in range(300)],
        "alerts": [
            {"id": f"{i:016x}", "severity": "warning", "status": "firing", "message": "m" * 200} for i in range(50)
        ],
        "diagnostics": {"error_code": "x", "error_message": "e" * 10000},
    }
    runlog.append(ws, record)
    raw = (tmp_path / "ops" / "automation_runs.log").read_bytes()
    assert len(raw) < 4096
    line = json.loads(raw)
    assert line["diagnostics"]["truncated"] is True
    assert line["diagnostics"]["error_code"] == "x"


def test_heartbeat_keeps_last_success_when_a_run_fails(tmp_path):
    ws = _workspace(tmp_path)
    assert _run(ws).exit_code == 0
    beat = json.loads((ws / "ops" / "latency_job_heartbeat.json").read_text())
    assert beat["last_success_at"] == NOW and beat["status"] == "ok"
    (ws / "logs" / "signal.csv").unlink()
    failed = _run(ws)
    assert failed.exit_code == 1
    assert json.loads(failed.stdout)["diagnostics"]["error_code"] == "missing_input"
    beat = json.loads((ws / "ops" / "latency_job_heartbeat.json").read_text())
    assert beat["status"] == "error" and beat["last_success_at"] == NOW
    assert beat["last_failure"]["error_code"] == "missing_input"
    for key in ("generated_at", "source_command", "commit_sha", "next_run_at", "pending_alerts", "breach_streak"):
        assert key in beat


@pytest.mark.parametrize(
    "content,expected",
    [
        ("slo_p95_ms: fast\n", r"latency_alert\.yaml:1: field slo_p95_ms: 'fast' is not of type 'number'"),
        ("slo_p95ms: 100\n", r"latency_alert\.yaml:1: field <root>: .*did you mean 'slo_p95_ms'"),
        ("warning_threshold: 2\nprobes:\n  - name: a\n    url: ftp://x\n", r"latency_alert\.yaml:4: field probes\[0\]"),
        ("slo_p95_ms: [1\n", r"latency_alert\.yaml:\d+: not valid YAML"),
        ("warning_threshold: 4\ncritical_threshold: 3\n", r"field critical_threshold: must be >= warning_threshold"),
        # A key written twice is refused (YAML's safe_load would keep the last one silently).
        (
            "slo_p95_ms: 5000\nwarning_threshold: 2\nslo_p95_ms: 9000\n",
            r"latency_alert\.yaml:3: not valid YAML \(duplicate key 'slo_p95_ms' \(first at line 1\)\)",
        ),
        ("probes:\n  - {name: a, url: 'https://x', name: b}\n", r"latency_alert\.yaml:2: .*duplicate key 'name'"),
    ],
)
def test_config_errors_name_file_line_and_field(tmp_path, content, expected):
    ws = _workspace(tmp_path)
    config = ws / "configs" / "observability" / "latency_alert.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(content)
    result = _run(ws)
    assert result.exit_code == 2
    summary = json.loads(result.stdout)
    assert summary["diagnostics"]["error_code"] == "invalid_config"
    assert re.search(expected, summary["diagnostics"]["error_message"]), summary["diagnostics"]["error_message"]
    assert not (ws / "ops" / "signal_latency.csv").exists()


def test_slo_precedence_flag_over_env_over_config(tmp_path):
    ws = _workspace(tmp_path)
    config = ws / "configs" / "observability" / "latency_alert.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("slo_p95_ms: 5000\n")
    assert json.loads(_run(ws).stdout)["slo_p95_ms"] == 5000
    assert json.loads(_run(ws, env={"LATENCY_SLO_MS": "7000"}).stdout)["slo_source"] == "env"
    both = json.loads(_run(ws, "--slo-ms", "9000", env={"LATENCY_SLO_MS": "7000"}).stdout)
    assert (both["slo_p95_ms"], both["slo_source"]) == (9000, "flag")
    bad = _run(ws, env={"LATENCY_SLO_MS": "soon"})
    assert bad.exit_code == 2 and "LATENCY_SLO_MS" in json.loads(bad.stdout)["diagnostics"]["error_message"]

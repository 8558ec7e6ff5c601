"""observability cycle: pull → job → alert inbox → push in one process, each step its own run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from observability.cli import cli
from _support_cli import Run
from _support_state import base_env, init_store, log_lines, synced_files

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-01-08T00:07:00Z"


def _runner_workspace(tmp_path: Path, name: str = "ws") -> Path:
    """A fresh runner after checkout: configs and the notifier log, no ops/."""
    ws = tmp_path / name
    ws.mkdir()
    for part in ("configs", "sample"):
        shutil.copytree(ROOT / "ops-template" / part, ws / part)
    return ws


def cycle(ws: Path, *args: str, now: str = NOW) -> Run:
    result = CliRunner().invoke(cli, ["cycle", "--workspace", str(ws), *args], env=base_env(OBS_NOW=now),
                                catch_exceptions=False)
    return Run(result)


def _store(tmp_path: Path, *, init: bool = True) -> str:
    url = (tmp_path / "store").as_uri()
    if init:
        init_store(url)
    return url


LATENCY = ("--", "latency", "sample", "--input", "sample/signal_notifier.csv")


def test_a_cycle_runs_every_step_as_its_own_run_and_pushes_the_result(tmp_path):
    url = _store(tmp_path)
    ws = _runner_workspace(tmp_path)
    run = cycle(ws, "--store", url, "--for", "latency", "--alerts-source", "latency", "--dry-run-alerts", *LATENCY)
    assert run.exit_code == 0, run
    doc = run.summary
    assert [s["step"] for s in doc["steps"]] == ["state-pull", "latency", "alerts-sync", "state-push"]
    assert [s["status"] for s in doc["steps"]] == ["ok", "warning", "dry_run", "ok"]
    assert doc["status"] == "warning" and doc["exit_code"] == 0 and doc["failed_step"] is None
    # One log line per step, each with its own job id; per-step summaries on disk.
    lines = log_lines(ws)
    assert [(line["job"], line["job_id"]) for line in lines] == [
        ("state", "20260108T000700Z-state-pull"), ("latency", "20260108T000700Z-latency"),
        ("alerts", "20260108T000700Z-alerts"), ("state", "20260108T000700Z-state-push")]
    written = sorted(p.name for p in (ws / doc["step_summaries"]).iterdir())
    assert written == ["01-state-pull.json", "02-latency.json", "03-alerts-sync.json", "04-state-push.json"]
    assert json.loads((ws / doc["step_summaries"] / "02-latency.json").read_text())["samples_written"] > 2000
    pushed = doc["steps"][3]["summary"]
    assert pushed["generation"] == 1 and pushed["scope"] == "latency"
    # The next runner continues from the pushed cursor: nothing is ingested twice.
    again = _runner_workspace(tmp_path, "next")
    second = cycle(again, "--store", url, *LATENCY, now="2026-01-08T00:22:00Z")  # scope: the job's own
    assert second.summary["scope"] == "latency"
    assert second.exit_code == 0, second
    assert second.summary["steps"][0]["summary"]["generation"] == 1
    raw = (again / "ops" / "signal_latency.csv").read_text().splitlines()
    assert len(raw) == len(set(raw))
    assert second.summary["steps"][1]["summary"]["samples_written"] < 100


def test_a_failed_job_is_still_pushed_and_the_cycle_exits_with_its_code(tmp_path):
    url = _store(tmp_path)
    ws = _runner_workspace(tmp_path)
    run = cycle(ws, "--store", url, "--for", "latency", "--alerts-source", "latency", "--dry-run-alerts",
                "--", "latency", "sample", "--input", "sample/missing.csv")
    assert run.exit_code == 1, run
    doc = run.summary
    assert doc["status"] == "error" and doc["failed_step"] == "latency"
    assert [s["status"] for s in doc["steps"]] == ["ok", "error", "dry_run", "ok"]
    assert doc["steps"][1]["summary"]["diagnostics"]["error_code"] == "missing_input"
    # The push carried the failed run's log line to the store.
    other = _runner_workspace(tmp_path, "other")
    pulled = cycle(other, "--store", url, "--for", "latency", *LATENCY)
    assert pulled.summary["steps"][0]["summary"]["generation"] == 1
    assert any(line["job"] == "latency" and line["status"] == "error" for line in log_lines(other))


def test_nothing_runs_when_the_pull_fails_and_every_step_is_logged_skipped(tmp_path):
    url = _store(tmp_path, init=False)
    ws = _runner_workspace(tmp_path)
    run = cycle(ws, "--store", url, "--for", "latency", "--alerts-source", "latency", *LATENCY)
    assert run.exit_code == 1, run
    doc = run.summary
    assert [s["status"] for s in doc["steps"]] == ["error", "skipped", "skipped", "skipped"]
    assert doc["steps"][0]["summary"]["diagnostics"]["error_code"] == "store_not_initialised"
    assert {s.get("reason") for s in doc["steps"][1:]} == {"state_pull_failed"}
    assert not (ws / "ops" / "latency_state.json").exists()
    assert not (tmp_path / "store").exists()
    assert [line["status"] for line in log_lines(ws)] == ["error", "skipped", "skipped", "skipped"]


def test_dry_run_sends_nothing_and_leaves_the_store_as_it_was(tmp_path):
    url = _store(tmp_path)
    ws = _runner_workspace(tmp_path)
    run = cycle(ws, "--store", url, "--for", "latency", "--alerts-source", "latency", "--dry-run", *LATENCY)
    assert run.exit_code == 0, run
    doc = run.summary
    assert doc["status"] == "dry_run"
    assert "--dry-run-alert" in doc["steps"][1]["command"] and "--dry-run" in doc["steps"][3]["command"]
    assert [s["status"] for s in doc["steps"]] == ["ok", "dry_run", "dry_run", "dry_run"]
    assert not (tmp_path / "store" / "manifests").exists()


def test_a_scoped_cycle_leaves_other_jobs_state_in_the_store(tmp_path):
    url = _store(tmp_path)
    seed = _runner_workspace(tmp_path, "seed")
    (seed / "ops" / "dashboard_export_history" / "b1").mkdir(parents=True)
    (seed / "ops" / "dashboard_export_history" / "b1" / "manifest.json").write_text('{"bundle": 1}\n')
    assert cycle(seed, "--store", url, "--for", "all", *LATENCY).exit_code == 0
    ws = _runner_workspace(tmp_path)
    run = cycle(ws, "--store", url, "--for", "latency", *LATENCY, now="2026-01-08T00:22:00Z")
    assert run.exit_code == 0, run
    assert not (ws / "ops" / "dashboard_export_history").exists()
    check = _runner_workspace(tmp_path, "check")
    assert cycle(check, "--store", url, "--for", "all", *LATENCY, now="2026-01-08T00:37:00Z").exit_code == 0
    assert "ops/dashboard_export_history/b1/manifest.json" in synced_files(check)


def test_usage_errors_run_nothing(tmp_path):
    url = _store(tmp_path)
    ws = _runner_workspace(tmp_path)
    for args, expected in (
            (["--for", "latency", "--", "latency", "sample", "--workspace", str(ws)], "--workspace is set by the cycle"),
            (["--for", "latency", "--", "state", "pull"], "runs the state pull and push itself"),
            (["--for", "nonsense", *LATENCY], "unknown job")):
        run = cycle(ws, "--store", url, *args)
        assert run.exit_code == 2 and expected in run.stderr, run
    assert not (ws / "ops" / "automation_runs.log").exists()


def test_the_failure_report_runs_after_the_job_and_says_recovered_only_when_it_worked(tmp_path):
    url = _store(tmp_path)
    ws = _runner_workspace(tmp_path)
    args = ("--store", url, "--report-failure", "latency", "--dry-run-alerts")
    good = CliRunner().invoke(cli, ["cycle", "--workspace", str(ws), *args, *LATENCY],
                              env=base_env(OBS_NOW=NOW, GITHUB_WORKFLOW="latency"), catch_exceptions=False)
    doc = json.loads(good.stdout)
    report = next(s for s in doc["steps"] if s["step"] == "alerts-report-failure")
    assert report["status"] == "dry_run" and "--recovered" in report["command"], doc
    assert [s["step"] for s in doc["steps"]][-1] == "state-push"
    bad = CliRunner().invoke(cli, ["cycle", "--workspace", str(_runner_workspace(tmp_path, "bad")), *args, "--",
                                   "latency", "sample", "--input", "sample/missing.csv"],
                             env=base_env(OBS_NOW=NOW, GITHUB_WORKFLOW="latency"), catch_exceptions=False)
    assert bad.exit_code == 1
    report = next(s for s in json.loads(bad.stdout)["steps"] if s["step"] == "alerts-report-failure")
    assert report["status"] == "dry_run" and "--recovered" not in report["command"]


def test_a_probe_token_in_the_job_command_appears_in_no_output_or_file(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token = "probe-TOKEN-5f1c9e2b7a"
    url = _store(tmp_path)
    ws = _runner_workspace(tmp_path)
    run = cycle(ws, "--store", url, "--", "latency", "sample", "--input", "sample/signal_notifier.csv",
                "--probe", f"feed_x=http://127.0.0.1:{port}/health?token={token}")
    assert run.summary["steps"][1]["step"] == "latency", run
    everything = run.stdout + run.stderr + "".join(
        p.read_text(errors="replace") for p in ws.rglob("*") if p.is_file())
    assert token not in everything

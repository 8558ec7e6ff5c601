"""observability cycle: pull → job → alert inbox → push in one process, each step its own run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from _support_cli import Run
from _support_state import base_env, init_store, log_lines, synced_files
from observability.cli import cli

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
    result = CliRunner().invoke(
        cli, ["cycle", "--workspace", str(ws), *args], env=base_env(OBS_NOW=now), catch_exceptions=False
    )
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
    assert [(line["job"], line["job_id"][:-9]) for line in lines] == [  # the id less its random tail
        ("state", "20260108T000700Z-state-pull"),
        ("latency", "20260108T000700Z-latency"),
        ("alerts", "20260108T000700Z-alerts"),
        ("state", "20260108T000700Z-state-push"),
    ]
    assert len({line["job_id"] for line in lines}) == 4
    written = sorted(p.name for p in (ws / doc["step_summaries"]).iterdir())
    assert written == [
        "01-state-pull.json",
        "02-latency.json",
        "03-alerts-sync.json",
        "04-state-push.json",
        "automation_runs.jsonl",
    ]
    # The cycle's own log lines, for the run's artifact (the log itself rotates and lives in the store).
    own = [json.loads(line) for line in (ws / doc["step_summaries"] / "automation_runs.jsonl").read_text().splitlines()]
    assert [line["job_id"] for line in own] == [line["job_id"] for line in lines]
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
    run = cycle(
        ws,
        "--store",
        url,
        "--for",
        "latency",
        "--alerts-source",
        "latency",
        "--dry-run-alerts",
        "--",
        "latency",
        "sample",
        "--input",
        "sample/missing.csv",
    )
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
    assert "--dry-run" in doc["steps"][1]["command"] and "--dry-run" in doc["steps"][3]["command"]
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
        (["--for", "nonsense", *LATENCY], "unknown job"),
    ):
        run = cycle(ws, "--store", url, *args)
        assert run.exit_code == 2 and expected in run.stderr, run
    assert not (ws / "ops" / "automation_runs.log").exists()


def test_the_failure_report_runs_after_the_job_and_says_recovered_only_when_it_worked(tmp_path):
    url = _store(tmp_path)
    ws = _runner_workspace(tmp_path)
    args = ("--store", url, "--report-failure", "latency", "--dry-run-alerts")
    good = CliRunner().invoke(
        cli,
        ["cycle", "--workspace", str(ws), *args, *LATENCY],
        env=base_env(OBS_NOW=NOW, GITHUB_WORKFLOW="latency"),
        catch_exceptions=False,
    )
    doc = json.loads(good.stdout)
    report = next(s for s in doc["steps"] if s["step"] == "alerts-report-failure")
    assert report["status"] == "dry_run" and "--recovered" in report["command"], doc
    assert [s["step"] for s in doc["steps"]][-1] == "state-push"
    bad = CliRunner().invoke(
        cli,
        [
            "cycle",
            "--workspace",
            str(_runner_workspace(tmp_path, "bad")),
            *args,
            "--",
            "latency",
            "sample",
            "--input",
            "sample/missing.csv",
        ],
        env=base_env(OBS_NOW=NOW, GITHUB_WORKFLOW="latency"),
        catch_exceptions=False,
    )
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
    run = cycle(
        ws,
        "--store",
        url,
        "--",
        "latency",
        "sample",
        "--input",
        "sample/signal_notifier.csv",
        "--probe",
        f"feed_x=http://127.0.0.1:{port}/health?token={token}",
    )
    assert run.summary["steps"][1]["step"] == "latency", run
    everything = run.stdout + run.stderr + "".join(p.read_text(errors="replace") for p in ws.rglob("*") if p.is_file())
    assert token not in everything


def test_before_feeds_the_job_after_publishes_it_and_a_failed_before_skips_both(tmp_path):
    """inputs pull runs between the state pull and the job; sync push only after a job that worked."""
    url = _store(tmp_path)
    shared = tmp_path / "shared"
    shared.mkdir()
    ws = _runner_workspace(tmp_path)
    (ws / "configs" / "observability" / "inputs.yaml").write_text("inputs: []\n")
    run = cycle(
        ws,
        "--store",
        url,
        "--for",
        "latency",
        "--before",
        "inputs pull --for latency",
        "--after",
        f"sync push --to {shared.as_uri()} --no-weekly",
        *LATENCY,
    )
    assert run.exit_code == 0, run
    steps = [(s["step"], s["status"]) for s in run.summary["steps"]]
    assert [name for name, _ in steps] == ["state-pull", "inputs-pull", "latency", "sync-push", "state-push"]
    broken = _runner_workspace(tmp_path, "broken")
    (broken / "configs" / "observability" / "inputs.yaml").write_text("inputs: [{name: x}]\n")  # invalid
    result = CliRunner().invoke(
        cli,
        [
            "cycle",
            "--workspace",
            str(broken),
            "--store",
            url,
            "--for",
            "latency",
            "--report-failure",
            "latency",
            "--dry-run-alerts",
            "--before",
            "inputs pull --for latency",
            "--after",
            f"sync push --to {shared.as_uri()}",
            *LATENCY,
        ],
        env=base_env(OBS_NOW="2026-01-08T00:22:00Z", GITHUB_WORKFLOW="latency"),
        catch_exceptions=False,
    )
    run = Run(result)
    assert run.exit_code == 2, run
    by_step = {s["step"]: s for s in run.summary["steps"]}
    assert by_step["inputs-pull"]["exit_code"] == 2
    assert by_step["latency"]["reason"] == by_step["sync-push"]["reason"] == "previous_step_failed"
    assert "--recovered" not in by_step["alerts-report-failure"]["command"]
    assert by_step["state-push"]["status"] == "ok"  # the failure's log lines still reach the store


def test_a_failed_pull_is_still_reported_and_no_push_leaves_the_push_to_another_job(tmp_path):
    ws = _runner_workspace(tmp_path)
    missing = _store(tmp_path, init=False)
    result = CliRunner().invoke(
        cli,
        [
            "cycle",
            "--workspace",
            str(ws),
            "--store",
            missing,
            "--for",
            "latency",
            "--report-failure",
            "latency",
            "--workflow",
            "latency",
            "--dry-run-alerts",
            *LATENCY,
        ],
        env=base_env(OBS_NOW=NOW),
        catch_exceptions=False,
    )
    run = Run(result)
    by_step = {s["step"]: s for s in run.summary["steps"]}
    assert by_step["alerts-report-failure"]["status"] == "dry_run"  # the failing pull opens the issue
    assert "--recovered" not in by_step["alerts-report-failure"]["command"]
    assert by_step["latency"]["reason"] == by_step["state-push"]["reason"] == "state_pull_failed"
    url = _store(tmp_path / "ok")
    fresh = _runner_workspace(tmp_path, "fresh")
    run = cycle(fresh, "--store", url, "--for", "latency", "--no-push", *LATENCY)
    assert run.exit_code == 0, run
    assert [s["step"] for s in run.summary["steps"]] == ["state-pull", "latency"]
    assert not list((tmp_path / "ok" / "store").glob("manifests/*"))


def test_the_state_of_before_and_after_steps_is_pushed_and_upstream_inputs_never_are(tmp_path):
    """A dashboard cycle that also pulls inputs and syncs pushes their state (inputs cursor, sync
    heartbeat and prune log) too, but never ops/state_archive, which inputs pull brings every time."""
    url = _store(tmp_path)
    shared = tmp_path / "shared"
    shared.mkdir()
    ws = _runner_workspace(tmp_path)
    (ws / "configs" / "observability" / "inputs.yaml").write_text("inputs: []\n")
    shutil.copytree(ROOT / "ops-template" / "ops" / "state_archive", ws / "ops" / "state_archive")
    run = cycle(
        ws,
        "--store",
        url,
        "--before",
        "inputs pull --for latency",
        "--after",
        f"sync push --to {shared.as_uri()}",
        *LATENCY,
    )
    assert run.exit_code == 0, run
    assert run.summary["scope"] == "latency+inputs+sync"
    check = _runner_workspace(tmp_path, "check")
    assert cycle(check, "--store", url, "--for", "all", *LATENCY, now="2026-01-08T00:22:00Z").exit_code == 0
    stored = synced_files(check)
    assert "ops/sync_heartbeat.json" in stored
    assert not [p for p in stored if p.startswith("ops/state_archive/")]


def _cycle_env(ws: Path, *args: str, now: str = NOW, **env) -> Run:
    result = CliRunner().invoke(
        cli, ["cycle", "--workspace", str(ws), *args], env=base_env(OBS_NOW=now, **env), catch_exceptions=False
    )
    return Run(result)


def test_only_the_job_step_pings_the_dead_man_switch_and_a_dry_run_never_does(tmp_path):
    from test_verify_deadman import receiver

    url = _store(tmp_path)
    with receiver() as (ping, hits):
        broken = _runner_workspace(tmp_path, "broken")
        # A job that fails: the pull and the push worked, but nothing may tell the outside all is well.
        run = _cycle_env(
            broken,
            "--store",
            url,
            "--",
            "latency",
            "sample",
            "--input",
            "sample/missing.csv",
            OBS_HEARTBEAT_PING_URL=ping,
        )
        assert run.exit_code == 1 and hits == [], (run, hits)
        ws = _runner_workspace(tmp_path)
        run = _cycle_env(ws, "--store", url, *LATENCY, OBS_HEARTBEAT_PING_URL=ping, now="2026-01-08T00:22:00Z")
        assert run.exit_code == 0 and len(hits) == 1, (run, hits)  # the job's own ping, once
        run = _cycle_env(
            ws, "--store", url, "--dry-run", *LATENCY, OBS_HEARTBEAT_PING_URL=ping, now="2026-01-08T00:37:00Z"
        )
        assert run.exit_code == 0 and len(hits) == 1


def test_a_probe_token_on_the_command_line_is_scrubbed_from_the_steps_before_the_job(tmp_path):
    url = _store(tmp_path)
    ws = _runner_workspace(tmp_path)
    (ws / "configs" / "observability" / "inputs.yaml").write_text("inputs: [{name: x}]\n")  # inputs pull fails
    token = "cmdline-probe-7b2e4c9d1a"
    run = cycle(
        ws,
        "--store",
        url,
        "--before",
        "inputs pull --for latency",
        "--command",
        f"latency sample --probe 'feed=http://127.0.0.1:9/health?token={token}'",
    )
    assert run.exit_code == 2, run
    assert token not in run.stdout + run.stderr
    for path in ws.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path


def test_an_empty_before_step_is_a_usage_error_and_alert_steps_keep_a_dry_run_dry(tmp_path):
    url = _store(tmp_path)
    ws = _runner_workspace(tmp_path)
    run = cycle(ws, "--store", url, "--before", "", *LATENCY)
    assert run.exit_code == 2 and "--before: empty command" in run.stderr, run
    run = cycle(ws, "--store", url, "--dry-run", "--after", "alerts sync --source latency", *LATENCY)
    step = next(s for s in run.summary["steps"] if s["step"] == "alerts-sync")
    assert "--dry-run" in step["command"] and step["status"] == "dry_run", step
    run = cycle(ws, "--store", url, "--dry-run", "--for", "all", "--", "workflow", "run", "--config-dump")
    job = next(s for s in run.summary["steps"] if s["step"] == "workflow")
    assert "--dry-run" in job["command"], job  # the chain's own jobs go dry too

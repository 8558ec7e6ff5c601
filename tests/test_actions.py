"""Composite actions: thin, documented, injection-safe wrappers whose run: steps really work."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import click
import pytest

from _support_actions import ROOT, load, run_action
from observability import jobs
from observability.cli import cli

ACTIONS = sorted(p.parent.name for p in (ROOT / "actions").glob("*/action.yml"))
# Which command each action wraps (the job registry says).
COMMANDS = {c.action: c.path for job in jobs.JOBS for c in job.commands if c.action}


def _command(path: tuple[str, ...]) -> click.Command:
    node = cli
    for part in path:
        node = node.commands[part]
    return node


@pytest.mark.parametrize("name", ACTIONS)
def test_action_shape(name):
    action = load(name)
    assert action["runs"]["using"] == "composite"
    for key, spec in action["inputs"].items():
        assert re.fullmatch(r"[a-z][a-z0-9-]*", key), key
        assert spec.get("description") and "required" in spec and isinstance(spec.get("default"), str), key
    for step in action["runs"]["steps"]:
        assert step.get("name"), step
        if "run" in step:
            assert step["shell"] == "bash"
            assert "${{" not in step["run"], f"{name}: {step['name']} interpolates into run:"
        for value in (step.get("env") or {}).values():
            assert re.fullmatch(r"\$\{\{ (inputs\.[a-z0-9-]+|steps\.[a-z_]+\.outputs\.[a-z-]+) \}\}", str(value))
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
    assert {"status", "job-id", "summary"} <= set(action["outputs"])
    referenced = {m for v in action["outputs"].values() for m in re.findall(r"steps\.([a-z_]+)\.", v["value"])}
    ids = {s.get("id") for s in action["runs"]["steps"]}
    assert referenced <= ids


@pytest.mark.parametrize("name", ACTIONS)
def test_every_action_input_maps_to_a_cli_option(name):
    command = _command(COMMANDS[name])
    options = {opt for param in command.params for opt in getattr(param, "opts", [])}
    for key in load(name)["inputs"]:
        assert f"--{key}" in options, f"actions/{name} input {key!r} has no --{key} option"


def test_every_job_command_has_an_action():
    assert set(COMMANDS) == set(ACTIONS)


def test_every_action_installs_the_same_way():
    """The three set-up steps are the same in every action (the shared part lives in actions/_lib)."""
    setups = {name: load(name)["runs"]["steps"][:3] for name in ACTIONS}
    first = next(iter(setups.values()))
    assert [s.get("id") for s in first] == ["prep", None, "install"]
    for name, steps in setups.items():
        assert steps == first, f"actions/{name} installs differently"


def test_state_pull_latency_state_push_through_the_actions(tmp_path):
    """A fresh runner: pull (a new store starts empty), sample, push; the next runner sees it."""
    store = f"file://{tmp_path / 'store'}"
    created = run_action("state-init", {"workspace": str(tmp_path), "store": store}, tmp_path)
    assert created["code"] == 0 and created["outputs"]["status"] == "ok", created["stderr"]
    for runner in ("first", "second"):
        ws = tmp_path / runner
        ws.mkdir()
        shutil.copytree(ROOT / "ops-template" / "sample", ws / "sample")
        env = {"OBS_NOW": NOW if runner == "first" else "2026-01-08T00:22:00Z"}
        steps = [
            ("state-pull", {"workspace": str(ws), "store": store}),
            ("latency", {"workspace": str(ws), "input": "sample/signal_notifier.csv"}),
            ("state-push", {"workspace": str(ws), "store": store}),
        ]
        for action, inputs in steps:
            result = run_action(action, inputs, tmp_path / runner, extra_env=env)
            assert result["code"] == 0, (action, result["stderr"])
    first = [json.loads(x) for x in (tmp_path / "first" / "ops" / "automation_runs.log").read_text().splitlines()]
    second = [json.loads(x) for x in (tmp_path / "second" / "ops" / "automation_runs.log").read_text().splitlines()]
    assert [line["job"] for line in second[: len(first)]] == [line["job"] for line in first]
    latency_runs = [line for line in second if line["job"] == "latency"]
    assert latency_runs[0]["status"] == "warning" and len(latency_runs) == 2
    # The second runner's cursor came from the store: nothing was ingested twice.
    summary = json.loads(Path(result["outputs"]["summary"]).read_text())
    assert summary["status"] in ("ok", "warning")
    raw = (tmp_path / "second" / "ops" / "signal_latency.csv").read_text().splitlines()
    assert len(raw) == len(set(raw)) == 2593


def _sample_workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    shutil.copytree(ROOT / "ops-template", ws)
    return ws


NOW = "2026-01-08T00:07:00Z"


def test_latency_action_runs_against_the_sample_workspace(tmp_path):
    ws = _sample_workspace(tmp_path)
    result = run_action(
        "latency",
        {
            "workspace": str(ws),
            "dry-run-alert": "true",
            "input": "sample/signal_notifier.csv\nsample/signal_notifier.legacy.csv\n",
        },
        tmp_path,
        extra_env={"OBS_NOW": NOW},
    )
    assert result["code"] == 0, result["stderr"]
    outputs = result["outputs"]
    assert outputs["status"] == "dry_run"
    assert re.fullmatch(r"20260108T000700Z-latency-[0-9a-f]{8}", outputs["job-id"])
    assert outputs["pending-alerts"] == "1"
    summary = json.loads(Path(outputs["summary"]).read_text())
    assert summary["samples_written"] > 2000 and summary["status"] == "dry_run"
    assert "## Signal latency" in result["summary"] and "mermaid" in result["summary"]


def test_latency_action_fails_the_step_when_the_job_fails(tmp_path):
    ws = _sample_workspace(tmp_path)
    result = run_action(
        "latency", {"workspace": str(ws), "input": "sample/missing.csv"}, tmp_path, extra_env={"OBS_NOW": NOW}
    )
    assert result["code"] == 1
    assert result["outputs"]["status"] == "error"
    assert "::error title=observability latency%3A missing_input::" in result["stderr"]
    assert json.loads(Path(result["outputs"]["summary"]).read_text())["diagnostics"]["error_code"] == "missing_input"


def test_action_inputs_cannot_inject_shell(tmp_path):
    ws = _sample_workspace(tmp_path)
    marker = tmp_path / "pwned"
    evil = f'sample/signal_notifier.csv"; touch {marker}; echo "'
    result = run_action(
        "latency",
        {"workspace": str(ws), "input": evil, "job-id": f"$(touch {marker})"},
        tmp_path,
        extra_env={"OBS_NOW": NOW},
    )
    assert not marker.exists()
    assert result["code"] == 2  # the odd job id is refused as a usage error


def test_weekly_action_runs_a_dry_run_on_the_sample_workspace(tmp_path):
    ws = _sample_workspace(tmp_path)
    first = run_action(
        "latency", {"workspace": str(ws), "input": "sample/signal_notifier.csv"}, tmp_path, extra_env={"OBS_NOW": NOW}
    )
    assert first["code"] == 0, first["stderr"]  # the weekly report reads the latency rollups
    result = run_action(
        "weekly",
        {"workspace": str(ws), "dry-run-webhook": "true", "week-start": "2026-01-05"},
        tmp_path,
        extra_env={"OBS_NOW": NOW},
    )
    assert result["code"] == 0, result["stderr"]
    assert result["outputs"]["status"] == "dry_run"
    assert re.fullmatch(r"20260108T000700Z-weekly-[0-9a-f]{8}", result["outputs"]["job-id"])
    summary = json.loads(Path(result["outputs"]["summary"]).read_text())
    assert summary["status"] == "dry_run"
    assert any(a.startswith("out/weekly_report/") for a in summary["artefacts"])
    assert result["summary"].strip(), "the weekly review goes to the step summary"


def test_dashboard_action_exports_the_datasets_it_is_given(tmp_path):
    ws = _sample_workspace(tmp_path)
    result = run_action(
        "dashboard",
        {
            "workspace": str(ws),
            "dataset": "ev_history slippage\nturnover",
            "dry-run-upload": "true",
            "upload-command": "false {bundle_dir}",
        },
        tmp_path,
        extra_env={"OBS_NOW": NOW},
    )
    assert result["code"] == 0, result["stderr"]
    assert result["outputs"]["status"] == "dry_run"
    summary = json.loads(Path(result["outputs"]["summary"]).read_text())
    assert sorted(summary["datasets"]) == ["ev_history", "slippage", "turnover"]
    assert (ws / "out" / "dashboard" / "manifest.json").is_file()


def test_dashboard_action_passes_the_upload_retry_inputs(tmp_path):
    """upload-max-retries / upload-retry-wait-seconds reach the command: a failing upload is tried that often."""
    ws = _sample_workspace(tmp_path)
    counter = tmp_path / "attempts"
    script = tmp_path / "fail.py"
    script.write_text(f"open({str(counter)!r}, 'a').write('x')\nraise SystemExit(1)\n")
    result = run_action(
        "dashboard",
        {
            "workspace": str(ws),
            "dataset": "turnover",
            "upload-command": f"{sys.executable} {script} {{bundle_dir}}",
            "upload-max-retries": "2",
            "upload-retry-wait-seconds": "0",
        },
        tmp_path,
        extra_env={"OBS_NOW": NOW},
    )
    assert result["code"] == 1, result["stderr"]
    summary = json.loads(Path(result["outputs"]["summary"]).read_text())
    assert summary["diagnostics"]["error_code"] == "upload_failed"
    assert summary["upload"]["attempts"] == 2 and counter.read_text() == "xx"


def test_sync_push_action_copies_the_bundle_to_shared_storage(tmp_path):
    ws = _sample_workspace(tmp_path)
    exported = run_action(
        "dashboard",
        {"workspace": str(ws), "dry-run-upload": "true", "dataset": "ev_history slippage turnover"},
        tmp_path,
        extra_env={"OBS_NOW": NOW},
    )
    assert exported["code"] == 0, exported["stderr"]
    target = tmp_path / "shared"
    target.mkdir()
    result = run_action(
        "sync-push",
        {"workspace": str(ws), "to": target.as_uri(), "no-weekly": "true"},
        tmp_path,
        extra_env={"OBS_NOW": NOW},
    )
    assert result["code"] == 0, result["stderr"]
    assert result["outputs"]["status"] == "ok"
    index = json.loads((target / "index.json").read_text())
    manifests = list(target.glob("dashboard/*/*/manifest.json"))
    assert len(manifests) == 1 and index
    assert manifests[0].read_bytes() == (ws / "out" / "dashboard" / "manifest.json").read_bytes()
    assert not list(target.glob("weekly/**/*.json"))


def test_alerts_actions_plan_issue_calls_in_dry_run(tmp_path):
    ws = _sample_workspace(tmp_path)
    env = {"OBS_NOW": NOW, "GITHUB_REPOSITORY": "acme/trading", "GITHUB_TOKEN": "", "GITHUB_WORKFLOW": "latency"}
    first = run_action(
        "latency", {"workspace": str(ws), "input": "sample/signal_notifier.csv"}, tmp_path, extra_env=env
    )
    assert first["code"] == 0, first["stderr"]
    synced = run_action(
        "alerts-sync", {"workspace": str(ws), "source": "latency", "dry-run": "true"}, tmp_path, extra_env=env
    )
    assert synced["code"] == 0, synced["stderr"]
    assert synced["outputs"]["status"] == "dry_run"
    plan = json.loads(Path(synced["outputs"]["summary"]).read_text())
    assert plan["status"] == "dry_run"
    planned = list((ws / "out" / "alert_inbox").glob("*.json"))
    assert planned, "the dry run writes the calls it would make"
    failed = run_action(
        "alerts-report-failure", {"workspace": str(ws), "job": "latency", "dry-run": "true"}, tmp_path, extra_env=env
    )
    assert failed["code"] == 0, failed["stderr"]
    assert failed["outputs"]["status"] == "dry_run"


def test_weekly_action_without_a_webhook_is_a_configuration_error(tmp_path):
    ws = _sample_workspace(tmp_path)
    result = run_action(
        "weekly",
        {"workspace": str(ws), "week-start": "2026-01-05"},
        tmp_path,
        extra_env={"OBS_NOW": NOW, "OBS_WEEKLY_WEBHOOK_URL": ""},
    )
    assert result["code"] == 2
    assert result["outputs"]["status"] == "error"


@pytest.mark.slow
def test_install_step_builds_the_environment_from_hash_pinned_requirements(tmp_path):
    """The real install: a venv from actions/_lib/requirements.txt (needs the package index)."""
    ws = _sample_workspace(tmp_path)
    result = run_action(
        "latency",
        {"workspace": str(ws), "input": "sample/signal_notifier.csv"},
        tmp_path,
        real_install=True,
        extra_env={"OBS_NOW": NOW},
    )
    if result["code"] != 0 and "Could not find a version" in result["stderr"]:
        pytest.skip("the package index is not reachable from this machine")
    assert result["code"] == 0, result["stderr"][-3000:]
    bin_path = result["steps"]["install"]["bin"]
    assert bin_path.startswith(str(tmp_path / "runner_temp")) and Path(bin_path).exists()
    launcher = Path(bin_path).read_text()  # python -c observability.ENTRY: no runpy start-up in every job
    assert " -c " in launcher and "-m observability" not in launcher, launcher
    assert result["steps"]["prep"]["key"].startswith("observability-venv-")
    assert result["outputs"]["status"] == "warning"


def test_cycle_action_runs_pull_job_alerts_and_push_in_one_step(tmp_path):
    store = f"file://{tmp_path / 'store'}"
    assert run_action("state-init", {"workspace": str(tmp_path), "store": store}, tmp_path)["code"] == 0
    ws = tmp_path / "ws"
    ws.mkdir()
    shutil.copytree(ROOT / "ops-template" / "sample", ws / "sample")
    result = run_action(
        "cycle",
        {
            "workspace": str(ws),
            "store": store,
            "for": "latency",
            "command": "latency sample --input 'sample/signal_notifier.csv'",
            "alerts-source": "latency",
            "dry-run-alerts": "true",
        },
        tmp_path,
        extra_env={"OBS_NOW": NOW},
    )
    assert result["code"] == 0, result["stderr"]
    outputs = result["outputs"]
    assert outputs["status"] == "warning" and outputs["failed-step"] == ""
    assert re.fullmatch(r"20260108T000700Z-latency-[0-9a-f]{8}", outputs["job-id"])
    doc = json.loads(Path(outputs["summary"]).read_text())
    assert [s["step"] for s in doc["steps"]] == ["state-pull", "latency", "alerts-sync", "state-push"]
    assert doc["steps"][-1]["summary"]["generation"] == 1

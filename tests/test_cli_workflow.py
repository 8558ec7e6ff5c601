"""`observability workflow run`: the chain latency → weekly → dashboard."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-01-08T00:07:00Z"


def _workspace(tmp_path: Path, automation: str | None) -> Path:
    ws = tmp_path / "ws"
    shutil.copytree(ROOT / "ops-template", ws)
    if automation is not None:
        (ws / "configs" / "observability" / "automation.yaml").write_text(automation)
    return ws


GOOD = """steps:
  latency:
    args: [latency, sample, --input, "{ROOT}/sample/signal_notifier.csv"]
  weekly:
    args: [weekly, report, --week-start, "2026-01-05"]
  dashboard:
    args: [dashboard, export]
"""


def _run(ws: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("GITHUB_", "OBS_"))}
    environ.update({"OBS_NOW": NOW, **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "observability", "workflow", "run", "--workspace", str(ws), *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=300,
        check=False,
    )


def _log(ws: Path) -> list[dict]:
    return [json.loads(x) for x in (ws / "ops" / "automation_runs.log").read_text().splitlines()]


def test_dry_run_chain_runs_every_step_in_order_and_sends_nothing(tmp_path):
    ws = _workspace(tmp_path, GOOD)
    # A webhook URL that would refuse connections: a dry run must never try it.
    done = _run(ws, "--dry-run", env={"OBS_WEEKLY_WEBHOOK_URL": "http://127.0.0.1:9/never"})
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert summary["status"] == "dry_run"
    assert [s["name"] for s in summary["steps"]] == ["latency", "weekly", "dashboard"]
    assert all(s["status"] == "dry_run" and s["exit_code"] == 0 for s in summary["steps"]), summary["steps"]
    jobs = [(line["job"], line["status"]) for line in _log(ws)]
    assert jobs == [("latency", "dry_run"), ("weekly", "dry_run"), ("dashboard", "dry_run"), ("workflow", "dry_run")]
    assert not list((ws / "ops").glob("weekly_report_history/*.sig")), "nothing was delivered"


def test_a_failed_step_stops_the_chain_and_later_steps_are_logged_skipped(tmp_path):
    ws = _workspace(tmp_path, GOOD.replace("sample/signal_notifier.csv", "sample/missing.csv"))
    done = _run(ws, "--dry-run")
    assert done.returncode == 1
    summary = json.loads(done.stdout)
    assert summary["status"] == "error"
    assert summary["diagnostics"]["error_code"] == "step_failed"
    assert summary["diagnostics"]["failed_step"] == "latency"
    assert [(s["name"], s["status"]) for s in summary["steps"]] == [
        ("latency", "error"),
        ("weekly", "skipped"),
        ("dashboard", "skipped"),
    ]
    log = _log(ws)
    skipped = [line for line in log if line["status"] == "skipped"]
    assert [line["job"] for line in skipped] == ["weekly", "dashboard"]
    assert all(line["diagnostics"]["reason"] == "previous_step_failed" for line in skipped)
    assert [line["sequence"] for line in log] == list(range(1, len(log) + 1))
    assert not (ws / "out" / "weekly_report").exists() and not (ws / "out" / "dashboard").exists()


def test_disabled_step_is_skipped_and_the_chain_goes_on(tmp_path):
    ws = _workspace(tmp_path, GOOD.replace("  weekly:\n", "  weekly:\n    enabled: false\n"))
    done = _run(ws, "--dry-run")
    assert done.returncode == 0, done.stderr
    steps = {s["name"]: s for s in json.loads(done.stdout)["steps"]}
    assert steps["weekly"]["status"] == "skipped" and steps["weekly"]["reason"] == "disabled"
    assert steps["dashboard"]["status"] == "dry_run"


def test_config_dump_prints_effective_commands_and_runs_nothing(tmp_path):
    ws = _workspace(tmp_path, GOOD)
    done = _run(ws, "--dry-run", "--config-dump")
    assert done.returncode == 0, done.stderr
    dump = json.loads(done.stdout)
    latency = dump["steps"][0]["command"]
    assert latency[:3] == ["observability", "latency", "sample"]
    assert str(ws / "sample" / "signal_notifier.csv") in latency  # {ROOT} expanded
    assert latency[-3:] == ["--workspace", str(ws), "--dry-run"]
    assert dump["steps"][1]["command"][-1] == "--dry-run"
    assert not (ws / "ops" / "automation_runs.log").exists()


@pytest.mark.parametrize(
    "content,expected",
    [
        ("steps:\n  latency:\n    args: [weekly, report]\n", "steps.latency.args: must start with 'latency'"),
        ("steps:\n  nightly:\n    args: [x]\n", "automation.yaml:2: field steps"),
        ("steps:\n  latency:\n    args: [latency, sample, --workspace, /tmp]\n", "--workspace is set by the chain"),
    ],
)
def test_bad_chain_config_is_a_usage_error_naming_the_field(tmp_path, content, expected):
    ws = _workspace(tmp_path, content)
    done = _run(ws, "--dry-run")
    assert done.returncode == 2
    assert expected in json.loads(done.stdout)["diagnostics"]["error_message"]


def test_a_step_never_imports_a_module_from_the_current_directory(tmp_path):
    """The chain starts each step as `python -c ENTRY`, which puts the current directory first on
    sys.path: a click.py (or yaml.py, ...) in the directory the operator runs from was imported by
    every step. The steps run with the parent's package and nothing from the current directory."""
    ws = _workspace(
        tmp_path,
        GOOD.replace("  weekly:\n", "  weekly:\n    enabled: false\n").replace(
            "  dashboard:\n", "  dashboard:\n    enabled: false\n"
        ),
    )
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    marker = tmp_path / "imported"
    for name in ("click.py", "yaml.py", "observability.py"):
        (hostile / name).write_text(f"open({str(marker)!r}, 'a').write({name!r})\nraise SystemExit(99)\n")
    environ = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("GITHUB_", "OBS_"))}
    environ.update({"OBS_NOW": NOW})
    # Started as the console script starts (its own directory first on sys.path, not the cwd).
    script = Path(sys.executable).with_name("observability")
    argv = [str(script)] if script.exists() else [sys.executable, "-P", "-m", "observability"]
    done = subprocess.run(
        [*argv, "workflow", "run", "--workspace", str(ws), "--dry-run"],
        capture_output=True,
        text=True,
        env=environ,
        timeout=300,
        check=False,
        cwd=hostile,
    )
    assert not marker.exists(), f"a step imported {marker.read_text()} from the current directory"
    assert done.returncode == 0, done.stdout + done.stderr
    steps = json.loads(done.stdout)["steps"]
    assert steps[0]["name"] == "latency" and steps[0]["status"] == "dry_run", steps

"""The demo: copy the sample workspace and run each job exactly as a workflow would, dry-run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import observability
from observability.clock import iso
from observability.resources import template_dir
from observability.samplegen.notifier import SAMPLE_NOW


class DemoError(Exception):
    """The demo workspace cannot be created."""


# The demo workspace's latency config names the bundled sample logs, so every command run in
# it later (`workflow run --dry-run`, a plain `latency sample`) samples them too.
LATENCY_CONFIG = "configs/observability/latency_alert.yaml"
SAMPLE_INPUTS = (
    "inputs:\n  - path: sample/signal_notifier.csv\n  - path: sample/signal_notifier.legacy.csv\n    source: notifier\n"
)

# Each step: (title, argv after `observability`). Later jobs add theirs here.
STEPS: list[tuple[str, list[str]]] = [
    ("latency", ["latency", "sample", "--dry-run"]),
    ("dashboard", ["dashboard", "export", "--dry-run"]),
    ("weekly", ["weekly", "report", "--dry-run", "--week-start", "2026-01-05"]),
    ("verify", ["verify"]),
    ("alerts", ["alerts", "sync", "--dry-run", "--repo", "example/trading-observability"]),
]


def _target(directory: str | None) -> Path:
    if directory:
        path = Path(directory)
        if path.exists() and not path.is_dir():
            raise DemoError(f"--dir {path}: is a file; choose a new directory")
        if path.exists() and any(path.iterdir()):
            raise DemoError(f"{path}: exists and is not empty; choose a new directory")
        return path
    n = 1
    while Path(f"demo-workspace-{n}").exists():
        n += 1
    return Path(f"demo-workspace-{n}")


def run_demo(directory: str | None, echo: Callable[[str], None]) -> int:
    target = _target(directory).resolve()
    shutil.copytree(template_dir(), target, dirs_exist_ok=True)
    config = target / LATENCY_CONFIG
    text = config.read_text(encoding="utf-8")
    if "\ninputs: []\n" not in text:
        raise DemoError(f"{LATENCY_CONFIG}: the template no longer has an empty `inputs: []` line to fill")
    config.write_text(text.replace("\ninputs: []\n", "\n" + SAMPLE_INPUTS, 1), encoding="utf-8")
    env = {**os.environ, "OBS_NOW": iso(SAMPLE_NOW)}
    env.pop("GITHUB_ACTIONS", None)
    echo(f"sample workspace: {target}")
    worst = 0
    for title, argv in STEPS:
        command, child_env = observability.child([*argv, "--workspace", str(target)], env)  # nothing from the cwd
        done = subprocess.run(command, capture_output=True, text=True, env=child_env, check=False)
        try:
            summary = json.loads(done.stdout)
        except ValueError:
            echo(f"\n{title}: exit {done.returncode}, no JSON summary\n{done.stderr}")
            worst = max(worst, 1)
            continue
        worst = max(worst, done.returncode)
        echo(f"\n{title}: status={summary['status']} exit={done.returncode} job_id={summary['job_id']}")
        for key in ("samples_written", "rejected_rows", "rollups_written", "pending_alerts"):
            if key in summary:
                echo(f"  {key}: {summary[key]}")
        for alert in summary.get("alerts", []):
            echo(f"  alert [{alert['severity']}/{alert['status']}] {alert['message']}")
        if summary["diagnostics"].get("error_message"):
            echo(f"  error: {summary['diagnostics']['error_message']}")
        for artefact in summary["artefacts"]:
            echo(f"  artefact: {target / artefact}")
    echo(f"\nautomation log: {target / 'ops' / 'automation_runs.log'}")
    return worst

"""The launcher actions/_lib/install.sh writes (``python -c observability.ENTRY "$@"``): run as a real
process from a hostile working directory, with arguments holding spaces, quotes and newlines, under a
RUNNER_TEMP whose path needs quoting. The venv is a stand-in whose python is this test's interpreter
(install.sh keeps a venv whose lock stamp matches), so nothing is downloaded."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTALL = ROOT / "actions" / "_lib" / "install.sh"


def _launcher(tmp_path: Path) -> Path:
    runner_temp = tmp_path / "runner 'temp' $HOME"
    venv_bin = runner_temp / "observability-venv" / "bin"
    venv_bin.mkdir(parents=True)
    python = venv_bin / "python"
    python.write_text(f'#!/bin/sh\nexec {sys.executable!r} "$@"\n')
    python.chmod(0o755)
    lock = hashlib.sha256((INSTALL.parent / "requirements.txt").read_bytes()).hexdigest()[:16]
    (runner_temp / "observability-venv" / ".observability-lock").write_text(lock + "\n")
    output = tmp_path / "github_output"
    env = {"PATH": os.environ["PATH"], "RUNNER_TEMP": str(runner_temp), "GITHUB_OUTPUT": str(output)}
    done = subprocess.run(["bash", str(INSTALL), "install"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return Path(outputs["bin"])


def test_the_launcher_passes_arguments_verbatim_keeps_exit_codes_and_ignores_the_cwd(tmp_path):
    launcher = _launcher(tmp_path)
    hostile = tmp_path / "cwd"
    hostile.mkdir()
    marker = tmp_path / "imported"
    for name in ("click.py", "observability.py", "yaml.py", "jsonschema.py"):
        (hostile / name).write_text(f"open({str(marker)!r}, 'a').write({name!r})\nraise SystemExit(99)\n")
    ws = tmp_path / "work space \"q\" 'a'\nnl"
    (ws / "logs").mkdir(parents=True)
    (ws / "logs" / "my log $x.csv").write_text(
        "timestamp_utc,latency_ms,status,detail,source\n2026-03-02T00:10:00Z,12.5,success,,feed_0\n"
    )
    env = {"PATH": os.environ["PATH"], "OBS_NOW": "2026-03-02T00:15:30Z", "PYTHONPATH": str(hostile)}
    done = subprocess.run(
        [str(launcher), "latency", "sample", "--workspace", str(ws), "--input", "logs/my log $x.csv"],
        cwd=hostile,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert not marker.exists(), f"the launcher imported {marker.read_text()} from its cwd or the caller's PYTHONPATH"
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert summary["samples_written"] == 1 and summary["status"] == "ok", summary
    assert (ws / "ops" / "latency_state.json").exists()
    # a config error keeps its exit code (2) through the launcher's exec
    bad = subprocess.run(
        [str(launcher), "latency", "sample", "--workspace", str(ws), "--probe", "no url"],
        cwd=hostile,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2, bad.stdout + bad.stderr
    assert json.loads(bad.stdout)["diagnostics"]["error_code"] == "invalid_config"

"""CI telemetry tests: a real pytest-cov run on a tiny generated project (once per module), and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from _support_inprocess import run_cli_in_process
from _support_robust import clean_env, unmeasured

PROJECT = {
    "calc.py": (
        "def sign(x):\n"
        "    if x > 0:\n"
        "        return 1\n"
        "    if x < 0:\n"
        "        return -1\n"
        "    return 0\n"
        "\n"
        "\n"
        "def unused():\n"
        "    return 'never called'\n"
    ),
    "test_calc.py": (
        "import pytest\n"
        "from calc import sign\n"
        "\n"
        "\n"
        "def test_positive():\n"
        "    assert sign(3) == 1\n"
        "\n"
        "\n"
        "def test_wrong_on_purpose():\n"
        "    assert sign(-2) == 1\n"
        "\n"
        "\n"
        "@pytest.mark.skip(reason='shows up as skipped')\n"
        "def test_skipped():\n"
        "    pass\n"
    ),
    "pytest.ini": "[pytest]\n",  # its own rootdir: none of this repository's settings apply
}


def real_reports(directory: Path, *, flake_log: Path | None = None) -> tuple[Path, Path]:
    """Run pytest with pytest-cov (branch coverage) on the tiny project in a real process; returns the
    Cobertura and JUnit reports it wrote (and the flake telemetry to ``flake_log`` when given)."""
    project = directory / "project"
    project.mkdir()
    for name, text in PROJECT.items():
        (project / name).write_text(text)
    coverage_xml, junit_xml = directory / "coverage.xml", directory / "junit.xml"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--cov=calc",
            "--cov-branch",
            f"--cov-report=xml:{coverage_xml}",
            f"--junitxml={junit_xml}",
            *([f"--flake-log-file={flake_log}"] if flake_log else []),
            "test_calc.py",
        ],
        cwd=project,
        env=unmeasured(clean_env(PYTEST_ADDOPTS="")),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr  # one test fails on purpose
    assert coverage_xml.is_file() and junit_xml.is_file(), done.stdout + done.stderr
    return coverage_xml, junit_xml


def run_ci(ws: Path, *args: str, now: str = "2026-11-20T10:00:00Z", **env: str):
    """``observability ci ARGS --workspace WS`` in process: (exit code, summary or None, stderr)."""
    done = run_cli_in_process(["ci", *args, "--workspace", str(ws)], env=clean_env(OBS_NOW=now, **env))
    try:
        summary = json.loads(done.stdout)
    except ValueError:
        summary = None
    return done.returncode, summary, done.stderr

"""The weekly commands: help with an example, every option documented in docs/weekly.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from _support_weekly import run_cli
from observability.cli import cli

DOC = (Path(__file__).resolve().parents[1] / "docs" / "weekly.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", ["report", "replay"])
def test_help_has_an_example_and_every_option_is_documented(command):
    run = run_cli(["weekly", command, "--help"])
    assert run.exit_code == 0, run
    assert "Example:" in run.stdout and f"observability weekly {command}" in run.stdout
    params = cli.commands["weekly"].commands[command].params
    for param in params:
        for opt in param.opts:
            if opt.startswith("--") and opt != "--help":
                assert opt in DOC, f"{opt} missing from docs/weekly.md"


def test_replay_requires_week_start():
    run = run_cli(["weekly", "replay"])
    assert run.exit_code == 2
    assert "--week-start" in run.stderr


def test_runbook_sections_exist():
    for heading in (
        "## Runbook",
        "### Delivery failure",
        "### Secret rotation",
        "### Replay",
        "### Cohorts",
        "### EV",
        "### Win-rate LCB",
        "### Budget status",
    ):
        assert heading in DOC

"""workflow.yml's path (run.yml → actions/cycle → ``cycle --report-failure workflow -- workflow run``): a real run
whose chain fails opens the failure issue on the fake GitHub API; a dry run (run.yml passes no
``--report-failure`` then, tests/test_workflows.py checks the expression and tests/test_act_workflows.py
runs it under act) calls GitHub for nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from _support_state import base_env, init_store
from observability.cli import cli
from tests._support_github import FakeGitHub

ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-01-08T00:07:00Z"
# The chain's first step fails (its input is missing): weekly and dashboard are then skipped, unrun.
BROKEN_CHAIN = "steps:\n  latency:\n    args: [latency, sample, --input, sample/missing.csv]\n"


def _workspace(tmp_path: Path) -> tuple[Path, str]:
    ws = tmp_path / "ws"
    ws.mkdir()
    for part in ("configs", "sample"):
        shutil.copytree(ROOT / "ops-template" / part, ws / part)
    (ws / "configs" / "observability" / "automation.yaml").write_text(BROKEN_CHAIN, encoding="utf-8")
    url = (tmp_path / "store").as_uri()
    init_store(url)
    return ws, url


def _cycle(ws: Path, fake: FakeGitHub, *args: str):
    env = base_env(
        OBS_NOW=NOW,
        GITHUB_TOKEN=fake.token,
        GITHUB_API_URL=fake.url,
        GITHUB_REPOSITORY=fake.repo,
        GITHUB_WORKFLOW="workflow",
    )
    return CliRunner().invoke(
        cli, ["cycle", "--workspace", str(ws), *args, "--", "workflow", "run"], env=env, catch_exceptions=False
    )


def test_a_real_workflow_run_that_fails_opens_the_failure_issue(tmp_path):
    ws, url = _workspace(tmp_path)
    with FakeGitHub() as fake:
        result = _cycle(ws, fake, "--store", url, "--for", "all", "--report-failure", "workflow")
        assert result.exit_code == 1, result.stdout + result.stderr
        steps = {s["step"]: s for s in json.loads(result.stdout)["steps"]}
        assert steps["workflow"]["status"] == "error"
        assert steps["alerts-report-failure"]["status"] == "ok"
        assert "--recovered" not in steps["alerts-report-failure"]["command"]
        (issue,) = fake.issues.values()
        assert issue["state"] == "open" and issue["title"] == "workflow/workflow failing"
        assert fake.violations == []


@pytest.mark.parametrize("report", [(), ("--report-failure", "workflow")], ids=["as-run-yml-calls-it", "report-asked"])
def test_a_dry_workflow_run_that_fails_calls_github_for_nothing(tmp_path, report):
    """run.yml passes no --report-failure on a dry run; even when asked, a dry report only plans its calls."""
    ws, url = _workspace(tmp_path)
    with FakeGitHub() as fake:
        result = _cycle(ws, fake, "--store", url, "--for", "all", "--dry-run", *report)
        assert result.exit_code == 1, result.stdout + result.stderr
        steps = {s["step"]: s for s in json.loads(result.stdout)["steps"]}
        assert steps["workflow"]["status"] == "error"
        assert ("alerts-report-failure" in steps) == bool(report)
        if report:
            assert steps["alerts-report-failure"]["status"] == "dry_run"
        assert fake.calls == 0 and fake.issues == {}

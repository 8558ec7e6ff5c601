"""docs/checklists.md stays true: every test it names exists, every command it names is a real
`observability` command with real options, and every definition-of-done row has its proof."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import click
import pytest

from observability import jobs
from observability.cli import cli
from observability.dashboard import DATASETS

REPO = Path(__file__).resolve().parents[1]
DOC = (REPO / "docs" / "checklists.md").read_text(encoding="utf-8")
DOD = DOC[DOC.index('<a id="definition-of-done"></a>') :]
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")
COMMAND = re.compile(r"`(observability [^`]+)`")


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def missing_tests(text: str) -> list[str]:
    out = []
    for rel, name in TEST_REF.findall(text):
        path = REPO / rel
        if not path.is_file():
            out.append(f"{rel}: no such file")
        elif name not in _tests_in(path):
            out.append(f"{rel}::{name}: no such test")
    return out


def command_problem(line: str) -> str | None:
    """Why ``line`` (``observability ...``) is not a real command with real options, or None."""
    words = shlex.split(line)[1:]
    command: click.Command = cli
    while words and isinstance(command, click.Group) and not words[0].startswith("-"):
        sub = command.commands.get(words[0])
        if sub is None:
            break
        command, words = sub, words[1:]
    if command is cli or (isinstance(command, click.Group) and words and not words[0].startswith("-")):
        return f"{line}: no such command"
    if isinstance(command, click.Group) and not command.invoke_without_command:
        return f"{line}: a group, not a command"
    flags = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
    for word in words:
        if word.startswith("-") and word.split("=", 1)[0] not in flags:
            return f"{line}: {command.name} has no option {word}"
    return None


def test_every_named_test_exists():
    assert TEST_REF.findall(DOC), "docs/checklists.md names no test"
    assert missing_tests(DOC) == []


def test_every_named_command_is_a_real_command():
    found = COMMAND.findall(DOC)
    assert found, "docs/checklists.md names no command"
    assert [problem for line in found if (problem := command_problem(line))] == []


def test_every_definition_of_done_row_has_its_proof():
    rows = [line for line in DOD.splitlines() if re.match(r"^\| \d+ \|", line)]
    assert len(rows) >= 10
    for row in rows:
        assert TEST_REF.search(row) or COMMAND.search(row), f"no test or command in: {row}"
        assert TEST_REF.search(row), f"every definition-of-done item names the test that keeps it: {row}"


@pytest.mark.parametrize(
    "text,problem",
    [
        ("`tests/test_drift.py::test_no_such_thing`", "no such test"),
        ("`tests/test_nowhere.py::test_x`", "no such file"),
    ],
)
def test_a_renamed_test_is_caught(text, problem):
    assert problem in missing_tests(text)[0]


@pytest.mark.parametrize(
    "line",
    ["observability log rebuilt", "observability verify --no-such-flag", "observability dashboard exprt"],
)
def test_a_command_that_does_not_exist_is_caught(line):
    assert command_problem(line)


def test_real_commands_pass():
    for line in (
        "observability verify job --job-id ID",
        "observability workflow run --config-dump",
        "observability demo",
    ):
        assert command_problem(line) is None, line


def test_every_job_dataset_and_webhook_has_a_runbook_section():
    """The original design's 'runbook hooks for every dataset or webhook'."""
    runbook = (REPO / "docs" / "runbook.md").read_text(encoding="utf-8")
    dashboard = (REPO / "docs" / "dashboard.md").read_text(encoding="utf-8")
    weekly = (REPO / "docs" / "weekly.md").read_text(encoding="utf-8")
    schedules = (REPO / "docs" / "schedules.md").read_text(encoding="utf-8")
    assert '<a id="latency"></a>' in runbook and "## weekly — the weekly report" in runbook
    assert "## Runbook: dashboard exports" in dashboard
    for name in DATASETS:
        assert f"### `{name}`" in dashboard, f"docs/dashboard.md has no section for dataset {name}"
    assert "\n## Runbook\n" in weekly and "## Delivery" in weekly  # the webhook
    assert '<a id="verify"></a>' in schedules
    for job in jobs.JOBS:
        if job.scheduled:
            assert (REPO / job.docs).is_file(), job.docs

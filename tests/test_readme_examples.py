"""The README's example commands: every one parses as written, and the alerts and weekly ones run.

They run the way an operator would copy them on a laptop: no GitHub Actions variables, only what the
README says a command needs (a token and a repository for the alert inbox, pointed at the fake GitHub
API here; the webhook URL and secret for the weekly delivery, a receiver on 127.0.0.1 here).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from _support_github import FakeGitHub
from _support_weekly import BASE_ENV, delivery_env, inputs_workspace, receiver, run_cli
from observability.cli import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
RUN_URL = "https://github.com/acme/research/actions/runs/42"


def examples() -> list[list[str]]:
    """Each ``observability ...`` command of the README's shell blocks, split as a shell would."""
    found = []
    for block in re.findall(r"^```(?:sh|bash)\n(.*?)^```", README, re.S | re.M):
        for command in re.sub(r"\\\n\s*", " ", block).splitlines():
            if command.startswith("observability "):
                words = shlex.split(
                    command.replace("$RUN_URL", RUN_URL).replace("<40-char sha>", "0" * 40), comments=True
                )
                found.append(words[1:])
    return found


def command_of(args: list[str]) -> tuple[click.Command, list[str], list[str]]:
    command, path = cli, []
    while isinstance(command, click.Group) and args and args[0] in command.commands:
        path.append(args[0])
        command, args = command.commands[args[0]], args[1:]
    return command, path, args


@pytest.mark.parametrize("args", examples(), ids=lambda a: " ".join(a[:3]))
def test_every_readme_example_parses(args):
    command, path, rest = command_of(args)
    assert path, f"not an observability command: {args}"
    command.make_context(" ".join(["observability", *path]), list(rest))  # raises on an unknown option or bad value


def named(prefix: str) -> list[list[str]]:
    chosen = [a for a in examples() if a[: len(prefix)] == prefix]
    assert chosen, f"the README has no `observability {' '.join(prefix)}` example"
    return chosen


def test_the_alerts_report_failure_examples_run_off_github(tmp_path):
    with FakeGitHub(clock=lambda: 1_767_866_400.0) as fake:
        env = {
            **BASE_ENV,
            "GITHUB_WORKFLOW": None,
            "GITHUB_TOKEN": fake.token,
            "GITHUB_API_URL": fake.url,
            "GITHUB_REPOSITORY": fake.repo,
            "OBS_WORKSPACE": str(tmp_path),
            "OBS_NOW": "2026-01-08T10:00:00Z",
        }
        for args in named(["alerts", "report-failure"]):
            run = run_cli(args, env=env)
            assert run.exit_code == 0, (args, run)
    assert fake.violations == []
    assert fake.issues[1]["title"] == "latency/latency failing" and fake.issues[1]["state"] == "closed"


def test_the_weekly_examples_run(tmp_path):
    ws = inputs_workspace(tmp_path / "ws")
    [report] = named(["weekly", "report"])
    run = run_cli(report, env={"OBS_WORKSPACE": str(ws)})
    assert run.exit_code == 0 and run.summary["status"] == "dry_run", run
    dry, replay = named(["weekly", "replay"])
    assert "--dry-run" in dry and "--dry-run" not in replay
    with receiver([503, 200]) as rec:
        env = {"OBS_WORKSPACE": str(ws), **delivery_env(rec)}
        week = report[report.index("--week-start") + 1]
        failed = run_cli(
            ["weekly", "report", "--week-start", week, "--max-retries", "1"], now="2026-01-12T00:07:00Z", env=env
        )
        assert failed.exit_code == 1, failed
        shown = run_cli(dry, now="2026-01-12T00:07:00Z", env={"OBS_WORKSPACE": str(ws)})
        assert shown.exit_code == 0 and shown.summary["status"] == "dry_run" and len(rec.requests) == 1, shown
        replayed = run_cli(replay + ["--retry-wait-seconds", "0"], now="2026-01-12T00:07:00Z", env=env)
    assert replayed.exit_code == 0 and replayed.summary["status"] == "ok", replayed

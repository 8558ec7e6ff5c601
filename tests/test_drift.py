"""Drift checks: every command has help and docs, every schema is valid, every env var is documented."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml
from jsonschema import Draft202012Validator

from observability.cli import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        path = prefix + (name,)
        if isinstance(command, click.Group):
            yield from _commands(command, path)
        else:
            yield path, command


COMMANDS = list(_commands(cli))


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_has_help_with_an_example_and_a_readme_entry(path, command):
    assert command.help and "Example:" in command.help, f"{' '.join(path)} needs help with an Example:"
    # Click re-wraps a paragraph unless it starts with \b: an example must print as written.
    example = command.help.split("Example:", 1)[1]
    assert example.lstrip(" \n").startswith("\b"), f"{' '.join(path)}: its Example needs a \\b line"
    assert f"observability {' '.join(path)}" in README, f"README has no entry for observability {' '.join(path)}"
    for param in command.params:
        if isinstance(param, click.Option) and param.name not in ("help",):
            assert param.help, f"{' '.join(path)} {param.opts[0]} has no help"


def test_help_runs_for_every_command():
    from click.testing import CliRunner

    for path, _ in COMMANDS:
        result = CliRunner().invoke(cli, [*path, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output


SCHEMAS = sorted((ROOT / "schemas").glob("*.schema.json"))


@pytest.mark.parametrize("path", SCHEMAS, ids=[p.name for p in SCHEMAS])
def test_every_schema_is_draft_2020_12_with_an_id(path):
    schema = json.loads(path.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(path.name)
    Draft202012Validator.check_schema(schema)


def test_template_configs_validate():
    from observability.config import latency as config

    path = ROOT / "ops-template" / "configs" / "observability" / "latency_alert.yaml"
    loaded = config.load_latency(path, display=path.name, slo_ms=None, environ={})
    assert loaded.slo_p95_ms == 120000 and loaded.warning_threshold == 2 and loaded.critical_threshold == 3
    assert yaml.safe_load(path.read_text())["failure_rate_threshold"] == 0.2


def test_every_environment_variable_read_is_documented():
    pattern = re.compile(
        r"""(?:environ(?:\.get)?\(\s*|environ\[|envvar=|getenv\(\s*|from_env\(\s*)["']([A-Z][A-Z0-9_]+)["']"""
    )
    found = set()
    for source in (ROOT / "observability").rglob("*.py"):
        found |= set(pattern.findall(source.read_text(encoding="utf-8")))
    assert found, "the pattern found nothing: it is broken"
    missing = sorted(name for name in found if f"`{name}`" not in README)
    assert not missing, f"README's environment table lacks {missing}"


def test_demo_runs_every_job_on_the_sample_workspace(tmp_path):
    target = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "observability", "demo", "--dir", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "latency: status=dry_run exit=0" in done.stdout
    assert (target / "ops" / "signal_latency.csv").is_file()
    alerts = list((target / "out" / "latency_alerts").glob("*.json"))
    assert len(alerts) == 1
    items = json.loads(alerts[0].read_text())["alerts"]
    assert any(a["source"] == "router_demo" and a["status"] == "firing" and a["severity"] == "critical" for a in items)
    refused = subprocess.run(
        [sys.executable, "-m", "observability", "demo", "--dir", str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 1 and "not empty" in refused.stderr


# One worker runs this file (the demo workspace is made once, not once per worker under -n).
pytestmark = pytest.mark.xdist_group("drift")


@pytest.fixture(scope="module")
def demo_workspace(tmp_path_factory) -> Path:
    """A workspace made by `observability demo`, once for the tests that only read or copy it."""
    target = tmp_path_factory.mktemp("drift") / "demo"
    subprocess.run(
        [sys.executable, "-m", "observability", "demo", "--dir", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return target


def test_the_chain_dry_run_works_in_the_demo_workspace(tmp_path, demo_workspace):
    """What a new user tries next: `workflow run --dry-run` inside the demo workspace samples the demo logs."""
    target = tmp_path / "demo"
    shutil.copytree(demo_workspace, target, symlinks=True)
    before = (target / "ops" / "signal_latency.csv").stat().st_size
    (target / "sample" / "signal_notifier.csv").open("a", encoding="utf-8").write(
        "2026-01-08T00:05:00Z,120.5,success,,dukascopy\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    env["OBS_NOW"] = "2026-01-08T00:10:00Z"
    done = subprocess.run(
        [sys.executable, "-m", "observability", "workflow", "run", "--dry-run", "--workspace", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    steps = {step["name"]: step for step in json.loads(done.stdout)["steps"]}
    assert steps["latency"]["status"] == "dry_run"
    assert (target / "ops" / "signal_latency.csv").stat().st_size > before  # the new sample was read


def test_rollup_rows_written_by_the_demo_match_their_schema(demo_workspace):
    from observability.latency.rollup import RollupStore

    target = demo_workspace
    rows = RollupStore(target / "ops" / "signal_latency_rollup.csv", str).read_since("")
    assert len(rows) > 200
    validator = Draft202012Validator(json.loads((ROOT / "schemas" / "latency_rollup_row.schema.json").read_text()))
    for row in rows:
        assert not list(validator.iter_errors(row.as_dict())), row


def test_the_job_id_help_shows_the_form_jobs_use():
    """`--job-id`'s help states the default form; it must be the one runtime.make_job_id writes."""
    from datetime import UTC, datetime

    from observability.runtime import make_job_id

    made = make_job_id("latency", datetime(2026, 1, 8, 0, 7, tzinfo=UTC))
    assert re.fullmatch(r"20260108T000700Z-latency-[0-9a-f]{8}", made)
    help_text = " ".join(cli.commands["latency"].commands["sample"].get_help(click.Context(cli)).split())
    assert "default YYYYMMDDThhmmssZ-<job>-<8 hex>" in help_text

"""The job registry (observability/jobs.py) against what it names: the CLI, actions/, schemas/, docs/,
ops-template/ and .importlinter; no other module lists job names; the old dry-run spellings still work."""

from __future__ import annotations

import ast
import configparser
import json
import re
import shutil
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from _support_cli import Run
from observability import jobs
from observability.cli import cli

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "ops-template"
NOW = "2026-01-08T00:07:00Z"  # the sample workspace's clock (observability.samplegen.notifier.SAMPLE_NOW)
COMMANDS = [(job, command) for job in jobs.JOBS for command in job.commands]


def _command(path: tuple[str, ...]) -> click.Command:
    node: click.Command = cli
    for part in path:
        assert isinstance(node, click.Group) and part in node.commands, f"no `observability {' '.join(path)}`"
        node = node.commands[part]
    return node


def _leaf_paths(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _leaf_paths(command, (*prefix, name))
        if not isinstance(command, click.Group) or command.invoke_without_command:
            yield (*prefix, name)


def test_the_cli_has_one_group_per_registered_job_and_nothing_else():
    assert sorted(cli.commands) == sorted(jobs.BY_NAME)
    assert len(jobs.BY_NAME) == len(jobs.JOBS), "a job name is registered twice"


def test_every_cli_command_is_registered():
    registered = {c.path for _, c in COMMANDS}
    leaves = set(_leaf_paths(cli))
    assert leaves <= registered, f"not in observability/jobs.py: {sorted(leaves - registered)}"


@pytest.mark.parametrize("job", jobs.JOBS, ids=[j.name for j in jobs.JOBS])
def test_every_job_has_its_cli_module_package_docs_and_schemas(job):
    assert (ROOT / "observability" / "cli" / f"{job.name}.py").is_file()
    package = ROOT / "observability" / job.package
    assert package.is_dir() or package.with_suffix(".py").is_file(), f"no observability/{job.package}"
    page = (ROOT / job.docs).read_text(encoding="utf-8")
    assert f"observability {job.name}" in page or f"`{job.name}" in page, f"{job.docs} never names {job.name}"
    for schema in job.schemas:
        assert (ROOT / "schemas" / f"{schema}.schema.json").is_file(), schema
    for command in job.commands:
        _command(command.path)
    if job.workflow:
        assert (TEMPLATE / ".github" / "workflows" / f"{job.workflow}.yml").is_file()


def test_every_schema_belongs_to_one_job_or_the_runtime():
    owners = [s for j in jobs.JOBS for s in j.schemas] + list(jobs.RUNTIME_SCHEMAS)
    assert len(owners) == len(set(owners)), "a schema is claimed twice"
    on_disk = {p.name.removesuffix(".schema.json") for p in (ROOT / "schemas").glob("*.schema.json")}
    assert set(owners) == on_disk


def test_every_action_wraps_one_registered_command():
    actions = sorted(p.parent.name for p in (ROOT / "actions").glob("*/action.yml"))
    wrapped = [c.action for _, c in COMMANDS if c.action]
    assert sorted(wrapped) == actions
    for _, command in COMMANDS:
        if command.action:
            text = (ROOT / "actions" / command.action / "action.yml").read_text()
            assert f"observability {' '.join(command.path)}" in text, command.action


def test_workflows_schedules_and_the_chain_match_the_registry():
    # ci-failure-alerts.yml calls ci-alerts.yml on workflow_run, not run.yml: no job of the registry
    workflows = sorted(
        p.stem for p in (TEMPLATE / ".github" / "workflows").glob("*.yml") if p.stem != "ci-failure-alerts"
    )
    assert workflows == sorted(j.workflow for j in jobs.JOBS if j.workflow)
    run_yml = (ROOT / ".github" / "workflows" / "run.yml").read_text()
    for job in jobs.JOBS:
        if job.workflow:
            assert f'"{job.workflow}"' in run_yml, f"run.yml does not accept job {job.workflow}"
    schedules = yaml.safe_load((TEMPLATE / "configs" / "observability" / "schedules.yaml").read_text())["schedules"]
    assert {s["job"] for s in schedules.values()} == {j.name for j in jobs.JOBS if j.scheduled}
    for entry in schedules.values():
        assert entry["workflow"] == f"{jobs.job(entry['job']).workflow}.yml"
    chain = [j.name for j in jobs.chain_steps()]
    automation = yaml.safe_load((TEMPLATE / "configs" / "observability" / "automation.yaml").read_text())
    assert list(automation["steps"]) == chain
    schema = json.loads((ROOT / "schemas" / "automation_config.schema.json").read_text())
    assert schema["properties"]["steps"]["propertyNames"]["enum"] == chain
    inputs_schema = (ROOT / "schemas" / "inputs_config.schema.json").read_text()
    assert json.dumps(list(jobs.input_readers())) in inputs_schema


def test_the_import_contracts_name_every_job_package():
    parser = configparser.ConfigParser()
    parser.read(ROOT / ".importlinter")
    independent = parser["importlinter:contract:jobs"]["modules"].split()
    expected = sorted(f"observability.{j.package}" for j in jobs.JOBS if j.name != "cycle")
    assert sorted(independent) == expected


def _job_name_lists(path: Path, names: set[str]):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            elements = node.elts
        elif isinstance(node, ast.Dict):
            elements = [k for k in node.keys if k is not None]
        else:
            continue
        found = [e.value for e in elements if isinstance(e, ast.Constant) and e.value in names]
        if len(found) >= 3:
            yield node.lineno, found


def test_no_module_but_the_registry_lists_job_names():
    names = set(jobs.BY_NAME)
    offenders = [
        f"{path.relative_to(ROOT)}:{line} {found}"
        for path in sorted((ROOT / "observability").rglob("*.py"))
        if path != ROOT / "observability" / "jobs.py"
        for line, found in _job_name_lists(path, names)
    ]
    assert not offenders, offenders


def test_the_scan_for_job_name_lists_finds_one(tmp_path):
    sample = tmp_path / "m.py"
    sample.write_text('STEPS = {"latency": 1, "weekly": 2, "dashboard": 3}\nOK = ("latency", "other")\n')
    assert list(_job_name_lists(sample, set(jobs.BY_NAME))) == [(1, ["latency", "weekly", "dashboard"])]


@pytest.mark.parametrize(
    "job,command", [(j, c) for j, c in COMMANDS if c.dry_run], ids=[" ".join(c.path) for _, c in COMMANDS if c.dry_run]
)
def test_dry_run_is_the_documented_flag_and_old_spellings_are_hidden(job, command):
    options = {
        opt: param for param in _command(command.path).params if isinstance(param, click.Option) for opt in param.opts
    }
    assert jobs.DRY_RUN in options and not options[jobs.DRY_RUN].hidden
    help_text = CliRunner().invoke(cli, [*command.path, "--help"]).output
    assert jobs.DRY_RUN in help_text
    if command.dry_run_alias:
        assert options[command.dry_run_alias].hidden
        assert command.dry_run_alias not in help_text


def _sample(tmp_path: Path, name: str) -> Path:
    ws = tmp_path / name
    shutil.copytree(TEMPLATE, ws)
    return ws


def _invoke(args: list[str]) -> Run:
    return Run(
        CliRunner().invoke(
            cli,
            args,
            env={
                "OBS_NOW": NOW,
                "GITHUB_ACTIONS": None,
                "OBS_WEEKLY_WEBHOOK_URL": None,
                "OBS_DASHBOARD_UPLOAD_COMMAND": None,
            },
        )
    )


# Each command with an old spelling: the arguments that make a dry run of it on the sample workspace.
OLD_SPELLINGS = {
    ("latency", "sample"): ["--input", "sample/signal_notifier.csv"],
    ("weekly", "report"): ["--week-start", "2026-01-05"],
    ("dashboard", "export"): ["--upload-command", "true {bundle_dir}"],
}


def test_every_old_spelling_has_a_dry_run_case():
    assert set(OLD_SPELLINGS) == {c.path for _, c in COMMANDS if c.dry_run_alias}


@pytest.mark.parametrize("path", sorted(OLD_SPELLINGS), ids=[" ".join(p) for p in sorted(OLD_SPELLINGS)])
def test_each_old_spelling_still_makes_a_dry_run(tmp_path, path):
    alias = jobs.command(path).dry_run_alias
    if path != ("latency", "sample"):  # weekly and dashboard read the latency rollups the sample makes
        for name in ("old", "new", "none"):
            ws = _sample(tmp_path, name)
            assert (
                _invoke(
                    ["latency", "sample", "--workspace", str(ws), "--input", "sample/signal_notifier.csv", "--dry-run"]
                ).exit_code
                == 0
            )
    runs = {}
    for name, flag in (("old", [alias]), ("new", [jobs.DRY_RUN]), ("none", [])):
        ws = tmp_path / name if (tmp_path / name).exists() else _sample(tmp_path, name)
        runs[name] = _invoke([*path, "--workspace", str(ws), *OLD_SPELLINGS[path], *flag])
    assert runs["old"].exit_code == 0 and runs["old"].summary["status"] == "dry_run", runs["old"]
    assert runs["new"].exit_code == 0 and runs["new"].summary["status"] == "dry_run", runs["new"]
    assert runs["none"].summary["status"] != "dry_run", runs["none"]  # without either flag it is a real run
    assert re.sub(r"[0-9a-f]{8}", "", str(sorted(runs["old"].summary))) == re.sub(
        r"[0-9a-f]{8}", "", str(sorted(runs["new"].summary))
    )


def test_a_dry_chain_and_cycle_pass_dry_run_only_to_jobs_that_send_outward():
    assert [j.name for j in jobs.JOBS if jobs.outward_dry_run(j.name)] == [
        "latency",
        "weekly",
        "dashboard",
        "alerts",
        "sync",
        "workflow",
    ]
    assert jobs.outward_dry_run("inputs") is None and jobs.outward_dry_run("unknown") is None
    assert all(jobs.command(c.path).dry_run for j in jobs.JOBS if j.outward for c in j.commands[:1])


def test_heartbeat_names():
    assert jobs.heartbeat_name("latency") == "latency_job_heartbeat.json"
    assert jobs.heartbeat_name("verify") == "verify_heartbeat.json"
    assert jobs.heartbeat_name("verify-job") == "verify-job_heartbeat.json"

"""The command lines ci-alerts.yml computes for a CI run's telemetry (observability/ci/wiring.py): flags only
for files that exist, the formatter record, the ci alert source only when alerts.yaml lists it, the step
output syntax, and the computed lines run as they are under `observability cycle --for ci`."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import yaml

from _support_inprocess import run_cli_in_process
from _support_robust import clean_env
from observability.ci import wiring

ROOT = Path(__file__).resolve().parents[1]
RUN = wiring.Run("701", "2", "https://github.com/acme/app/actions/runs/701", "a" * 40, "main", "failure")
COVERAGE = (
    '<?xml version="1.0"?>\n<coverage lines-valid="4" lines-covered="3" branches-valid="0" branches-covered="0"/>\n'
)
JUNIT = (
    '<?xml version="1.0"?>\n<testsuites><testsuite name="pytest" tests="2" failures="1" time="0.5">'
    '<testcase classname="t" name="ok" time="0.1"/>'
    '<testcase classname="t" name="bad" time="0.4"><failure message="no"/></testcase>'
    "</testsuite></testsuites>\n"
)
RUFF = {"name": "ruff-format", "mode": "enforced", "result": "fail"}


def _telemetry(tmp_path: Path, *, formatters=None) -> Path:
    directory = tmp_path / "ci telemetry"  # a space: the lines are shell-quoted, never pasted
    directory.mkdir()
    (directory / "coverage.xml").write_text(COVERAGE)
    (directory / "junit.xml").write_text(JUNIT)
    (directory / "formatter.json").write_text(json.dumps({"formatters": formatters or [RUFF]}))
    return directory


def test_every_file_present_gives_every_flag_for_the_triggering_run(tmp_path):
    telemetry = _telemetry(tmp_path)
    (telemetry / "flake_runs.json").write_text("{}")
    outputs = wiring.plan(telemetry, RUN).outputs()
    command = shlex.split(outputs["command"])
    assert command[:2] == ["ci", "metrics"]
    pairs = dict(zip(command[2::2], command[3::2], strict=True))
    assert pairs == {
        "--run-id": "701",
        "--run-attempt": "2",
        "--run-url": RUN.run_url,
        "--commit": "a" * 40,
        "--branch": "main",
        "--conclusion": "failure",
        "--coverage-xml": str(telemetry / "coverage.xml"),
        "--junit-xml": str(telemetry / "junit.xml"),
        "--formatter": "ruff-format",
        "--formatter-mode": "enforced",
        "--formatter-result": "fail",
    }
    after = [shlex.split(line) for line in outputs["after"].splitlines()]
    assert after == [["ci", "flakes", "--telemetry", str(telemetry / "flake_runs.json")], ["ci", "health"]]
    assert outputs["alerts-source"] == ""


def test_a_run_without_telemetry_records_only_its_fields_and_says_why(tmp_path):
    result = wiring.plan(tmp_path / "absent", wiring.Run("9", conclusion="cancelled"))
    assert result.command == ["ci", "metrics", "--run-id", "9", "--conclusion", "cancelled"]
    assert result.after == [["ci", "flakes"], ["ci", "health"]]
    assert any("no flake_runs.json" in note for note in result.notes)


@pytest.mark.parametrize(
    ("document", "kept", "noted"),
    [
        ({"formatters": []}, [], False),  # the formatter step did not run: nothing to record
        (
            {"formatters": [RUFF, {"name": "ruff", "mode": "advisory", "result": "pass"}]},
            ["ruff-format", "ruff"],
            False,
        ),
        ({"formatters": [{"name": "ruff-format", "mode": "enforced", "result": None}]}, [], True),
        ({"formatters": [{"name": "", "mode": "enforced", "result": "pass"}, RUFF]}, ["ruff-format"], True),
        ({"formatters": [{"name": "ruff format", "mode": "enforced", "result": "pass"}]}, [], True),
        ({"formatters": ["ruff"]}, [], True),
        ({"formatter": []}, [], True),
        ("not json", [], True),
    ],
)
def test_the_formatter_record_keeps_only_complete_entries(tmp_path, document, kept, noted):
    path = tmp_path / "formatter.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    found, notes = wiring.read_formatters(path)
    assert [name for name, _, _ in found] == kept
    assert bool(notes) is noted and all("formatter.json" in n for n in notes)


@pytest.mark.parametrize(
    ("text", "listed"),
    [
        (None, False),
        ("owner: ops\n", False),
        ("sources:\n  - {name: ci, path: ops/ci_alerts.json}\n", True),
        ("sources:\n  - {name: other, path: ops/other_alerts.json}\n", False),
        ("sources: [\n", False),  # broken: the alert steps say so themselves
    ],
)
def test_the_ci_alert_source_is_synced_only_when_alerts_yaml_lists_it(tmp_path, text, listed):
    config = tmp_path / "alerts.yaml"
    if text is not None:
        config.write_text(text)
    assert wiring.lists_ci_source(config) is listed
    assert wiring.plan(tmp_path, RUN, config).outputs()["alerts-source"] == ("ci" if listed else "")


def test_main_writes_github_outputs_and_refuses_a_bad_run_id(tmp_path, capsys, monkeypatch):
    telemetry = _telemetry(tmp_path)
    target = tmp_path / "gh_output"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(target))
    assert wiring.main(["--telemetry", str(telemetry), "--run-id", "701", "--branch", "main"]) == 0
    assert capsys.readouterr().out == ""
    outputs, lines = {}, target.read_text().splitlines()
    while lines:  # every value between random heredoc delimiters (runner.set_outputs)
        name, delimiter = lines.pop(0).split("<<")
        end = lines.index(delimiter)
        outputs[name], lines = "\n".join(lines[:end]), lines[end + 1 :]
    assert outputs["command"].startswith("ci metrics --run-id 701 --branch main")
    assert outputs["after"].splitlines() == ["ci flakes", "ci health"] and outputs["alerts-source"] == ""
    monkeypatch.delenv("GITHUB_ACTIONS")  # off GitHub: the same outputs as JSON on stdout
    assert wiring.main(["--telemetry", str(telemetry), "--run-id", "701", "--branch", "main"]) == 0
    assert json.loads(capsys.readouterr().out) == outputs
    with pytest.raises(SystemExit) as stop:
        wiring.main(["--telemetry", str(telemetry), "--run-id", "701; rm -rf /"])
    assert stop.value.code == 2


def test_the_computed_lines_run_under_cycle_for_ci_and_reach_the_store(tmp_path):
    """What actions/cycle receives, run as the cycle runs it: metrics recorded, health written, state pushed."""
    telemetry = _telemetry(tmp_path)
    config = tmp_path / "ws" / "configs" / "observability" / "alerts.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("sources:\n  - {name: ci, path: ops/ci_alerts.json}\n")
    outputs = wiring.plan(telemetry, RUN, config).outputs()
    store = (tmp_path / "store").as_uri()
    env = clean_env(OBS_NOW="2026-11-20T10:00:00Z", GITHUB_ACTIONS="")
    assert run_cli_in_process(["state", "init", "--store", store], env=env).returncode == 0
    args = ["cycle", "--store", store, "--for", "ci", "--workspace", str(tmp_path / "ws"), "--dry-run-alerts"]
    args += [arg for line in outputs["after"].splitlines() for arg in ("--after", line)]
    args += ["--alerts-source", outputs["alerts-source"], "--command", outputs["command"]]
    done = run_cli_in_process(args, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads(done.stdout)
    names = [step["step"] for step in document["steps"]]
    assert names == ["state-pull", "ci", "ci-flakes", "ci-health", "alerts-sync", "state-push"], names
    (entry,) = json.loads((tmp_path / "ws" / "ops" / "ci" / "ci_metrics.json").read_text())["entries"]
    assert (entry["run_id"], entry["run_attempt"], entry["conclusion"]) == ("701", 2, "failure")
    assert entry["coverage"]["line_pct"] == 75.0 and entry["tests"]["failed"] == 1
    assert (tmp_path / "ws" / "out" / "ci" / "ci_health.md").read_text().startswith("# CI health")


def test_ci_alerts_yml_passes_the_run_fields_through_env_and_the_lines_through_outputs():
    """No expression inside a `run:` of the telemetry steps (zizmor's template injection), and the cycle
    takes the computed outputs."""
    job = next(iter(yaml.safe_load((ROOT / ".github/workflows/ci-alerts.yml").read_text())["jobs"].values()))
    steps = {step.get("id"): step for step in job["steps"]}
    compute = steps["telemetry"]
    assert "${{" not in compute["run"]
    assert compute["env"]["RUN_ID"] == "${{ github.event.workflow_run.id }}"
    assert compute["if"] == "${{ !cancelled() && steps.drill.outputs.drill != 'true' }}"
    (cycle,) = [s for s in job["steps"] if s.get("uses", "").endswith("/actions/cycle")]
    assert cycle["with"]["for"] == "ci"
    for key in ("command", "after", "alerts-source", "store"):
        assert cycle["with"][key] == f"${{{{ steps.telemetry.outputs.{key} }}}}", key

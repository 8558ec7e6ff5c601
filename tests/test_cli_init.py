"""`observability init`: a new automation repository that lints clean and pins every action."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from observability import __version__
from observability.cli import cli
from observability.config import latency as latency_config

SHA = "0123456789abcdef0123456789abcdef01234567"


def _init(target: Path, *extra: str):
    return CliRunner().invoke(cli, ["init", str(target), "--repository", "acme/observability", "--ref", SHA, *extra])


def _tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).with_name(name))
    if not Path(found).exists():
        pytest.skip(f"{name} is not installed (it comes with the test extra)")
    return found


def test_scaffolded_repository_has_pinned_callers_configs_and_credentials(tmp_path):
    target = tmp_path / "new-repo"
    result = _init(target)
    assert result.exit_code == 0, result.output
    workflows = sorted(p.name for p in (target / ".github" / "workflows").glob("*.yml"))
    assert workflows == [
        "ci-failure-alerts.yml",
        "dashboard.yml",
        "latency.yml",
        "site.yml",
        "verify.yml",
        "weekly.yml",
        "workflow.yml",
    ]
    for path in (target / ".github" / "workflows").glob("*.yml"):
        text = path.read_text()
        assert "./" not in text.replace("../", "")  # nothing local: the repository holds only configs
        (uses,) = re.findall(r"uses: (\S+ # \S+)", text)
        called = "ci-alerts.yml" if path.name == "ci-failure-alerts.yml" else "run.yml"
        assert uses == f"acme/observability/.github/workflows/{called}@{SHA} # v{__version__}"
        assert len(text.splitlines()) <= 45
    latency = yaml.safe_load((target / ".github" / "workflows" / "latency.yml").read_text())
    assert latency["jobs"]["latency"]["with"]["job"] == "latency"
    for name in ("latency", "weekly", "dashboard", "verify"):  # every scheduled job drills its alert path
        caller = yaml.safe_load((target / ".github" / "workflows" / f"{name}.yml").read_text())
        triggers = caller[True]  # YAML 1.1 reads the key `on` as true
        assert {"alert_drill", "drill_reason"} <= set(triggers["workflow_dispatch"]["inputs"])
        assert {"alert-drill", "drill-reason"} <= set(caller["jobs"][name]["with"])
    site = yaml.safe_load((target / ".github" / "workflows" / "site.yml").read_text())
    assert site[True]["workflow_run"] == {"workflows": ["dashboard", "weekly"], "types": ["completed"]}
    assert site["jobs"]["site"]["with"]["job"] == "site" and site["jobs"]["site"]["permissions"]["pages"] == "write"
    assert "conclusion == 'success'" in site["jobs"]["site"]["if"] and "default_branch" in site["jobs"]["site"]["if"]
    assert "Settings → Pages → Source: GitHub Actions" in result.output
    latency_config.load_latency(
        target / "configs/observability/latency_alert.yaml", display="x", slo_ms=None, environ={}
    )
    assert "OBS_STATE_STORE" in (target / "docs" / "credentials.md").read_text()
    readme = (target / "README.md").read_text()
    assert f"https://github.com/acme/observability/blob/{SHA}/docs/getting-started.md" in readme
    assert f"git+https://github.com/acme/observability@{SHA}" in (target / "requirements.txt").read_text()
    dependabot = yaml.safe_load((target / ".github" / "dependabot.yml").read_text())
    assert {u["package-ecosystem"] for u in dependabot["updates"]} == {"github-actions", "pip"}
    # No sample data, no state: of ops/ only the local Grafana stack's configuration.
    assert [p.name for p in (target / "ops").iterdir()] == ["observability"] and not (target / "runs").exists()
    assert (target / "ops/observability/docker-compose.yml").is_file()
    assert "/ops/*" in (target / ".gitignore").read_text().splitlines()


def test_init_writes_into_a_fresh_git_repository(tmp_path):
    target = tmp_path / "fresh"
    subprocess.run(["git", "init", "-q", str(target)], check=True)
    result = _init(target)
    assert result.exit_code == 0, result.output
    assert (target / ".github" / "workflows" / "latency.yml").is_file()
    assert (target / ".git" / "HEAD").is_file()


def test_scaffolded_workflows_pass_actionlint_and_zizmor(tmp_path):
    target = tmp_path / "new-repo"
    assert _init(target).exit_code == 0
    subprocess.run(["git", "init", "-q", str(target)], check=True)
    lint = subprocess.run([_tool("actionlint"), "-oneline"], cwd=target, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    audit = subprocess.run([_tool("zizmor"), "--offline", "."], cwd=target, capture_output=True, text=True)
    assert audit.returncode == 0 and "No findings" in audit.stdout + audit.stderr, audit.stdout + audit.stderr


@pytest.mark.parametrize(
    "args,message",
    [
        (["--ref", "main"], "full 40-character commit SHA"),
        (["--repository", "not a repo"], "expected OWNER/REPO"),
    ],
)
def test_bad_pins_are_usage_errors(tmp_path, args, message):
    base = {"--repository": "acme/observability", "--ref": SHA}
    base[args[0]] = args[1]
    result = CliRunner().invoke(cli, ["init", str(tmp_path / "x"), *[v for kv in base.items() for v in kv]])
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "x").exists()


def test_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    result = _init(tmp_path)
    assert result.exit_code == 1 and "not an empty directory" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_a_ref_label_cannot_inject_yaml(tmp_path):
    result = _init(tmp_path / "x", "--ref-label", "v1\n    secrets: inherit")
    assert result.exit_code == 2 and "--ref-label" in result.output
    assert not (tmp_path / "x").exists()


def test_the_ci_failure_alerts_caller_watches_the_named_ci_workflow(tmp_path):
    result = _init(tmp_path / "a")
    assert result.exit_code == 0, result.output
    caller = yaml.safe_load((tmp_path / "a" / ".github" / "workflows" / "ci-failure-alerts.yml").read_text())
    assert caller[True] == {"workflow_run": {"workflows": ["CI"], "types": ["completed"]}}
    (job,) = caller["jobs"].values()
    assert job["permissions"] == {"contents": "read", "issues": "write", "actions": "read"}
    assert job["uses"] == f"acme/observability/.github/workflows/ci-alerts.yml@{SHA}"
    assert set(job["secrets"]) == {
        "SLACK_CI_WEBHOOK",
        "OBS_PAGERDUTY_ROUTING_KEY",
        "OBS_RELEASE_TOKEN",
        *("OBS_AWS_ACCESS_KEY_ID", "OBS_AWS_SECRET_ACCESS_KEY", "OBS_STATE_TOKEN"),  # the telemetry's state store
    }
    assert "copy it into the repository whose CI it watches" in result.output
    # the link goes to the steps to add to the CI (an anchor docs/ci.md has), not to the alerting overview
    (link,) = re.findall(r"https://\S+/docs/ci\.md#(\S+)", result.output)
    assert link == "adopting-it-the-ci-side-steps"
    assert "### Adopting it: the CI-side steps" in (Path(__file__).resolve().parents[1] / "docs" / "ci.md").read_text(
        encoding="utf-8"
    )
    # Any `name:` the CI workflow has, quoted so that YAML reads it back exactly.
    result = _init(tmp_path / "b", "--ci-workflow", 'Tests: "unit" # and [lint]')
    assert result.exit_code == 0, result.output
    caller = yaml.safe_load((tmp_path / "b" / ".github" / "workflows" / "ci-failure-alerts.yml").read_text())
    assert caller[True]["workflow_run"]["workflows"] == ['Tests: "unit" # and [lint]']


@pytest.mark.parametrize("name", ["", " CI", "a\nb", "${{ github.token }}", "x" * 101])
def test_a_bad_ci_workflow_name_is_a_usage_error(tmp_path, name):
    result = _init(tmp_path / "x", "--ci-workflow", name)
    assert result.exit_code == 2 and "--ci-workflow" in result.output
    assert not (tmp_path / "x").exists()

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

from observability import config
from observability.cli import cli

SHA = "0123456789abcdef0123456789abcdef01234567"


def _init(target: Path, *extra: str):
    return CliRunner().invoke(cli, ["init", str(target), "--repository", "acme/observability", "--ref", SHA, *extra])


def _tool(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).with_name(name))
    if not Path(found).exists():
        pytest.skip(f"{name} is not installed (it comes with the test extra)")
    return found


def test_scaffolded_repository_has_pinned_workflows_configs_and_credentials(tmp_path):
    target = tmp_path / "new-repo"
    result = _init(target)
    assert result.exit_code == 0, result.output
    workflows = sorted(p.name for p in (target / ".github" / "workflows").glob("*.yml"))
    assert {"dashboard.yml", "latency.yml", "weekly.yml"} <= set(workflows)
    assert "ci.yml" not in workflows
    for path in (target / ".github" / "workflows").glob("*.yml"):
        text = path.read_text()
        assert "./actions/" not in text and "runner.temp }}/workspace" not in text
        for uses in re.findall(r"uses: (\S+)", text):
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", uses), uses
        assert "acme/observability/actions/" in text
    latency = yaml.safe_load((target / ".github" / "workflows" / "latency.yml").read_text())
    names = [s["name"] for s in latency["jobs"]["latency"]["steps"]]
    assert "Prepare the workspace" not in names
    config.load_latency(target / "configs/observability/latency_alert.yaml", display="x", slo_ms=None, environ={})
    assert "OBS_STATE_STORE" in (target / "docs" / "credentials.md").read_text()


def test_scaffolded_workflows_pass_actionlint_and_zizmor(tmp_path):
    target = tmp_path / "new-repo"
    assert _init(target).exit_code == 0
    subprocess.run(["git", "init", "-q", str(target)], check=True)
    lint = subprocess.run([_tool("actionlint"), "-oneline"], cwd=target, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    audit = subprocess.run([_tool("zizmor"), "--offline", "."], cwd=target, capture_output=True, text=True)
    assert audit.returncode == 0 and "No findings" in audit.stdout + audit.stderr, audit.stdout + audit.stderr


@pytest.mark.parametrize("args,message", [
    (["--ref", "main"], "full 40-character commit SHA"),
    (["--repository", "not a repo"], "expected OWNER/REPO"),
])
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

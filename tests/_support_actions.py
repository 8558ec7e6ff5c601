"""Run a composite action's `run:` steps with bash, the way the runner would (uses: steps skipped)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
EXPR = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / "actions" / name / "action.yml").read_text(encoding="utf-8"))


def parse_outputs(text: str) -> dict[str, str]:
    """Read a GITHUB_OUTPUT file (``k=v`` lines and ``k<<DELIM`` blocks)."""
    out, lines, i = {}, text.split("\n"), 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and "=" not in line.split("<<", 1)[0]:
            key, delimiter = line.split("<<", 1)
            body = []
            i += 1
            while lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            out[key] = "\n".join(body)
        elif "=" in line:
            key, value = line.split("=", 1)
            out[key] = value
        i += 1
    return out


def run_action(
    name: str, inputs: dict[str, str], tmp: Path, *, real_install: bool = False, extra_env: dict[str, str] | None = None
) -> dict:
    """Execute the action; returns step outputs per id, the final exit code and the captured streams."""
    action = load(name)
    values = {k: str(v.get("default", "")) for k, v in action.get("inputs", {}).items()}
    unknown = set(inputs) - set(values)
    assert not unknown, f"unknown inputs {unknown}"
    values.update(inputs)
    runner_temp = tmp / "runner_temp"
    runner_temp.mkdir(exist_ok=True)
    summary = tmp / "step_summary.md"
    steps: dict[str, dict[str, str]] = {}
    if not real_install:
        # The environment the tests run in already has the package: stand in for the install step.
        steps["install"] = {
            "bin": shutil.which("observability") or str(Path(sys.executable).with_name("observability"))
        }

    def substitute(text: str) -> str:
        def one(match: re.Match) -> str:
            expr = match.group(1)
            if expr.startswith("inputs."):
                return values[expr[len("inputs.") :]]
            if expr.startswith("steps."):
                _, step_id, _, key = expr.split(".", 3)
                return steps.get(step_id, {}).get(key, "")
            raise AssertionError(f"unsupported expression {expr!r}")

        return EXPR.sub(one, text)

    stderr, code = "", 0
    for step in action["runs"]["steps"]:
        if "uses" in step:
            continue
        if step.get("id") == "install" and not real_install:
            continue
        assert "${{" not in step["run"], f"step {step['name']!r} puts an expression inside run:"
        output_file = tmp / f"output_{step.get('id', 'anon')}"
        output_file.write_text("")
        env = {
            **os.environ,
            "GITHUB_ACTIONS": "true",
            "GITHUB_ACTION_PATH": str(ROOT / "actions" / name),
            "RUNNER_TEMP": str(runner_temp),
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_RUN_ID": "4242",
            **(extra_env or {}),
        }
        env.update({k: substitute(str(v)) for k, v in (step.get("env") or {}).items()})
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        stderr += done.stderr
        if step.get("id"):
            steps[step["id"]] = parse_outputs(output_file.read_text())
        code = done.returncode
        if code != 0:
            break
    outputs = {k: substitute(str(v["value"])) for k, v in action.get("outputs", {}).items()}
    return {
        "outputs": outputs,
        "steps": steps,
        "code": code,
        "stderr": stderr,
        "summary": summary.read_text() if summary.exists() else "",
    }

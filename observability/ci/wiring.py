"""The command lines ci-alerts.yml runs on a finished CI run's telemetry (docs/ci.md, "How it runs").

The reusable workflow downloads the CI run's artifact ``ci-telemetry-<run id>-<attempt>`` and records
it under one ``observability cycle --for ci``: the job command ``ci metrics`` for the triggering run,
then ``ci flakes`` and ``ci health`` after it. Which options each gets depends on what the artifact
holds (a run cancelled before its tests has no reports), so the lines are computed here, from the
files that exist and the run's fields, never by pasting event text into a shell script:

- ``ci metrics``: ``--run-id``, ``--run-attempt``, ``--run-url``, ``--commit``, ``--branch``,
  ``--conclusion`` of the triggering run; ``--coverage-xml`` and ``--junit-xml`` only for files that
  exist; one ``--formatter``/``--formatter-mode``/``--formatter-result`` triple per entry of
  ``formatter.json`` (``{"formatters": [{"name", "mode", "result"}]}``);
- ``ci flakes``, with ``--telemetry`` only for a ``flake_runs.json`` that exists;
- ``ci health``.

The alert source ``ci`` (the coverage-drop alert, ``ops/ci_alerts.json``) is synced only when the
repository's ``alerts.yaml`` names it under ``sources``: ``alerts sync --source ci`` refuses a
source it does not know.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from observability import runner

FLAKES = "flake_runs.json"
COVERAGE = "coverage.xml"
JUNIT = "junit.xml"
FORMATTERS = "formatter.json"
MODES = ("enforced", "advisory")
RESULTS = ("pass", "fail")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}")  # schemas/ci_metrics.schema.json's formatter name


@dataclass(frozen=True)
class Run:
    """The triggering CI run, as github.event.workflow_run describes it."""

    run_id: str
    run_attempt: str = ""
    run_url: str = ""
    commit: str = ""
    branch: str = ""
    conclusion: str = ""


@dataclass
class Plan:
    command: list[str]
    after: list[list[str]]
    alerts_sources: list[str]
    notes: list[str] = field(default_factory=list)

    def outputs(self) -> dict[str, str]:
        """The step outputs actions/cycle takes: one command line, the after lines, the sources."""
        return {
            "command": shlex.join(self.command),
            "after": "\n".join(shlex.join(argv) for argv in self.after),
            "alerts-source": " ".join(self.alerts_sources),
        }


def read_formatters(path: Path) -> tuple[list[tuple[str, str, str]], list[str]]:
    """The (name, mode, result) entries of a formatter record, and a note for each one left out."""
    if not path.is_file():
        return [], []
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [], [f"{path.name}: not JSON ({exc}); no formatter recorded"]
    entries = document.get("formatters") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return [], [f"{path.name}: no 'formatters' list; no formatter recorded"]
    found: list[tuple[str, str, str]] = []
    notes: list[str] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            notes.append(f"{path.name}: formatters[{index}] is not an object; left out")
            continue
        name, mode, result = entry.get("name"), entry.get("mode"), entry.get("result")
        if not isinstance(name, str) or not NAME.fullmatch(name) or mode not in MODES or result not in RESULTS:
            # A formatter step that did not run (skipped, cancelled) records no result: nothing to count.
            notes.append(
                f"{path.name}: formatters[{index}] needs a name (letters, digits, _.+-), mode {MODES} and "
                f"result {RESULTS}; left out"
            )
            continue
        found.append((name, mode, result))
    return found, notes


def lists_ci_source(alerts_yaml: Path | None) -> bool:
    """True when alerts.yaml names the alert source ``ci`` under ``sources`` (docs/ci.md)."""
    if alerts_yaml is None or not alerts_yaml.is_file():
        return False
    try:
        document = yaml.safe_load(alerts_yaml.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False  # the alert steps report a broken alerts.yaml themselves
    sources = document.get("sources") if isinstance(document, dict) else None
    return isinstance(sources, list) and any(isinstance(s, dict) and s.get("name") == "ci" for s in sources)


def plan(telemetry: Path, run: Run, alerts_yaml: Path | None = None) -> Plan:
    """The command lines for one CI run's telemetry directory (which may be missing or partial)."""
    metrics = ["ci", "metrics", "--run-id", run.run_id]
    for flag, value in (
        ("--run-attempt", run.run_attempt),
        ("--run-url", run.run_url),
        ("--commit", run.commit),
        ("--branch", run.branch),
        ("--conclusion", run.conclusion),
    ):
        if value:
            metrics += [flag, value]
    for flag, name in (("--coverage-xml", COVERAGE), ("--junit-xml", JUNIT)):
        if (telemetry / name).is_file():
            metrics += [flag, str(telemetry / name)]
    formatters, notes = read_formatters(telemetry / FORMATTERS)
    for name, mode, result in formatters:
        metrics += ["--formatter", name, "--formatter-mode", mode, "--formatter-result", result]
    flakes = ["ci", "flakes"]
    if (telemetry / FLAKES).is_file():
        flakes += ["--telemetry", str(telemetry / FLAKES)]
    else:
        notes.append(f"no {FLAKES} in the CI run's telemetry: the flake digest shows the kept history only")
    sources = ["ci"] if lists_ci_source(alerts_yaml) else []
    return Plan(metrics, [flakes, ["ci", "health"]], sources, notes)


def main(argv: list[str] | None = None) -> int:
    """Write the step outputs for ci-alerts.yml (``$GITHUB_OUTPUT`` through observability.runner, as every
    job's outputs; off GitHub, printed as JSON): ``python -c 'from observability.ci import wiring; wiring.main()'``."""
    parser = argparse.ArgumentParser(prog="observability.ci.wiring", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--telemetry", required=True, type=Path, help="the downloaded ci-telemetry directory")
    parser.add_argument("--alerts-config", type=Path, default=None, help="the repository's alerts.yaml")
    parser.add_argument("--run-id", required=True)
    for name in ("--run-attempt", "--run-url", "--commit", "--branch", "--conclusion"):
        parser.add_argument(name, default="")
    args = parser.parse_args(argv)
    if not args.run_id.isdigit():
        parser.error(f"--run-id {args.run_id!r}: not a run id")
    run = Run(args.run_id, args.run_attempt, args.run_url, args.commit, args.branch, args.conclusion)
    result = plan(args.telemetry, run, args.alerts_config)
    if runner.enabled():
        runner.set_outputs(result.outputs())
    else:
        sys.stdout.write(json.dumps(result.outputs(), indent=2) + "\n")
    for note in result.notes:
        print(f"::notice title=CI telemetry::{note}", file=sys.stderr)
    return 0

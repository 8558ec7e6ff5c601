"""``observability init``: scaffold a new automation repository that calls this project's workflows.

The new repository holds short caller workflows (one per job, from ``ops-template/.github/
workflows/``) that call this project's reusable workflow ``.github/workflows/run.yml`` pinned to a
release SHA, the configuration (``configs/observability/*``, ``inputs.yaml`` included), and a
checklist of the secrets and variables to create. Docs stay in this project: the README and every
issue the automation opens link to them at the pinned SHA.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from observability import __version__
from observability.errors import ConfigError, WorkspaceError
from observability.resources import data_path, template_dir

SHA_RE = re.compile(r"^[0-9a-f]{40}$")
REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")
LOCAL_CALL = re.compile(r"uses: \./\.github/workflows/(run|ci-alerts)\.yml(?: #.*)?$", re.M)
# The CI workflow ci-failure-alerts.yml watches, as its template names it (init --ci-workflow replaces it).
CI_WORKFLOWS_LINE = '    workflows: ["CI"]\n'
CI_CALLER = "ci-failure-alerts.yml"
# The template trees copied as they are: the configuration and the local Grafana stack (never state:
# observability/state/selection.py leaves ops/observability/ out of every snapshot).
TEMPLATE_TREES = ("configs", "ops/observability")
# What a fresh `git init` leaves; init writes into such a directory as into an empty one.
ALLOWED_EXISTING = {".git"}

README = """# Observability automation

Scheduled workflows that keep this trading research stack observable. Each workflow in
`.github/workflows/` calls [{repository}](https://github.com/{repository})'s reusable workflow
`run.yml`, pinned at `{ref}` ({label}).

Getting started: {docs}/docs/getting-started.md — from this repository to the first green
scheduled run. In short:

1. Create the state store once (`observability state init --store URL`: a store never created
   is refused with `store_not_initialised`) and the secrets and variables listed in
   docs/credentials.md (`OBS_STATE_STORE` first: without it every run stops at the state pull).
2. Say where the upstream inputs come from in `configs/observability/inputs.yaml`, and edit the
   other `configs/observability/*.yaml` (latency sources and probes, weekly cohorts; cron values
   live in `configs/observability/schedules.yaml` and in the workflows).
3. Run each workflow once by hand with `dry_run` on, then let the schedules take over.

Runbooks: {docs}/docs/runbook.md (every job), {docs}/docs/alerts.md (the alert inbox),
{docs}/docs/weekly.md (the weekly report). Dependabot proposes new pins of `run.yml`
(`.github/dependabot.yml`); to see what a new release changes in the generated files, run
`observability init` from it into a scratch directory and compare.

Local dashboards: `ops/observability/` holds a Grafana, Prometheus, Tempo and Loki stack behind an
OpenTelemetry Collector (`docker compose up -d --wait` there); {docs}/docs/grafana-guide.md.

Running a job by hand: `pip install -r requirements.txt`, then the same command the workflow
runs, e.g. `observability latency sample --dry-run` (every job has a dry run).
"""

DEPENDABOT = """version: 2
updates:
  # The pinned observability release (the `uses: ...run.yml@<sha>` lines) and any other action.
  - package-ecosystem: github-actions
    directory: /
    schedule:
      interval: weekly
    cooldown:
      default-days: 7
  # requirements.txt: the same release, for running jobs by hand.
  - package-ecosystem: pip
    directory: /
    schedule:
      interval: weekly
    cooldown:
      default-days: 7
"""

GITIGNORE = """# Written by the jobs on a runner; the state store and workflow artifacts keep them.
out/
/ops/*
# ... except the local Grafana stack's configuration, which is this repository's (docs/grafana-guide.md).
!/ops/observability/
# The observability checkout the reusable workflow makes beside the configuration.
.observability/
"""


STAGES = ("production", "staging")  # the GitHub environments the caller workflows run in


def environments_checklist() -> list[str]:
    """What to create in the new repository's settings: one GitHub environment per stage, each with
    the secrets of the credentials register (configs/observability/credentials.yaml) and its owner."""
    from observability.config.credentials import CREDENTIALS_CONFIG, load_register

    register = load_register(template_dir() / CREDENTIALS_CONFIG, display=CREDENTIALS_CONFIG)
    lines = [
        f"create the GitHub environments {' and '.join(STAGES)} (Settings → Environments; schedules run in "
        "production, a dispatch with stage=staging in staging), each with these secrets (set only those you use):"
    ]
    lines += [f"  {c.name}  (owner {c.owner}, rotate every {c.rotate_every_days} days)" for c in register.credentials]
    lines += [
        "and the variables of docs/credentials.md (OBS_STATE_STORE first; a staging store of its own);",
        f"record each secret's next rotation date per environment in {CREDENTIALS_CONFIG} (rotate_by):",
        "  `observability verify` opens one issue when any is past it",
    ]
    return lines


def _rewrite(text: str, repository: str, ref: str, label: str) -> str:
    rewritten, count = LOCAL_CALL.subn(
        lambda m: f"uses: {repository}/.github/workflows/{m.group(1)}.yml@{ref} # {label}", text
    )
    if count != 1:
        raise AssertionError("a caller template must call ./.github/workflows/run.yml (or ci-alerts.yml) exactly once")
    return rewritten


def check_ci_workflow(name: str) -> str:
    """The name of the adopter's CI workflow (its `name:`), as the caller's `workflows:` list holds it."""
    if not name or len(name) > 100 or not name.isprintable() or name != name.strip() or "${{" in name:
        raise ConfigError(f"--ci-workflow {name!r}: the CI workflow's name, 1 to 100 printable characters")
    return name


def _ci_caller(text: str, ci_workflow: str) -> str:
    if CI_WORKFLOWS_LINE not in text:
        raise AssertionError(f"the {CI_CALLER} template must say {CI_WORKFLOWS_LINE.strip()!r}")
    # JSON is YAML: the name quoted and escaped whatever it holds (a `name:` may be any text).
    return text.replace(CI_WORKFLOWS_LINE, f"    workflows: [{json.dumps(ci_workflow)}]\n")


def _check_target(target: Path) -> None:
    if not target.exists():
        return
    if not target.is_dir() or any(p.name not in ALLOWED_EXISTING for p in target.iterdir()):
        raise WorkspaceError(f"{target}: exists and is not an empty directory (only .git may be there)")


def scaffold(
    target: Path, *, repository: str, ref: str, label: str | None = None, ci_workflow: str = "CI"
) -> list[str]:
    """Write the new repository into ``target`` (new, empty, or holding only ``.git``); returns the files."""
    if not REPO_RE.match(repository):
        raise ConfigError(f"--repository {repository!r}: expected OWNER/REPO")
    if not SHA_RE.match(ref):
        raise ConfigError(f"--ref {ref!r}: pin a full 40-character commit SHA (tags and branches can move)")
    label = label or f"v{__version__}"
    if not LABEL_RE.match(label):
        raise ConfigError(f"--ref-label {label!r}: a version such as v1.2.3 (letters, digits, . _ + -; one word)")
    check_ci_workflow(ci_workflow)
    _check_target(target)
    docs = f"https://github.com/{repository}/blob/{ref}"
    written: list[str] = []

    def put(relative: str, text: str) -> None:
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(relative)

    template = template_dir()
    for top in TEMPLATE_TREES:
        for source in sorted((template / top).rglob("*")):
            if source.is_file():
                put(source.relative_to(template).as_posix(), source.read_text(encoding="utf-8"))
    for caller in sorted((template / ".github" / "workflows").glob("*.yml")):
        text = _rewrite(caller.read_text(encoding="utf-8"), repository, ref, label)
        put(f".github/workflows/{caller.name}", _ci_caller(text, ci_workflow) if caller.name == CI_CALLER else text)
    put(".github/dependabot.yml", DEPENDABOT)
    put(
        "requirements.txt",
        f"# observability at the release the workflows call (for running a job by hand)\n"
        f"observability @ git+https://github.com/{repository}@{ref}\n",
    )
    put("docs/credentials.md", data_path("credentials.md").read_text(encoding="utf-8"))
    put("README.md", README.format(repository=repository, ref=ref, label=label, docs=docs))
    put(".gitignore", GITIGNORE)
    return written

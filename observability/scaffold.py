"""``observability init``: scaffold a new automation repository that runs this project's actions.

The generated workflows are this repository's own scheduled workflows, rewritten to call the
actions from OWNER/REPO at a pinned commit, with the new repository's root as the workspace.
So what is scaffolded is exactly what this repository runs and tests.
"""

from __future__ import annotations

import re
from pathlib import Path

from observability import __version__
from observability.errors import ConfigError, WorkspaceError
from observability.resources import data_path, template_dir

SHA_RE = re.compile(r"^[0-9a-f]{40}$")
REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
# This repository's own CI stays here; every other workflow is scheduled automation.
NOT_SCAFFOLDED = {"ci.yml"}
LOCAL_USE = re.compile(r"uses: \./actions/([a-z0-9-]+)(?: #.*)?$", re.M)

README = """# Observability automation

Scheduled workflows that keep this trading research stack observable, using the actions of
[{repository}](https://github.com/{repository}) pinned at `{ref}`.

1. Create the repository secrets and variables listed in docs/credentials.md
   (`OBS_STATE_STORE` first: without it every run stops at the state pull), then create the
   store once: `observability state init --store <that URL>` (a store never created is refused
   with `store_not_initialised`, so a mistyped URL cannot silently start an empty history).
2. Edit configs/observability/*.yaml (latency sources, inputs and probes; weekly cohorts;
   the schedules live in configs/observability/schedules.yaml and in the workflows).
3. Run each workflow once by hand with `dry_run` on, then let the schedules take over.

To upgrade, rerun `observability init` from a newer checkout into a scratch directory and
compare, or let Dependabot propose new pins.
"""


def _rewrite(text: str, repository: str, ref: str, label: str) -> str:
    text = LOCAL_USE.sub(lambda m: f"uses: {repository}/actions/{m.group(1)}@{ref} # {label}", text)
    # The new repository's checkout is the workspace: no copy of the template is needed.
    text = re.sub(r"      - name: Prepare the workspace\n(?:        #[^\n]*\n)*        run: [^\n]*\n", "", text)
    text = text.replace("${{ runner.temp }}/workspace", ".")
    if "RUNNER_TEMP/workspace" in text:
        raise AssertionError("a workflow names $RUNNER_TEMP/workspace in a run: step; use the WORKSPACE env")
    return text


def scaffold(target: Path, *, repository: str, ref: str, label: str | None = None) -> list[str]:
    """Write the new repository into ``target`` (new or empty); returns the files written."""
    if not REPO_RE.match(repository):
        raise ConfigError(f"--repository {repository!r}: expected OWNER/REPO")
    if not SHA_RE.match(ref):
        raise ConfigError(f"--ref {ref!r}: pin a full 40-character commit SHA (tags and branches can move)")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise WorkspaceError(f"{target}: exists and is not an empty directory")
    label = label or f"v{__version__}"
    written: list[str] = []

    def put(relative: str, text: str) -> None:
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(relative)

    for source in sorted((template_dir() / "configs").rglob("*")):
        if source.is_file():
            relative = source.relative_to(template_dir()).as_posix()
            put(relative, source.read_text(encoding="utf-8"))
    put("ops/README.md", (template_dir() / "ops" / "README.md").read_text(encoding="utf-8"))
    for workflow in sorted(data_path("workflows").glob("*.yml")):
        if workflow.name not in NOT_SCAFFOLDED:
            put(f".github/workflows/{workflow.name}",
                _rewrite(workflow.read_text(encoding="utf-8"), repository, ref, label))
    put(".github/dependabot.yml", "version: 2\nupdates:\n  - package-ecosystem: github-actions\n"
        "    directory: /\n    schedule:\n      interval: weekly\n    cooldown:\n      default-days: 7\n")
    put("docs/credentials.md", data_path("credentials.md").read_text(encoding="utf-8"))
    put("README.md", README.format(repository=repository, ref=ref))
    put(".gitignore", "out/\nops/.*.lock\n")
    return written

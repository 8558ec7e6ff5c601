"""Provenance carried by every artefact: when, by which command, from which commit."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

from observability import secrets

_SHA = re.compile(r"^[0-9a-f]{40}$")


def commit_sha(root: Path) -> str | None:
    """GITHUB_SHA, else ``git rev-parse HEAD`` in the workspace, else None."""
    env_sha = os.environ.get("GITHUB_SHA", "").strip().lower()
    if _SHA.match(env_sha):
        return env_sha
    return _git_head(root)


@cache
def _git_head(root: Path) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    out = done.stdout.strip().lower()
    return out if done.returncode == 0 and _SHA.match(out) else None


def source_command(argv: list[str] | None = None) -> str:
    """The command line that produced an artefact, with any secret value scrubbed."""
    args = list(sys.argv if argv is None else argv)
    if args:
        args[0] = "observability"
    return secrets.redact(shlex.join(args))


def fields(root: Path, generated_at: str, inputs: list[str] | None = None) -> dict:
    out = {"generated_at": generated_at, "source_command": source_command(), "commit_sha": commit_sha(root)}
    if inputs is not None:
        out["inputs"] = sorted(inputs)
    return out

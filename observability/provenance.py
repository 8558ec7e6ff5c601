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


PULLED_RECORD = "out/inputs/pulled.json"


def pulled(root: Path) -> list[dict]:
    """The upstream inputs ``inputs pull`` brought into this workspace (out/inputs/pulled.json).

    Empty when no pull ran here (the demo, a local run on a checkout of the research repository).
    A record that cannot be read is ignored: provenance never fails the job that carries it.
    """
    from observability import fsio

    try:
        doc = fsio.parse_json((Path(root) / PULLED_RECORD).read_bytes())
    except (OSError, ValueError):
        return []
    records = doc.get("inputs") if isinstance(doc, dict) else None
    if not isinstance(records, list):
        return []
    return [r for r in records if isinstance(r, dict) and isinstance(r.get("destination"), str)
            and isinstance(r.get("name"), str)]


def _covers(destination: str, path: str) -> bool:
    destination, path = destination.strip("/"), path.strip("/")
    return path == destination or path.startswith(destination + "/") or destination.startswith(path + "/")


def origin(records: list[dict], path: str) -> list[dict]:
    """The pulled inputs a workspace path came from (the input at that path, under it, or holding it)."""
    return [r for r in records if _covers(r["destination"], path)]


def pulled_for(root: Path, paths: list[str]) -> list[dict]:
    """Identity records (commit / etag / sha256, source without credentials) of the pulled inputs
    behind ``paths``, sorted by name; ``[]`` when none of them was pulled."""
    records = pulled(root)
    found = {r["name"]: r for path in paths for r in origin(records, path)}
    return [_compact(found[name]) for name in sorted(found)]


def _compact(record: dict) -> dict:
    keys = ("name", "kind", "destination", "source", "identity", "sha256", "bytes_fetched", "pulled_at", "job_id",
            "incremental")
    return {k: record[k] for k in keys if k in record}


def fields(root: Path, generated_at: str, inputs: list[str] | None = None) -> dict:
    """``generated_at``, ``source_command``, ``commit_sha``; with ``inputs`` also the paths read and, when
    ``inputs pull`` brought any of them, ``inputs_pulled``: where each came from and its identity."""
    out = {"generated_at": generated_at, "source_command": source_command(), "commit_sha": commit_sha(root)}
    if inputs is not None:
        out["inputs"] = sorted(inputs)
        origins = pulled_for(root, list(inputs))
        if origins:
            out["inputs_pulled"] = origins
    return out

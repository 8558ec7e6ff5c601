"""Provenance carried by every artefact: when, by which command, from which commit."""

from __future__ import annotations

import os
import re
import sys
from functools import cache
from pathlib import Path
from typing import Any

_SHA = re.compile(r"^[0-9a-f]{40}$")


def commit_sha(root: Path) -> str | None:
    """GITHUB_SHA, else ``git rev-parse HEAD`` in the workspace, else None."""
    env_sha = os.environ.get("GITHUB_SHA", "").strip().lower()
    if _SHA.match(env_sha):
        return env_sha
    return _git_head(root)


@cache
def _git_head(root: Path) -> str | None:
    found = _read_head(root)
    if found is None:
        return _rev_parse(root)
    return found or None  # "": no repository


# Environment variables that change how git finds or reads a repository: with any of them set,
# only git itself knows the answer.
_GIT_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    "GIT_OBJECT_DIRECTORY",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_REF_FORMAT",
)
_NOT_A_REPO = ""


def _read_head(root: Path) -> str | None:
    """HEAD's commit read from the repository's files as ``git rev-parse HEAD`` finds it, without a
    subprocess (a fork and exec of git was ~6 ms of every job's run off GitHub). Handles the common
    layouts: a ``.git`` directory or a ``.git`` file (worktree, submodule), HEAD detached or naming
    a branch held as a loose ref or in packed-refs. Returns "" when no repository is found up to
    the root of the file system (git then finds none either), None whenever the layout is anything
    else (a bare repository on the way up, another file system, another owner, a reftable store, an
    unborn branch, a GIT_* override): the caller then asks git."""
    if any(name in os.environ for name in _GIT_ENV):
        return None
    try:
        here = Path(os.path.abspath(root))
        device = here.stat().st_dev
        uid = os.getuid() if hasattr(os, "getuid") else None
        for folder in (here, *here.parents):
            info = folder.stat()
            if info.st_dev != device:
                return None
            dot = folder / ".git"
            if dot.is_dir():
                gitdir = dot
            elif dot.is_file():
                text = dot.read_text(encoding="utf-8").strip()
                if not text.startswith("gitdir: "):
                    return None
                gitdir = folder / text[len("gitdir: ") :]
            elif dot.exists() or (folder / "HEAD").is_file() and (folder / "objects").is_dir():
                return None  # a bare repository (or something odd): git's own rules apply
            else:
                continue
            if uid is not None and (info.st_uid != uid or gitdir.stat().st_uid != uid):
                return None  # git's safe.directory check (the work tree's and the git dir's owner)
            return _resolve_head(gitdir)
        return _NOT_A_REPO
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def _resolve_head(gitdir: Path) -> str | None:
    head = (gitdir / "HEAD").read_text(encoding="utf-8").strip().lower()
    if _SHA.match(head):
        return head
    if not head.startswith("ref: refs/heads/"):
        return None
    ref = head[len("ref: ") :]
    common = gitdir
    if (gitdir / "commondir").is_file():
        common = gitdir / (gitdir / "commondir").read_text(encoding="utf-8").strip()
    config = (common / "config").read_text(encoding="utf-8") if (common / "config").is_file() else ""
    if "refstorage" in config.lower() or "worktreeconfig" in config.lower():
        return None
    loose = common / ref
    if loose.is_file():
        value = loose.read_text(encoding="utf-8").strip().lower()
        return value if _SHA.match(value) else None
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text(encoding="utf-8").splitlines():
            sha, _, name = line.partition(" ")
            if name == ref and _SHA.match(sha.lower()):
                return sha.lower()
    return None  # an unborn branch, or a layout this reader does not know


def _rev_parse(root: Path) -> str | None:
    import subprocess  # only when the files do not answer (see _read_head)

    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    out = done.stdout.strip().lower()
    return out if done.returncode == 0 and _SHA.match(out) else None


def tracked(path: Path) -> bool:
    """Whether git tracks ``path`` in the checkout that holds it: GitHub links an annotation's ``file=`` to
    that file at the run's commit, so a file the commit does not hold (``ops/``, pulled inputs) would be a
    dead link."""
    import subprocess  # only for a warning that names a file and line

    try:
        done = subprocess.run(
            ["git", "-C", str(path.parent), "ls-files", "--error-unmatch", "--", path.name],
            capture_output=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


# The command paths of the CLI (("latency", "sample"), ("cycle",) ...), registered by observability.cli.
_COMMAND_PATHS: set[tuple[str, ...]] = set()
_WORD = re.compile(r"^[a-z][a-z0-9-]*$")


def register_command_paths(paths) -> None:
    """Tell provenance which leading words of a command line name a command (the CLI calls this)."""
    _COMMAND_PATHS.update(tuple(path) for path in paths)


def command_path(args: list[str]) -> list[str]:
    """The words of ``args`` (without the program) that name the command: ``["dashboard", "export"]``.

    Never an argument or an option value, which may hold a credential (a token inline in
    ``--upload-command``). Without registered paths: leading lowercase words, at most two.
    """
    if _COMMAND_PATHS:
        for size in range(min(len(args), max(map(len, _COMMAND_PATHS))), 0, -1):
            if tuple(args[:size]) in _COMMAND_PATHS:
                return list(args[:size])
        return []
    words: list[str] = []
    for arg in args[:2]:
        if not _WORD.match(arg):
            break
        words.append(arg)
    return words


def elide(args: list[str], keep: frozenset[str] = frozenset()) -> list[str]:
    """``args`` with option names kept (``--dry-run``, ``--input``, ``--probe=…``) and every other
    argument (an option's value, a positional argument) replaced by ``…``, but those in ``keep``."""
    shown = []
    for arg in args:
        if arg in keep:
            shown.append(arg)
        elif arg.startswith("-") and arg != "-":
            name, equals, _ = arg.partition("=")
            shown.append(name + ("=…" if equals else ""))
        else:
            shown.append("…")
    return shown


def outline(args: list[str]) -> list[str]:
    """The command path and option names of ``args``, every value ``…``
    (``latency sample --input … --dry-run``): which command ran and how, never with what."""
    path = command_path(args)
    return [*path, *elide(args[len(path) :])]


def source_command(argv: list[str] | None = None) -> str:
    """The command that produced an artefact: the program and its command path
    (``observability dashboard export``), never its arguments (docs/credentials.md)."""
    args = list(sys.argv if argv is None else argv)
    return " ".join(["observability", *command_path(args[1:])])


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
    return [
        r
        for r in records
        if isinstance(r, dict) and isinstance(r.get("destination"), str) and isinstance(r.get("name"), str)
    ]


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
    keys = (
        "name",
        "kind",
        "destination",
        "source",
        "identity",
        "sha256",
        "bytes_fetched",
        "pulled_at",
        "job_id",
        "incremental",
    )
    return {k: record[k] for k in keys if k in record}


def fields(root: Path, generated_at: str, inputs: list[str] | None = None) -> dict:
    """``generated_at``, ``source_command``, ``commit_sha``; with ``inputs`` also the paths read and, when
    ``inputs pull`` brought any of them, ``inputs_pulled``: where each came from and its identity."""
    out: dict[str, Any] = {
        "generated_at": generated_at,
        "source_command": source_command(),
        "commit_sha": commit_sha(root),
    }
    if inputs is not None:
        out["inputs"] = sorted(inputs)
        origins = pulled_for(root, list(inputs))
        if origins:
            out["inputs_pulled"] = origins
    return out

"""Which workspace files a snapshot holds, and their checksums.

The rule: every regular file under ``ops/`` whose path has no component starting with ``.`` and
whose name does not end in ``.tmp`` or ``.lock``. So lock files (``ops/.latency.lock``), temp files
of atomic writes (``.name.xxxx.tmp``), the pull record (``ops/.state_pulled.json``), pull staging
and backups (``ops/.state_*``) stay on the machine. Symlinks are not followed and not synced.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

ROOT = "ops"
EXCLUDED_SUFFIXES = (".tmp", ".lock")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Entry:
    """One file of a snapshot: its sha256 (lowercase hex) and size in bytes."""

    sha256: str
    size: int


def is_synced(relpath: str) -> bool:
    """True when the workspace-relative POSIX path belongs in a snapshot (also guards pulled paths)."""
    if "\\" in relpath or relpath.startswith("/"):
        return False
    parts = PurePosixPath(relpath).parts
    if len(parts) < 2 or parts[0] != ROOT:
        return False
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        return False
    return not parts[-1].endswith(EXCLUDED_SUFFIXES)


def sha256_file(path: Path) -> Entry:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return Entry(digest.hexdigest(), size)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def scan(root: Path) -> dict[str, Entry]:
    """Every synced file under ``root/ops`` as ``{"ops/...": Entry}`` (``root`` is the workspace root)."""
    found: dict[str, Entry] = {}
    top = root / ROOT
    if not top.is_dir():
        return found
    for directory, subdirs, files in os.walk(top):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith(".") and not os.path.islink(os.path.join(directory, d)))
        for name in sorted(files):
            full = Path(directory) / name
            rel = full.relative_to(root).as_posix()
            if not is_synced(rel) or full.is_symlink() or not full.is_file():
                continue
            found[rel] = sha256_file(full)
    return found

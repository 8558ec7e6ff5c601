"""Staging and installing pulled inputs: confined to the workspace, atomic per file, swapped per directory.

Every source writes into a staging directory under ``out/inputs/`` (same file system as the
destinations, so the final step is a rename). Nothing reaches a destination until every selected
input has been fetched; a failed run removes its staging and leaves every destination as it was.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path, PurePosixPath

from observability import fsio
from observability.digest import sha256_file
from observability.inputs.errors import UnsafeInput

CHUNK = 1 << 20


def safe_member(name: str, *, what: str) -> str:
    """A relative POSIX path from a source listing (zip entry, S3 key tail); refuses escapes."""
    clean = name.replace("\\", "/")
    parts = PurePosixPath(clean).parts
    if not clean or clean.startswith("/") or (parts and parts[0].endswith(":")) or ".." in parts:
        raise UnsafeInput(f"{what}: entry {name[:200]!r} would escape the destination")
    rel = "/".join(p for p in parts if p not in ("", "."))
    if not rel:
        raise UnsafeInput(f"{what}: entry {name[:200]!r} names no file")
    return rel


def confined(root: Path, rel: str, *, what: str) -> Path:
    """``root/rel`` after checking that no existing component of it is a symlink or leaves ``root``."""
    real_root = root.resolve()
    target = real_root / rel
    probe = real_root
    for part in PurePosixPath(rel).parts:
        probe = probe / part
        if probe.is_symlink():
            raise UnsafeInput(f"{what}: {rel} goes through a symlink ({probe.relative_to(real_root)}); refusing")
    try:
        target.resolve().relative_to(real_root)
    except ValueError:
        raise UnsafeInput(f"{what}: {rel} resolves outside the workspace") from None
    return target


def write_stream(path: Path, chunks) -> tuple[str, int]:
    """Write ``chunks`` to a new staged file, fsynced; returns (sha256, bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with open(path, "wb") as handle:
        for chunk in chunks:
            if chunk:
                handle.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        handle.flush()
        os.fsync(handle.fileno())
    return digest.hexdigest(), size


def tree_digest(directory: Path, *, what: str) -> tuple[str, int, int]:
    """(sha256 over the sorted ``path sha256`` listing, total bytes, file count); refuses symlinks."""
    lines, total, count = [], 0, 0
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory).as_posix()
        if path.is_symlink():
            raise UnsafeInput(f"{what}: {rel} is a symlink; inputs hold regular files only")
        if path.is_file():
            lines.append(f"{rel}\0{sha256_file(path)}\n")
            total += path.stat().st_size
            count += 1
    return hashlib.sha256("".join(lines).encode()).hexdigest(), total, count


def fsync_tree(directory: Path) -> None:
    for path in directory.rglob("*"):
        if path.is_file() and not path.is_symlink():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def install(staged: Path, destination: Path, backup_dir: Path) -> None:
    """Put ``staged`` (file or directory) at ``destination`` by rename; a directory replaces the old one whole."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    if staged.is_dir():
        if destination.exists() or destination.is_symlink():
            backup_dir.mkdir(parents=True, exist_ok=True)
            old = backup_dir / f"old-{destination.name}-{os.getpid()}"
            os.replace(destination, old)
            try:
                os.replace(staged, destination)
            except OSError:
                os.replace(old, destination)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staged, destination)
    else:
        if destination.is_dir() and not destination.is_symlink():
            shutil.rmtree(destination)
        os.replace(staged, destination)
    fsio.fsync_dir(destination.parent)

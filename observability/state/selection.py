"""Which workspace files a snapshot holds, and their checksums.

The rule: every regular file under ``ops/`` whose path has no component starting with ``.`` and
whose name does not end in ``.tmp`` or ``.lock``. So lock files (``ops/.latency.lock``), temp files
of atomic writes (``.name.xxxx.tmp``), the pull record (``ops/.state_pulled.json``), pull staging
and backups (``ops/.state_*``) stay on the machine. Symlinks are not followed and not synced.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from observability import digest

try:  # part of every usual CPython build; gzip is the fallback
    import lzma
except ImportError:  # pragma: no cover
    lzma = None  # type: ignore[assignment]

ROOT = "ops"
EXCLUDED_SUFFIXES = (".tmp", ".lock")
# Upstream inputs that live under ops/ in the research repository's layout: `inputs pull` brings
# them onto every runner that needs them, so they are never state.
UPSTREAM = frozenset({"state_archive"})
# Configuration under ops/ that the adopter's repository holds (``init`` writes it): the local
# Grafana stack (docs/grafana-guide.md). Versioned with the repository, never state.
LOCAL_CONFIG = frozenset({"observability"})
_CHUNK = 1 << 20
GZIP = "gzip"
XZ = "xz"
# Text files this large are stored compressed (the raw CSV, rollups, the live log, big JSON): a
# latency run moves them every time. xz at its fastest preset: on the raw samples it stores 14 %
# less than gzip -6 (1.30 vs 1.50 MiB for 14 days at nominal volume) for about 0.07 s more per
# push; gzip where this Python has no lzma. Small files and compressed archives are stored as is.
COMPRESS_MIN_BYTES = 16 * 1024
COMPRESS_SUFFIXES = (".csv", ".jsonl", ".json", ".log", ".md", ".txt")
COMPRESS_LEVEL = 6
XZ_PRESET = 0
SUFFIXES = {GZIP: ".gz", XZ: ".xz"}  # of a stored blob's key


@dataclass(frozen=True)
class Entry:
    """One file of a snapshot: its sha256 (lowercase hex) and size in bytes (of the file's content).

    ``encoding`` is how the store holds the blob (None: as is; ``gzip``). It is not part of the
    file's identity: two entries with the same content are equal however they are stored.
    """

    sha256: str
    size: int
    encoding: str | None = field(default=None, compare=False)


def storage_for(path: str, size: int) -> str | None:
    """The encoding a newly stored blob of ``path`` gets."""
    if size < COMPRESS_MIN_BYTES or not path.endswith(COMPRESS_SUFFIXES):
        return None
    return XZ if lzma is not None else GZIP


def encode(data: bytes, encoding: str | None) -> bytes:
    if encoding == GZIP:  # mtime=0: the same content always compresses to the same bytes
        return gzip.compress(data, compresslevel=COMPRESS_LEVEL, mtime=0)
    if encoding == XZ:
        return lzma.compress(data, format=lzma.FORMAT_XZ, preset=XZ_PRESET)
    return data


def decode(stored: bytes, encoding: str | None) -> bytes:
    """The file's content from the stored bytes; ValueError when they cannot be decoded."""
    if encoding == GZIP:
        try:
            return gzip.decompress(stored)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"not valid gzip ({exc})") from None
    if encoding == XZ:
        if lzma is None:
            raise ValueError("stored xz-compressed, and this Python has no lzma module")
        try:
            return lzma.decompress(stored, format=lzma.FORMAT_XZ)
        except (lzma.LZMAError, EOFError) as exc:
            raise ValueError(f"not valid xz ({exc})") from None
    return stored


def is_synced(relpath: str) -> bool:
    """True when the workspace-relative POSIX path belongs in a snapshot (also guards pulled paths)."""
    if "\\" in relpath or relpath.startswith("/"):
        return False
    parts = PurePosixPath(relpath).parts
    if len(parts) < 2 or parts[0] != ROOT:
        return False
    if any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        return False
    if is_upstream(relpath) or is_local_config(relpath):
        return False
    return not parts[-1].endswith(EXCLUDED_SUFFIXES)


def is_upstream(relpath: str) -> bool:
    """True for an upstream input living under ops/ (never state; see UPSTREAM)."""
    parts = relpath.split("/")
    return len(parts) >= 2 and parts[0] == ROOT and parts[1] in UPSTREAM


def is_local_config(relpath: str) -> bool:
    """True for the repository's own configuration living under ops/ (never state; see LOCAL_CONFIG)."""
    parts = relpath.split("/")
    # any case: on a case-insensitive checkout ops/Observability/ is the same directory
    return len(parts) >= 2 and parts[0] == ROOT and parts[1].lower() in LOCAL_CONFIG


def sha256_file(path: Path) -> Entry:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return Entry(digest.hexdigest(), size)


def sha256_bytes(data: bytes) -> str:
    return digest.sha256_hex(data)


def scan(root: Path) -> dict[str, Entry]:
    """Every synced file under ``root/ops`` as ``{"ops/...": Entry}`` (``root`` is the workspace root)."""
    found: dict[str, Entry] = {}
    top = root / ROOT
    if not top.is_dir():
        return found
    for directory, subdirs, files in os.walk(top):
        subdirs[:] = sorted(
            d for d in subdirs if not d.startswith(".") and not os.path.islink(os.path.join(directory, d))
        )
        for name in sorted(files):
            full = Path(directory) / name
            rel = full.relative_to(root).as_posix()
            if not is_synced(rel) or full.is_symlink() or not full.is_file():
                continue
            entry = sha256_file(full)
            found[rel] = Entry(entry.sha256, entry.size, storage_for(rel, entry.size))
    return found

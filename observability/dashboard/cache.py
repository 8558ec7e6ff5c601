"""A content-keyed cache of per-input parse results, so re-exports skip parsing unchanged files.

Entries are keyed by the SHA-256 of the input's bytes (never by mtime): a file rewritten with the
same content hits, a file touched with new content misses. The cache is an optimisation only; a
missing or corrupt cache file is ignored and rebuilt.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from observability import fsio
from observability.errors import WorkspaceError

CACHE_VERSION = 2  # 2: parse results carry skipped-row warnings (observability.upstream)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class ContentCache:
    """``{key: {"sha256": ..., "value": ...}}`` for one reader, stored as one JSON file."""

    def __init__(self, path: Path | None, namespace: str):
        self.path = path
        self.namespace = namespace
        self._entries: dict[str, dict[str, Any]] = {}
        self._used: set[str] = set()
        self._dirty = False
        self.hits = 0
        self.misses = 0
        if path is not None:
            try:
                data = fsio.parse_json(path.read_bytes())
                if data.get("version") == CACHE_VERSION and data.get("namespace") == namespace:
                    self._entries = dict(data.get("entries", {}))
            except (OSError, ValueError, AttributeError):
                self._entries = {}

    def get_or_compute(self, key: str, data: bytes, compute: Callable[[bytes], Any]) -> tuple[str, Any]:
        """Return ``(sha256, value)`` for ``data``; ``compute`` runs only when the content changed.

        ``compute`` must return JSON-serialisable data; exceptions propagate and nothing is cached.
        """
        digest = sha256_bytes(data)
        self._used.add(key)
        entry = self._entries.get(key)
        if entry is not None and entry.get("sha256") == digest:
            self.hits += 1
            return digest, entry["value"]
        self.misses += 1
        value = compute(data)
        self._entries[key] = {"sha256": digest, "value": value}
        self._dirty = True
        return digest, value

    def compute_many(self, items: list[tuple[str, bytes]], compute: Callable[[bytes], Any], *,
                     parallel_from: int = 64) -> dict[str, tuple[str, Any]]:
        """``{key: (sha256, value or the ValueError raised)}`` for many inputs at once.

        Misses are computed in worker processes when there are at least ``parallel_from`` of them
        (a cold export over a thousand runs); ``compute`` must then be a module-level function.
        """
        out: dict[str, tuple[str, Any]] = {}
        misses: list[tuple[str, str, bytes]] = []
        for key, data in items:
            digest = sha256_bytes(data)
            self._used.add(key)
            entry = self._entries.get(key)
            if entry is not None and entry.get("sha256") == digest:
                self.hits += 1
                out[key] = (digest, entry["value"])
            else:
                misses.append((key, digest, data))
        self.misses += len(misses)
        workers = min(os.cpu_count() or 1, 8)
        if len(misses) >= parallel_from and workers > 1:
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(_guarded, [compute] * len(misses), [m[2] for m in misses],
                                        chunksize=max(1, len(misses) // (workers * 4))))
        else:
            results = [_guarded(compute, m[2]) for m in misses]
        for (key, digest, _), (ok, value) in zip(misses, results, strict=True):
            if ok:
                self._entries[key] = {"sha256": digest, "value": value}
                self._dirty = True
                out[key] = (digest, value)
            else:
                out[key] = (digest, ValueError(value))
        return out

    def save(self) -> None:
        """Write the cache, keeping only the keys used in this run (deleted inputs drop out)."""
        if self.path is None:
            return
        if set(self._entries) - self._used:
            self._entries = {k: v for k, v in self._entries.items() if k in self._used}
            self._dirty = True
        if not self._dirty:
            return
        try:
            fsio.atomic_write_text(self.path, fsio.canonical_json(
                {"version": CACHE_VERSION, "namespace": self.namespace, "entries": self._entries}))
        except WorkspaceError:  # noqa: S110 - a cache that cannot be written only costs time next run
            pass


def _guarded(compute: Callable[[bytes], Any], data: bytes) -> tuple[bool, Any]:
    """(True, value) or (False, message): a ValueError crosses the process boundary as text."""
    try:
        return True, compute(data)
    except ValueError as exc:
        return False, str(exc)

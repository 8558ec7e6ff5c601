"""A cache of per-input parse results, so re-exports skip reading and parsing unchanged files.

Every entry holds a SHA-256 computed from the very bytes its value was parsed from; that is the hash
the manifest's ``source_hash`` is built from. Two ways to find an entry:

- by content (every reader): the file is read and hashed; an entry with that hash is reused, so a
  file rewritten with the same content is not parsed again, and a copied or restored workspace
  (new inodes, same bytes) costs a hash per file and no parse;
- by stat (:meth:`ContentCache.compute_files`, for the thousands of run ``daily.csv`` files): a
  file whose size, mtime, ctime (ns), inode and device all equal those recorded with its entry is
  taken as the bytes hashed then, without being read.

The trust rule for the stat: it is recorded only when it was the same just before and just after
the read, and the file's mtime and ctime were both more than ``RACY_NS`` (2 s) older than the
moment the read began. Any write changes ctime, which no user call can set (``utime`` sets it to
now), so a rewrite with the same size and a restored mtime misses; a write in the same clock tick
as the read (coarse timestamps) cannot leave the recorded stat behind, because a file that recent
is not trusted and is hashed again next time. What is left is outside the rule: a clock set back
by more than 2 s, a filesystem that does not maintain ctime, bytes changed beneath the filesystem.

The cache is an optimisation only; a missing or corrupt cache file is ignored and rebuilt.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from observability import fsio
from observability.digest import sha256_hex
from observability.errors import WorkspaceError

CACHE_VERSION = 4  # 4: latency rollups cached as {rows, errors}; 3: entries are [sha256, value, stat or null]; 2: values carry skipped-row warnings
RACY_NS = 2_000_000_000  # a file changed this recently is hashed again next time (see the trust rule)
_now_ns = time.time_ns  # the wall clock file timestamps are compared with (tests move it)


class ContentCache:
    """``{key: [sha256, value, stat or null]}`` for one reader, stored as one JSON file.

    ``hits``: values reused (no parse); ``misses``: inputs parsed; ``hashed``: files read and hashed
    by :meth:`compute_files` because no trusted stat matched.
    """

    def __init__(self, path: Path | None, namespace: str):
        self.path = path
        self.namespace = namespace
        self._entries: dict[str, list] = {}
        self._used: set[str] = set()
        self._dirty = False
        self.hits = 0
        self.misses = 0
        self.hashed = 0
        if path is not None:
            try:
                data = fsio.parse_json(path.read_bytes())
                if data.get("version") == CACHE_VERSION and data.get("namespace") == namespace:
                    self._entries = {
                        k: v
                        for k, v in data.get("entries", {}).items()
                        if isinstance(v, list) and len(v) == 3 and isinstance(v[0], str)
                    }
            except (OSError, ValueError, AttributeError):
                self._entries = {}

    def get_or_compute(self, key: str, data: bytes, compute: Callable[[bytes], Any]) -> tuple[str, Any]:
        """Return ``(sha256, value)`` for ``data``; ``compute`` runs only when the content changed.

        ``compute`` must return JSON-serialisable data; exceptions propagate and nothing is cached.
        """
        digest = sha256_hex(data)
        self._used.add(key)
        entry = self._entries.get(key)
        if entry is not None and entry[0] == digest:
            self.hits += 1
            return digest, entry[1]
        self.misses += 1
        value = compute(data)
        self._entries[key] = [digest, value, None]
        self._dirty = True
        return digest, value

    def compute_files(
        self, items: list[tuple[str, str]], compute: Callable[[bytes], Any], *, parallel_from: int = 64
    ) -> dict[str, tuple[str | None, Any]]:
        """``{key: (sha256, value)}`` for many files (``(key, path)``), reading only those whose stat changed.

        ``value`` is the parse result, the ValueError ``compute`` raised (then sha256 is still the
        file's), or an OSError when the file could not be read (sha256 None). Missing files are left
        out. A file is read, hashed and (when its hash is new) parsed one at a time, in worker
        processes when at least ``parallel_from`` files need reading (``compute`` must then be a
        module-level function); no process holds more than one file's bytes at once.
        """
        out: dict[str, tuple[str | None, Any]] = {}
        todo: list[tuple[str, str, str | None]] = []
        entries = self._entries
        for key, path in items:
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            except OSError:
                todo.append((key, path, None))  # the read reports it, as for any unreadable file
                continue
            entry = entries.get(key)
            if entry is not None and entry[2] == [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]:
                out[key] = (entry[0], entry[1])
            else:
                todo.append((key, path, entry[0] if entry is not None else None))
        self._used.update(out)
        self.hits += len(out)
        workers = min(os.cpu_count() or 1, 8)
        jobs = [(path, known, compute) for _, path, known in todo]
        results: Iterable[tuple[str, str | None, Any, list[int] | None]]
        if len(todo) >= parallel_from and workers > 1:
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(max_workers=workers) as pool:
                # small chunks: the workers finish together (a worker left alone with a big last chunk idles a core)
                results = list(pool.map(_read_file, jobs, chunksize=max(1, min(32, len(jobs) // (workers * 8)))))
        else:
            results = map(_read_file, jobs)
        for (key, _, _known), (kind, digest, value, stat) in zip(todo, results, strict=True):
            if kind == "missing":
                continue
            if kind == "unreadable":
                out[key] = (None, OSError(value))
                continue
            self.hashed += 1
            self._used.add(key)
            if kind == "bad":
                self.misses += 1
                out[key] = (digest, ValueError(value))
                continue
            if kind == "same":
                self.hits += 1
                value = entries[key][1]
            else:
                self.misses += 1
            entry = [digest, value, stat]
            if entries.get(key) != entry:
                entries[key] = entry
                self._dirty = True
            out[key] = (digest, value)
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
            fsio.atomic_write_text(
                self.path,
                fsio.canonical_json({"version": CACHE_VERSION, "namespace": self.namespace, "entries": self._entries}),
            )
        except WorkspaceError:  # noqa: S110 - a cache that cannot be written only costs time next run
            pass


def stat_key(st: os.stat_result) -> list[int]:
    """What a cache entry records of its file: size, mtime, ctime (ns), inode, device."""
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def trusted(before: os.stat_result, after: os.stat_result, read_started_ns: int) -> bool:
    """May this read's stat stand for its bytes next time (see the module docstring)?"""
    return stat_key(before) == stat_key(after) and max(after.st_mtime_ns, after.st_ctime_ns) < read_started_ns - RACY_NS


def _read_file(job: tuple[str, str | None, Callable[[bytes], Any]]) -> tuple[str, str | None, Any, list[int] | None]:
    """Read, hash and (unless the hash is ``known``) parse one file: (kind, sha256, value or message, stat).

    kind is ``new`` (parsed), ``same`` (hash equals ``known``: not parsed), ``bad`` (``compute`` raised
    ValueError; its message), ``unreadable`` (the OSError's text) or ``missing``.
    """
    path, known, compute = job
    started = _now_ns()
    try:
        with open(path, "rb") as handle:
            before = os.fstat(handle.fileno())
            data = handle.read()
            after = os.fstat(handle.fileno())
    except FileNotFoundError:
        return "missing", None, None, None
    except OSError as exc:
        return "unreadable", None, exc.strerror or str(exc), None
    digest = sha256_hex(data)
    stat = stat_key(after) if trusted(before, after, started) else None
    if digest == known:
        return "same", digest, None, stat
    try:
        return "new", digest, compute(data), stat
    except ValueError as exc:
        return "bad", digest, str(exc), stat

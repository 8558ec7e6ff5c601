"""What every backend offers, and the snapshot layout kept in a storage bucket (file and S3).

Key-value layout (file and S3)::

    blobs/sha256/<xx>/<sha256>      content-addressed file contents, written once
    manifests/<generation>.json     one per push, created only if absent (the commit point)
    HEAD                            a hint: the last generation known (probing upwards corrects it)
    observability-store.json        the marker ``state init`` writes: this URL names a store

A store with neither the marker nor a generation is refused (StoreNotInitialised): a mistyped URL
must not silently start a new, empty history.

Generations are created strictly as ``pulled + 1`` with a create-if-absent write, so two runs that
pulled the same generation cannot both commit: the second create fails and that run re-plans.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from observability import clock, fsio
from observability.state.errors import SnapshotCorrupt, StoreNotInitialised, StoreUnreachable
from observability.state.manifest import Manifest, parse
from observability.state.selection import SUFFIXES, encode, sha256_bytes
from observability.storage import Bucket
from observability.storage.errors import StorageError

BlobSource = Callable[[str], bytes]
PRUNE_MIN_AGE_SECONDS = 3600.0
MARKER = "observability-store.json"
# Manifests already read in this process, by (store, key, the object's fingerprint). A generation's
# manifest is written once and never rewritten, and the fingerprint (S3 ETag; inode, mtime and size
# of a file) tells a store that was replaced: so the push of a `cycle` does not download and parse
# again the manifest its pull just read. Bounded: a process reads a handful of manifests.
_SEEN: dict[tuple[str, str, str], Manifest] = {}
_SEEN_MAX = 8
MARKER_SCHEMA_VERSION = "1.0.0"


def marker_bytes() -> bytes:
    """The marker's content: what it is and when it was written (read back by nothing but people)."""
    return fsio.canonical_json(
        {
            "created_at": clock.iso(clock.now()),
            "kind": "observability-state-store",
            "schema_version": MARKER_SCHEMA_VERSION,
        },
        indent=2,
    ).encode("utf-8")


def not_initialised(display: str, what: str) -> StoreNotInitialised:
    return StoreNotInitialised(
        f"{display}: {what}; nothing was read or changed. If this is the right URL for a new "
        f"store, create it once with `observability state init --store {display}`; otherwise "
        "fix the URL (--store / OBS_STATE_STORE)"
    )


@dataclass(frozen=True)
class Head:
    """The store's current snapshot (None when empty) and the backend's token for a conditional write."""

    manifest: Manifest | None
    token: str = ""

    stored_bytes: int = 0  # bytes read from the store for the manifest (0 when it was already in memory)

    @property
    def generation(self) -> int:
        return self.manifest.generation if self.manifest else 0


class Store(Protocol):
    display: str

    def head(self) -> Head:
        """Read the current snapshot's manifest; raises StoreUnreachable, SnapshotCorrupt or StoreNotInitialised."""

    def initialise(self) -> tuple[bool, int]:
        """Create the store (its marker) unless it exists; returns (created, current generation)."""

    def get_blob(self, sha256: str, encoding: str | None = None) -> bytes:
        """The bytes stored for ``sha256`` in ``encoding`` (unverified and undecoded: the caller does both)."""

    def publish(self, manifest: Manifest, blobs: BlobSource, expected: Head) -> tuple[bool, int]:
        """Upload missing blobs, then commit ``manifest`` only if the store is still at ``expected``.

        Returns (committed, bytes uploaded). False means another run committed first.
        """

    def close(self) -> None:
        """Release temporary resources."""


def blob_key(sha256: str, encoding: str | None = None) -> str:
    return f"blobs/sha256/{sha256[:2]}/{sha256}" + SUFFIXES.get(encoding or "", "")


def stored_blobs(manifest: Manifest | None) -> set[tuple[str, str | None]]:
    """Every (sha256, encoding) blob a manifest names."""
    return {(e.sha256, e.encoding) for e in manifest.files.values()} if manifest else set()


def manifest_key(generation: int) -> str:
    return f"manifests/{generation:012d}.json"


F = TypeVar("F", bound=Callable)


def _unreachable(method: F) -> F:
    """Any storage failure inside ``method`` is StoreUnreachable: the store's one error mapping."""

    @functools.wraps(method)
    def mapped(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except StorageError as exc:
            raise StoreUnreachable(exc.message) from None

    return mapped  # type: ignore[return-value]


class KeyValueStore:
    """Snapshot logic over a storage bucket (``observability.storage``: a directory or S3)."""

    manifest_bytes_sent = 0

    def __init__(self, bucket: Bucket):
        self.bucket = bucket
        self.display = bucket.display

    def _get(self, key: str) -> bytes | None:
        return self.bucket.get(key)

    def _exists(self, key: str) -> bool:
        return self._stat(key) is not None

    def _stat(self, key: str) -> str | None:
        """A fingerprint of ``key`` that changes when the object is replaced, or None when it is absent."""
        info = self.bucket.stat(key)
        return None if info is None else info.fingerprint

    def _list(self, prefix: str) -> list[tuple[str, float]]:
        """Every key under ``prefix`` with its last-modified time (epoch seconds)."""
        return [(key, info.modified) for key, info in self.bucket.list(prefix).items()]

    def sweep_temps(self) -> list[str]:
        """Temp files of killed writes (a file store's; other storage has none), older than an hour."""
        return self.bucket.sweep_temps()

    @_unreachable
    def prune(self, keep: int, *, now: float, min_age_seconds: float = PRUNE_MIN_AGE_SECONDS) -> dict[str, int]:
        """Drop all but the newest ``keep`` generations, then the blobs none of them names.

        Readers only ever read the newest manifest, so older ones can go. A blob younger than
        ``min_age_seconds`` is never removed: it may belong to a push still uploading, whose
        manifest is not committed yet.
        """
        manifests = sorted(key for key, _ in self._list("manifests/") if key.endswith(".json"))
        if keep < 1 or not manifests:
            return {"manifests_removed": 0, "blobs_removed": 0}
        kept, old = manifests[-keep:], manifests[:-keep]
        referenced: set[str] = set()
        for key in kept:
            raw = self._get(key)
            if raw is None:  # moved under us: leave everything for the next round
                return {"manifests_removed": 0, "blobs_removed": 0}
            referenced |= {
                blob_key(sha, encoding).rsplit("/", 1)[-1]
                for sha, encoding in stored_blobs(parse(raw, where=f"{self.display}/{key}"))
            }
        for key in old:
            self.bucket.delete(key)
        removed = 0
        for key, modified in self._list("blobs/sha256/"):
            if key.rsplit("/", 1)[-1] not in referenced and now - modified >= min_age_seconds:
                self.bucket.delete(key)
                removed += 1
        return {"manifests_removed": len(old), "blobs_removed": removed}

    @_unreachable
    def head(self) -> Head:
        hint = self._get("HEAD")
        try:
            generation = max(int((hint or b"0").decode("ascii").strip() or 0), 0)
        except (UnicodeDecodeError, ValueError):
            generation = 0
        fingerprint = self._stat(manifest_key(generation)) if generation else None
        if generation and fingerprint is None:
            generation = 0  # a hint from another store or a hand edit: probe from the start
        while (following := self._stat(manifest_key(generation + 1))) is not None:
            generation += 1
            fingerprint = following
        if generation == 0:
            if not self._exists(MARKER):
                raise not_initialised(self.display, f"no {MARKER} and no generation: this URL names no store")
            return Head(None, "0")
        key = manifest_key(generation)
        seen = _SEEN.get((self.display, key, fingerprint or ""))
        if seen is not None:
            return Head(seen, str(generation))
        raw = self._get(key)
        if raw is None:
            raise SnapshotCorrupt(f"{self.display}/{key}: manifest vanished while reading")
        manifest = parse(raw, where=f"{self.display}/{key}")
        if fingerprint:
            if len(_SEEN) >= _SEEN_MAX:
                _SEEN.clear()
            _SEEN[(self.display, key, fingerprint)] = manifest
        return Head(manifest, str(generation), len(raw))

    @_unreachable
    def initialise(self) -> tuple[bool, int]:
        self.bucket.ensure()
        try:
            generation = self.head().generation
        except StoreNotInitialised:
            generation = None
        if generation is not None and self._exists(MARKER):
            return False, generation
        # A store that already has generations counts as initialised; the marker is added for clarity.
        created = self.bucket.create(MARKER, marker_bytes())
        return created and generation is None, generation or 0

    @_unreachable
    def get_blob(self, sha256: str, encoding: str | None = None) -> bytes:
        data = self._get(blob_key(sha256, encoding))
        if data is None:
            raise SnapshotCorrupt(f"{self.display}/{blob_key(sha256, encoding)}: blob missing from the store")
        return data

    @_unreachable
    def publish(self, manifest: Manifest, blobs: BlobSource, expected: Head) -> tuple[bool, int]:
        if manifest.generation != expected.generation + 1:
            raise ValueError("a manifest must be built on the head it is committed over")
        sent = 0
        # Blobs named by the head manifest were written before it was committed: no need to ask.
        present = stored_blobs(expected.manifest)
        for sha, encoding in sorted(stored_blobs(manifest) - present, key=lambda b: (b[0], b[1] or "")):
            key = blob_key(sha, encoding)
            if not self._exists(key):
                stored = encode(blobs(sha), encoding)
                self.bucket.put(key, stored, sha256=sha if encoding is None else sha256_bytes(stored))
                sent += len(stored)
        # Compressed: a year-old store's manifest names thousands of files (about 1 MiB of JSON, 0.3 MiB
        # gzipped) and every push writes one. parse() reads either form.
        body = gzip.compress(manifest.to_bytes(), compresslevel=6, mtime=0)
        if not self.bucket.create(manifest_key(manifest.generation), body):
            return False, sent
        self.manifest_bytes_sent = len(body)
        # HEAD is only a hint (readers probe past it): the commit above already happened.
        with contextlib.suppress(StorageError):
            self.bucket.put("HEAD", f"{manifest.generation}\n".encode("ascii"))
        return True, sent

    def close(self) -> None:
        return None

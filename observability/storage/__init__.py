"""The storage layer under the jobs: one bucket interface over a directory (``file://``) or S3 (``s3://``).

Used by the state store (``observability.state``: snapshots, manifests, blobs) and by shared
storage (``observability.sync``: the dashboard bundle and weekly payloads); ``inputs pull`` uses its
S3 client and error mapping. One URL parser (``url.locate``), one S3 client and one place that turns
every failure into ``StorageError`` per backend; each job turns that into its own typed error.
A git-branch state store is a snapshot format of its own and stays with the state store.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from observability import digest
from observability.storage.errors import StorageError, StoreUrlError
from observability.storage.url import Location, display_url, locate

__all__ = [
    "Bucket",
    "Location",
    "ObjectInfo",
    "StorageError",
    "StoreUrlError",
    "display_url",
    "locate",
    "open_bucket",
    "same_content",
]


@dataclass(frozen=True)
class ObjectInfo:
    """What storage says about one object: its size and whatever identifies or checks its content."""

    size: int
    modified: float = 0.0  # epoch seconds
    sha256: str | None = None  # hex, when the storage can tell (file: re-hashed; S3: ChecksumSHA256)
    md5: str | None = None  # hex, S3 single-part ETag
    fingerprint: str = ""  # changes when the object is replaced (inode/mtime/size, ETag/date/size)


def same_content(info: ObjectInfo | None, data: bytes, sha256: str) -> bool | None:
    """True/False when ``info`` can be compared with ``data``; None when it cannot tell (ask again)."""
    if info is None:
        return False
    if info.size != len(data):
        return False
    if info.sha256 is not None:
        return info.sha256 == sha256
    if info.md5 is not None:
        return info.md5 == digest.md5_hex(data)
    return None


class Bucket(Protocol):
    """Keys (``a/b/c``, relative to the URL's directory or prefix) and their bytes.

    Every method raises StorageError on failure; ``display`` is the URL as it may be printed.
    """

    display: str

    def get(self, key: str) -> bytes | None:
        """The object's bytes; None when it does not exist."""

    def stat(self, key: str, *, checksum: bool = False) -> ObjectInfo | None:
        """A fresh look at one object (None when absent); ``checksum``: with the strongest checksum available."""

    def list(self, prefix: str) -> dict[str, ObjectInfo]:
        """Every object whose key starts with ``prefix`` (temp files of interrupted writes left out)."""

    def put(
        self, key: str, data: bytes, *, sha256: str | None = None, metadata: Mapping[str, str] | None = None
    ) -> None:
        """Write ``key``; with ``sha256`` the storage checks what it kept (S3: the server; file: a read-back).

        ``metadata``: user metadata stored with an S3 object (a directory has nowhere to keep it).
        """

    def create(self, key: str, data: bytes) -> bool:
        """Write ``key`` only if it does not exist, atomically; False when it already existed."""

    def delete(self, key: str) -> None:
        """Remove ``key``; a key already gone is not an error."""

    def delete_many(self, keys: builtins.list[str]) -> None:
        """Remove ``keys`` in as few calls as the storage allows (and, in a directory, the emptied directories)."""

    def ensure(self) -> None:
        """Create the place the keys live in, when the storage has one to create (a directory)."""

    def sweep_temps(self, *, now: float | None = None) -> builtins.list[str]:
        """Remove temp files killed writes left (an object store has none); returns the keys removed."""


def open_bucket(where: Location, environ: Mapping[str, str] = os.environ, *, require_parent: bool = False) -> Bucket:
    """The bucket for a ``file`` or ``s3`` location (boto3 is imported only for S3).

    ``require_parent``: a directory whose parent is missing is an outage (an unmounted share),
    not a place to create.
    """
    if where.kind == "file":
        from observability.storage.file import FileBucket

        return FileBucket(where.path, where.display, require_parent=require_parent)  # type: ignore[arg-type]
    if where.kind == "s3":
        from observability.storage.s3 import S3Bucket

        return S3Bucket(where.bucket, where.prefix, where.display, environ)
    raise ValueError(f"{where.display}: a {where.kind} location is not a bucket")

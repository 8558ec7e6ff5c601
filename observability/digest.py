"""The hashing helpers: SHA-256 of bytes and of files, MD5 for S3 ETags, and the built-in SHA-256
for a job's hot path, in one place for every job and the storage layer.

``import hashlib`` loads OpenSSL (~2 ms of a 15-minute cycle's start-up); CPython's built-in
``sha256`` gives the same digests for small inputs. :func:`sha256_hex` and :func:`sha256_file` use
hashlib itself, imported when first called (OpenSSL is faster on large data: blobs, bundles).
:func:`md5_hex` is what S3 reports as a single-part object's ETag (a comparison, not security).
"""

from __future__ import annotations

from pathlib import Path

try:
    from _sha256 import sha256  # CPython 3.11
except ImportError:  # pragma: no cover - depends on the interpreter
    try:
        from _sha2 import sha256  # CPython 3.12+
    except ImportError:
        from hashlib import sha256

__all__ = ["md5_hex", "sha256", "sha256_file", "sha256_hex"]

CHUNK = 1 << 20


def sha256_hex(data: bytes) -> str:
    """Lowercase hex SHA-256 of ``data``."""
    import hashlib

    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Lowercase hex SHA-256 of a file, read in 1 MiB chunks."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def md5_hex(data: bytes) -> str:
    """Lowercase hex MD5 of ``data``: compared with an S3 single-part ETag, never used for security."""
    import hashlib

    return hashlib.md5(data, usedforsecurity=False).hexdigest()

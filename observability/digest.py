"""Hashing helpers: SHA-256 and MD5 hex digests, one place for every job and the storage layer.

``sha256`` is CPython's built-in SHA-256 for small inputs on a job's hot path: ``import hashlib``
loads OpenSSL (~2 ms of a 15-minute cycle's start-up) and gives the same digests.
``sha256_hex`` goes through hashlib (OpenSSL is faster on large data: blobs, bundles).
``md5_hex`` is what S3 reports as a single-part object's ETag (a comparison, not security).
"""

from __future__ import annotations

try:
    from _sha256 import sha256  # CPython 3.11
except ImportError:  # pragma: no cover - depends on the interpreter
    try:
        from _sha2 import sha256  # CPython 3.12+
    except ImportError:
        from hashlib import sha256

__all__ = ["md5_hex", "sha256", "sha256_hex"]


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of ``data`` (hashlib: for large data)."""
    import hashlib

    return hashlib.sha256(data).hexdigest()


def md5_hex(data: bytes) -> str:
    """Hex MD5 of ``data``: compared with an S3 single-part ETag, never used for security."""
    import hashlib

    return hashlib.md5(data, usedforsecurity=False).hexdigest()

"""SHA-256 for small inputs on a job's hot path without importing hashlib.

``import hashlib`` loads OpenSSL (~2 ms of a 15-minute cycle's start-up); CPython's built-in
SHA-256 gives the same digests. Use hashlib itself for large data (OpenSSL is faster there).
"""

from __future__ import annotations

try:
    from _sha256 import sha256  # CPython 3.11
except ImportError:  # pragma: no cover - depends on the interpreter
    try:
        from _sha2 import sha256  # CPython 3.12+
    except ImportError:
        from hashlib import sha256

__all__ = ["sha256"]

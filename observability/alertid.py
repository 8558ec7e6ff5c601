"""The one fingerprint scheme every alert uses: the same problem keeps the same id, and issue."""

from __future__ import annotations


def fingerprint(namespace: str, *parts: str) -> str:
    """16 hex digits of SHA-256 over ``namespace|part|...`` (e.g. ``latency|latency_slo|feed``)."""
    from observability.digest import sha256  # built-in SHA-256: loading OpenSSL is ms of start-up

    return sha256("|".join((namespace, *parts)).encode("utf-8")).hexdigest()[:16]

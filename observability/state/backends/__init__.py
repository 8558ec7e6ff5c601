"""Turn a store URL into a backend: ``file://`` and ``s3://`` (snapshots over a storage bucket) or a git branch."""

from __future__ import annotations

import os
from collections.abc import Mapping

from observability.state.backends.base import Head, KeyValueStore, Store
from observability.storage.url import display_url, locate

__all__ = ["Head", "Store", "display_url", "open_store"]


def open_store(url: str | None, environ: Mapping[str, str] = os.environ) -> Store:
    """The backend for ``url``; a missing or malformed URL is StoreUrlError (exit 2)."""
    where = locate(url)
    if where.kind == "git":
        from observability.state.backends.git import GitStore

        return GitStore(where.remote, where.branch, where.display, environ)
    from observability.storage import open_bucket

    return KeyValueStore(open_bucket(where, environ))

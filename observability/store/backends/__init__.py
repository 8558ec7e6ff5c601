"""Turn a store URL into a backend: ``file://``, ``s3://`` or ``git+file://``/``git+https://``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from observability.store.backends.base import Head, Store
from observability.store.errors import StoreUrlError

DEFAULT_GIT_BRANCH = "observability-state"
SCHEMES = "file:///abs/dir, s3://bucket/prefix, git+file:///path/repo.git#branch, git+https://host/o/r.git#branch"

__all__ = ["Head", "Store", "display_url", "open_store"]


def display_url(url: str) -> str:
    """The URL as it may be printed: any user:password part dropped."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return parts._replace(netloc=host).geturl()
    return url


def open_store(url: str | None, environ: Mapping[str, str] = os.environ) -> Store:
    """The backend for ``url``; a missing or malformed URL is StoreUrlError (exit 2)."""
    if not url:
        raise StoreUrlError("no state store: pass --store URL or set OBS_STATE_STORE "
                            f"(one of {SCHEMES})")
    parts = urlsplit(url)
    shown = display_url(url)
    if parts.username or parts.password:
        raise StoreUrlError(f"--store {shown}: credentials do not belong in the URL; "
                            "use GITHUB_TOKEN or the AWS_* variables")
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise StoreUrlError(f"--store {shown}: a file store needs an absolute path: file:///abs/dir")
        from observability.store.backends.file import FileStore

        return FileStore(Path(unquote(parts.path)), shown)
    if scheme == "s3":
        if not parts.netloc:
            raise StoreUrlError(f"--store {shown}: expected s3://bucket/prefix")
        from observability.store.backends.s3 import S3Store

        return S3Store(parts.netloc, unquote(parts.path), shown, environ)
    if scheme in ("git+file", "git+https"):
        remote = url[len("git+"):].split("#", 1)[0]
        branch = parts.fragment or DEFAULT_GIT_BRANCH
        if scheme == "git+file" and not parts.path.startswith("/"):
            raise StoreUrlError(f"--store {shown}: expected git+file:///abs/path/repo.git#branch")
        if not branch.replace("-", "").replace("_", "").replace("/", "").replace(".", "").isalnum() \
                or ".." in branch or branch.startswith(("-", "/")):
            raise StoreUrlError(f"--store {shown}: branch {branch!r} is not a plain branch name")
        from observability.store.backends.git import GitStore

        return GitStore(remote, branch, shown, environ)
    raise StoreUrlError(f"--store {shown}: unknown scheme {parts.scheme!r} (expected one of {SCHEMES})")

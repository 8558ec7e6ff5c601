"""Storage URLs: ``file:///abs/dir``, ``s3://bucket/prefix``, ``git+file://`` and ``git+https://``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from observability.storage.errors import StoreUrlError

DEFAULT_GIT_BRANCH = "observability-state"
SCHEMES = "file:///abs/dir, s3://bucket/prefix, git+file:///path/repo.git#branch, git+https://host/o/r.git#branch"


# ``scheme://user:secret@`` where the secret holds a "/" (AWS secret keys often do): urlsplit ends the
# authority at that "/", sees no user info, and would print the secret as the bucket or the path.
_LOOSE_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/@:]*:[^@]*@")


def _loose_userinfo(url: str) -> re.Match[str] | None:
    return _LOOSE_USERINFO.match(url)


def display_url(url: str) -> str:
    """The URL as it may be printed: any user:password part dropped."""
    loose = _loose_userinfo(url)
    if loose:
        return loose.group(1) + url[loose.end() :]
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return parts._replace(netloc=host).geturl()
    return url


@dataclass(frozen=True)
class Location:
    """A parsed storage URL: ``kind`` file|s3|git and where it points; ``display`` is safe to print."""

    kind: str
    display: str
    path: Path | None = None  # file
    bucket: str = ""  # s3
    prefix: str = ""  # s3
    remote: str = ""  # git
    branch: str = ""  # git


def locate(
    url: str | None,
    *,
    option: str = "--store",
    env: str = "OBS_STATE_STORE",
    what: str = "state store",
    schemes: str = SCHEMES,
) -> Location:
    """Parse a storage URL; a missing or malformed one is StoreUrlError (exit 2) naming ``option``.

    Shared by the state store (``--store``) and shared storage (``sync push --to``).
    """
    if not url:
        raise StoreUrlError(f"no {what}: pass {option} URL or set {env} (one of {schemes})")
    parts = urlsplit(url)
    shown = display_url(url)
    if parts.username or parts.password or _loose_userinfo(url):
        raise StoreUrlError(
            f"{option} {shown}: credentials do not belong in the URL; use GITHUB_TOKEN or the AWS_* variables"
        )
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise StoreUrlError(f"{option} {shown}: a file store needs an absolute path: file:///abs/dir")
        return Location("file", shown, path=Path(unquote(parts.path)))
    if scheme == "s3":
        if not parts.netloc:
            raise StoreUrlError(f"{option} {shown}: expected s3://bucket/prefix")
        return Location("s3", shown, bucket=parts.netloc, prefix=unquote(parts.path))
    if scheme in ("git+file", "git+https"):
        remote = url[len("git+") :].split("#", 1)[0]
        branch = parts.fragment or DEFAULT_GIT_BRANCH
        if scheme == "git+file" and not parts.path.startswith("/"):
            raise StoreUrlError(f"{option} {shown}: expected git+file:///abs/path/repo.git#branch")
        if (
            not branch.replace("-", "").replace("_", "").replace("/", "").replace(".", "").isalnum()
            or ".." in branch
            or branch.startswith(("-", "/"))
        ):
            raise StoreUrlError(f"{option} {shown}: branch {branch!r} is not a plain branch name")
        return Location("git", shown, remote=remote, branch=branch)
    raise StoreUrlError(f"{option} {shown}: unknown scheme {parts.scheme!r} (expected one of {schemes})")

"""Shared storage targets for ``sync``: list, put (with checksum), verify, get and delete objects.

``file:///abs/dir`` and ``s3://bucket/prefix`` (URL parsing and the S3 client are the state store's,
``observability.store.backends``). Failures are ``Transient`` (worth a retry: connection errors,
timeouts, 5xx, throttling) or ``SyncFailed`` (retrying will not help: access denied, no bucket).
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from observability import fsio, secrets
from observability.errors import WorkspaceError
from observability.store.backends import Location, StoreUrlError, locate
from observability.sync.errors import SyncFailed, Transient

SCHEMES = "file:///abs/dir, s3://bucket/prefix"
_RETRYABLE_CODES = {"SlowDown", "RequestTimeout", "RequestTimeTooSkewed", "InternalError", "ServiceUnavailable",
                    "Throttling", "ThrottlingException", "RequestLimitExceeded", "503", "500", "502", "504"}
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


@dataclass(frozen=True)
class Remote:
    """What the target says about a stored object: size, and a checksum we can compare locally."""

    size: int
    sha256: str | None = None  # hex, when the target can tell (file: always; S3: ChecksumSHA256)
    md5: str | None = None     # hex, S3 single-part ETag


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def matches(remote: Remote | None, data: bytes, sha256: str) -> bool | None:
    """True/False when ``remote`` can be compared with ``data``; None when it cannot tell (ask again)."""
    if remote is None:
        return False
    if remote.size != len(data):
        return False
    if remote.sha256 is not None:
        return remote.sha256 == sha256
    if remote.md5 is not None:
        return remote.md5 == md5_hex(data)
    return None


class Target:
    display = ""

    def list(self, prefix: str) -> dict[str, Remote]:
        """Every object whose key starts with ``prefix`` (keys relative to the target's root)."""
        raise NotImplementedError

    def stat(self, key: str) -> Remote | None:
        """A fresh look at one object (None when absent), with the strongest checksum available."""
        raise NotImplementedError

    def get(self, key: str) -> bytes | None:
        raise NotImplementedError

    def put(self, key: str, data: bytes, sha256: str) -> None:
        raise NotImplementedError

    def delete(self, keys: builtins.list[str]) -> None:
        raise NotImplementedError

    def sweep_temps(self) -> builtins.list[str]:
        """Temp files killed writes left (an object store has none); returns the keys removed."""
        return []


def open_target(url: str | None, environ: Mapping[str, str] = os.environ) -> Target:
    """The target for ``url`` (``--to`` / ``OBS_SYNC_TO``); a bad URL is StoreUrlError (exit 2)."""
    where = locate(url, option="--to", env="OBS_SYNC_TO", what="shared storage", schemes=SCHEMES)
    if where.kind == "file":
        return FileTarget(where)
    if where.kind == "s3":
        return S3Target(where, environ)
    from observability.store.errors import StoreUrlError

    raise StoreUrlError(f"--to {where.display}: shared storage is file:// or s3:// (a git branch would keep "
                        "every dataset forever)")


def check_url(url: str | None) -> Location:
    """Validate ``url`` without opening anything (dry runs contact nothing)."""
    where = locate(url, option="--to", env="OBS_SYNC_TO", what="shared storage", schemes=SCHEMES)
    if where.kind == "file" and where.path is not None and where.path.exists() and not where.path.is_dir():
        # Never a directory that is merely unreachable (an unmounted share has no file there): usage.
        raise StoreUrlError(f"--to {where.display}: {where.path} is a file, expected a directory")
    if where.kind not in ("file", "s3"):
        open_target(url)  # raises the explanation
    return where


class FileTarget(Target):
    """A directory (local or mounted): keys are files under it; checksums are re-hashed from disk by stat()."""

    def __init__(self, where: Location):
        self.root: Path = where.path  # type: ignore[assignment]
        self.display = where.display

    def _fail(self, action: str, key: str, exc: OSError) -> Transient:
        return Transient(f"{self.display}: cannot {action} {key or '/'} ({exc.strerror or exc})")

    def _ready(self) -> None:
        if not self.root.parent.is_dir():
            # An unmounted share looks like this: do not create a tree where the mount should be.
            raise Transient(f"{self.display}: parent directory {self.root.parent} does not exist")

    def list(self, prefix: str) -> dict[str, Remote]:
        self._ready()
        top = self.root / prefix
        found: dict[str, Remote] = {}
        if not top.is_dir():
            return found
        try:
            for directory, subdirs, files in os.walk(top):
                subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
                for name in files:
                    if name.startswith("."):
                        continue  # temp files of an interrupted write
                    full = Path(directory) / name
                    # Sizes only: hashing every kept bundle each run would read them all; the few
                    # files a run compares are re-hashed by stat().
                    found[full.relative_to(self.root).as_posix()] = Remote(full.stat().st_size)
        except OSError as exc:
            raise self._fail("list", prefix, exc) from None
        return found

    def sweep_temps(self) -> builtins.list[str]:
        """Remove temp files of killed writes older than an hour (listing and pruning skip dot files, so
        nothing else ever would); a concurrent push's live temp is younger and is kept."""
        if not self.root.is_dir():
            return []
        return [p.relative_to(self.root).as_posix() for p in fsio.sweep_temps([self.root])]

    def stat(self, key: str) -> Remote | None:
        data = self.get(key)
        return None if data is None else Remote(len(data), hashlib.sha256(data).hexdigest())

    def get(self, key: str) -> bytes | None:
        self._ready()
        try:
            return (self.root / key).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise self._fail("read", key, exc) from None

    def put(self, key: str, data: bytes, sha256: str) -> None:
        self._ready()
        try:
            fsio.atomic_write_bytes(self.root / key, data)
        except WorkspaceError as exc:
            raise Transient(f"{self.display}: cannot write {key} ({exc.message})") from None

    def delete(self, keys: builtins.list[str]) -> None:
        for key in keys:
            try:
                (self.root / key).unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise self._fail("delete", key, exc) from None
        # Empty dated directories go too, so a listing shows only what is kept.
        for directory in sorted({(self.root / key).parent for key in keys}, key=lambda p: -len(p.parts)):
            while directory != self.root and directory.is_relative_to(self.root):
                try:
                    directory.rmdir()
                except OSError:
                    break
                directory = directory.parent


class S3Target(Target):
    """S3 or an S3-compatible store. Uploads carry ChecksumSHA256 (S3 re-hashes and refuses a mismatch)."""

    def __init__(self, where: Location, environ: Mapping[str, str] = os.environ):
        from observability.store.backends.s3 import client

        self.bucket = where.bucket
        self.prefix = where.prefix.strip("/")
        self.display = where.display
        self._client, self._bexc = client(where.display, environ)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _rel(self, full: str) -> str:
        return full[len(self.prefix) + 1:] if self.prefix else full

    def _error(self, action: str, key: str, exc: Exception) -> Exception:
        bexc = self._bexc
        if isinstance(exc, bexc.NoCredentialsError):
            return SyncFailed(f"{self.display}: no AWS credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
        if isinstance(exc, bexc.ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            message = (f"{self.display}: cannot {action} {key or '/'} ({code}: "
                       f"{secrets.redact(str(error.get('Message', '')))})")
            if code in _RETRYABLE_CODES or status >= 500 or status == 429:
                return Transient(message)
            return SyncFailed(message)
        return Transient(f"{self.display}: cannot {action} {key or '/'} ({type(exc).__name__}: "
                         f"{secrets.redact(str(exc))})")

    def _call(self, action: str, key: str, func, **kwargs):
        try:
            return func(**kwargs)
        except (self._bexc.ClientError, self._bexc.BotoCoreError) as exc:
            raise self._error(action, key, exc) from None

    @staticmethod
    def _etag_md5(etag: str | None) -> str | None:
        etag = (etag or "").strip('"')
        # Multipart and SSE-KMS ETags are not the MD5 of the content.
        return etag if len(etag) == 32 and "-" not in etag else None

    def list(self, prefix: str) -> dict[str, Remote]:
        found: dict[str, Remote] = {}
        token = None
        while True:
            kwargs = {"Bucket": self.bucket, "Prefix": self._key(prefix)}
            if token:
                kwargs["ContinuationToken"] = token
            page = self._call("list", prefix, self._client.list_objects_v2, **kwargs)
            for item in page.get("Contents", []):
                found[self._rel(item["Key"])] = Remote(int(item["Size"]), md5=self._etag_md5(item.get("ETag")))
            if not page.get("IsTruncated"):
                return found
            token = page.get("NextContinuationToken")

    def stat(self, key: str) -> Remote | None:
        try:
            head = self._client.head_object(Bucket=self.bucket, Key=self._key(key), ChecksumMode="ENABLED")
        except self._bexc.ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code", "")) in _NOT_FOUND:
                return None
            raise self._error("check", key, exc) from None
        except self._bexc.BotoCoreError as exc:
            raise self._error("check", key, exc) from None
        checksum = head.get("ChecksumSHA256")
        sha = None
        if checksum and "-" not in checksum:  # a composite (multipart) checksum is not the object's hash
            sha = base64.b64decode(checksum).hex()
        return Remote(int(head["ContentLength"]), sha256=sha, md5=self._etag_md5(head.get("ETag")))

    def get(self, key: str) -> bytes | None:
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
            return response["Body"].read()
        except self._bexc.ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code", "")) in _NOT_FOUND:
                return None
            raise self._error("read", key, exc) from None
        except self._bexc.BotoCoreError as exc:
            raise self._error("read", key, exc) from None

    def put(self, key: str, data: bytes, sha256: str) -> None:
        self._call("write", key, self._client.put_object, Bucket=self.bucket, Key=self._key(key), Body=data,
                   ChecksumSHA256=base64.b64encode(bytes.fromhex(sha256)).decode("ascii"),
                   Metadata={"sha256": sha256})

    def delete(self, keys: builtins.list[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch = [{"Key": self._key(k)} for k in keys[start:start + 1000]]
            response = self._call("delete", keys[start], self._client.delete_objects, Bucket=self.bucket,
                                  Delete={"Objects": batch, "Quiet": True})
            errors = response.get("Errors") or []
            if errors:
                first = errors[0]
                raise Transient(f"{self.display}: cannot delete {self._rel(first.get('Key', ''))} "
                                f"({first.get('Code')}: {first.get('Message')})")

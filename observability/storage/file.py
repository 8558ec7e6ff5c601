"""``file:///abs/dir``: a bucket that is a directory on a local or mounted filesystem.

Keys are files under the root. Writes are atomic (a temp file renamed into place); a create-if-
absent is ``os.link`` of a temp file (fails if the name exists), or ``O_EXCL`` where a filesystem
has no hard links. Temp files of killed writes are dot files: listings skip them, ``sweep_temps``
removes the old ones.
"""

from __future__ import annotations

import builtins
import errno
import os
from collections.abc import Mapping
from pathlib import Path

from observability import digest, fsio
from observability.errors import WorkspaceError
from observability.storage import ObjectInfo
from observability.storage.errors import StorageError

_PERMANENT = (errno.EISDIR, errno.ENAMETOOLONG, errno.ELOOP, errno.EINVAL)


class FileBucket:
    """A directory; with ``require_parent`` its parent must exist (an unmounted share is an outage)."""

    def __init__(self, root: Path, display: str, *, require_parent: bool = False):
        self.root = root
        self.display = display
        self.require_parent = require_parent

    def _path(self, key: str) -> Path:
        """The file of ``key``; a key that would leave the root (an index naming ``../x``) is refused."""
        if key.startswith("/") or any(part in (".", "..") for part in key.split("/")):
            raise StorageError(f"{self.display}: key {key[:200]!r} leaves the store (a . or .. segment, or absolute)")
        path = self.root / key
        # A symbolic link inside the store (lake/runs/x -> /elsewhere) would take a read, a write or a
        # delete of a listed key out of it: a tampered index or manifest naming such a key is refused.
        if "/" in key and not path.parent.resolve().is_relative_to(self.root.resolve()):
            raise StorageError(f"{self.display}: key {key[:200]!r} leaves the store (through a symbolic link)")
        return path

    def _fail(self, action: str, key: str, exc: OSError) -> StorageError:
        detail = str(exc.strerror or exc)
        return StorageError(
            f"{self.display}: cannot {action} {key or '/'} ({detail})",
            detail=detail,
            code=errno.errorcode.get(exc.errno or 0, ""),
            # A key that is a directory (or too long a name, a symlink loop) stays so: no retry waits.
            retryable=exc.errno not in _PERMANENT,
        )

    def _ready(self) -> None:
        if self.require_parent and not self.root.parent.is_dir():
            # An unmounted share looks like this: do not create a tree where the mount should be.
            raise StorageError(f"{self.display}: parent directory {self.root.parent} does not exist", retryable=True)

    def _not_a_directory(self) -> None:
        """A key's path crossed a file: only the root being a file is an error (a key's directory is just absent)."""
        if self.root.exists() and not self.root.is_dir():
            raise StorageError(f"{self.display}: {self.root} is not a directory")

    def get(self, key: str) -> bytes | None:
        self._ready()
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None  # a missing root is storage never created: the caller says what that means
        except NotADirectoryError:
            self._not_a_directory()
            return None
        except OSError as exc:
            raise self._fail("read", key, exc) from None

    def stat(self, key: str, *, checksum: bool = False) -> ObjectInfo | None:
        if checksum:
            data = self.get(key)
            return None if data is None else ObjectInfo(len(data), sha256=digest.sha256_hex(data))
        self._ready()
        try:
            st = os.stat(self._path(key))
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            self._not_a_directory()
            return None
        except OSError as exc:
            raise self._fail("stat", key, exc) from None
        return ObjectInfo(st.st_size, st.st_mtime, fingerprint=f"{st.st_ino}:{st.st_mtime_ns}:{st.st_size}")

    def list(self, prefix: str) -> dict[str, ObjectInfo]:
        self._ready()
        found: dict[str, ObjectInfo] = {}
        top = self._path(prefix)
        if not top.is_dir():
            return found
        try:
            for directory, subdirs, files in os.walk(top):
                subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
                for name in files:
                    if name.startswith("."):
                        continue  # temp files of an interrupted write
                    full = Path(directory) / name
                    # Sizes and times only: hashing every file each listing would read them all.
                    st = full.stat()
                    found[full.relative_to(self.root).as_posix()] = ObjectInfo(st.st_size, st.st_mtime)
        except OSError as exc:
            raise self._fail("list", prefix, exc) from None
        return found

    def put(
        self, key: str, data: bytes, *, sha256: str | None = None, metadata: Mapping[str, str] | None = None
    ) -> None:
        self._ready()
        try:
            fsio.atomic_write_bytes(self._path(key), data)
            # Read back what landed: a full disk or a flaky mount shows here, not at the next read.
            written = self._path(key).read_bytes() if sha256 is not None else None
        except WorkspaceError as exc:
            raise StorageError(
                f"{self.display}: cannot write {key} ({exc.message})", detail=exc.message, retryable=True
            ) from None
        except OSError as exc:
            raise self._fail("read back", key, exc) from None
        if written is not None and digest.sha256_hex(written) != sha256:
            raise StorageError(f"{self.display}/{key}: checksum differs after writing", retryable=True)

    def create(self, key: str, data: bytes) -> bool:
        self._ready()
        try:
            target = self._path(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.parent / fsio.create_temp(target.parent, target.name, data, mode=0o600)
        except OSError as exc:
            raise self._fail("write", key, exc) from None
        try:
            os.link(tmp, target)
            return True
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                # No hard links on this filesystem: O_EXCL is just as exclusive for a create.
                return self._create_excl(key, data)
            raise self._fail("commit", key, exc) from None
        finally:
            try:
                os.unlink(tmp)
            except OSError:
                pass

    def _create_excl(self, key: str, data: bytes) -> bool:
        try:
            fd = os.open(self._path(key), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        except OSError as exc:
            raise self._fail("commit", key, exc) from None
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return True

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise self._fail("delete", key, exc) from None

    def delete_many(self, keys: builtins.list[str]) -> None:
        for key in keys:
            self.delete(key)
        # Empty directories go too, so a listing shows only what is kept.
        for directory in sorted({self._path(key).parent for key in keys}, key=lambda p: -len(p.parts)):
            while directory != self.root and directory.is_relative_to(self.root):
                try:
                    directory.rmdir()
                except OSError:
                    break
                directory = directory.parent

    def ensure(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"{self.display}: cannot create {self.root} ({exc.strerror or exc})",
                detail=str(exc.strerror or exc),
                retryable=True,
            ) from None

    def sweep_temps(self, *, now: float | None = None, max_age_s: float = fsio.TEMP_MAX_AGE_S) -> builtins.list[str]:
        """Remove temp files writers killed mid-write left (listings skip them, so nothing else would).

        Only those older than ``max_age_s``: another workspace may be writing to the same directory now.
        """
        if not self.root.is_dir():
            return []
        removed = fsio.sweep_temps([self.root], max_age_s=max_age_s, now=now)
        return [path.relative_to(self.root).as_posix() for path in removed]

"""``file:///abs/dir``: the embedded backend, a directory on a local or mounted filesystem."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from observability import fsio
from observability.errors import WorkspaceError
from observability.store.backends.base import KeyValueStore
from observability.store.errors import StoreUnreachable
from observability.store.selection import sha256_bytes


class FileStore(KeyValueStore):
    """Keys are files under ``root``; manifests are committed with ``os.link`` (fails if the name exists)."""

    def __init__(self, root: Path, display: str):
        self.root = root
        self.display = display

    def _path(self, key: str) -> Path:
        return self.root / key

    def _fail(self, action: str, key: str, exc: OSError) -> StoreUnreachable:
        return StoreUnreachable(f"{self.display}: cannot {action} {key} ({exc.strerror or exc})")

    def _get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None  # a missing root is a store never initialised: head() says so
        except NotADirectoryError:
            if self.root.exists() and not self.root.is_dir():
                raise StoreUnreachable(f"{self.display}: {self.root} is not a directory") from None
            return None
        except OSError as exc:
            raise self._fail("read", key, exc) from None

    def _stat(self, key: str) -> str | None:
        try:
            st = os.stat(self._path(key))
            return f"{st.st_ino}:{st.st_mtime_ns}:{st.st_size}"
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            if self.root.exists() and not self.root.is_dir():
                raise StoreUnreachable(f"{self.display}: {self.root} is not a directory") from None
            return None
        except OSError as exc:
            raise self._fail("stat", key, exc) from None

    def _list(self, prefix: str) -> list[tuple[str, float]]:
        base = self._path(prefix)
        found = []
        try:
            for path in base.rglob("*"):
                if path.is_file() and not path.name.startswith("."):
                    found.append((path.relative_to(self.root).as_posix(), path.stat().st_mtime))
        except OSError as exc:
            raise self._fail("list", prefix, exc) from None
        return found

    def _delete(self, key: str) -> None:
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise self._fail("delete", key, exc) from None

    def initialise(self) -> tuple[bool, int]:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnreachable(f"{self.display}: cannot create {self.root} ({exc.strerror or exc})") from None
        return super().initialise()

    def _temp(self, key: str, data: bytes) -> Path:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target.parent / fsio.create_temp(target.parent, target.name, data, mode=0o600)

    def sweep_temps(self, *, now: float | None = None, max_age_s: float = fsio.TEMP_MAX_AGE_S) -> list[str]:
        """Remove temp files writers killed mid-write left in the store (``_list`` and pruning skip them).

        Only those older than ``max_age_s``: another workspace may be pushing to the same store now.
        """
        if not self.root.is_dir():
            return []
        removed = fsio.sweep_temps([self.root], max_age_s=max_age_s, now=now)
        return [path.relative_to(self.root).as_posix() for path in removed]

    def _put(self, key: str, data: bytes, sha256: str | None = None) -> None:
        try:
            fsio.atomic_write_bytes(self._path(key), data)
            # Read back what landed: a full disk or a flaky mount shows here, not at the next pull.
            written = self._path(key).read_bytes() if sha256 is not None else None
        except WorkspaceError as exc:
            raise StoreUnreachable(f"{self.display}: cannot write {key} ({exc.message})") from None
        except OSError as exc:
            raise self._fail("read back", key, exc) from None
        if written is not None and sha256_bytes(written) != sha256:
            raise StoreUnreachable(f"{self.display}/{key}: checksum differs after writing")

    def _create(self, key: str, data: bytes) -> bool:
        try:
            tmp = self._temp(key, data)
        except OSError as exc:
            raise self._fail("write", key, exc) from None
        try:
            os.link(tmp, self._path(key))
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
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        return True

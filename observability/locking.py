"""The exclusive file lock jobs take (the per-job lock, the automation log's lock), on flock.

A thin ``fcntl.flock`` lock instead of the filelock package on the job's hot path: importing
filelock costs about as much as a cycle's rollup maths. The lock is the same kernel lock filelock
takes on POSIX (flock on the whole file, the file left in place on release), so processes using
either exclude each other. Where flock is unavailable (no fcntl, or a file system that refuses it)
the filelock package does the work, with its fallbacks.
"""

from __future__ import annotations

import errno
import os
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from filelock import BaseFileLock

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

_POLL_SECONDS = 0.05
_NO_FLOCK = {errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOLCK}


class LockTimeout(TimeoutError):
    """Another process held the lock for the whole timeout."""

    def __init__(self, lock_file: str):
        super().__init__(f"The file lock '{lock_file}' could not be acquired.")
        self.lock_file = lock_file


class FileLock:
    """``with FileLock(path, timeout=s):`` or ``acquire(timeout=s)`` / ``release()``; not re-entrant.

    ``timeout`` < 0 waits for ever, 0 tries once; LockTimeout when the lock stays taken.
    """

    def __init__(self, lock_file: str | os.PathLike, timeout: float = -1):
        self.lock_file = str(lock_file)
        self.timeout = timeout
        self._fd: int | None = None
        self._fallback: BaseFileLock | None = None  # where flock cannot be used

    @property
    def is_locked(self) -> bool:
        return self._fd is not None or (self._fallback is not None and self._fallback.is_locked)

    def acquire(self, timeout: float | None = None) -> FileLock:
        if self.is_locked:
            raise RuntimeError(f"{self.lock_file}: already held by this FileLock")
        timeout = self.timeout if timeout is None else timeout
        if fcntl is None:
            return self._acquire_fallback(timeout)
        deadline = time.monotonic() + timeout if timeout >= 0 else None
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        while True:
            fd = os.open(self.lock_file, flags, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in _NO_FLOCK:
                    return self._acquire_fallback(
                        timeout if deadline is None else max(0.0, deadline - time.monotonic())
                    )
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if deadline is not None and time.monotonic() >= deadline:
                    raise LockTimeout(self.lock_file) from None
                time.sleep(
                    _POLL_SECONDS if deadline is None else max(0.0, min(_POLL_SECONDS, deadline - time.monotonic()))
                )
                continue
            try:
                same = os.fstat(fd).st_ino == os.stat(self.lock_file, follow_symlinks=False).st_ino
            except OSError:
                same = False
            if same:
                self._fd = fd
                return self
            # The file was removed or replaced between our open and our flock: the lock we hold is on
            # an inode nobody else will open. Try again on the file that is there now.
            os.close(fd)

    def _acquire_fallback(self, timeout: float) -> FileLock:
        from filelock import FileLock as PackageLock, Timeout

        self._fallback = PackageLock(self.lock_file)
        try:
            self._fallback.acquire(timeout=timeout)
        except Timeout:
            self._fallback = None
            raise LockTimeout(self.lock_file) from None
        return self

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
        elif self._fallback is not None:
            fallback, self._fallback = self._fallback, None
            fallback.release()

    def __enter__(self) -> FileLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def __del__(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass

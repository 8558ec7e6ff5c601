"""observability.locking: the flock lock jobs take excludes other processes, and filelock users."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from filelock import FileLock as PackageLock, Timeout

from observability.locking import FileLock, LockTimeout

HOLD = """
import sys, time
from observability.locking import FileLock
with FileLock(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.readline()
"""


def _holder(path: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_another_process_holding_it_times_us_out_then_lets_us_in(tmp_path):
    path = tmp_path / "job.lock"
    proc = _holder(path)
    try:
        t0 = time.monotonic()
        with pytest.raises(LockTimeout, match="could not be acquired"):
            FileLock(path).acquire(timeout=0.3)
        assert time.monotonic() - t0 >= 0.29
        with pytest.raises(TimeoutError):
            FileLock(path, timeout=0).acquire()
    finally:
        proc.communicate("\n", timeout=10)
    with FileLock(path, timeout=0) as lock:
        assert lock.is_locked
    assert not lock.is_locked and path.exists()  # left in place, so waiters share one inode


def test_a_waiter_gets_the_lock_when_the_holder_exits(tmp_path):
    path = tmp_path / "job.lock"
    proc = _holder(path)
    waiter = FileLock(path)
    proc.stdin.write("\n")
    proc.stdin.flush()
    waiter.acquire(timeout=10)
    waiter.release()
    proc.wait(timeout=10)


def test_it_and_the_filelock_package_exclude_each_other(tmp_path):
    path = tmp_path / "x.lock"
    with FileLock(path), pytest.raises(Timeout):
        PackageLock(str(path)).acquire(timeout=0.1)
    with PackageLock(str(path)), pytest.raises(LockTimeout):
        FileLock(path).acquire(timeout=0.1)


def test_two_locks_in_one_process_exclude_each_other_and_one_is_not_reentrant(tmp_path):
    path = tmp_path / "x.lock"
    first = FileLock(path).acquire()
    with pytest.raises(LockTimeout):
        FileLock(path).acquire(timeout=0)
    with pytest.raises(RuntimeError, match="already held"):
        first.acquire(timeout=0)
    first.release()
    FileLock(path).acquire(timeout=0).release()


def test_a_lock_file_replaced_under_a_waiter_is_locked_afresh(tmp_path):
    # A lock taken on an inode that was unlinked meanwhile would exclude nobody: acquire retries.
    path = tmp_path / "x.lock"
    holder = FileLock(path).acquire()
    os.unlink(path)
    lock = FileLock(path).acquire(timeout=0)  # the new file at the path is free
    assert os.fstat(lock._fd).st_ino == os.stat(path).st_ino
    lock.release()
    holder.release()


def test_a_symlinked_lock_file_is_refused(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("")
    (tmp_path / "x.lock").symlink_to(target)
    with pytest.raises(OSError):
        FileLock(tmp_path / "x.lock").acquire(timeout=0)

"""Run the ``observability`` CLI inside the test process, for the large tables of bad-input cases.

A case of those tables is a process that refuses its input in a few milliseconds; started as a real
process it pays the interpreter, the imports and (under ``--cov``) coverage's start-up, about a fifth
of a second each, and those tables run some 550 of them. Here the same Click entry point runs with
the case's environment, working directory and file descriptors 1 and 2 in place of the process's, and
the product's per-process state is put back afterwards, so each case starts as a fresh process would.

Only for cases that need nothing a process gives: the crash, concurrency, locking and start-up tests
and the secret canaries keep real processes (``_support_robust.run_cli``). tests/test_inprocess.py
checks that both ways give the same exit status, stdout, stderr and files on a sample of cases.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import signal
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def _descriptors() -> Iterator[tuple[tempfile._TemporaryFileWrapper, tempfile._TemporaryFileWrapper]]:
    """File descriptors 1 and 2 (and sys.stdout/stderr over them) pointed at two fresh files."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the caller after reading
    err = tempfile.TemporaryFile()  # noqa: SIM115
    streams = sys.stdin, sys.stdout, sys.stderr
    for stream in streams[1:]:
        with contextlib.suppress(Exception):
            stream.flush()
    saved = os.dup(1), os.dup(2)
    os.dup2(out.fileno(), 1)
    os.dup2(err.fileno(), 2)
    sys.stdin = io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(open(os.dup(1), "wb", buffering=0), encoding="utf-8", write_through=True)  # noqa: SIM115
    sys.stderr = io.TextIOWrapper(
        open(os.dup(2), "wb", buffering=0),  # noqa: SIM115
        encoding="utf-8",
        errors="backslashreplace",
        write_through=True,
    )
    try:
        yield out, err
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
                stream.close()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        sys.stdin, sys.stdout, sys.stderr = streams


@contextlib.contextmanager
def _fresh_process_state(args: list[str], env: dict[str, str], cwd: Path | None) -> Iterator[None]:
    """The environment and directory of the case; afterwards, everything a process would have dropped."""
    from observability import fsio, provenance, secrets
    from observability.state.backends import base
    from observability.storage import s3

    saved_argv = sys.argv
    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    saved_umask = os.umask(0o022)
    os.umask(saved_umask)
    was_enabled = gc.isenabled()
    sys.argv = ["observability", *args]  # provenance names the command from it
    os.environ.clear()
    os.environ.update(env)
    if cwd is not None:
        os.chdir(cwd)
    try:
        yield
    finally:
        sys.argv = saved_argv
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        for sig, handler in saved_handlers.items():
            signal.signal(sig, handler)
        os.umask(saved_umask)
        gc.unfreeze()
        if was_enabled:
            gc.enable()
        secrets._known.clear()
        secrets._too_short.clear()
        fsio.confine(None)
        provenance._git_head.cache_clear()
        base._SEEN.clear()
        s3._CLIENTS.clear()


def run_cli_in_process(
    args: list[str], *, env: dict[str, str] | None = None, timeout: float = 60, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """``_support_robust.run_cli`` without the process: the same arguments, the same result type."""
    del timeout  # a case here ends in milliseconds; a hang fails the test run's own timeout
    from _support_robust import clean_env
    from observability.cli import cli

    code: int = 0
    with _fresh_process_state(list(args), env if env is not None else clean_env(), cwd), _descriptors() as (out, err):
        try:
            cli.main(args=list(args), prog_name="observability")
        except SystemExit as exc:
            if exc.code is None:
                code = 0
            elif isinstance(exc.code, int):
                code = exc.code
            else:
                print(exc.code, file=sys.stderr)
                code = 1
        except BaseException:  # what the interpreter does with an uncaught exception
            traceback.print_exc()
            code = 1
    out.seek(0)
    err.seek(0)
    stdout = out.read().decode("utf-8", errors="backslashreplace")
    stderr = err.read().decode("utf-8", errors="backslashreplace")
    out.close()
    err.close()
    return subprocess.CompletedProcess(["observability", *args], code, stdout, stderr)

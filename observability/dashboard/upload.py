"""Run the bundle's ``--upload-command`` as an argument list (never through a shell), retrying transient failures."""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from observability import provenance, secrets
from observability.errors import ConfigError, ObservabilityError
from observability.outbound.retry import GaveUp, RetryPolicy, retrying

PLACEHOLDER = "{bundle_dir}"


class UploadError(ObservabilityError):
    """The upload command failed, timed out or could not be started."""

    error_code = "upload_failed"


@dataclass(frozen=True)
class UploadResult:
    argv: list[str]
    returncode: int
    duration_ms: int
    stdout_tail: str
    stderr_tail: str
    attempts: int = 1


# A shell's "cannot execute" and "not found" exit codes: the command will not start next time either.
PERMANENT_EXIT_CODES = frozenset({126, 127})


def parse_command(command: str) -> list[str]:
    """Split with POSIX shell quoting rules; no shell ever sees the string."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        # Never echo the command: it may hold a credential written inline.
        raise ConfigError(f"--upload-command: cannot split the command ({exc})") from None
    if not argv:
        raise ConfigError("--upload-command: empty command")
    return argv


def render(argv: list[str], bundle_dir: Path) -> list[str]:
    return [arg.replace(PLACEHOLDER, str(bundle_dir)) for arg in argv]


def outline(argv: list[str], bundle_dir: Path) -> list[str]:
    """What a dry run records of the command: the program's name, option names and the bundle
    directory; every other argument is ``…``, since it may be a credential written inline."""
    return [Path(argv[0]).name, *provenance.elide(argv[1:], keep=frozenset({str(bundle_dir)}))]


def _tail(text: str, limit: int = 800) -> str:
    text = secrets.redact(text.strip())
    return text if len(text) <= limit else "…" + text[-limit:]


# Credentials an upload tool (the AWS CLI, say) reads from the environment: scrubbed from what it
# prints, since its last stderr line becomes the error message.
UPLOAD_SECRETS = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def run(argv: list[str], *, timeout: float) -> UploadResult:
    import time

    for name in UPLOAD_SECRETS:
        secrets.from_env(name)
    t0 = time.perf_counter()
    try:
        # The command gets the AWS credentials it may need, never the other secrets of the run.
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            shell=False,
            env=secrets.without_secrets(keep=UPLOAD_SECRETS),
        )
    except FileNotFoundError:
        raise UploadError(f"upload command {argv[0]!r} not found", returncode=None, retryable=False) from None
    except subprocess.TimeoutExpired:
        raise UploadError(
            f"upload command {argv[0]!r} timed out after {timeout:g} s", returncode=None, retryable=True
        ) from None
    except OSError as exc:
        raise UploadError(
            f"upload command {argv[0]!r} could not start ({exc.strerror or exc})", retryable=False
        ) from None
    result = UploadResult(
        argv,
        done.returncode,
        int((time.perf_counter() - t0) * 1000),
        _tail(done.stdout or ""),
        _tail(done.stderr or ""),
    )
    if done.returncode != 0:
        detail = f": {result.stderr_tail.splitlines()[-1]}" if result.stderr_tail else ""
        raise UploadError(
            f"upload command {argv[0]!r} exited {done.returncode}{detail}",
            returncode=done.returncode,
            stderr_tail=result.stderr_tail,
            retryable=done.returncode not in PERMANENT_EXIT_CODES,
        )
    return result


def run_with_retries(
    argv: list[str],
    *,
    timeout: float,
    policy: RetryPolicy,
    sleep: Callable[[float], None] | None = None,
    note: Callable[[str], None] = lambda _message: None,
) -> UploadResult:
    """``run`` up to ``policy.max_attempts`` times, waiting ``policy.backoff`` between attempts (the one
    retry policy, outbound/retry.py). A non-zero exit or a timeout is retried: an upload tool's exit
    code does not say whether the failure was the network; a command that cannot start (not found,
    exit 126/127) is not. The final UploadError carries ``attempts``."""
    attempts = max(policy.max_attempts, 1)

    def retried(exc: BaseException, attempt: int, wait: float) -> None:
        note(f"{getattr(exc, 'message', exc)}; attempt {attempt}/{attempts}, retrying in {wait:g} s")

    try:
        done, tried = retrying(
            lambda: run(argv, timeout=timeout),
            policy,
            errors=(UploadError,),
            retryable=lambda exc: bool(getattr(exc, "details", {}).get("retryable")),
            sleep=sleep or time.sleep,
            on_retry=retried,
        )
    except GaveUp as gave:
        error = gave.error
        assert isinstance(error, UploadError)
        error.details["attempts"] = gave.attempts
        if gave.attempts > 1:
            error.message = f"{error.message} (attempt {gave.attempts} of {attempts}, giving up)"
        raise error from None
    return UploadResult(done.argv, done.returncode, done.duration_ms, done.stdout_tail, done.stderr_tail, tried)

"""Option groups shared by every job command, defined once."""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import click

# Day counts past this overflow date arithmetic (datetime tops out in year 9999).
MAX_DAYS = 36_500
# Past this, a count of seconds or milliseconds overflows a socket or process timeout (1e9 s is 31 years).
MAX_NUMBER = 1e9
MAX_HOURS = MAX_DAYS * 24


class FiniteFloatRange(click.FloatRange):
    """A FloatRange that also refuses nan and inf (a nan compares false to every bound, so a plain
    FloatRange lets it through, and a nan SLO or timeout silently disables what it bounds), and a
    finite number past ``limit`` (1e300 s overflowed a timeout inside the job: a traceback)."""

    def __init__(self, *args, limit: float = MAX_NUMBER, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit = limit

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        if number > self.limit:
            self.fail(f"{value!r} is larger than {self.limit:g}.", param, ctx)
        return number


@dataclass(frozen=True)
class JobArgs:
    """--workspace, --job-id, --lock-timeout and --fail-on as given: what every job command hands the runtime."""

    workspace: str | None
    job_id: str | None
    lock_timeout: float
    fail_on: str = "never"


def workspace_option(func: Callable) -> Callable:
    """--workspace DIR (env OBS_WORKSPACE): the workspace root a command works in."""
    return click.option(
        "--workspace",
        metavar="DIR",
        envvar="OBS_WORKSPACE",
        default=None,
        help="Workspace root (env OBS_WORKSPACE; default: the current directory).",
    )(func)


def store_option(func: Callable) -> Callable:
    """--store URL (env OBS_STATE_STORE): the state store a state command or a cycle works with."""
    return click.option(
        "--store",
        metavar="URL",
        envvar="OBS_STATE_STORE",
        default=None,
        help="State store URL (env OBS_STATE_STORE): file:///abs/dir, s3://bucket/prefix, "
        "git+file:///path/repo.git#branch or git+https://github.com/owner/repo.git#branch.",
    )(func)


def keep_generations_option(default: int | None, help: str) -> Callable[[Callable], Callable]:
    """--keep-generations N: the snapshots a state push keeps (``state push``; ``cycle`` passes it on)."""
    return click.option(
        "--keep-generations",
        type=click.IntRange(min=0),
        default=default,
        show_default=True if default is not None else None,
        help=help,
    )


def scope_option(help: str) -> Callable[[Callable], Callable]:
    """--for JOB (the ``scope`` parameter): the state scope of a pull (``state pull``, ``cycle``)."""
    return click.option("--for", "scope", metavar="JOB", default=None, help=help)


def lock_timeout_option(help: str) -> Callable[[Callable], Callable]:
    """--lock-timeout SECONDS (finite, not negative; default 30), explained by ``help``."""
    return click.option("--lock-timeout", type=FiniteFloatRange(min=0), default=30.0, show_default=True, help=help)


class EnvChoice(click.Choice):
    """A choice that, when its value came from the environment, names the variable in its error: an
    operator looking at ``--fail-on`` in the message would search the command line, not the env."""

    def convert(self, value, param, ctx):
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as exc:
            source = ctx.get_parameter_source(param.name) if ctx is not None and param is not None else None
            if source is click.core.ParameterSource.ENVIRONMENT and param is not None and param.envvar:
                exc.message = f"{exc.message} (from the environment variable {param.envvar})"
            raise


def fail_on_option(func: Callable) -> Callable:
    """--fail-on SEVERITY (env OBS_FAIL_ON): exit 1 while an alert this severe or worse is firing."""
    return click.option(
        "--fail-on",
        type=EnvChoice(["never", "warning", "critical"]),
        envvar="OBS_FAIL_ON",
        default="never",
        show_default=True,
        help="Exit 1 while an alert of this severity or above is firing (status stays warning; env "
        "OBS_FAIL_ON). Firing alerts are annotations (critical: error, warning: warning) either way.",
    )(func)


def job_options(func: Callable) -> Callable:
    """--workspace, --job-id, --lock-timeout, --fail-on: the options every job command takes, passed
    to the command as one ``job`` (:class:`JobArgs`) for :func:`run_and_exit`."""

    @functools.wraps(func)
    def wrapper(*args, workspace: str | None, job_id: str | None, lock_timeout: float, fail_on: str, **kwargs):
        return func(*args, job=JobArgs(workspace, job_id, lock_timeout, fail_on), **kwargs)

    command: Callable = lock_timeout_option(
        "Seconds to wait for the job lock; past it the run ends status=skipped, exit 0."
    )(wrapper)
    command = fail_on_option(command)
    command = click.option(
        "--job-id", metavar="ID", default=None, help="Override the job id (default YYYYMMDDThhmmssZ-<job>-<8 hex>)."
    )(command)
    return workspace_option(command)


def run_and_exit(name: str, body: Callable, job: JobArgs, **settings: Any) -> NoReturn:
    """Run ``body`` as job ``name`` under the runtime's contract (``runtime.run_job``: lock, log line,
    heartbeat, JSON summary) and leave with its exit code; ``settings`` are run_job's other options."""
    from observability.runtime import run_job

    finish(
        run_job(
            name,
            body,
            workspace=job.workspace,
            job_id=job.job_id,
            lock_timeout=job.lock_timeout,
            fail_on=job.fail_on,
            **settings,
        )
    )


def dry_run_option(help: str, alias: str | None = None) -> Callable[[Callable], Callable]:
    """--dry-run (nothing is sent outward), and the command's older spelling of it as a hidden alias
    (observability.jobs names it): either sets the one ``dry_run`` parameter."""

    def decorate(func: Callable) -> Callable:
        if alias:
            inner = func

            @functools.wraps(inner)
            def func(*args, dry_run_alias: bool = False, **kwargs):
                kwargs["dry_run"] = bool(kwargs.get("dry_run")) or dry_run_alias
                return inner(*args, **kwargs)

            func = click.option(
                alias,
                "dry_run_alias",
                is_flag=True,
                hidden=True,
                help="The older spelling of --dry-run (kept working; hidden).",
            )(func)
        return click.option("--dry-run", "dry_run", is_flag=True, help=help)(func)

    return decorate


def finish(exit_code: int) -> NoReturn:
    """Leave with the job's exit code (0 ok/warning/dry_run/skipped, 1 failed, 2 usage)."""
    sys.stdout.flush()
    raise SystemExit(exit_code)


def dump_or_fail(produce: Callable, workspace: str | None) -> None:
    """Print ``produce(workspace root)`` as JSON and exit 0, or a usage error (exit 2) naming the problem."""
    from observability import fsio
    from observability.errors import ObservabilityError
    from observability.workspace import Workspace

    try:
        document = produce(Workspace.open(workspace).root)
    except ObservabilityError as exc:
        raise click.UsageError(exc.message) from None
    click.echo(fsio.canonical_json(document, indent=2), nl=False)
    raise SystemExit(0)


def check_secrets_option(*names: str, jobs_for: Callable[[dict], tuple[str, ...]] | None = None) -> Callable:
    """--check-secrets and --check-secrets-online: check what the jobs ``names`` (or ``jobs_for(params)``)
    read from the environment, print names and verdicts only, and exit without running the command."""

    def decorate(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args, check_secrets: bool = False, check_secrets_online: bool = False, **kwargs):
            if not (check_secrets or check_secrets_online):
                return func(*args, **kwargs)
            from observability import fsio, jobs, secretcheck, secrets

            secrets.register_environment()
            chosen = jobs_for(kwargs) if jobs_for else names
            report = secretcheck.check(
                jobs.needs(*chosen),
                jobs=chosen,
                params=kwargs,
                dry_run=bool(kwargs.get("dry_run")) or "--dry-run" in (kwargs.get("command") or ()),
                online=check_secrets_online,
            )
            for line in report.lines():
                sys.stderr.write(secrets.redact(f"check-secrets: {line}\n"))
            click.echo(secrets.redact(fsio.canonical_json(report.as_dict(), indent=2)), nl=False)
            finish(report.exit_code)

        wrapper = click.option(
            "--check-secrets-online",
            is_flag=True,
            help="Like --check-secrets, and ask the GitHub API whether it accepts the token and its scopes.",
        )(wrapper)
        return click.option(
            "--check-secrets",
            is_flag=True,
            help="Check that every secret and variable this command reads is set and well formed "
            "(names and verdicts only, never values), then exit 0, or 2 when any is missing or bad; runs nothing.",
        )(wrapper)

    return decorate

"""``observability cycle``: state pull, the job, the alert inbox and state push in one process."""

from __future__ import annotations

import click

from observability.cli.options import (
    check_secrets_option,
    finish,
    keep_generations_option,
    lock_timeout_option,
    scope_option,
    store_option,
    workspace_option,
)


def _invoke(argv) -> int:
    """Run one ``observability`` command line in this process; its exit code."""
    from observability.cli import cli

    try:
        cli.main(args=list(argv), prog_name="observability", standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        return 1
    return 0


def _cycle_jobs(params: dict) -> tuple[str, ...]:
    """The jobs a cycle runs, for --check-secrets: the state store's, the job command's, the --before and
    --after commands', and the alert inbox's when it syncs or reports."""
    import shlex

    from observability import jobs

    lines = [" ".join(params.get("command") or ()), params.get("command_text") or ""]
    lines += [*params.get("before", ()), *params.get("after", ())]
    found = ["state"]
    for line in lines:
        try:
            first = shlex.split(line)[:1]
        except ValueError:
            continue
        if first and first[0] in jobs.BY_NAME and first[0] not in found:
            found.append(first[0])
    if params.get("alerts_sources") or params.get("report_failure"):
        found.append("alerts")
    return tuple(found)


@click.command("cycle")
@store_option
@scope_option(
    "State scope of the pull (latency, weekly, dashboard, alerts, sync, verify, all). "
    "Default: the job command's own (`latency sample` → latency), else all."
)
@click.option(
    "--alerts-source",
    "alerts_sources",
    metavar="NAME",
    multiple=True,
    help="After the job, run `alerts sync --source NAME` (repeatable); without it, no alert sync.",
)
@click.option(
    "--report-failure",
    metavar="JOB",
    default=None,
    help="After the alert sync, run `alerts report-failure --job JOB` (--recovered when the job worked).",
)
@click.option(
    "--workflow",
    metavar="NAME",
    default=None,
    help="Workflow name for the failure issue title (default env GITHUB_WORKFLOW, else the job's name).",
)
@click.option(
    "--before",
    "before",
    metavar="TEXT",
    multiple=True,
    help="A command to run after the pull and before the job, e.g. 'inputs pull --for latency' "
    "(repeatable; split like a shell would, never run by one). If it fails the job is skipped.",
)
@click.option(
    "--after",
    "after",
    metavar="TEXT",
    multiple=True,
    help="A command to run after the job when it worked, e.g. 'sync push' (repeatable).",
)
@click.option(
    "--no-push",
    is_flag=True,
    help="Do not push: the state is pushed elsewhere (a git-branch store's own workflow job).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Nothing outward and nothing pushed: the job's dry-run flag, alerts --dry-run, push --dry-run.",
)
@click.option(
    "--dry-run-alerts",
    is_flag=True,
    help="Only the alert steps plan their calls without making them; the push is real.",
)
@keep_generations_option(None, "Passed to `state push --keep-generations` (default: the push's own, 48).")
@workspace_option
@lock_timeout_option("Seconds each step waits for its lock.")
@click.option(
    "--command",
    "command_text",
    metavar="TEXT",
    default=None,
    help="The job command as one string (split like a shell would, never run by one); "
    "instead of the arguments after --.",
)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@check_secrets_option(jobs_for=lambda params: _cycle_jobs(params))
def cycle(
    store,
    scope,
    alerts_sources,
    report_failure,
    workflow,
    before,
    after,
    no_push,
    dry_run,
    dry_run_alerts,
    keep_generations,
    workspace,
    lock_timeout,
    command_text,
    command,
) -> None:
    """Run state pull --for JOB, the job COMMAND, alerts sync and state push in one Python process.

    Each step keeps its own contract (summary, automation-log line, exit code); nothing runs
    unless the pull worked, and after it the push always runs, even when the job failed. Prints
    one JSON document with every step's summary (also written to out/cycle/<cycle_id>/) and exits
    with the worst step's code.

    Example:

    \b
        observability cycle --store s3://bucket/state --for latency \\
            --alerts-source latency -- latency sample --input logs/signal_notifier.csv
    """
    import shlex

    from observability import cycle as library, fsio, runner, secrets
    from observability.errors import ObservabilityError

    if command_text is not None and command:
        raise click.UsageError("give the job command either after -- or with --command, not both")

    def split(text: str, option: str) -> tuple[str, ...]:
        try:
            return tuple(shlex.split(text))
        except ValueError as exc:
            raise click.UsageError(f"{option}: {exc}") from None

    if command_text is not None:
        command = split(command_text, "--command")
    options = library.CycleOptions(
        store=store,
        scope=scope,
        command=tuple(command),
        workspace=workspace,
        alerts_sources=tuple(alerts_sources),
        report_failure=report_failure,
        dry_run=dry_run,
        dry_run_alerts=dry_run_alerts,
        keep_generations=keep_generations,
        lock_timeout=lock_timeout,
        before=tuple(split(t, "--before") for t in before),
        after=tuple(split(t, "--after") for t in after),
        push=not no_push,
        workflow=workflow,
    )
    try:
        exit_code, document = library.run(options, _invoke)
    except ObservabilityError as exc:
        # Before any step ran (a workspace that is no directory, OBS_NOW unparseable): still one JSON
        # document on stdout, like every job command, and the reason on stderr.
        message = secrets.redact(exc.message)
        exit_code = exc.exit_code
        document = {
            "job": "cycle",
            "status": "error",
            "exit_code": exit_code,
            "steps": [],
            "diagnostics": {"error_code": exc.error_code, "error_message": message},
        }
        click.echo(runner.inert(f"cycle: error - {exc.error_code}: {message}"), err=True)
    # Each step scrubbed its own summary; scrubbed again as a whole (values only, keys untouched).
    click.echo(fsio.canonical_json(secrets.redact_value(document), indent=2), nl=False)
    finish(exit_code)

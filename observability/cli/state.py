"""``observability state``: pull and push the ops/ state between runs."""

from __future__ import annotations

import click

from observability.cli.options import (
    check_secrets_option,
    job_options,
    keep_generations_option,
    run_and_exit,
    scope_option,
    store_option,
)


def _run(command, options, job) -> None:

    # State runs where no workspace is yet: a pull is what makes one (ops/ from the store).
    # No state heartbeat: it would be a file every pull and push changes, so two runs of different
    # jobs could never be re-applied on each other. The automation log records every state run.
    run_and_exit(
        "state",
        lambda ctx: command(ctx, options),
        job,
        dry_run=options.dry_run,
        heartbeat=False,
        makes_workspace=True,
    )


@click.group()
def state() -> None:
    """State between runs: pull ops/ from a state store before a job, push it back after."""


@state.command("init")
@store_option
@check_secrets_option("state")
@job_options
def init(store, job) -> None:
    """Create a new, empty state store (once); pulls and pushes refuse a store that was never created.

    Writes the marker observability-store.json (file://, s3://) or creates the branch with one
    commit holding it (git). An existing store is left unchanged (status ok, created false).

    Example:

    \b
        observability state init --store s3://my-bucket/observability-state
    """
    from observability.state.job import StateOptions, init as run_init

    _run(run_init, StateOptions(store=store), job)


@state.command("pull")
@store_option
@scope_option(
    "Pull only the files JOB reads (latency, weekly, dashboard, alerts, sync, verify, all); "
    "the next push then changes only those. Default: all of ops/."
)
@check_secrets_option("state")
@job_options
def pull(store, scope, job) -> None:
    """Replace ops/ (or the part --for JOB reads) with the store's current snapshot.

    Everything is downloaded and checksum-verified before ops/ changes; an unreachable store or a
    corrupt blob ends status=error with ops/ untouched. A store never created with `state init`
    ends error_code=store_not_initialised.

    Example:

    \b
        observability state pull --store s3://my-bucket/observability-state --for latency
    """
    from observability.state.job import StateOptions, pull as run_pull

    _run(run_pull, StateOptions(store=store, scope=scope), job)


@state.command("push")
@store_option
@click.option(
    "--dry-run",
    is_flag=True,
    help="Contact no store; write what would be uploaded to out/state_push/<job_id>.json (status dry_run).",
)
@keep_generations_option(
    48, "Every 16th push drops snapshots older than the newest N and blobs none of them uses (0: never)."
)
@check_secrets_option("state")
@job_options
def push(store, dry_run, keep_generations, job) -> None:
    """Push ops/ as a new snapshot, only over the generation pulled (else re-apply or refuse).

    A run that changed the same file as a newer snapshot ends status=error, error_code
    state_conflict, and sends nothing.

    Example:

    \b
        observability state push --store git+https://github.com/owner/repo.git#observability-state
    """
    from observability.state.job import StateOptions, push as run_push

    _run(
        run_push,
        StateOptions(store=store, dry_run=dry_run, keep_generations=keep_generations),
        job,
    )

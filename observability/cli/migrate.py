"""``observability migrate``: import a legacy script-based ops/ tree into a workspace."""

from __future__ import annotations

import click

from observability.cli.options import job_options, run_and_exit


@click.command()
@click.argument("legacy_dir", metavar="LEGACY_DIR")
@click.option(
    "--source",
    metavar="NAME",
    default="legacy",
    show_default=True,
    help="Source name for legacy samples without one and for the legacy rollups (one row per hour, all sources).",
)
@click.option(
    "--dry-run",
    "dry_run",
    is_flag=True,
    help="Check everything and write only the report out/migrate/<job_id>.json of what would be written.",
)
@job_options
def migrate(legacy_dir, source, dry_run, job) -> None:
    """Import a legacy ops/ tree (LEGACY_DIR/ops or LEGACY_DIR itself): raw samples into the raw
    sample store, rollups into the day partitions, weekly history and the state archive copied,
    and every legacy file kept byte for byte under ops/legacy/. Checks every file first: a bad row
    refuses the import (exit 1) naming the file and line, with nothing written. Running it again
    changes nothing.

    Example:

    \b
        observability migrate ../trading-repo --dry-run
        observability migrate ../trading-repo
    """
    from observability.migrate.job import migrate as run_migrate

    run_and_exit(
        "migrate",
        lambda ctx: run_migrate(ctx, legacy_dir, source=source, dry_run=dry_run),
        job,
        dry_run=dry_run,
        heartbeat=False,
    )

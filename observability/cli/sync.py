"""``observability sync``: copy the dashboard bundle and the weekly payloads to shared storage."""

from __future__ import annotations

import click

from observability.cli.options import MAX_DAYS, FiniteFloatRange, check_secrets_option, job_options, run_and_exit

TO_HELP = (
    "Shared storage URL (env OBS_SYNC_TO): file:///abs/dir or s3://bucket/prefix "
    "(endpoint and credentials from OBS_S3_ENDPOINT_URL and the AWS_* variables)."
)


@click.group()
def sync() -> None:
    """Shared storage: the dashboard bundle and weekly payloads under dated prefixes."""


@sync.command("push")
@click.option("--to", "to", metavar="URL", envvar="OBS_SYNC_TO", default=None, help=TO_HELP)
@click.option(
    "--bundle-dir",
    metavar="DIR",
    default="out/dashboard",
    show_default=True,
    help="Dashboard bundle (manifest.json, README.json and the datasets it names).",
)
@click.option(
    "--weekly-dir",
    metavar="DIR",
    default="ops/weekly_report_history",
    show_default=True,
    help="Delivered weekly payloads (<week_start>.json + .sig).",
)
@click.option("--no-dashboard", is_flag=True, help="Do not sync the dashboard bundle.")
@click.option("--no-weekly", is_flag=True, help="Do not sync the weekly payloads.")
@click.option(
    "--retention-weeks",
    type=click.IntRange(min=1, max=MAX_DAYS // 7),
    default=8,
    show_default=True,
    help="Dated prefixes older than this are pruned (each prune logged to ops/sync_prune_log.jsonl); "
    "the newest of each kind is always kept.",
)
@click.option(
    "--max-retries",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Attempts per storage call before the run ends status=error, error_code=sync_failed.",
)
@click.option(
    "--retry-wait-seconds",
    type=FiniteFloatRange(min=0),
    default=2.0,
    show_default=True,
    help="First wait between attempts; doubled each time (capped at 60 s).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Contact nothing; write what would be uploaded to out/sync/<job_id>.json (status dry_run).",
)
@check_secrets_option("sync")
@job_options
def push(
    to,
    bundle_dir,
    weekly_dir,
    no_dashboard,
    no_weekly,
    retention_weeks,
    max_retries,
    retry_wait_seconds,
    dry_run,
    job,
) -> None:
    """Upload the dashboard bundle and the weekly payloads, verify them, update the index, prune.

    Files already stored with the same checksum are not sent again. An unreachable store ends
    status=error, error_code=sync_failed (exit 1) with every local file as it was.

    Example:

    \b
        observability sync push --to s3://my-bucket/observability --retention-weeks 8
    """
    from observability.sync.job import SyncOptions, push as run_push

    options = SyncOptions(
        to=to,
        bundle_dir=bundle_dir,
        weekly_dir=weekly_dir,
        dashboard=not no_dashboard,
        weekly=not no_weekly,
        retention_weeks=retention_weeks,
        max_retries=max_retries,
        retry_wait_seconds=retry_wait_seconds,
        dry_run=dry_run,
    )
    run_and_exit(
        "sync",
        lambda ctx: run_push(ctx, options),
        job,
        dry_run=dry_run,
    )

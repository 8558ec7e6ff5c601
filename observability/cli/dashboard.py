"""``observability dashboard``: export the dashboard datasets and verify the bundle."""

from __future__ import annotations

import click

from observability import jobs
from observability.cli.options import (
    MAX_DAYS,
    MAX_HOURS,
    FiniteFloatRange,
    check_secrets_option,
    dry_run_option,
    job_options,
    run_and_exit,
)
from observability.dashboard import DATASETS as DATASET_NAMES


@click.group()
def dashboard() -> None:
    """Dashboard datasets for notebooks/BI: export, manifest, history, verify."""


@dashboard.command("export")
@click.option(
    "--dataset",
    "datasets",
    type=click.Choice(DATASET_NAMES),
    multiple=True,
    envvar="OBS_DASHBOARD_DATASETS",
    help="Dataset to export (repeatable; env OBS_DASHBOARD_DATASETS, space-separated; default all four).",
)
@click.option(
    "--output-dir",
    metavar="DIR",
    default="out/dashboard",
    show_default=True,
    help="Where <dataset>.json, manifest.json and README.json are written.",
)
@click.option(
    "--manifest",
    metavar="PATH",
    default=None,
    help="Manifest path inside --output-dir (default <output-dir>/manifest.json).",
)
@click.option(
    "--provenance",
    metavar="PATH",
    default=None,
    help="JSON object (command, commit_sha, inputs) overriding the provenance filled in from the run.",
)
@click.option(
    "--heartbeat-file",
    metavar="PATH",
    default="ops/dashboard_export_heartbeat.json",
    show_default=True,
    help="Heartbeat with per-dataset status, last_success_at and last_failure.",
)
@click.option(
    "--history-dir",
    metavar="DIR",
    default="ops/dashboard_export_history",
    show_default=True,
    help="Each export snapshots the bundle to DIR/<job_id>/.",
)
@click.option(
    "--history-retention-days",
    type=click.IntRange(min=1, max=MAX_DAYS),
    default=56,
    show_default=True,
    help="Snapshots older than this are pruned (each prune recorded in ops/dashboard_export_archive_manifest.jsonl).",
)
@click.option(
    "--ev-history-limit",
    type=click.IntRange(min=1),
    default=32,
    show_default=True,
    help="Latest snapshots kept per strategy/symbol/mode series in ev_history.",
)
@click.option(
    "--upload-command",
    metavar="CMD",
    default=None,
    envvar="OBS_DASHBOARD_UPLOAD_COMMAND",
    help="Run after the export as an argument list (no shell; env OBS_DASHBOARD_UPLOAD_COMMAND); "
    "{bundle_dir} is replaced by the output directory. A non-zero exit ends the run with "
    "error_code=upload_failed.",
)
@click.option(
    "--upload-timeout",
    type=FiniteFloatRange(min=1),
    default=600.0,
    show_default=True,
    help="Seconds before the upload command is stopped (counts as a failed attempt).",
)
@click.option(
    "--upload-max-retries",
    type=click.IntRange(min=1),
    default=3,
    envvar="OBS_DASHBOARD_UPLOAD_MAX_RETRIES",
    show_default=True,
    help="Attempts in all of the upload command: a non-zero exit or a timeout is retried with "
    "exponential backoff; one that cannot start (not found, exit 126/127) is not.",
)
@click.option(
    "--upload-retry-wait-seconds",
    type=FiniteFloatRange(min=0),
    default=10.0,
    envvar="OBS_DASHBOARD_UPLOAD_RETRY_WAIT_SECONDS",
    show_default=True,
    help="First wait between upload attempts; doubled each time (capped at 300 s).",
)
@dry_run_option(
    "Do not run the upload command; write it to out/dashboard_upload/<job_id>.json (status dry_run).",
    jobs.command(("dashboard", "export")).dry_run_alias,
)
@click.option(
    "--sync-to",
    metavar="URL",
    default=None,
    help="After a successful export, upload the bundle to shared storage as `observability sync push "
    "--to URL --no-weekly` does (file:///abs/dir or s3://bucket/prefix); a failure ends "
    "error_code=sync_failed. With --dry-run nothing is contacted.",
)
@click.option(
    "--state-archive",
    metavar="DIR",
    default="ops/state_archive",
    show_default=True,
    help="EV state archive (ev_history input).",
)
@click.option(
    "--runs-dir",
    metavar="DIR",
    default="runs",
    show_default=True,
    help="Holds index.csv and <run_id>/daily.csv (turnover input).",
)
@click.option(
    "--telemetry",
    metavar="PATH",
    default="reports/portfolio_samples/router_demo/telemetry.json",
    show_default=True,
    help="Router telemetry (slippage input).",
)
@click.option(
    "--latency-rollup",
    metavar="PATH",
    default="ops/signal_latency_rollup.csv",
    show_default=True,
    help="Hourly rollups written by `observability latency sample` (latency input).",
)
@click.option("--no-cache", is_flag=True, help="Parse every input again instead of using ops/.dashboard_cache/.")
@click.option("--lock-file", metavar="PATH", default=None, help="Lock file (default ops/.dashboard.lock).")
@check_secrets_option("dashboard")
@job_options
def export(
    datasets,
    output_dir,
    manifest,
    provenance,
    heartbeat_file,
    history_dir,
    history_retention_days,
    ev_history_limit,
    upload_command,
    upload_timeout,
    upload_max_retries,
    upload_retry_wait_seconds,
    dry_run,
    sync_to,
    state_archive,
    runs_dir,
    telemetry,
    latency_rollup,
    no_cache,
    lock_file,
    job,
) -> None:
    """Export the dashboard datasets with a versioned manifest.

    Writes <dataset>.json, manifest.json and README.json, snapshots the bundle to the history
    directory and prunes old snapshots, then runs the upload command if one is given. A dataset whose input is missing or bad keeps its last good file and manifest entry; the
    others still refresh and the run ends status=error (exit 1).

    Example:

    \b
        observability dashboard export --dataset ev_history --dataset turnover \\
            --upload-command "aws s3 sync {bundle_dir} s3://bucket/dashboard"
    """
    from observability.dashboard.job import ExportOptions, export as run_export

    options = ExportOptions(
        datasets=tuple(datasets) or DATASET_NAMES,
        output_dir=output_dir,
        manifest=manifest,
        provenance=provenance,
        heartbeat_file=heartbeat_file,
        history_dir=history_dir,
        history_retention_days=history_retention_days,
        ev_history_limit=ev_history_limit,
        upload_command=upload_command,
        upload_timeout=upload_timeout,
        upload_max_retries=upload_max_retries,
        upload_retry_wait_seconds=upload_retry_wait_seconds,
        dry_run_upload=dry_run,
        state_archive=state_archive,
        runs_dir=runs_dir,
        telemetry=telemetry,
        latency_rollup=latency_rollup,
        use_cache=not no_cache,
        sync_to=sync_to,
        bundle_sync=_bundle_sync() if sync_to else None,
    )
    run_and_exit(
        "dashboard",
        lambda ctx: run_export(ctx, options),
        job,
        lock_file=lock_file,
        dry_run=dry_run,
        heartbeat_file=options.heartbeat_file,
    )


def _bundle_sync():
    """``--sync-to`` is ``sync push`` of the bundle alone: the sync job's check and push, handed to the export."""
    from observability.dashboard.job import BundleSync
    from observability.errors import InputError
    from observability.sync.errors import SyncFailed
    from observability.sync.job import SyncOptions, check_url, run as run_sync

    def push(ctx, to, bundle_dir, dry_run):
        return run_sync(ctx, SyncOptions(to=to, bundle_dir=bundle_dir, weekly=False, dry_run=dry_run))

    return BundleSync(check_url=check_url, push=push, failures=(SyncFailed, InputError))


@dashboard.command("verify")
@click.option(
    "--manifest",
    metavar="PATH",
    default="out/dashboard/manifest.json",
    show_default=True,
    help="Manifest of the bundle to check.",
)
@click.option(
    "--dataset",
    "datasets",
    type=click.Choice(DATASET_NAMES),
    multiple=True,
    help="Dataset that must be present (repeatable; default all four).",
)
@click.option(
    "--max-age-hours",
    type=FiniteFloatRange(min=0, min_open=True, limit=MAX_HOURS),
    default=48.0,
    show_default=True,
    help="A manifest or dataset not refreshed for longer than this is stale.",
)
@click.option(
    "--history-dir",
    metavar="DIR",
    default="ops/dashboard_export_history",
    show_default=True,
    help="History snapshots checked against the retention.",
)
@click.option(
    "--history-retention-days",
    type=click.IntRange(min=1, max=MAX_DAYS),
    default=56,
    show_default=True,
    help="Snapshots older than this (plus one day of grace) are a problem.",
)
@click.option(
    "--lock-file",
    metavar="PATH",
    default="ops/.dashboard.lock",
    show_default=True,
    help="Shared with the export, so a bundle is never checked mid-write.",
)
@job_options
def verify(manifest, datasets, max_age_hours, history_dir, history_retention_days, lock_file, job) -> None:
    """Check a dashboard bundle and print every problem found.

    Checks the manifest against its schema, that every dataset is present, checksums, row
    counts, row schemas, freshness and history retention; exits 1 if there is any problem.

    Example:

    \b
        observability dashboard verify --manifest out/dashboard/manifest.json
    """
    from observability.dashboard.verify import VerifyOptions, run_verify

    options = VerifyOptions(
        manifest=manifest,
        datasets=tuple(datasets) or DATASET_NAMES,
        max_age_hours=max_age_hours,
        history_dir=history_dir,
        retention_days=history_retention_days,
    )
    run_and_exit(
        "dashboard-verify",
        lambda ctx: run_verify(ctx, options),
        job,
        lock_file=lock_file,
        heartbeat=False,
    )

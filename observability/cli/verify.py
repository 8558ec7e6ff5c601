"""``observability verify``: nightly verification, and ``verify job`` to trace one run."""

from __future__ import annotations

import click

from observability.cli.options import (
    MAX_HOURS,
    FiniteFloatRange,
    check_secrets_option,
    finish,
    job_options,
    lock_timeout_option,
    run_and_exit,
    workspace_option,
)


@click.group(invoke_without_command=True)
@click.option(
    "--since",
    metavar="DURATION|TIME",
    default="24h",
    show_default=True,
    help="Judge scheduled runs whose grace ended after this: 24h, 90m, 8d or an ISO-8601 time.",
)
@click.option(
    "--max-heartbeat-age-hours",
    type=FiniteFloatRange(min=0, min_open=True, limit=MAX_HOURS),
    default=6.0,
    show_default=True,
    help="A heartbeat older than this is stale (a job scheduled less often gets its interval + grace).",
)
@click.option(
    "--schedules",
    metavar="PATH",
    default=None,
    help="Cron schedules (default configs/observability/schedules.yaml; cadence unchecked if absent).",
)
@click.option(
    "--strict", is_flag=True, help="Exit 1 (status error, error_code verification_failed) when anything is found."
)
@click.option(
    "--sync-to",
    metavar="URL",
    envvar="OBS_SYNC_TO",
    default=None,
    help="Also re-read the shared-storage copies `sync push` made there (env OBS_SYNC_TO; file:///abs/dir or "
    "s3://bucket/prefix) and check them against the index, the manifests, the .sig files and the workspace.",
)
@click.option("--lock-file", metavar="PATH", default=None, help="Lock file (default ops/.verify.lock).")
@check_secrets_option("verify")
@job_options
@click.pass_context
def verify(ctx, since, max_heartbeat_age_hours, schedules, strict, sync_to, lock_file, job) -> None:
    """Verify the workspace: every log line against its schema, sequence gaps and duplicates,
    heartbeat freshness, missed or late scheduled runs, and each job's latest run traced; with
    --sync-to, the shared-storage copies re-read and compared with their index, manifests and .sig files.

    Findings are alert items (stdout `alerts`, out/verify/<job_id>.json) and end the run
    status=warning, exit 0; --strict makes them exit 1. After a run that worked, GETs
    OBS_HEARTBEAT_PING_URL when set (dead-man switch).

    Example:

    \b
        observability verify --since 24h --max-heartbeat-age-hours 6
    """
    if ctx.invoked_subcommand is not None:
        return
    from observability.verify.job import VerifyOptions, verify_workspace

    options = VerifyOptions(
        since=since,
        max_heartbeat_age_hours=max_heartbeat_age_hours,
        schedules=schedules,
        strict=strict,
        sync_to=sync_to or None,
    )
    run_and_exit(
        "verify",
        lambda job_ctx: verify_workspace(job_ctx, options),
        job,
        lock_file=lock_file,
    )


@verify.command("job")
@click.option(
    "--job-id",
    "target",
    metavar="ID",
    required=True,
    help="The run to trace, e.g. 20260108T000700Z-latency (from the log, a heartbeat or an issue).",
)
@workspace_option
@lock_timeout_option("Seconds to wait for the lock; past it the run ends status=skipped, exit 0.")
def job(target, workspace, lock_timeout) -> None:
    """Trace one run: its log line(s), every artefact it lists, checksums recorded by a manifest,
    and the heartbeat when it was the job's latest run. Exits 1 listing every problem.

    Example:

    \b
        observability verify job --job-id 20260108T000700Z-dashboard
    """
    from observability.runtime import run_job
    from observability.verify.job import verify_one

    finish(
        run_job(
            "verify-job",
            lambda job_ctx: verify_one(job_ctx, target),
            workspace=workspace,
            job_id=None,
            lock_timeout=lock_timeout,
            heartbeat=False,
        )
    )

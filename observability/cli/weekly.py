"""``observability weekly``: the weekly health report and its replay."""

from __future__ import annotations

import click

from observability import jobs
from observability.cli.options import FiniteFloatRange, check_secrets_option, dry_run_option, job_options, run_and_exit


def _delivery_options(func):
    """Options shared by ``report`` and ``replay`` (where to send, how hard to try, where to keep)."""
    options = [
        click.option(
            "--webhook-url-env",
            metavar="NAME",
            default="OBS_WEEKLY_WEBHOOK_URL",
            show_default=True,
            help="Environment variable holding the webhook URL (a secret).",
        ),
        click.option(
            "--webhook-secret-env",
            metavar="NAME",
            default="OBS_WEBHOOK_SECRET",
            show_default=True,
            help="Environment variable holding the signing secret(s), newest first, space-separated.",
        ),
        click.option(
            "--max-retries",
            type=click.IntRange(1, 20),
            default=5,
            show_default=True,
            help="Delivery attempts in all (network errors, 5xx and 429 are retried).",
        ),
        click.option(
            "--retry-wait-seconds",
            type=FiniteFloatRange(min=0),
            default=60.0,
            show_default=True,
            help="First backoff wait; doubled per attempt, with jitter (Retry-After wins, capped).",
        ),
        click.option(
            "--request-timeout",
            type=FiniteFloatRange(min=0, min_open=True),
            default=None,
            help="Seconds per request (default: delivery.timeout_seconds in the config, 30).",
        ),
        click.option(
            "--out-dir",
            metavar="DIR",
            default="ops/weekly_report_history",
            show_default=True,
            help="History of delivered payloads (<week_start>.json + .sig) and pending ones.",
        ),
        click.option(
            "--config",
            "config_path",
            metavar="PATH",
            default=None,
            help="Weekly config (default configs/observability/weekly_report.yaml when present).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _weekly_options(delivery: dict, **fields):
    """The job's options from the shared delivery options (``_delivery_options``) and the command's own."""
    from observability.weekly.job import WeeklyOptions

    delivery = dict(delivery)
    return WeeklyOptions(config=delivery.pop("config_path"), **delivery, **fields)


@click.group()
def weekly() -> None:
    """Weekly health report: build, validate, sign, deliver, keep, replay."""


@weekly.command("report")
@click.option(
    "--week-start",
    metavar="YYYY-MM-DD",
    default=None,
    help="Monday of the week to report (default: the last complete ISO week, UTC).",
)
@click.option(
    "--payload-schema",
    metavar="PATH",
    default=None,
    help="Validate against this JSON Schema instead of the bundled schemas/observability_weekly_report.schema.json.",
)
@dry_run_option(
    "Send nothing; write the payload to out/weekly_report/<job_id>.json (status dry_run).",
    jobs.command(("weekly", "report")).dry_run_alias,
)
@click.option(
    "--partial",
    is_flag=True,
    help="Allow a week still under way: send it so far (period.end = now), keep it in "
    "out/weekly_report/ only; never recorded as the week, heartbeat untouched.",
)
@_delivery_options
@check_secrets_option("weekly")
@job_options
def report(week_start, payload_schema, dry_run, partial, job, **delivery) -> None:
    """Build the weekly payload, validate it, sign and deliver it, and write the weekly review.

    Without --dry-run the URL variable must be set (exit 2 otherwise). A week still under
    way is refused (exit 2) unless --partial or --dry-run is given.

    Example:

    \b
        observability weekly report --week-start 2026-01-05 --dry-run
    """
    from observability.weekly.job import report as run_report

    options = _weekly_options(
        delivery, payload_schema=payload_schema, dry_run_webhook=dry_run, partial=partial, week_start=week_start
    )
    # A partial week says nothing about the scheduled delivery: the heartbeat is left as it is.
    run_and_exit(
        "weekly",
        lambda ctx: run_report(ctx, options),
        job,
        dry_run=dry_run,
        heartbeat=not partial,
    )


@weekly.command("replay")
@click.option(
    "--week-start",
    metavar="YYYY-MM-DD",
    required=True,
    help="Week whose stored payload to re-deliver (pending copy first, else the delivered one).",
)
@_delivery_options
@dry_run_option("Send nothing: show which stored payload would be re-delivered with which webhook-id (status dry_run).")
@check_secrets_option("weekly")
@job_options
def replay(week_start, dry_run, job, **delivery) -> None:
    """Re-deliver the stored bytes of one week, freshly signed, with the same webhook-id.

    Nothing is recomputed: the body is byte for byte the one built for that week.

    Example:

    \b
        observability weekly replay --week-start 2026-01-05
    """
    from observability.weekly.job import replay as run_replay

    options = _weekly_options(delivery, week_start=week_start, dry_run_webhook=dry_run)
    # A dry replay sends nothing and leaves the heartbeat (the week it may name as pending) as it is.
    run_and_exit("weekly", lambda ctx: run_replay(ctx, options), job, dry_run=dry_run, heartbeat=not dry_run)

"""``observability log``: rebuild the automation log, and the operations KPIs it holds."""

from __future__ import annotations

import click

from observability.cli.options import job_options, run_and_exit


@click.group()
def log() -> None:
    """The automation log (ops/automation_runs.log): rebuild it, report its KPIs."""


@log.command("rebuild")
@click.option(
    "--dry-run",
    "dry_run",
    is_flag=True,
    help="Write nothing to the log: list what would be written in out/log_rebuild/<job_id>.jsonl (status dry_run).",
)
@job_options
def rebuild(dry_run, job) -> None:
    """Rebuild a damaged or gapped automation log and its sequence file from heartbeats, history
    snapshots and job-id-named artefacts. Every valid line stays; invalid lines and unreadable
    segments are moved to ops/log_rebuild/<job_id>/; each missing sequence number gets a rebuilt
    line (`rebuilt: true`), or a `lost` placeholder when nothing shows which run it was.

    Example:

    \b
        observability log rebuild --dry-run
        observability log rebuild
    """
    from observability.log.job import rebuild as run_rebuild

    run_and_exit(
        "log",
        lambda ctx: run_rebuild(ctx, dry_run=dry_run),
        job,
        dry_run=dry_run,
        heartbeat=False,
    )


@log.command("kpi")
@click.option(
    "--period",
    type=click.Choice(["week", "month"]),
    default="week",
    show_default=True,
    help="One row per ISO week (Monday 00:00 UTC) or calendar month.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["json", "markdown"]),
    default="json",
    show_default=True,
    help="What --output holds (schemas/log_kpi.schema.json, or a Markdown table).",
)
@click.option("--output", metavar="PATH", default=None, help="Report file (default out/kpi/<period>.json or .md).")
@click.option("--since", metavar="DATE", default=None, help="First period: the one holding this ISO date or time.")
@click.option("--until", metavar="DATE", default=None, help="Count lines started before this ISO date or time.")
@job_options
def kpi(period, output_format, output, since, until, job) -> None:
    """SLO breaches, delivery retries, mean export time and upload failure rate per week or
    month, from the automation log (its segments included). The report is printed under `kpi`
    in the JSON summary, written to --output, and shown in the GitHub step summary.

    Example:

    \b
        observability log kpi --period month --format markdown --since 2026-01-01
    """
    from observability.log.job import KpiOptions, kpi_report, parse_time

    def body(ctx):
        options = KpiOptions(
            period=period,
            output_format=output_format,
            output=output,
            since=parse_time(since, "--since"),
            until=parse_time(until, "--until"),
        )
        return kpi_report(ctx, options)

    run_and_exit("log", body, job, heartbeat=False)

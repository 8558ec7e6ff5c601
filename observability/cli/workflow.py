"""``observability workflow``: run the job chain as the seed's run_daily_workflow --observability did."""

from __future__ import annotations

import click

from observability import jobs
from observability.cli.options import check_secrets_option, job_options, run_and_exit


@click.group()
def workflow() -> None:
    """The job chain: latency → weekly → dashboard."""


@workflow.command("run")
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    default=None,
    help="Chain config (default configs/observability/automation.yaml when present).",
)
@click.option("--dry-run", is_flag=True, help="Turn on every job's dry-run flag: nothing is sent outward.")
@click.option("--config-dump", is_flag=True, help="Print the effective command of every step as JSON and run nothing.")
@check_secrets_option(jobs_for=lambda params: tuple(j.name for j in jobs.chain_steps()))
@job_options
def run(config_path, dry_run, config_dump, job) -> None:
    """Run latency → weekly → dashboard; a failed step stops the chain (later steps logged skipped).

    Example:

    \b
        observability workflow run --dry-run
    """
    from observability.workflow import dump, run as run_chain

    if config_dump:
        from observability.cli.options import dump_or_fail

        dump_or_fail(lambda root: dump(root, config_path, dry_run=dry_run), job.workspace)
    run_and_exit(
        "workflow",
        lambda ctx: run_chain(ctx, config_path, dry_run=dry_run),
        job,
        dry_run=dry_run,
    )

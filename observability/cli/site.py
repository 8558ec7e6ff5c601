"""``observability site``: build the static status site."""

from __future__ import annotations

import click

from observability.cli.options import job_options, run_and_exit


@click.group()
def site() -> None:
    """The status site: HTML pages with SVG charts, status.json and README badges, from the workspace."""


@site.command("build")
@click.option(
    "--out",
    "out_dir",
    metavar="DIR",
    required=True,
    help="Directory of the built site (relative to the workspace, or absolute); replaced whole, atomically.",
)
@click.option("--dry-run", "dry_run", is_flag=True, help="Write nothing: list the files the build would write.")
@job_options
def build(out_dir, dry_run, job) -> None:
    """Render the status site from the workspace alone (no network): latency SLO status, attainment
    and error budget per source with charts, open alerts, the last run of every job, weekly reports,
    dashboard datasets, plus status.json and shields.io badge JSON under badges/.

    Example:

    \b
        observability site build --out _site
    """
    from observability.site.job import build as run_build

    run_and_exit("site", lambda ctx: run_build(ctx, out_dir, dry_run=dry_run), job, dry_run=dry_run, heartbeat=False)

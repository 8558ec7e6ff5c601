"""``observability ci``: telemetry of the CI that tests the research code (docs/ci.md)."""

from __future__ import annotations

import click

from observability.cli.options import MAX_DAYS, job_options, run_and_exit


@click.group()
def ci() -> None:
    """CI telemetry: flaky tests from the pytest flake plugin's telemetry (docs/ci.md)."""


@ci.command("flakes")
@click.option(
    "--telemetry",
    "telemetry",
    metavar="FILE",
    multiple=True,
    help="A flake telemetry document (the pytest plugin's --flake-log-file, e.g. a downloaded CI "
    "artifact) to merge into ops/ci/flake_history.json; repeatable.",
)
@click.option(
    "--window-days",
    type=click.IntRange(1, MAX_DAYS),
    default=14,
    show_default=True,
    help="Days of sessions the flake rates cover.",
)
@job_options
def flakes(telemetry, window_days, job) -> None:
    """Merge flake telemetry into ops/ci/flake_history.json (one entry per pytest session, kept by
    the state store) and write the digest: per test its flake rate over the window, failures,
    first and last seen and links to runs, newest first, as out/ci/flakes.json
    (schemas/ci_flake_digest.schema.json) and in the step summary.

    Example:

    \b
        observability ci flakes --telemetry tests/.telemetry/flake_runs.json --window-days 14
    """
    from observability.ci.flakes import FlakesOptions, flakes as run_flakes

    options = FlakesOptions(telemetry=tuple(telemetry), window_days=window_days)
    run_and_exit("ci", lambda ctx: run_flakes(ctx, options), job, heartbeat=False)

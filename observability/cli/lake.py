"""``observability lake``: the history lake (docs/lake.md): ingest, compact, and (below) query it."""

from __future__ import annotations

import click

from observability.cli.options import check_secrets_option, job_options, run_and_exit

LAKE_HELP = (
    "Lake root: a workspace directory (not under ops/), file:///abs/dir or s3://bucket/prefix; repeat "
    "for several (default lake.yaml `lake`, else lake/)."
)


@click.group()
def lake() -> None:
    """The history lake: every run's artefacts and our own facts as Parquet tables, queried with DuckDB
    (needs the extra: pip install 'observability[lake]')."""


def lake_option(func):
    return click.option("--lake", "lakes", metavar="DIR|URL", multiple=True, help=LAKE_HELP)(func)


def config_option(func):
    return click.option(
        "--config",
        "config",
        metavar="PATH",
        default=None,
        help="Lake config (default configs/observability/lake.yaml when present; built-in defaults otherwise).",
    )(func)


@lake.command("ingest")
@lake_option
@config_option
@check_secrets_option("lake")
@job_options
def ingest(lakes, config, job) -> None:
    """Load the workspace's runs (runs/index.csv and each run's files), latency rollups, state
    snapshots, router telemetry, portfolio strategies, weekly reports and automation log into the
    lake. An input already ingested (same content hash) is skipped; a changed one replaces its rows.
    The manifest (<lake>/_manifest.json) is written last: a killed ingest leaves the lake readable.

    Example:

    \b
        observability lake ingest
        observability lake ingest --lake lake --lake s3://history/lake
    """
    from observability.lake.ingest import ingest_job

    run_and_exit("lake", lambda ctx: ingest_job(ctx, tuple(lakes), config), job)


@lake.command("compact")
@lake_option
@config_option
@click.option(
    "--min-files",
    type=click.IntRange(2, 10000),
    default=None,
    help="Merge a partition holding at least this many files (default lake.yaml compact_min_files, else 2).",
)
@check_secrets_option("lake")
@job_options
def compact(lakes, config, min_files, job) -> None:
    """Merge each partition's small Parquet files into one, and purge runs (with their stats and
    trades) past their stage's retention: backtest 365 days, research 90, live forever by default
    (lake.yaml retention_days).

    Example:

    \b
        observability lake compact
        observability lake compact --min-files 8
    """
    from observability.lake.maintenance import compact_job

    run_and_exit("lake", lambda ctx: compact_job(ctx, tuple(lakes), config, min_files), job)

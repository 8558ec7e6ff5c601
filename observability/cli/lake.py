"""``observability lake``: the history lake (docs/lake.md): ingest, compact, and (below) query it."""

from __future__ import annotations

import functools
from collections.abc import Callable

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


# --- lake query / runs / stats


def _answer_options(func: Callable) -> Callable:
    """--lake, --format and --out: where the lake is and where the answer goes (passed as ``output``)."""

    @functools.wraps(func)
    def wrapper(*args, lake_root: str | None, output_format: str, out: str | None, **kwargs):
        from observability.lake.queryjob import Output

        return func(*args, output=(lake_root, Output(lake="", out=out, fmt=output_format)), **kwargs)

    command = click.option(
        "--out",
        metavar="PATH",
        default=None,
        help="Write the whole answer to this file in --format (default: print it on stderr; the JSON "
        "summary on stdout carries up to 1,000 rows under `result`).",
    )(wrapper)
    command = click.option(
        "--format",
        "output_format",
        type=click.Choice(["table", "csv", "json"]),
        default="table",
        show_default=True,
        help="How the answer is written to --out or stderr.",
    )(command)
    return click.option(
        "--lake",
        "lake_root",
        metavar="DIR|s3://bucket/prefix",
        default=None,
        help="The lake root (default lake/ in the workspace). An s3:// lake is copied to a "
        "temporary directory first (the AWS_* variables and OBS_S3_ENDPOINT_URL apply).",
    )(command)


def _run(body: Callable, output, job) -> None:
    from dataclasses import replace

    from observability.lake.queryjob import lake_location

    lake_root, answer = output
    run_and_exit(
        "lake",
        lambda ctx: body(ctx, replace(answer, lake=lake_location(ctx, lake_root))),
        job,
        heartbeat=False,
        deadman=False,
    )


@lake.command("query")
@click.argument("sql")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=300.0,
    show_default=True,
    metavar="SECONDS",
    help="Stop the query after this long (exit 2, error_code query_timeout).",
)
@_answer_options
@check_secrets_option("lake")
@job_options
def query(sql, timeout, output, job) -> None:
    """Run one read-only SQL statement (SELECT or EXPLAIN) with DuckDB over the lake's Parquet
    files; each table is a view named after it (runs, stats, trades, strategies, ...). Writes,
    COPY, ATTACH, INSTALL, SET and files outside the lake are refused (exit 2).

    Example:

    \b
        observability lake query "SELECT symbol, count(*) AS runs FROM runs GROUP BY symbol"
        observability lake query --format csv --out out/lake/q.csv "SELECT * FROM stats"
    """
    from observability.lake.queryjob import run_query

    _run(lambda ctx, answer: run_query(ctx, sql, answer, timeout=timeout), output, job)


@lake.command("runs")
@click.option(
    "--where",
    "where",
    metavar="EXPR",
    multiple=True,
    help="Comparisons of run columns or metrics with literals, joined by and/or/not and parentheses "
    "(\"sharpe > 2.0 and symbol = 'USDJPY'\"); repeat to and them.",
)
@click.option(
    "--since", metavar="DATE", default=None, help="Runs whose timestamp is on or after this ISO date or time."
)
@click.option(
    "--until",
    metavar="DATE",
    default=None,
    help="Runs whose timestamp is on or before this ISO date (or before this time).",
)
@click.option("--order-by", metavar="'NAME [asc|desc], ...'", default=None, help="Sort order (default: newest first).")
@click.option("--limit", type=click.IntRange(min=0), default=None, help="At most this many runs.")
@_answer_options
@check_secrets_option("lake")
@job_options
def runs(where, since, until, order_by, limit, output, job) -> None:
    """Runs with their metrics from the stats table as columns, filtered, sorted and limited. An
    unknown column or metric is a usage error (exit 2) listing the known ones.

    Example:

    \b
        observability lake runs --where "sharpe > 2.0" --since 2024-10-01 --order-by "sharpe desc" --limit 10
    """
    from observability.lake.api import RunsQuery
    from observability.lake.queryjob import run_runs

    opts = RunsQuery(tuple(where), since, until, order_by, limit)
    _run(lambda ctx, answer: run_runs(ctx, opts, answer), output, job)


@lake.command("stats")
@click.option("--metric", required=True, metavar="NAME", help="The metric of the stats table (sharpe, win_rate, ...).")
@click.option(
    "--group-by",
    type=click.Choice(["strategy", "symbol", "stage", "runner", "month", "none"]),
    default="strategy",
    show_default=True,
    help="One row per value of this run column, per month of the run's timestamp, or one row overall (none).",
)
@click.option(
    "--period",
    metavar="2024|2024-Q4|2024-10",
    default=None,
    help="Only runs whose timestamp falls in this year, quarter or month.",
)
@click.option("--since", metavar="DATE", default=None, help="Only runs on or after this ISO date or time.")
@click.option(
    "--until", metavar="DATE", default=None, help="Only runs on or before this ISO date (or before this time)."
)
@_answer_options
@check_secrets_option("lake")
@job_options
def stats(metric, group_by, period, since, until, output, job) -> None:
    """count, mean, median, min, max and stddev of one metric over the runs, per group.

    Example:

    \b
        observability lake stats --metric sharpe --group-by strategy --period 2024-Q4
    """
    from observability.lake.api import StatsQuery
    from observability.lake.queryjob import run_stats

    opts = StatsQuery(metric, None if group_by == "none" else group_by, period, since, until)
    _run(lambda ctx, answer: run_stats(ctx, opts, answer), output, job)

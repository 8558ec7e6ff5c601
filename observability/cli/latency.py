"""``observability latency``: the signal-latency job."""

from __future__ import annotations

import click

from observability import jobs
from observability.cli.options import (
    MAX_DAYS,
    FiniteFloatRange,
    check_secrets_option,
    dry_run_option,
    job_options,
    run_and_exit,
)


@click.group()
def latency() -> None:
    """Signal latency: sample, roll up, evaluate SLOs."""


@latency.command("sample")
@click.option(
    "--input",
    "inputs",
    metavar="PATH",
    multiple=True,
    envvar="OBS_LATENCY_INPUTS",
    help="Upstream signal log to read incrementally (repeatable; env OBS_LATENCY_INPUTS, one per line; "
    "current or legacy format).",
)
@click.option(
    "--probe",
    "probes",
    metavar="NAME=URL",
    multiple=True,
    envvar="OBS_LATENCY_PROBES",
    help="Time a GET to a feed's health URL as a sample for NAME (repeatable; env OBS_LATENCY_PROBES, "
    "one per line: a secret, so URLs with tokens never reach a command line).",
)
@click.option(
    "--alert-config",
    metavar="PATH",
    default=None,
    help="SLO config (default configs/observability/latency_alert.yaml when present).",
)
@click.option(
    "--rollup-output",
    metavar="PATH",
    default="ops/signal_latency_rollup.csv",
    show_default=True,
    help="Hourly rollups (logical file): stored as one CSV per UTC day in the directory of the same name "
    "without .csv; an old single file there is split into it.",
)
@click.option(
    "--raw-output", metavar="PATH", default="ops/signal_latency.csv", show_default=True, help="Raw sample store."
)
@click.option(
    "--raw-retention-days",
    type=click.IntRange(min=1, max=MAX_DAYS),
    default=14,
    show_default=True,
    help="Raw rows older than this (whole UTC days) move to gzip archives.",
)
@click.option(
    "--rollup-retention-days",
    type=click.IntRange(min=1, max=MAX_DAYS),
    default=90,
    show_default=True,
    help="Rollup rows older than this are dropped.",
)
@click.option(
    "--max-raw-bytes",
    type=click.IntRange(min=1024, max=1 << 40),
    default=10 * 1024 * 1024,
    show_default=True,
    help="Rotate the raw store into archives when it grows past this size.",
)
@click.option("--lock-file", metavar="PATH", default=None, help="Lock file (default ops/.latency.lock).")
@click.option(
    "--slo-ms",
    type=FiniteFloatRange(min=0, min_open=True),
    default=None,
    help="p95 SLO in ms (beats env LATENCY_SLO_MS, which beats the config; default 120000).",
)
@dry_run_option(
    "Send no alert anywhere; write them to out/latency_alerts/<job_id>.json (status dry_run).",
    jobs.command(("latency", "sample")).dry_run_alias,
)
@check_secrets_option("latency")
@job_options
def sample(
    inputs,
    probes,
    alert_config,
    rollup_output,
    raw_output,
    raw_retention_days,
    rollup_retention_days,
    max_raw_bytes,
    lock_file,
    slo_ms,
    dry_run,
    job,
) -> None:
    """Ingest new latency samples, update hourly rollups and evaluate the SLO.

    Example:

    \b
        observability latency sample --input logs/signal_notifier.csv --probe feed=https://feed/health
    """
    from observability.latency.job import LatencyOptions, sample as run_sample

    options = LatencyOptions(
        inputs=tuple(inputs),
        probes=tuple(probes),
        alert_config=alert_config,
        rollup_output=rollup_output,
        raw_output=raw_output,
        raw_retention_days=raw_retention_days,
        rollup_retention_days=rollup_retention_days,
        max_raw_bytes=max_raw_bytes,
        slo_ms=slo_ms,
        dry_run_alert=dry_run,
    )
    run_and_exit(
        "latency",
        lambda ctx: run_sample(ctx, options),
        job,
        lock_file=lock_file,
        dry_run=dry_run,
        makes_workspace=True,
    )  # a first sample run starts a workspace from a signal log

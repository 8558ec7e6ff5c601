"""``observability inputs``: bring the upstream inputs declared in inputs.yaml into the workspace."""

from __future__ import annotations

import click

from observability import jobs
from observability.cli.options import check_secrets_option, job_options, run_and_exit

# `workflow run` runs every step, so it reads every input; `chain` is that workflow's former name
# (callers made by an older `init` still pass it).
EVERY_INPUT = (jobs.job("workflow").name, "chain", "all")


@click.group()
def inputs() -> None:
    """Upstream inputs: runs/, reports/, ops/state_archive/ and the signal log, from where they live."""


@inputs.command("pull")
@click.option(
    "--config",
    metavar="PATH",
    default=None,
    help="Inputs config (default configs/observability/inputs.yaml in the workspace).",
)
@click.option(
    "--only", metavar="NAME", multiple=True, help="Pull only this input (repeatable); the others keep their last copy."
)
@click.option(
    "--for",
    "for_job",
    type=click.Choice([*jobs.input_readers(), *EVERY_INPUT]),
    default=None,
    help="Pull only the inputs this job reads (each input's `jobs`; workflow, chain and all: every input).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Contact nothing; list what would be fetched in out/inputs/<job_id>.json (status dry_run).",
)
@check_secrets_option("inputs")
@job_options
def pull(config, only, for_job, dry_run, job) -> None:
    """Fetch every declared input (repository, s3, https, artifact) and install them all, or none.

    Run it after `state pull` and before the job: an incremental signal log is fetched from the
    latency job's cursor in ops/. Each input's identity (commit, ETag, sha256) goes to
    out/inputs/pulled.json and into the provenance of every later artefact. A source that fails
    ends status=error, error_code=input_unavailable (exit 1) with every destination as it was;
    an invalid config exits 2.

    Example:

    \b
        observability inputs pull --workspace . --for latency
    """
    from observability.inputs.job import PullOptions, pull as run_pull

    options = PullOptions(
        config=config, only=tuple(only), dry_run=dry_run, for_job=None if for_job in EVERY_INPUT else for_job
    )
    # No heartbeat: every workflow pulls, so a shared heartbeat file in ops/ would make their state
    # pushes conflict; the automation log records every pull.
    run_and_exit(
        "inputs",
        lambda ctx: run_pull(ctx, options),
        job,
        dry_run=dry_run,
        heartbeat=False,
        makes_workspace=True,
    )  # bringing the upstream inputs is how a workspace begins

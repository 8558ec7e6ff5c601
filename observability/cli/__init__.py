"""The ``observability`` command: one thin Click command per job; the library does the work."""

from __future__ import annotations

import importlib

import click

from observability import __version__, jobs, provenance

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="observability")
def cli() -> None:
    """Keep a trading research stack observable from scheduled GitHub Actions workflows.

    Every job command prints one JSON summary on stdout and human-readable diagnostics on
    stderr, appends a line to ops/automation_runs.log, and exits 0 (ok, warning, dry_run,
    skipped), 1 (the job failed) or 2 (bad usage or configuration).

    Example:

    \b
        observability latency sample --workspace . --input logs/signal_notifier.csv
    """


# One command group per registered job: observability/cli/<name>.py defines the Click command <name>.
for _job in jobs.JOBS:
    cli.add_command(getattr(importlib.import_module(f"observability.cli.{_job.name}"), _job.name))


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _command_paths(command, (*prefix, name))


# Provenance names the command that ran (``observability dashboard export``), never its arguments.
provenance.register_command_paths(_command_paths(cli))


def main() -> None:
    cli(prog_name="observability")

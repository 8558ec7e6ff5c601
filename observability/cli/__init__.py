"""The ``observability`` command: one thin Click command per job; the library does the work."""

from __future__ import annotations

import click

from observability import __version__, provenance
from observability.cli.alerts import alerts
from observability.cli.cycle import cycle
from observability.cli.dashboard import dashboard
from observability.cli.demo import demo
from observability.cli.init import init
from observability.cli.inputs import inputs
from observability.cli.latency import latency
from observability.cli.state import state
from observability.cli.sync import sync
from observability.cli.verify import verify
from observability.cli.weekly import weekly
from observability.cli.workflow import workflow

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


cli.add_command(latency)
cli.add_command(alerts)
cli.add_command(weekly)
cli.add_command(dashboard)
cli.add_command(demo)
cli.add_command(init)
cli.add_command(workflow)
cli.add_command(inputs)
cli.add_command(state)
cli.add_command(sync)
cli.add_command(verify)
cli.add_command(cycle)


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _command_paths(command, (*prefix, name))


# Provenance names the command that ran (``observability dashboard export``), never its arguments.
provenance.register_command_paths(_command_paths(cli))


def main() -> None:
    cli(prog_name="observability")

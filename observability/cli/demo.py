"""``observability demo``: every job on a copy of the bundled sample workspace, in dry-run mode."""

from __future__ import annotations

import click


@click.command()
@click.option(
    "--dir",
    "directory",
    metavar="DIR",
    default=None,
    help="Where to create the sample workspace (default: a new ./demo-workspace-<n>).",
)
def demo(directory: str | None) -> None:
    """Copy ops-template/ to a new directory, run every job in dry-run mode, list the artefacts.

    Example:

    \b
        observability demo --dir /tmp/obs-demo
    """
    from observability.demo import DemoError, run_demo

    try:
        code = run_demo(directory, echo=click.echo)
    except DemoError as exc:
        raise click.ClickException(str(exc)) from None
    raise SystemExit(code)

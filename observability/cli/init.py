"""``observability init``: scaffold a new automation repository."""

from __future__ import annotations

import click


@click.command("init")
@click.argument("directory", metavar="DIR")
@click.option("--repository", metavar="OWNER/REPO", required=True,
              help="Where this project's actions live (the generated workflows call OWNER/REPO/actions/<job>).")
@click.option("--ref", metavar="SHA", required=True,
              help="Full commit SHA of OWNER/REPO to pin every action to.")
@click.option("--ref-label", metavar="TEXT", default=None,
              help="Version comment written after each pin (default v<package version>).")
def init(directory, repository, ref, ref_label) -> None:
    """Scaffold a new automation repository: workflows, configs and docs/credentials.md.

    The workflows call this project's actions pinned to --ref and pass actionlint and zizmor.

    Example:

        observability init ../trading-observability --repository acme/observability --ref 0123abcd...
    """
    from pathlib import Path

    from observability.errors import ConfigError, ObservabilityError
    from observability.scaffold import scaffold

    try:
        written = scaffold(Path(directory), repository=repository, ref=ref, label=ref_label)
    except ConfigError as exc:
        raise click.UsageError(exc.message) from None
    except ObservabilityError as exc:
        raise click.ClickException(exc.message) from None
    for relative in written:
        click.echo(f"wrote {Path(directory) / relative}")
    click.echo("next: create the secrets and variables in docs/credentials.md, then run each workflow once "
               "with dry_run")

"""``observability init``: scaffold a new automation repository."""

from __future__ import annotations

import click


@click.command("init")
@click.argument("directory", metavar="DIR")
@click.option(
    "--repository",
    metavar="OWNER/REPO",
    required=True,
    help="Where this project lives (the generated workflows call OWNER/REPO/.github/workflows/run.yml).",
)
@click.option(
    "--ref",
    metavar="SHA",
    required=True,
    help="Full commit SHA of OWNER/REPO (a release) to pin every workflow call to.",
)
@click.option(
    "--ref-label",
    metavar="TEXT",
    default=None,
    help="Version comment written after each pin (default v<package version>).",
)
@click.option(
    "--ci-workflow",
    metavar="NAME",
    default="CI",
    show_default=True,
    help="The name of the CI workflow whose failures ci-failure-alerts.yml reports (its `name:`).",
)
def init(directory, repository, ref, ref_label, ci_workflow) -> None:
    """Scaffold a new automation repository: caller workflows, configs and docs/credentials.md.

    DIR may be new, empty, or hold only .git. One short workflow per job calls this project's
    reusable workflow run.yml pinned to --ref, and ci-failure-alerts.yml calls ci-alerts.yml when the
    CI workflow (--ci-workflow) completes; they pass actionlint and zizmor.

    Example:

    \b
        observability init ../trading-observability --repository acme/observability --ref 0123abcd...
    """
    from pathlib import Path

    from observability.errors import ConfigError, ObservabilityError
    from observability.scaffold import scaffold

    try:
        written = scaffold(Path(directory), repository=repository, ref=ref, label=ref_label, ci_workflow=ci_workflow)
    except ConfigError as exc:
        raise click.UsageError(exc.message) from None
    except ObservabilityError as exc:
        raise click.ClickException(exc.message) from None
    for relative in written:
        click.echo(f"wrote {Path(directory) / relative}")
    from observability.scaffold import environments_checklist

    for line in environments_checklist():
        click.echo(line)
    click.echo(
        "enable GitHub Pages for the status site (.github/workflows/site.yml publishes it after the dashboard "
        "and weekly runs): Settings → Pages → Source: GitHub Actions"
    )
    click.echo(
        "CI failure alerts: .github/workflows/ci-failure-alerts.yml reports the CI workflow "
        f"{ci_workflow!r} of the repository it is in (workflow_run sees no other repository's): copy it "
        "into the repository whose CI it watches, and add to that CI's test job the drill inputs, the telemetry "
        "flags and the ci-telemetry and pytest-log uploads of "
        f"https://github.com/{repository}/blob/{ref}/docs/ci.md#adopting-it-the-ci-side-steps "
        "(that repository needs SLACK_CI_WEBHOOK, and the variable OBS_STATE_STORE to keep the CI trend)"
    )
    click.echo(
        f"next: follow https://github.com/{repository}/blob/{ref}/docs/getting-started.md "
        "(create the state store, the secrets and variables in docs/credentials.md, inputs.yaml), "
        "then run each workflow once with dry_run"
    )

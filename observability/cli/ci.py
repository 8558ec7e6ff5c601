"""``observability ci``: telemetry of the CI that tests the research code: the flake digest, the metrics
trend, the CI health page (docs/ci.md)."""

from __future__ import annotations

import click

from observability.cli.options import MAX_DAYS, job_options, run_and_exit


@click.group()
def ci() -> None:
    """CI telemetry: flaky tests, coverage and formatter trend, the CI health page (docs/ci.md)."""


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


# --- ci metrics / ci health (docs/ci.md, "CI metrics" and "CI health page") ---


def _config_option(func):
    return click.option(
        "--config",
        "config_path",
        metavar="FILE",
        default=None,
        help="CI config (default configs/observability/ci.yaml when present; built-in defaults otherwise).",
    )(func)


@ci.command("metrics")
@click.option(
    "--coverage-xml", metavar="FILE", default=None, help="Cobertura coverage report (pytest --cov-report=xml)."
)
@click.option(
    "--junit-xml", metavar="FILE", default=None, help="JUnit test report (pytest --junitxml): counts, durations."
)
@click.option(
    "--formatter",
    "formatter_names",
    metavar="NAME",
    multiple=True,
    help="A formatter or linter whose result to record (repeatable; pair each with --formatter-mode and --formatter-result).",
)
@click.option(
    "--formatter-mode",
    "formatter_modes",
    type=click.Choice(["enforced", "advisory"]),
    multiple=True,
    help="Its mode: enforced (a failure fails CI) or advisory (reported only); once per --formatter, same order.",
)
@click.option(
    "--formatter-result",
    "formatter_results",
    type=click.Choice(["pass", "fail"]),
    multiple=True,
    help="Its result; once per --formatter, same order.",
)
@click.option("--run-id", metavar="ID", default=None, help="The CI run recorded (default GITHUB_RUN_ID).")
@click.option(
    "--run-attempt",
    type=click.IntRange(min=1, max=1000),
    default=None,
    help="Its attempt (default GITHUB_RUN_ATTEMPT, else 1).",
)
@click.option(
    "--run-url",
    metavar="URL",
    default=None,
    help="Its page (default built from GITHUB_SERVER_URL, GITHUB_REPOSITORY, the run id).",
)
@click.option("--commit", metavar="SHA", default=None, help="Its commit (default GITHUB_SHA).")
@click.option(
    "--branch", metavar="NAME", default=None, help="Its branch (default GITHUB_HEAD_REF, else GITHUB_REF_NAME)."
)
@click.option(
    "--conclusion",
    metavar="CONCLUSION",
    default=None,
    help="Its conclusion as GitHub names it (success, failure, cancelled, timed_out, ...; default: failure when "
    "the JUnit report has failures or errors, success without, else unknown).",
)
@_config_option
@job_options
def metrics(
    coverage_xml,
    junit_xml,
    formatter_names,
    formatter_modes,
    formatter_results,
    run_id,
    run_attempt,
    run_url,
    commit,
    branch,
    conclusion,
    config_path,
    job,
) -> None:
    """Record one CI run in ops/ci/ci_metrics.json: line and branch coverage, test counts and
    durations, formatter and linter results, conclusion. One entry per run id and attempt (a replay
    replaces it), at most history_limit kept. Line coverage on the default branch more than
    coverage.drop_threshold_pct points below its baseline (the median of the previous runs) fires a
    warning alert in ops/ci_alerts.json; the next run that is not below resolves it. XML with a DTD
    subset or entities is refused.

    Example:

    \b
        observability ci metrics --coverage-xml coverage.xml --junit-xml junit.xml \\
            --formatter ruff-format --formatter-mode enforced --formatter-result pass
    """
    from observability.ci.metrics import MetricsOptions, formatters, run_metrics

    def body(ctx):
        options = MetricsOptions(
            coverage_xml=coverage_xml,
            junit_xml=junit_xml,
            formatters=formatters(formatter_names, formatter_modes, formatter_results),
            run_id=run_id,
            run_attempt=run_attempt,
            run_url=run_url,
            commit=commit,
            branch=branch,
            conclusion=conclusion,
            config=config_path,
        )
        return run_metrics(ctx, options)

    # no heartbeat: CI runs on pushes, not on a schedule; `verify` would call a quiet weekend stale
    run_and_exit("ci", body, job, heartbeat=False)


@ci.command("health")
@click.option(
    "--out",
    metavar="FILE",
    default=None,
    help="The Markdown page (default out/ci/ci_health.md); its JSON twin is written beside it (.json).",
)
@_config_option
@job_options
def health(out, config_path, job) -> None:
    """Write the CI health page: latest pipeline status, coverage baseline and trend (chart and
    table), formatter rollout, top flaky tests (the flake digest), the open CI failure issue (the
    alert inbox's cache) and where to look first when jobs fail. To the step summary and
    out/ci/ci_health.md, with a JSON twin (schemas/ci_health.schema.json); committed nowhere.

    Example:

    \b
        observability ci health
        observability ci health --out out/status/ci_health.md
    """
    from observability.ci.health import HealthOptions, run_health

    run_and_exit("ci", lambda ctx: run_health(ctx, HealthOptions(out=out, config=config_path)), job, heartbeat=False)

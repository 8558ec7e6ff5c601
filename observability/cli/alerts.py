"""``observability alerts``: the alert inbox (GitHub issues) and failure issues."""

from __future__ import annotations

import functools
import re

import click

from observability.alerts.conclusion import ACKS, CONCLUSIONS
from observability.cli.options import MAX_HOURS, FiniteFloatRange, check_secrets_option, job_options, run_and_exit


def _run_url(ctx, param, value: str | None) -> str | None:
    """A run link put in issues and mirrors: an http(s) URL with nothing that would end a Markdown link."""
    if value is not None and not re.fullmatch(r"https?://[^\s()<>\[\]`\\|]{1,2000}", value):
        raise click.BadParameter(
            f"{value[:100]!r}: expected an http(s) URL without spaces, brackets, parentheses, | or backticks",
            param=param,
        )
    return value


def _pattern(name: str, what: str):
    """A callback checking a run detail against the pattern the issue's hidden state reads back with."""

    def check(ctx, param, value: str | None) -> str | None:
        from observability.alerts import render

        if value is not None and not getattr(render, name).fullmatch(value):
            raise click.BadParameter(f"{value[:100]!r}: expected {what}", param=param)
        return value

    return check


def _title(ctx, param, value: str | None) -> str | None:
    """An issue title: printable text, at most 256 characters (GitHub's limit)."""
    if value is not None and (len(value) > 256 or not value.isprintable()):
        raise click.BadParameter(
            f"at most 256 printable characters (no line breaks or control characters), got {len(value)}", param=param
        )
    return value


def _job_name(ctx, param, value: str) -> str:
    return _job_names(ctx, param, (value,))[0]


def _job_names(ctx, param, values: tuple[str, ...]) -> tuple[str, ...]:
    """Workflow job ids as GitHub spells them (a letter or _, then letters, digits, - and _)."""
    for value in values:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]{0,99}", value):
            raise click.BadParameter(f"{value!r}: not a workflow job id (letters, digits, - and _)", param=param)
    return values


def _inbox_options(func):
    """Options shared by ``sync`` and ``report-failure``, passed to the command as one ``inbox`` dict
    keyed by the job options' field names; applied below ``job_options`` and ``check_secrets_option``,
    which see the options one by one."""

    @functools.wraps(func)
    def wrapper(*args, repo, config_path, cache, run_url, slack_webhook_env, drill, dry_run, **kwargs):
        inbox = {
            "repo": repo,
            "config": config_path,
            "cache": cache,
            "run_url": run_url,
            "slack_webhook_env": slack_webhook_env,
            "drill": drill,
            "dry_run": dry_run,
        }
        return func(*args, inbox=inbox, **kwargs)

    options = [
        click.option(
            "--repo",
            metavar="OWNER/NAME",
            default=None,
            help="Repository holding the issues (default: env GITHUB_REPOSITORY).",
        ),
        click.option(
            "--config",
            "config_path",
            metavar="PATH",
            default=None,
            help="Alerts config (default configs/observability/alerts.yaml when present).",
        ),
        click.option(
            "--cache",
            metavar="PATH",
            default="ops/alert_inbox.json",
            show_default=True,
            help="Issue cache, carried by the state store (an unchanged run then makes no API call).",
        ),
        click.option(
            "--run-url",
            metavar="URL",
            default=None,
            callback=_run_url,
            help="Run to link from issues and mirrors (default: this GitHub Actions run).",
        ),
        click.option(
            "--slack-webhook-env",
            metavar="NAME",
            default=None,
            help="Environment variable holding the Slack incoming-webhook URL "
            "(default: mirrors.slack_webhook_env in the config, OBS_ALERTS_SLACK_WEBHOOK).",
        ),
        click.option(
            "--drill",
            is_flag=True,
            help="Label every issue this run touches `drill` (use in a scratch drill workspace).",
        ),
        click.option(
            "--dry-run",
            is_flag=True,
            help="Call nothing; write the calls it would make to out/alert_inbox/<job_id>.json.",
        ),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


@click.group()
def alerts() -> None:
    """Alert inbox: one GitHub issue per alert, failure issues, Slack/PagerDuty/webhook mirrors."""


@alerts.command("sync")
@click.option(
    "--source",
    "sources",
    metavar="NAME",
    multiple=True,
    help="Only reconcile this source (repeatable: latency, weekly, dashboard, verify, or a configured one).",
)
@click.option(
    "--repeat-interval-hours",
    type=FiniteFloatRange(min=0, min_open=True, limit=MAX_HOURS),
    default=None,
    help="Remind about a still-firing alert at most this often (default: config, 24).",
)
@click.option("--no-mirrors", is_flag=True, help="Do not call Slack, PagerDuty or the signed webhook.")
@check_secrets_option("alerts")
@job_options
@_inbox_options
def sync(sources, repeat_interval_hours, no_mirrors, inbox, job) -> None:
    """Reconcile the alerts firing now with their GitHub issues.

    Opens an issue per new alert, comments and relabels on escalation, reminds after the repeat
    interval, and comments with the duration and closes when an alert resolves. Needs GITHUB_TOKEN
    (or GH_TOKEN) with issues: write, except with --dry-run.

    Example:

    \b
        observability alerts sync --repo acme/trading-ops --dry-run
    """
    from observability.alerts.job import SyncOptions, sync as run_sync

    options = SyncOptions(
        **inbox, sources=tuple(sources), repeat_interval_hours=repeat_interval_hours, mirrors=not no_mirrors
    )
    run_and_exit(
        "alerts",
        lambda ctx: run_sync(ctx, options),
        job,
        dry_run=options.dry_run,
        makes_workspace=True,
        deadman=not options.drill,  # a drill is no run of a monitored job
    )


@alerts.command("report-failure")
@click.option(
    "--job",
    "failing_job",
    metavar="NAME",
    required=True,
    callback=_job_name,
    help="The failing (or recovered) workflow job (a job id: letters, digits, - and _).",
)
@click.option(
    "--workflow",
    metavar="NAME",
    default=None,
    help="Workflow name (default: env GITHUB_WORKFLOW, else the --job name, as the caller workflows are named).",
)
@click.option(
    "--title",
    metavar="TEXT",
    default=None,
    callback=_title,
    help='Issue title (default "<workflow>/<job> failing"; at most 256 printable characters).',
)
@click.option("--recovered", is_flag=True, help="The job succeeded: comment on the failure issue and close it.")
@click.option(
    "--reason",
    metavar="TEXT",
    default=None,
    help="With --drill: why the drill runs, recorded in the drill issue (at most 300 characters).",
)
@click.option(
    "--failed-job",
    "failed_jobs",
    metavar="NAME",
    multiple=True,
    callback=_job_names,
    help="A job of the workflow that failed this time, named in the issue and in Slack (repeatable; CI: lint, "
    "code, tests). The issue stays the one of --workflow/--job whichever failed.",
)
@click.option(
    "--conclusion",
    type=click.Choice(CONCLUSIONS),
    default=None,
    help="The reported run's conclusion (as GitHub gives it): success closes the issue; failure, timed_out, "
    "startup_failure and cancelled count as failures, except a run cancelled because a newer run of its branch "
    "superseded it; the rest count as nothing (docs/ci.md).",
)
@click.option(
    "--branch",
    metavar="NAME",
    default=None,
    callback=_pattern("BRANCH_RE", "a branch name (letters, digits, . _ / + @ = -)"),
    help="The run's branch, shown in the issue and Slack (default: env GITHUB_HEAD_REF, else GITHUB_REF_NAME).",
)
@click.option(
    "--actor",
    metavar="LOGIN",
    default=None,
    callback=_pattern("ACTOR_RE", "a GitHub login"),
    help="Who triggered the run, named (never @mentioned) in the issue (default: env GITHUB_TRIGGERING_ACTOR, "
    "else GITHUB_ACTOR).",
)
@click.option(
    "--commit",
    metavar="SHA",
    default=None,
    callback=_pattern("SHA_RE", "a hex commit SHA (7 to 40 digits)"),
    help="The run's commit (default: env GITHUB_SHA).",
)
@click.option(
    "--run-attempt",
    type=click.IntRange(min=1),
    default=None,
    help="The run's attempt (default: env GITHUB_RUN_ATTEMPT).",
)
@click.option(
    "--event",
    metavar="NAME",
    default=None,
    callback=_pattern("EVENT_RE", "an event name (a-z and _)"),
    help="The event that triggered the run (default: env GITHUB_EVENT_NAME).",
)
@click.option(
    "--run-number",
    type=click.IntRange(min=1),
    default=None,
    help="With --conclusion cancelled: the run's number, to find a newer run that superseded it "
    "(default: env GITHUB_RUN_NUMBER).",
)
@click.option(
    "--workflow-id",
    metavar="ID",
    default=None,
    callback=_pattern("WORKFLOW_ID_RE", "a workflow id or file name (ci.yml)"),
    help="With --conclusion cancelled: the run's workflow (id or file name) whose newer runs are listed "
    "(default: the file of env GITHUB_WORKFLOW_REF).",
)
@click.option(
    "--acknowledge-within",
    "ack",
    type=click.Choice(ACKS),
    default=ACKS[0],
    show_default=True,
    help="The acknowledgement the issue asks for: a scheduled job's 10 minutes, or CI's one business hour "
    "(with the pairing, root-cause and escalation wording of docs/ci.md).",
)
@check_secrets_option("alerts")
@job_options
@_inbox_options
def report_failure(failing_job, workflow, title, recovered, reason, failed_jobs, inbox, job, **run) -> None:
    """Open or append to the "<workflow>/<job> failing" issue; with --recovered, close it.

    Call it from a final job of every scheduled workflow: `if: failure()` without --recovered,
    and on success with --recovered (free when nothing was failing).

    Example:

    \b
        observability alerts report-failure --job latency --run-url "$RUN_URL"
    """
    from observability.alerts.job import FailureOptions, failure

    if recovered and failed_jobs:
        raise click.UsageError("--failed-job names what failed: it cannot go with --recovered")
    if recovered and run["conclusion"] not in (None, "success"):
        raise click.UsageError(f"--recovered with --conclusion {run['conclusion']}: a recovery is a success")
    options = FailureOptions(
        **inbox,
        job=failing_job,
        workflow=workflow,
        title=title,
        recovered=recovered,
        reason=reason,
        failed_jobs=tuple(failed_jobs),
        **run,
    )
    # A failure report must get through where the state pull failed and left no workspace.
    run_and_exit(
        "alerts",
        lambda ctx: failure(ctx, options),
        job,
        dry_run=options.dry_run,
        heartbeat=False,
        makes_workspace=True,
        deadman=not options.drill,  # a drill is no run of a monitored job
    )


@alerts.command("drill")
@click.option(
    "--job",
    "drill_job",
    metavar="NAME",
    default="latency",
    show_default=True,
    help="Whose alert path to drill: latency, weekly, dashboard or verify.",
)
@click.option(
    "--reason",
    metavar="TEXT",
    default=None,
    help='Why the drill runs, recorded in the drill issue and the summary (default "routine drill"; '
    "at most 300 characters).",
)
@click.option(
    "--repo", metavar="OWNER/NAME", default=None, help="Repository holding the issues (default: env GITHUB_REPOSITORY)."
)
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    default=None,
    help="Alerts config (default configs/observability/alerts.yaml when present).",
)
@click.option("--run-url", metavar="URL", default=None, help="Run to link (default: this GitHub Actions run).")
@click.option(
    "--slack-webhook-env",
    metavar="NAME",
    default=None,
    help="Environment variable holding the Slack webhook URL (default: the config's, OBS_ALERTS_SLACK_WEBHOOK).",
)
@click.option(
    "--scratch",
    metavar="DIR",
    default=None,
    help="Keep the scratch workspace in DIR (empty or missing); default a temporary directory, removed.",
)
@click.option("--no-mirrors", is_flag=True, help="Do not call Slack, PagerDuty or the signed webhook.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Call nothing; list the calls the drill would make (summary, out/alert_inbox/<job_id>.json).",
)
@check_secrets_option("alerts")
@job_options
def drill(drill_job, reason, repo, config_path, run_url, slack_webhook_env, scratch, no_mirrors, dry_run, job) -> None:
    """Drill one job's alert path: break it in a scratch workspace, then heal it.

    Runs the job's real code and the real inbox in a scratch workspace (real state is never
    touched): latency (a drill:feed source breaches, escalates, recovers), weekly (the report is
    refused by the drill's own receiver, then replayed), dashboard (a dataset fails, then exports
    again), verify (a scheduled job misses runs, then runs). The `drill`-labelled issue is opened
    and closed by the drill itself; mirrors are called. Exit 1 unless each step caused exactly
    the issue change it expects.

    Example:

    \b
        observability alerts drill --job weekly --reason "quarterly drill" --repo acme/trading-ops
    """
    from observability.alerts.job import DrillOptions, drill as run_drill

    options = DrillOptions(
        job=drill_job,
        reason=reason,
        repo=repo,
        config=config_path,
        run_url=run_url,
        slack_webhook_env=slack_webhook_env,
        scratch=scratch,
        mirrors=not no_mirrors,
        dry_run=dry_run,
        drill=True,
        run_job=_run_job,
    )
    # The drill runs in a scratch directory of its own: the workspace may be any directory (runner.temp).
    run_and_exit(
        "alerts",
        lambda ctx: run_drill(ctx, options),
        job,
        dry_run=dry_run,
        heartbeat=False,
        makes_workspace=True,
        deadman=False,  # a drill is no run of the monitored job: the dead-man switch must not hear of it
    )


def _run_job(command: str, ctx, options: dict):
    """A drill step's real job (handed to the alerts job, which imports no other job)."""
    if command == "latency sample":
        from observability.latency.job import LatencyOptions, sample

        return sample(ctx, LatencyOptions(**options))
    if command in ("weekly report", "weekly replay"):
        from observability.weekly.job import WeeklyOptions, replay, report

        return (report if command == "weekly report" else replay)(ctx, WeeklyOptions(**options))
    if command == "dashboard export":
        from observability.dashboard.job import ExportOptions, export

        return export(ctx, ExportOptions(**options))
    if command == "verify":
        from observability.verify.job import VerifyOptions, verify_workspace

        return verify_workspace(ctx, VerifyOptions(**options))
    raise ValueError(f"no drill runs {command!r}")

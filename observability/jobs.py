"""The job registry: every top-level command once, with its CLI commands, actions, workflow, schemas and docs.

The CLI (``observability.cli``) adds its command groups from this list, ``workflow run`` takes its
steps and each step's dry-run flag from it, ``cycle`` the dry-run flag of the command it wraps,
``inputs pull --for`` and inputs.yaml's ``jobs`` the jobs that read upstream inputs, and the workspace
the heartbeat file names. tests/test_jobs.py checks each entry against the CLI, actions/, schemas/,
docs/ and ops-template/, and that no other module lists job names.

A job's ``name`` is its CLI group, its package or module under observability/ (``package``), and
the ``job`` of its lines in ops/automation_runs.log.
"""

from __future__ import annotations

from dataclasses import dataclass

DRY_RUN = "--dry-run"  # the one documented spelling on every command that can send something outward


@dataclass(frozen=True)
class Command:
    """One command after ``observability``, the composite action that wraps it (actions/<action>/),
    and the older spelling of its dry-run flag still accepted as a hidden alias."""

    path: tuple[str, ...]
    action: str | None = None
    dry_run: bool = False  # has --dry-run: nothing is sent outward
    dry_run_alias: str | None = None  # the flag's older spelling, hidden from --help


@dataclass(frozen=True)
class Need:
    """A secret or variable a job reads from the environment, as ``--check-secrets`` checks it
    (observability/secretcheck.py holds what each ``kind`` must look like).

    ``required``: ``always`` (the job fails without it), ``outward`` (needed unless --dry-run) or
    ``optional`` (a feature that is off when unset; checked only when set). ``option`` is the
    command's parameter that overrides it: with ``option_names`` its value is the variable's
    *name* (``--webhook-url-env``), otherwise the value itself (``--store``, read from the variable
    by Click). ``partner``: set one, set both (an AWS key pair); ``alternative``: another variable
    that serves instead (``GH_TOKEN`` for ``GITHUB_TOKEN``). Kind ``config_names``: ``name`` is the
    job's config file (workspace-relative, ``option`` overrides it), and the variables it names
    (``*_env`` keys, ``headers_env`` maps) are checked, each ``required`` as given here."""

    name: str
    kind: str
    required: str = "optional"
    secret: bool = True
    option: str | None = None
    option_names: bool = False
    partner: str | None = None
    alternative: str | None = None


# The variables several jobs share, declared once.
_AWS = (
    Need("AWS_ACCESS_KEY_ID", "aws_access_key_id", secret=False, partner="AWS_SECRET_ACCESS_KEY"),
    Need("AWS_SECRET_ACCESS_KEY", "aws_secret_access_key", partner="AWS_ACCESS_KEY_ID"),
    Need("AWS_SESSION_TOKEN", "token_text"),
    Need("OBS_S3_ENDPOINT_URL", "http_url", secret=False),
)
_MIRRORS = (
    Need("OBS_ALERTS_SLACK_WEBHOOK", "http_url", option="slack_webhook_env", option_names=True),
    Need("OBS_PAGERDUTY_ROUTING_KEY", "pagerduty_routing_key"),
    Need("OBS_WEEKLY_WEBHOOK_URL", "http_url"),
    Need("OBS_WEBHOOK_SECRET", "signing_key"),
)


@dataclass(frozen=True)
class Job:
    name: str
    package: str  # observability/<package>(.py): the library code behind the command
    commands: tuple[Command, ...]
    docs: str  # the operator page (the README's Commands section has every command's reference)
    schemas: tuple[str, ...] = ()  # schemas/<name>.schema.json: its config and the artefacts it writes
    workflow: str | None = None  # ops-template/.github/workflows/<workflow>.yml, run.yml's `job` input
    scheduled: bool = False  # schedules.yaml has its cron entries (verify's cadence table)
    chain_step: bool = False  # a step of `workflow run`, in registry order
    reads_inputs: bool = False  # `inputs pull --for NAME` and inputs.yaml `jobs` accept it
    heartbeat: str | None = None  # its heartbeat file under ops/ when not <name>_heartbeat.json
    outward: bool = False  # sends or writes outward: a dry `cycle` or `workflow run` passes it --dry-run
    in_cycle: bool = True  # `cycle` may run its commands (not the state it pulls and pushes itself)
    needs: tuple[Need, ...] = ()  # the secrets and variables it reads: the one list --check-secrets checks


JOBS: tuple[Job, ...] = (
    Job(
        "latency",
        "latency",
        (Command(("latency", "sample"), "latency", True, "--dry-run-alert"),),
        "docs/runbook.md",
        ("latency_config", "latency_rollup_row", "signal_latency_archive"),
        workflow="latency",
        scheduled=True,
        chain_step=True,
        reads_inputs=True,
        heartbeat="latency_job_heartbeat.json",
        outward=True,
        needs=(
            Need("OBS_LATENCY_PROBES", "probes", option="probes"),
            Need("LATENCY_SLO_MS", "milliseconds", secret=False),
            Need("configs/observability/latency_alert.yaml", "config_names", "always", option="alert_config"),
        ),
    ),
    Job(
        "weekly",
        "weekly",
        (
            Command(("weekly", "report"), "weekly", True, "--dry-run-webhook"),
            Command(("weekly", "replay"), dry_run=True),
        ),
        "docs/weekly.md",
        ("weekly_config", "observability_weekly_report"),
        workflow="weekly",
        scheduled=True,
        chain_step=True,
        reads_inputs=True,
        heartbeat="weekly_report_heartbeat.json",
        outward=True,
        needs=(
            Need("OBS_WEEKLY_WEBHOOK_URL", "http_url", "outward", option="webhook_url_env", option_names=True),
            Need("OBS_WEBHOOK_SECRET", "signing_key", "outward", option="webhook_secret_env", option_names=True),
        ),
    ),
    Job(
        "dashboard",
        "dashboard",
        (Command(("dashboard", "export"), "dashboard", True, "--dry-run-upload"), Command(("dashboard", "verify"))),
        "docs/dashboard.md",
        (
            "dashboard_manifest",
            "dashboard_ev_history_row",
            "dashboard_slippage_row",
            "dashboard_turnover_row",
            "dashboard_latency_row",
            "dashboard_history_prune",
        ),
        workflow="dashboard",
        scheduled=True,
        chain_step=True,
        reads_inputs=True,
        heartbeat="dashboard_export_heartbeat.json",
        outward=True,
        needs=(Need("OBS_DASHBOARD_UPLOAD_COMMAND", "command", secret=False, option="upload_command"), *_AWS),
    ),
    Job(
        "verify",
        "verify",
        (Command(("verify",), "verify"), Command(("verify", "job"))),
        "docs/schedules.md",
        ("verify_schedules", "verify_report", "verify_credentials"),
        workflow="verify",
        scheduled=True,
        reads_inputs=True,
        needs=(
            Need("OBS_HEARTBEAT_PING_URL", "http_url"),
            # --sync-to re-reads the shared-storage copies: the URL, the .sig key and the S3 credentials
            Need("OBS_SYNC_TO", "store_url", secret=False, option="sync_to"),
            Need("OBS_WEBHOOK_SECRET", "signing_key"),
            *_AWS,
        ),
    ),
    Job(
        "alerts",
        "alerts",
        (
            Command(("alerts", "sync"), "alerts-sync", True),
            Command(("alerts", "report-failure"), "alerts-report-failure", True),
            Command(("alerts", "drill"), "alerts-drill", True),
        ),
        "docs/alerts.md",
        ("alert_inbox_config", "alert_inbox_cache", "alert_item"),
        outward=True,
        needs=(
            Need("GITHUB_TOKEN", "github_token", "outward", alternative="GH_TOKEN"),
            Need("GITHUB_REPOSITORY", "github_repository", "outward", secret=False, option="repo"),
            Need("GITHUB_API_URL", "http_url", secret=False),
            *_MIRRORS,
            Need("configs/observability/alerts.yaml", "config_names", option="config_path"),
        ),
    ),
    Job(
        "inputs",
        "inputs",
        (Command(("inputs", "pull"), "inputs-pull", True),),
        "docs/inputs.md",
        ("inputs_config", "inputs_pulled"),
        needs=(
            Need("OBS_INPUTS_TOKEN", "github_token"),
            Need("OBS_INPUTS_AUTHORIZATION", "header_value"),
            Need("GITHUB_TOKEN", "github_token", alternative="GH_TOKEN"),
            *_AWS,
            Need("configs/observability/inputs.yaml", "config_names", "always", option="config"),
        ),
    ),
    Job(
        "state",
        "state",
        (
            Command(("state", "init"), "state-init"),
            Command(("state", "pull"), "state-pull"),
            Command(("state", "push"), "state-push", True),
        ),
        "docs/state.md",
        ("state_manifest",),
        in_cycle=False,
        needs=(
            Need("OBS_STATE_STORE", "store_url", "always", secret=False, option="store"),
            Need("OBS_STATE_TOKEN", "github_token"),
            *_AWS,
        ),
    ),
    Job(
        "sync",
        "sync",
        (Command(("sync", "push"), "sync-push", True),),
        "docs/sync.md",
        ("sync_report", "sync_index", "sync_prune"),
        outward=True,
        needs=(Need("OBS_SYNC_TO", "store_url", "always", secret=False, option="to"), *_AWS),
    ),
    Job(
        "workflow",
        "workflow",
        (Command(("workflow", "run"), "workflow", True),),
        "docs/getting-started.md",
        ("automation_config",),
        workflow="workflow",
        outward=True,
    ),
    Job(
        "log",
        "log",
        (Command(("log", "rebuild"), dry_run=True), Command(("log", "kpi"))),
        "docs/automation-log.md",
        ("log_kpi",),
        in_cycle=False,
    ),
    Job(
        "migrate",
        "migrate",
        (Command(("migrate",), dry_run=True),),
        "docs/migration.md",
        ("migrate_report",),
        in_cycle=False,
    ),
    Job(
        "site",
        "site",
        (Command(("site", "build"), dry_run=True),),
        "docs/site.md",
        ("site_status",),
        workflow="site",  # ops-template/.github/workflows/site.yml: run.yml's job site publishes it to GitHub Pages
    ),
    Job(
        "ci",
        "ci",
        (Command(("ci", "flakes")), Command(("ci", "metrics")), Command(("ci", "health"))),
        "docs/ci.md",
        ("ci_flake_telemetry", "ci_flake_history", "ci_flake_digest", "ci_config", "ci_metrics", "ci_health"),
    ),
    Job(
        "lake",
        "lake",
        (
            Command(("lake", "ingest")),
            Command(("lake", "compact")),
            Command(("lake", "query")),
            Command(("lake", "runs")),
            Command(("lake", "stats")),
        ),
        "docs/lake.md",
        ("lake_config", "lake_manifest"),
        needs=_AWS,  # an s3:// lake
    ),
    Job("cycle", "cycle", (Command(("cycle",), "cycle", True),), "docs/state.md", in_cycle=False),
    Job("init", "scaffold", (Command(("init",)),), "docs/getting-started.md", in_cycle=False),
    Job("demo", "demo", (Command(("demo",)),), "README.md", in_cycle=False),
)

BY_NAME = {job.name: job for job in JOBS}
RUNTIME_SCHEMAS = ("automation_run",)  # the runtime's own: every job's log line


def job(name: str) -> Job:
    return BY_NAME[name]


def chain_steps() -> tuple[Job, ...]:
    """The steps of ``workflow run``, in order."""
    return tuple(j for j in JOBS if j.chain_step)


def input_readers() -> tuple[str, ...]:
    """The jobs ``inputs pull --for`` and inputs.yaml's ``jobs`` accept."""
    return tuple(j.name for j in JOBS if j.reads_inputs)


def command(path: tuple[str, ...]) -> Command:
    """The registered command at ``path`` (KeyError for an unknown one)."""
    for j in JOBS:
        for c in j.commands:
            if c.path == tuple(path):
                return c
    raise KeyError(" ".join(path))


def cycle_jobs() -> tuple[str, ...]:
    """The jobs ``cycle`` runs around a state pull and push."""
    return tuple(j.name for j in JOBS if j.in_cycle)


def outward_dry_run(name: str) -> str | None:
    """The flag a dry ``cycle`` or ``workflow run`` gives a command of job ``name``: --dry-run when the
    job sends or writes outward, None when it only reads (inputs) or is the cycle's own (state)."""
    found = BY_NAME.get(name)
    return DRY_RUN if found and found.outward else None


STRENGTH = {"optional": 0, "outward": 1, "always": 2}  # Need.required, weakest first


def needs(*names: str) -> tuple[Need, ...]:
    """What the jobs ``names`` read from the environment, each variable once (the strictest
    ``required`` wins): a command that runs others (``cycle``, ``workflow run``) checks theirs."""
    chosen: dict[str, Need] = {}
    for name in names:
        for need in BY_NAME[name].needs:
            known = chosen.get(need.name)
            if known is None or STRENGTH[need.required] > STRENGTH[known.required]:
                chosen[need.name] = need
    return tuple(chosen.values())


def heartbeat_name(name: str) -> str:
    """The heartbeat file under ops/ a job (or a sub-job such as ``verify-job``) writes."""
    found = BY_NAME.get(name)
    return (found.heartbeat if found and found.heartbeat else None) or f"{name}_heartbeat.json"

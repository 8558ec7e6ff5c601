"""``observability alerts sync|report-failure``: the job bodies run under the shared job contract."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from observability import config, fsio, otel, runner
from observability.alerts import (
    conclusion as conclusion_mod,
    drill as drill_mod,
    mirrors as mirrors_mod,
    owners,
    render,
    sources as sources_mod,
)
from observability.alerts.cache import DEFAULT_PATH, Cache
from observability.alerts.failures import (
    LINKABLE,
    Failure,
    escalate_overdue,
    report_failure,
    report_not_counted,
    report_recovery,
)
from observability.alerts.inbox import Inbox
from observability.config import alerts as alerts_config
from observability.errors import ConfigError, ObservabilityError
from observability.github.recorder import RecordingClient
from observability.github.rest import RETRY, GitHubClient, GitHubError
from observability.markdown import cell, details, user_text
from observability.outputs import alertinbox
from observability.runtime import JobContext, JobResult, derive_status

DRY_RUN_REPO = "OWNER/REPO"


@dataclass(frozen=True)
class InboxOptions:
    """What both commands share: where the issues live, the cache, the config, dry run, test hooks."""

    repo: str | None = None
    config: str | None = None
    cache: str = DEFAULT_PATH
    drill: bool = False
    dry_run: bool = False
    run_url: str | None = None
    slack_webhook_env: str | None = None
    # Injected by tests and library callers; the CLI keeps the real ones.
    sleep: Callable[[float], None] = time.sleep
    wall_clock: Callable[[], float] = time.time
    environ: Any = field(default_factory=lambda: os.environ, repr=False)


@dataclass(frozen=True)
class SyncOptions(InboxOptions):
    sources: tuple[str, ...] = ()  # empty: every source
    repeat_interval_hours: float | None = None
    mirrors: bool = True


@dataclass(frozen=True)
class FailureOptions(InboxOptions):
    job: str = ""
    workflow: str | None = None
    title: str | None = None
    recovered: bool = False
    reason: str | None = None  # a drill's reason (user text), recorded in the drill issue; only with drill
    failed_jobs: tuple[str, ...] = ()  # the workflow's jobs that failed (CI: lint, code, tests), named in the issue
    # The reported run, when it is not this process's own (CI failure alerts: the workflow_run that
    # triggered the alerting workflow); None takes this run's from the GitHub environment.
    conclusion: str | None = None  # conclusion.CONCLUSIONS; None: a failure (or --recovered)
    branch: str | None = None
    actor: str | None = None
    commit: str | None = None
    run_attempt: int | None = None
    event: str | None = None
    run_number: int | None = None  # with workflow_id: whether a cancelled run was superseded
    workflow_id: str | None = None
    ack: str = conclusion_mod.ACK_MINUTES


def _config(ctx: JobContext, opts: InboxOptions) -> alerts_config.AlertsConfig:
    path, display = config.resolve(ctx.workspace, opts.config, alerts_config.ALERTS_CONFIG)
    cfg = alerts_config.load_alerts(path, display=display)
    known = [s.name for s in sources_mod.builtin(cfg.owner, cfg.runbook, cfg.sources)]
    owners.check(cfg, known, path, display)
    return cfg


def _repo(opts: InboxOptions) -> str:
    """The repository (checked before anything is read or written, dry runs included)."""
    from observability.github.rest import _REPO_RE

    repo = opts.repo or opts.environ.get("GITHUB_REPOSITORY", "").strip()
    if not repo:
        if opts.dry_run:
            return DRY_RUN_REPO
        raise ConfigError("no repository: pass --repo OWNER/NAME or set GITHUB_REPOSITORY")
    if not _REPO_RE.match(repo):
        where = "--repo" if opts.repo else "GITHUB_REPOSITORY"
        raise ConfigError(f"{where} {repo!r}: expected OWNER/NAME")
    return repo


def _check_paths(ctx: JobContext, opts: InboxOptions) -> None:
    """Usage errors in the paths this run writes, before it reads or calls anything."""
    ctx.workspace.output_file(opts.cache, "--cache")


def _client(opts: InboxOptions, repo: str, cfg: alerts_config.AlertsConfig):
    if opts.dry_run:
        return RecordingClient(repo)
    policy = replace(RETRY, timeout_seconds=cfg.github_timeout_seconds, max_attempts=cfg.github_max_attempts)
    return GitHubClient.from_env(
        repo=repo,
        environ=opts.environ,
        policy=policy,
        max_rate_limit_wait_seconds=cfg.max_rate_limit_wait_seconds,
        write_interval_seconds=cfg.github_write_interval_seconds,
        sleep=opts.sleep,
        wall_clock=opts.wall_clock,
    )


def _links(opts: InboxOptions, repo: str) -> render.Links:
    """Issue links: the run, the repository, and docs at the observability release the workflow runs
    (OBS_DOCS_URL, set by the reusable workflow), so a runbook link never points at a file the
    automation repository does not have."""
    context = runner.run_context(opts.environ) or {}
    server = opts.environ.get("GITHUB_SERVER_URL", "").strip() or "https://github.com"
    return render.Links(
        repo_url=None if repo == DRY_RUN_REPO else f"{server}/{repo}",
        docs_url=opts.environ.get("OBS_DOCS_URL", "").strip() or None,
        run_url=opts.run_url or context.get("run_url"),
    )


def _mirror_settings(cfg: alerts_config.AlertsConfig, opts: InboxOptions, **only: bool) -> mirrors_mod.MirrorSettings:
    """The mirrors as this run's options say (``only``: webhook/pagerduty off for failure issues)."""
    return mirrors_mod.MirrorSettings(
        cfg,
        slack_env=opts.slack_webhook_env,
        dry_run=opts.dry_run,
        sleep=opts.sleep,
        wall_clock=opts.wall_clock,
        environ=opts.environ,
        **only,
    )


def _finish(
    ctx: JobContext,
    opts: InboxOptions,
    api,
    inbox: Inbox,
    mirror_results: list[dict],
    repo: str,
    error: GitHubError | None,
    figures: dict,
    command: str,
) -> JobResult:
    outcome = inbox.outcome
    notified = {} if opts.dry_run else mirrors_mod.channels(outcome.actions, mirror_results)  # a plan told nobody
    _remember_channels(inbox, notified, opts.dry_run)
    failed_mirrors = [m for m in mirror_results if m["status"] == "failed"]
    for m in failed_mirrors:
        ctx.warn(f"mirror {m['mirror']} failed for {m.get('event')} {m.get('fingerprint')}: {m['detail']}")
    for warning in outcome.warnings:  # e.g. an assignee GitHub refused: the issue is open, the owner is not set
        ctx.warn(warning)
    counts: dict[str, int] = {}
    for action in outcome.actions:
        counts[action["action"]] = counts.get(action["action"], 0) + 1
    figures.update(
        repo=repo,
        api_calls=api.calls,
        listed_issues=outcome.listed,
        actions=outcome.actions,
        action_counts=counts,
        mirrors=mirror_results,
        notified_channels=notified,
        rate_limit_wait_seconds=round(api.waited_seconds, 3),
        api_not_modified=api.not_modified,  # conditional lists answered 304: no rate limit spent
        write_paced_seconds=round(getattr(api, "paced_seconds", 0.0), 3),
    )
    if opts.dry_run or outcome.actions or any(m["status"] != "skipped" for m in mirror_results):
        out = ctx.workspace.out / "alert_inbox" / f"{ctx.job_id}.json"
        doc = {
            "job_id": ctx.job_id,
            "command": command,
            "dry_run": opts.dry_run,
            "repo": repo,
            "actions": outcome.actions,
            "mirrors": mirror_results,
            "notified_channels": notified,
            **ctx.provenance(),
        }
        doc.update({k: figures[k] for k in ("drill_job", "drill_reason", "steps") if k in figures})
        if isinstance(api, RecordingClient):
            doc["calls"] = api.recorded
            figures["planned_calls"] = len(api.recorded)
        fsio.atomic_write_json(out, doc)
        ctx.artefact(out)
    if not opts.dry_run and inbox.cache.path.exists():
        ctx.artefact(inbox.cache.path)
    diagnostics: dict = {}
    findings = [kind for kind, seen in (("mirror_failed", failed_mirrors), ("logged_warnings", ctx.warnings)) if seen]
    if error is not None:
        diagnostics.update(error_code=error.error_code, error_message=error.message)
    status = derive_status(failed=error is not None, dry_run=opts.dry_run, findings=findings)
    lines = [
        f"### observability alerts {command}: {status}",
        "",
        f"{len(outcome.actions)} issue change(s), {api.calls} GitHub API call(s).",
        "",
    ]
    if "drill_job" in figures:  # alerts drill: which path, the verdict, each step against what it expects
        verdict = "passed" if figures["passed"] else "FAILED"
        lines += [f"Drill of `{figures['drill_job']}`: {figures['drilled']}: **{verdict}**", ""]
        lines += ["| step | expected | caused | as expected |", "| --- | --- | --- | --- |"]
        for step in figures["steps"]:
            caused = ", ".join(step["actions"]) or "nothing"
            ok = step["actions"] == ([] if step["expected"] == "nothing" else [step["expected"]])
            lines.append(
                f"| {cell(step['does'])} | {step['expected']} | {cell(caused)} | {'yes' if ok else '**no**'} |"
            )
        lines.append("")
    if figures.get("conclusion"):  # report-failure --conclusion: what the run's conclusion counted as
        counted = {"failure": "a failure", "recovery": "a recovery", "not_counted": "nothing (not counted)"}
        lines += [f"Run conclusion `{figures['conclusion']}`: counted as {counted[figures['counted_as']]}.", ""]
    if figures.get("verdict"):
        lines += [f"The run {figures['verdict']}", ""]
    if "drill_reason" in figures:
        lines += [f"Drill reason: {user_text(figures['drill_reason'])}", ""]
    if outcome.actions:
        if isinstance(api, RecordingClient):
            lines += ["Issue numbers are placeholders: a dry run lists no issues.", ""]
        lines += ["| issue | fingerprint | action |", "| --- | --- | --- |"]
        lines += [f"| #{a['issue']} | `{a['fingerprint']}` | {cell(a['action'])} |" for a in outcome.actions]
    if isinstance(api, RecordingClient):
        figures["would_call"] = would_call = planned(api.recorded, mirror_results)
        lines += ["", *details(f"Dry run: {len(would_call)} call(s) it would make", [f"- `{c}`" for c in would_call])]
    outputs = {"api-calls": str(api.calls), "actions": str(len(outcome.actions))}
    if "firing" in figures:
        outputs["firing"] = str(figures["firing"])
    return JobResult(
        failed=error is not None,
        dry_run=opts.dry_run,
        findings=findings,
        figures=figures,
        diagnostics=diagnostics,
        summary_markdown="\n".join(lines),
        outputs=outputs,
    )


def planned(recorded: list[dict], mirror_results: list[dict]) -> list[str]:
    """A dry run's would-be calls, one line each: the GitHub requests, then the mirror sends."""
    calls = [f"{c['method']} {c['path']}" for c in recorded]
    calls += [f"{m['mirror']}: {m['detail']}" for m in mirror_results if m["status"] == "dry_run"]
    return calls


# Issue actions that start an episode: the channels notified before it are not this episode's.
EPISODE_START = frozenset({"opened", "reopened", "reopened_after_manual_close"})


def _remember_channels(inbox: Inbox, notified: dict[str, list[str]], dry_run: bool) -> None:
    """Record in the cache, per alert, the channels that notified people in its current episode (what
    the weekly report's and the webhook's ``notified_channels`` say); a dry run notified nobody."""
    if dry_run or not notified:
        return
    starts = {a["fingerprint"] for a in inbox.outcome.actions if a["action"] in EPISODE_START}
    changed = False
    for fp, found in notified.items():
        entry = inbox.cache.issues.get(fp)
        if entry is None:
            continue
        before = [] if fp in starts else alertinbox.channels_of(entry)
        merged = [c for c in alertinbox.CHANNELS if c in before or c in found]
        if merged != entry.get("notified_channels"):
            entry["notified_channels"] = merged
            changed = True
    if changed:
        inbox.cache.save(inbox.now)


def sync(ctx: JobContext, opts: SyncOptions) -> JobResult:
    """Reconcile every source's firing set with the issues, then mirror the transitions."""
    repo = _repo(opts)
    _check_paths(ctx, opts)
    cfg = _config(ctx, opts)
    if opts.repeat_interval_hours is not None:
        from dataclasses import replace

        cfg = replace(cfg, repeat_interval_hours=opts.repeat_interval_hours)
    available = sources_mod.builtin(cfg.owner, cfg.runbook, cfg.sources)
    unknown = [s for s in opts.sources if s not in {x.name for x in available}]
    if unknown:
        raise ConfigError(f"--source {unknown[0]}: unknown source (known: {', '.join(s.name for s in available)})")
    chosen = [s for s in available if not opts.sources or s.name in opts.sources]
    reports = []
    with otel.span("inputs", sources=len(chosen)):
        for source in chosen:
            try:
                reports.append(source.collect(ctx.workspace))
            except ObservabilityError as exc:
                # One unreadable source must not keep the others' alerts from the inbox.
                ctx.warn(f"source {source.name}: {exc.message}")
                reports.append(sources_mod.SourceReport(source.name, False, note="unreadable (see the warning)"))
    for report in reports:
        if not report.authoritative:
            ctx.note(f"source {report.name}: {report.note}; its open issues stay as they are")
    api = _client(opts, repo, cfg)
    links = _links(opts, repo)
    cache = Cache.load(ctx.workspace, opts.cache, repo, dry_run=opts.dry_run)
    inbox = Inbox(api, cache, cfg, now=ctx.now, links=links, drill=opts.drill)
    settings = _mirror_settings(cfg, opts)
    pages: list[dict] = []
    error = None
    try:
        with otel.span("delivery", kind="github"):
            inbox.sync(reports)
        # A failure issue open too long pages even when its job runs rarely (weekly): checked here, free
        # unless one is due. Its page goes out directly (not as an event: the dispatch below would page twice).
        escalate_overdue(inbox, pager=lambda event, action: _page(pages, event, action, settings, repo))
    except GitHubError as exc:
        error = exc
    finally:
        api.close()
    with otel.span("delivery", kind="mirrors"):
        mirror_results = pages + (
            mirrors_mod.dispatch(inbox.outcome.events, settings, repo=repo, now=ctx.now) if opts.mirrors else []
        )
    firing = sum(len(r.alerts) for r in reports)
    figures = {
        "firing": firing,
        "drill": opts.drill,
        "sources": {r.name: {"authoritative": r.authoritative, "firing": len(r.alerts)} for r in reports},
    }
    return _finish(ctx, opts, api, inbox, mirror_results, repo, error, figures, "sync")


def _page(pages: list[dict], event, action: str, settings: mirrors_mod.MirrorSettings, repo: str) -> dict:
    """A failure issue's PagerDuty trigger (escalation) or resolve (recovery, same dedup_key), recorded."""
    pages.append(mirrors_mod.page(event, action, settings, repo=repo))
    return pages[-1]


def _env_run(opts: FailureOptions) -> dict[str, Any]:
    """The reported run's branch, actor, commit, attempt, event, number and workflow file: each option,
    else this GitHub run's (a value of the environment that the option would refuse is left out)."""
    env = opts.environ
    context = runner.run_context(env) or {}
    ref = env.get("GITHUB_REF", "")
    branch = env.get("GITHUB_HEAD_REF", "").strip() or (
        env.get("GITHUB_REF_NAME", "").strip() if ref.startswith("refs/heads/") else ""
    )
    actor = env.get("GITHUB_TRIGGERING_ACTOR", "").strip() or env.get("GITHUB_ACTOR", "").strip()
    number = env.get("GITHUB_RUN_NUMBER", "").strip()
    # owner/repo/.github/workflows/ci.yml@refs/heads/main -> ci.yml (the REST API takes the file name)
    workflow_file = env.get("GITHUB_WORKFLOW_REF", "").split("@", 1)[0].rsplit("/", 1)[-1]
    return {
        "branch": opts.branch or (branch if render.BRANCH_RE.fullmatch(branch) else None),
        "actor": opts.actor or (actor if render.ACTOR_RE.fullmatch(actor) else None),
        "sha": opts.commit or env.get("GITHUB_SHA") or None,
        "attempt": opts.run_attempt or context.get("run_attempt"),
        "event": opts.event or context.get("event"),
        "run_number": opts.run_number or (int(number) if number.isdigit() else None),
        "workflow_id": opts.workflow_id or (workflow_file if workflow_file.endswith((".yml", ".yaml")) else None),
    }


def failure(ctx: JobContext, opts: FailureOptions) -> JobResult:
    """Open, append to or (``recovered``) close the "<workflow>/<job> failing" issue; with a
    ``conclusion``, what that conclusion means (conclusion.py) decides which."""
    _check_paths(ctx, opts)
    cfg = _config(ctx, opts)
    # Off GitHub (a laptop), the workflow named after the job: every caller workflow in ops-template is
    # (one name per job), so a failure reported or closed by hand lands on the issue CI uses.
    workflow = opts.workflow or opts.environ.get("GITHUB_WORKFLOW", "").strip() or opts.job
    if opts.reason is not None and not opts.drill:
        raise ConfigError("--reason: only with --drill (a drill's reason; a real failure has none)")
    if opts.recovered and opts.conclusion not in (None, "success"):
        raise ConfigError(f"--recovered with --conclusion {opts.conclusion}: a recovery is a success")
    reason = drill_mod.check_reason(opts.reason) if opts.reason is not None else None
    meaning = conclusion_mod.meaning(opts.conclusion or ("success" if opts.recovered else "failure"))
    repo = _repo(opts)
    api = _client(opts, repo, cfg)
    links = replace(_links(opts, repo), drill_reason=reason)
    run = _env_run(opts)
    f = Failure(
        workflow,
        opts.job,
        links.run_url,
        title=opts.title,
        drill=opts.drill,
        sha=run["sha"],
        attempt=run["attempt"],
        event=run["event"],
        failed_jobs=tuple(dict.fromkeys(opts.failed_jobs)),
        branch=run["branch"],
        actor=run["actor"],
        conclusion=opts.conclusion if meaning.counts_as == conclusion_mod.FAILURE else None,
        ack=opts.ack,
    )
    cache = Cache.load(ctx.workspace, opts.cache, repo, dry_run=opts.dry_run)
    inbox = Inbox(api, cache, cfg, now=ctx.now, links=links, drill=opts.drill)
    # a failure issue pages only when it escalates, through `pager` below
    settings = _mirror_settings(cfg, opts, webhook=False, pagerduty=False)
    pages: list[dict] = []

    def pager(event, action: str) -> dict:
        return _page(pages, event, action, settings, repo)

    counted, verdict, newer = meaning.counts_as, "", None
    error = None
    try:
        if opts.conclusion == "cancelled":
            newer, verdict = _superseded(ctx, api, run)
            if newer is not None:
                counted = conclusion_mod.NOT_COUNTED
                report_not_counted(inbox, f, verdict)
        elif counted == conclusion_mod.NOT_COUNTED:
            verdict = f"{meaning.said}: {meaning.why}."
        if counted == conclusion_mod.RECOVERY:
            report_recovery(inbox, f, pager=pager)
        elif counted == conclusion_mod.FAILURE:
            report_failure(inbox, f, cfg.failure_labels, pager=pager)
    except GitHubError as exc:
        error = exc
    finally:
        api.close()
    mirror_results = pages + mirrors_mod.dispatch(inbox.outcome.events, settings, repo=repo, now=ctx.now)
    figures = {
        "workflow": workflow,
        "failing_job": opts.job,
        "failed_jobs": list(f.failed_jobs),
        "recovered": counted == conclusion_mod.RECOVERY,
        "drill": opts.drill,
        "fingerprint": f.fingerprint,
        "conclusion": opts.conclusion,
        "counted_as": counted,
        "branch": f.branch,
        "actor": f.actor,
        **({"superseded_by": newer.get("html_url")} if newer else {}),
        **({"verdict": verdict} if verdict else {}),
        **({"drill_reason": reason} if reason else {}),
    }
    return _finish(ctx, opts, api, inbox, mirror_results, repo, error, figures, "report-failure")


def _superseded(ctx: JobContext, api, run: dict) -> tuple[dict | None, str]:
    """A cancelled run: the newer run of its workflow on its branch that superseded it, if any, and
    what the summary and the issue say about it."""
    missing = [
        name
        for name, key in (("--branch", "branch"), ("--run-number", "run_number"), ("--workflow-id", "workflow_id"))
        if not run.get(key)
    ]
    if missing:
        return None, (
            f"was cancelled; counted as a failure: whether a newer run superseded it needs {', '.join(missing)}."
        )
    newer = conclusion_mod.newer_run(api, run["workflow_id"], run["branch"], run["run_number"], run.get("event"))
    if newer is None:
        return None, "was cancelled with no newer run on its branch: counted as a failure."
    link = newer.get("html_url")
    number = f"#{newer.get('run_number')}"
    shown = f"[{number}]({link})" if isinstance(link, str) and LINKABLE.fullmatch(link) else number
    return newer, (
        f"was cancelled because a newer run ({shown}) on branch {user_text(run['branch'], 100)} superseded it: "
        "not counted; the newer run decides."
    )


@dataclass(frozen=True)
class DrillOptions(InboxOptions):
    job: str = "latency"  # which scheduled job's alert path (observability/alerts/drill.py SPECS)
    reason: str | None = None  # why the drill runs (user text, shown inertly in the issue); None: the default
    scratch: str | None = None  # keep the scratch workspace here (default: a temporary directory, removed)
    mirrors: bool = True
    # Runs a real job in the scratch workspace: the CLI hands it in (cli/alerts.py), so the drill runs
    # the latency, weekly, dashboard and verify jobs without importing them.
    run_job: drill_mod.RunJob | None = field(default=None, repr=False)


def drill(ctx: JobContext, opts: DrillOptions) -> JobResult:
    """One job's alert drill (observability/alerts/drill.py) in a scratch workspace; real state untouched."""
    import shutil
    from contextlib import ExitStack

    from observability.workspace import Workspace

    spec = drill_mod.SPECS.get(opts.job)
    if spec is None:
        raise ConfigError(f"--job {opts.job}: unknown (drills: {', '.join(drill_mod.JOBS)})")
    reason = drill_mod.check_reason(opts.reason)
    if opts.run_job is None:
        raise ConfigError("alerts drill: this caller gave the drill no job to run")
    cfg = _config(ctx, opts)
    repo = _repo(opts)
    api = _client(opts, repo, cfg)
    links = replace(_links(opts, repo), drill_reason=reason)
    scratch = drill_mod.scratch_dir(opts.scratch)
    steps = [DrillStep(step.expected) for step in spec.steps]
    mirror_results: list[dict] = []
    error = None
    scene = None
    try:
        with ExitStack() as stack:
            sws = Workspace(scratch.resolve())
            sws.ensure_writable()
            scene = drill_mod.Scene(sws, ctx.now, opts.run_job)
            if spec.receiver:
                scene.receiver = stack.enter_context(drill_mod.DrillReceiver())
                scene.environ.update(
                    {
                        drill_mod.WEEKLY_URL_ENV: scene.receiver.url,
                        drill_mod.WEEKLY_SECRET_ENV: drill_mod.webhook_secret(),
                    }
                )
            cache = Cache.load(sws, DEFAULT_PATH, repo, dry_run=opts.dry_run)
            inbox = Inbox(api, cache, cfg, now=ctx.now, links=links, drill=True)
            source = next(s for s in sources_mod.builtin(cfg.owner, cfg.runbook) if s.name == spec.source)
            settings = _mirror_settings(cfg, opts)
            for number, (step, checked) in enumerate(zip(spec.steps, steps, strict=True), 1):
                # The job's own stderr follows (a refused delivery, a failed dataset): say it is the drill's.
                ctx.note(f"drill step {number}/{len(steps)} (scratch workspace): {step.does}")
                step.act(scene)
                done, events = len(inbox.outcome.actions), len(inbox.outcome.events)
                try:
                    inbox.sync([source.collect(sws)])
                finally:
                    checked.actions = [a["action"] for a in inbox.outcome.actions[done:]]
                    if opts.mirrors:
                        mirror_results += mirrors_mod.dispatch(
                            inbox.outcome.events[events:], settings, repo=repo, now=ctx.now
                        )
    except GitHubError as exc:
        error = exc
    finally:
        api.close()
        if not opts.scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    for checked in steps:  # a drill issue left from an earlier drill is reopened instead of opened
        if checked.expected == "opened" and checked.actions == ["reopened"]:
            checked.actions = ["opened"]
    passed = error is None and all(s.passed for s in steps)
    figures = {
        "drill": True,
        "drill_job": spec.job,
        "drill_reason": reason,
        "drilled": spec.drills,
        "passed": passed,
        "scratch": str(scratch) if opts.scratch else None,
        "steps": [
            {"does": step.does, "expected": s.expected or "nothing", "actions": s.actions}
            for step, s in zip(spec.steps, steps, strict=True)
        ],
        "job_runs": scene.runs if scene else [],
    }
    result = _finish(ctx, opts, api, inbox, mirror_results, repo, error, figures, "drill")
    if error is None and not passed:
        result.failed = True
        result.diagnostics.update(
            error_code="drill_failed",
            error_message="drill transitions were "
            + "; ".join(
                f"{s.expected or 'nothing'}: {', '.join(s.actions) or 'nothing'}" for s in steps if not s.passed
            ),
        )
    return result


@dataclass
class DrillStep:
    """What one drill step caused in the inbox, against the one action it expects."""

    expected: str
    actions: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.actions == ([self.expected] if self.expected else [])

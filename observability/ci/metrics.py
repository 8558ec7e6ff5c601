"""``observability ci metrics``: one trend entry per CI run (coverage, tests, formatters) and the
coverage-drop alert (docs/ci.md, "CI metrics").

The history (``ops/ci/ci_metrics.json``, schemas/ci_metrics.schema.json) holds one entry per run
attempt, oldest first: a replay of the same run id and attempt replaces its entry in place. The
alert's current state is rewritten to ``ops/ci_alerts.json``, an alert file the inbox reads.
"""

from __future__ import annotations

import os
import re
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from observability import alertitem, clock, fsio, markdown, schemas
from observability.ci import xmlreports
from observability.config import resolve
from observability.config.ci import CI_CONFIG, CiConfig, load_ci
from observability.errors import ConfigError, InputError, SchemaError
from observability.runtime import JobContext, JobResult
from observability.workspace import Workspace

METRICS_FILE = "ops/ci/ci_metrics.json"
ALERTS_FILE = "ops/ci_alerts.json"  # an alert file (docs/alerts.md, "Alert sources"): ops/*_alerts.json
SCHEMA = "ci_metrics"
RULE = "coverage_drop"
CONCLUSIONS = (
    "success",
    "failure",
    "cancelled",
    "timed_out",
    "skipped",
    "neutral",
    "action_required",
    "startup_failure",
    "stale",
    "unknown",
)
MODES = ("enforced", "advisory")
RESULTS = ("pass", "fail")
RUN_ID_RE = re.compile(r"[0-9A-Za-z_.-]{1,64}")
SHA_RE = re.compile(r"[0-9a-f]{7,64}")
TOOL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}")


@dataclass(frozen=True)
class Identity:
    """The CI run an entry describes: GitHub's environment, each field overridable by an option."""

    run_id: str
    run_attempt: int
    run_url: str | None
    commit: str | None
    branch: str | None


@dataclass(frozen=True)
class Formatter:
    name: str
    mode: str
    result: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "mode": self.mode, "result": self.result}


@dataclass(frozen=True)
class MetricsOptions:
    coverage_xml: str | None = None
    junit_xml: str | None = None
    formatters: tuple[Formatter, ...] = ()
    run_id: str | None = None
    run_attempt: int | None = None
    run_url: str | None = None
    commit: str | None = None
    branch: str | None = None
    conclusion: str | None = None
    config: str | None = None


def formatters(names: tuple[str, ...], modes: tuple[str, ...], results: tuple[str, ...]) -> tuple[Formatter, ...]:
    """``--formatter``, ``--formatter-mode`` and ``--formatter-result`` paired in the order given."""
    if not (len(names) == len(modes) == len(results)):
        raise ConfigError(
            f"--formatter given {len(names)} time(s), --formatter-mode {len(modes)}, --formatter-result "
            f"{len(results)}: give each once per tool, in the same order"
        )
    seen: set[str] = set()
    for name in names:
        if not TOOL_RE.fullmatch(name):
            raise ConfigError(f"--formatter {name[:80]!r}: 1 to 64 letters, digits, '_', '.', '+' or '-'")
        if name in seen:
            raise ConfigError(f"--formatter {name!r}: given twice")
        seen.add(name)
    return tuple(Formatter(n, m, r) for n, m, r in zip(names, modes, results, strict=True))


def _branch_of(environ: Mapping[str, str]) -> str | None:
    # A pull request's GITHUB_REF_NAME is "<n>/merge": its head branch says more.
    return environ.get("GITHUB_HEAD_REF") or environ.get("GITHUB_REF_NAME") or None


def identity(opts: MetricsOptions, environ: Mapping[str, str] = os.environ) -> Identity:
    """The run an entry is for. Given ``--run-id`` (another run: a ``workflow_run`` workflow recording the
    run it follows), only the options describe it; otherwise the environment's run does: GITHUB_RUN_ID,
    GITHUB_RUN_ATTEMPT, GITHUB_SHA, GITHUB_HEAD_REF/GITHUB_REF_NAME and the URL from GITHUB_SERVER_URL and
    GITHUB_REPOSITORY, each overridden by its option."""
    own = not opts.run_id  # the environment describes its own run, never another
    run_id = opts.run_id or environ.get("GITHUB_RUN_ID", "").strip()
    if not run_id:
        raise ConfigError("no run id: pass --run-id (GITHUB_RUN_ID is not set: not a GitHub Actions run)")
    if not RUN_ID_RE.fullmatch(run_id):
        raise ConfigError(f"--run-id {run_id[:80]!r}: 1 to 64 letters, digits, '_', '.' or '-'")
    attempt = opts.run_attempt
    if attempt is None:
        raw = environ.get("GITHUB_RUN_ATTEMPT", "").strip() if own else ""
        attempt = int(raw) if raw.isdigit() and int(raw) >= 1 else 1
    url = opts.run_url
    if url is None and own:
        server = environ.get("GITHUB_SERVER_URL", "https://github.com")
        repo = environ.get("GITHUB_REPOSITORY")
        url = f"{server}/{repo}/actions/runs/{run_id}" if repo else None
    if url is not None and not re.fullmatch(r"https?://[^\s]{1,490}", url):
        raise ConfigError(f"--run-url {url[:80]!r}: an http(s) URL without spaces")
    commit = (opts.commit or (environ.get("GITHUB_SHA", "") if own else "")).strip().lower() or None
    if commit is not None and not SHA_RE.fullmatch(commit):
        raise ConfigError(f"--commit {commit[:80]!r}: a commit SHA (7 to 64 hex digits)")
    branch = opts.branch or (_branch_of(environ) if own else None)
    if branch is not None and (len(branch) > 255 or not branch.isprintable() or not branch.strip()):
        raise ConfigError("--branch: a branch name (printable, at most 255 characters)")
    return Identity(run_id, attempt, url, commit, branch)


def load_history(ws: Workspace) -> list[dict[str, Any]]:
    """The entries of ops/ci/ci_metrics.json ([] when there is none); a damaged file is an InputError."""
    path = ws.path(METRICS_FILE)
    doc = fsio.read_json(path, default=None, what="CI metrics history", display=METRICS_FILE)
    if doc is None:
        return []
    try:
        schemas.validate(SCHEMA, doc, what=METRICS_FILE)
    except SchemaError as exc:
        raise InputError(
            f"{exc.message}; move it aside to start a new history (the state store keeps earlier snapshots)"
        ) from None
    return list(doc["entries"])


def upsert(entries: list[dict[str, Any]], entry: dict[str, Any], limit: int) -> tuple[list[dict[str, Any]], bool]:
    """``entries`` with ``entry`` in place of the one for the same run id and attempt (a replay), else
    appended; the oldest dropped past ``limit``. Returns the list and whether an entry was replaced."""
    key = (entry["run_id"], entry["run_attempt"])
    replaced = any((e["run_id"], e["run_attempt"]) == key for e in entries)
    out = [entry if (e["run_id"], e["run_attempt"]) == key else e for e in entries]
    if not replaced:
        out.append(entry)
    return out[-limit:], replaced


def baseline(entries: list[dict[str, Any]], index: int, cfg: CiConfig) -> float | None:
    """The coverage baseline of entry ``index``: the median line coverage of up to ``baseline_runs``
    default-branch entries before it (never another attempt of its own run); None when there are none."""
    run_id = entries[index]["run_id"]
    earlier = [
        e["coverage"]["line_pct"]
        for e in entries[:index]
        if e.get("branch") == cfg.default_branch and e.get("coverage") and e["run_id"] != run_id
    ]
    chosen = earlier[-cfg.baseline_runs :]
    return round(statistics.median(chosen), 2) if chosen else None


def _conclusion(given: str | None, tests: xmlreports.Tests | None) -> str:
    if given:
        return given
    if tests is None:
        return "unknown"
    return "failure" if tests.failed or tests.errors else "success"


def _previous_alerts(ws: Workspace, ctx: JobContext) -> dict[str, dict[str, Any]]:
    path = ws.path(ALERTS_FILE)
    try:
        doc = fsio.read_json(path, default=None, what="CI alerts", display=ALERTS_FILE)
    except InputError as exc:
        ctx.warn(f"{exc.message}; rewritten from this run")
        return {}
    items = doc.get("alerts") if isinstance(doc, dict) else None
    return {i["id"]: i for i in items or [] if isinstance(i, dict) and isinstance(i.get("id"), str)}


def evaluate(
    entries: list[dict[str, Any]], cfg: CiConfig, previous: dict[str, dict[str, Any]], now: str
) -> list[dict[str, Any]] | None:
    """The coverage-drop alert items after this run, judged on the newest default-branch entry with
    coverage: firing while its line coverage is more than the threshold below its baseline, resolved on
    the first run that is not. None when there is nothing to judge (no such entry, or no baseline yet):
    the alert file is then left as it is."""
    newest = next(
        (
            i
            for i in range(len(entries) - 1, -1, -1)
            if entries[i].get("branch") == cfg.default_branch and entries[i].get("coverage")
        ),
        None,
    )
    if newest is None:
        return None
    entry = entries[newest]
    base = baseline(entries, newest, cfg)
    if base is None:
        return None
    current = entry["coverage"]["line_pct"]
    delta = round(current - base, 2)
    alert_id = alertitem.fingerprint("ci", RULE, cfg.default_branch)
    before = previous.get(alert_id, {})
    was_firing = before.get("status") == "firing"
    evidence = {
        "run_id": entry["run_id"],
        "run_attempt": entry["run_attempt"],
        "run_url": entry.get("run_url"),
        "commit": entry.get("commit"),
        "line_pct": current,
        "baseline_pct": base,
        "delta_pct": delta,
        "threshold_pct": cfg.coverage_drop_threshold_pct,
    }
    if -delta > cfg.coverage_drop_threshold_pct:
        same_run = was_firing and (before.get("evidence") or {}).get("run_id") == entry["run_id"]
        streak = int(before.get("breach_streak") or 0) if same_run else int(before.get("breach_streak") or 0) + 1
        count = int(before.get("breach_count") or 0) if same_run else int(before.get("breach_count") or 0) + 1
        if not was_firing:
            streak = count = 1
        return [
            alertitem.item(
                id=alert_id,
                rule=RULE,
                source=cfg.default_branch,
                severity="warning",
                status="firing",
                message=(
                    f"line coverage on {cfg.default_branch} fell to {current:.2f}%, {-delta:.2f} points below "
                    f"its baseline {base:.2f}% (threshold {cfg.coverage_drop_threshold_pct:g} point(s))"
                ),
                owner=cfg.owner,
                next_action=(
                    f"compare run {entry['run_id']} with the runs before it (coverage report per file), then add "
                    f"the missing tests or accept the new baseline; see {cfg.runbook}"
                ),
                started_at=before.get("started_at") if was_firing else now,
                last_breach_at=now,
                breach_streak=streak,
                breach_count=count,
                evidence=evidence,
                runbook=cfg.runbook,
            )
        ]
    if was_firing:
        return [
            {
                **before,
                "status": "resolved",
                "resolved_at": now,
                "breach_streak": 0,
                "message": f"line coverage on {cfg.default_branch} is back to {current:.2f}% (baseline {base:.2f}%)",
                "evidence": evidence,
            }
        ]
    return []


def run_metrics(ctx: JobContext, opts: MetricsOptions, environ: Mapping[str, str] = os.environ) -> JobResult:
    """Ingest one CI run's reports into the history, judge coverage against the baseline."""
    ws = ctx.workspace
    path, display = resolve(ws, opts.config, CI_CONFIG)
    cfg = load_ci(path, display=display)
    if opts.conclusion is not None and opts.conclusion not in CONCLUSIONS:
        raise ConfigError(f"--conclusion {opts.conclusion[:40]!r}: one of {', '.join(CONCLUSIONS)}")
    who = identity(opts, environ)
    coverage = tests = None
    inputs = []
    if opts.coverage_xml:
        cov_path = ws.path(opts.coverage_xml)
        coverage = xmlreports.coverage(cov_path, display=ws.rel(cov_path))
        inputs.append(ws.rel(cov_path))
    if opts.junit_xml:
        junit_path = ws.path(opts.junit_xml)
        tests = xmlreports.junit(junit_path, display=ws.rel(junit_path))
        inputs.append(ws.rel(junit_path))
    now = clock.iso(ctx.now)
    entries = load_history(ws)
    entry: dict[str, Any] = {
        "run_id": who.run_id,
        "run_attempt": who.run_attempt,
        "run_url": who.run_url,
        "commit": who.commit,
        "branch": who.branch,
        "conclusion": _conclusion(opts.conclusion, tests),
        "recorded_at": now,
        "job_id": ctx.job_id,
        "coverage": coverage.as_dict() if coverage else None,
        "tests": tests.as_dict() if tests else None,
        "formatters": [f.as_dict() for f in opts.formatters],
    }
    entries, replaced = upsert(entries, entry, cfg.history_limit)
    index = next((i for i, e in enumerate(entries) if e is entry), None)  # None: a replay older than the bound
    if coverage is not None and index is not None:
        base = baseline(entries, index, cfg)
        entry["coverage"]["baseline_pct"] = base
        entry["coverage"]["delta_pct"] = None if base is None else round(coverage.line_pct - base, 2)
    document = {"version": 1, "entries": entries}
    schemas.validate(SCHEMA, document, what=f"{METRICS_FILE} (as written by this run)")
    target = ws.path(METRICS_FILE)
    target.parent.mkdir(parents=True, exist_ok=True)
    fsio.atomic_write_json(target, document)
    ctx.artefact(target)
    if replaced:
        ctx.note(f"run {who.run_id} attempt {who.run_attempt} was already recorded: its entry is replaced")

    previous = _previous_alerts(ws, ctx)
    alerts = evaluate(entries, cfg, previous, now)
    if alerts is not None:
        alerts_path = ws.path(ALERTS_FILE)
        fsio.atomic_write_json(alerts_path, {"job_id": ctx.job_id, "generated_at": now, "alerts": alerts})
        ctx.artefact(alerts_path)
    firing = [a for a in alerts or [] if a["status"] == "firing"]
    findings = [RULE] if firing else []
    failing_formatters = [f.name for f in opts.formatters if f.mode == "enforced" and f.result == "fail"]
    figures = {
        "run_id": who.run_id,
        "run_attempt": who.run_attempt,
        "replaced": replaced,
        "entries": len(entries),
        "coverage": entry["coverage"],
        "tests": {k: v for k, v in (entry["tests"] or {}).items() if k != "slowest"} or None,
        "formatters": entry["formatters"],
        "conclusion": entry["conclusion"],
    }
    return JobResult(
        figures=figures,
        alerts=alerts or [],
        findings=findings,
        diagnostics={"inputs": inputs, **({"formatters_failing": failing_formatters} if failing_formatters else {})},
        summary_markdown=_summary(entry, firing, replaced),
        outputs={
            "line-coverage": "" if coverage is None else f"{coverage.line_pct:.2f}",
            "coverage-alert": "firing" if firing else "ok",
        },
    )


def _summary(entry: dict[str, Any], firing: list[dict[str, Any]], replaced: bool) -> str:
    cov, tests = entry["coverage"], entry["tests"]
    run = f"[{entry['run_id']}]({entry['run_url']})" if entry["run_url"] else f"`{entry['run_id']}`"
    lines = [
        "## CI metrics",
        "",
        f"Run {run} attempt {entry['run_attempt']} on `{markdown.cell(entry['branch'] or 'unknown branch')}`: "
        f"**{entry['conclusion']}**" + (" (replaces the entry recorded before)" if replaced else "") + ".",
        "",
        "| metric | value |",
        "| --- | --- |",
    ]
    if cov:
        base = cov.get("baseline_pct")
        versus = (
            f" (baseline {base:.2f}%, {cov['delta_pct']:+.2f} points)" if base is not None else " (no baseline yet)"
        )
        lines.append(f"| line coverage | {cov['line_pct']:.2f}%{versus} |")
        if cov.get("branch_pct") is not None:
            lines.append(f"| branch coverage | {cov['branch_pct']:.2f}% |")
    else:
        lines.append("| coverage | not given |")
    if tests:
        lines.append(
            f"| tests | {tests['total']} ({tests['passed']} passed, {tests['failed']} failed, {tests['errors']} errors, "
            f"{tests['skipped']} skipped) in {tests['duration_seconds']:.1f} s |"
        )
    for f in entry["formatters"]:
        lines.append(f"| {markdown.cell(f['name'])} ({f['mode']}) | {f['result']} |")
    for alert in firing:
        lines += ["", f"⚠️ **{markdown.cell(alert['message'])}**"]
    return "\n".join(lines) + "\n"

"""``observability ci health``: the CI health snapshot (seed 003's docs/status/ci_health.md) from what
the other CI commands and the alert inbox left in the workspace (docs/ci.md, "CI health page").

Every input is optional: a missing one is said in its section, a damaged one is a warning naming
it, and the page is still written (Markdown for people, a JSON twin for the status site).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from observability import clock, fsio, markdown, schemas
from observability.ci import metrics
from observability.config import resolve
from observability.config.ci import CI_CONFIG, CiConfig, load_ci
from observability.errors import ObservabilityError
from observability.outputs import alertinbox
from observability.outputs.cihealth import SCHEMA, SNAPSHOT_JSON, SNAPSHOT_MD
from observability.runtime import JobContext, JobResult
from observability.workspace import Workspace

DEFAULT_OUT = "out/ci/ci_health.md"
LOG_ARTIFACT = "pytest-log"  # the artifact the CI workflow uploads (seed 003): the full test log


@dataclass(frozen=True)
class HealthOptions:
    out: str | None = None
    config: str | None = None


def _history(ws: Workspace, ctx: JobContext) -> tuple[list[dict[str, Any]], str]:
    try:
        entries = metrics.load_history(ws)
    except ObservabilityError as exc:
        ctx.warn(f"{exc.message}; the page shows no metrics")
        return [], "malformed"
    return entries, "ok" if entries else "absent"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _flakes(ws: Workspace, ctx: JobContext, cfg: CiConfig) -> dict[str, Any]:
    """The flake digest's top tests (``observability ci flakes``), or why there are none."""
    path = ws.path(cfg.flake_digest)
    try:
        doc = fsio.read_json(path, default=None, what="flake digest", display=ws.rel(path))
    except ObservabilityError as exc:
        ctx.warn(f"{exc.message}; the page lists no flaky tests")
        return {"status": "malformed", "path": ws.rel(path), "tests": []}
    if doc is None:
        return {"status": "absent", "path": ws.rel(path), "tests": []}
    tests = doc.get("tests") if isinstance(doc, dict) else None
    if not isinstance(tests, list):
        ctx.warn(f"{ws.rel(path)}: field tests: expected a list of tests; the page lists no flaky tests")
        return {"status": "malformed", "path": ws.rel(path), "tests": []}
    rows = []
    for index, test in enumerate(tests):
        if not isinstance(test, dict) or not isinstance(test.get("nodeid"), str):
            ctx.warn(f"{ws.rel(path)}: field tests[{index}].nodeid: expected a string; that test is left out")
            continue
        rate, failures = _number(test.get("flake_rate")), _number(test.get("failures"))
        flaky = test.get("flaky")
        if not (flaky or (rate or 0) > 0):
            continue
        rows.append(
            {
                "nodeid": test["nodeid"][:300],
                "flake_rate": rate,
                "failures": int(failures) if failures is not None else None,
                "flaky": int(flaky) if isinstance(flaky, int) and not isinstance(flaky, bool) else bool(flaky),
                "first_seen": test.get("first_seen") if isinstance(test.get("first_seen"), str) else None,
                "last_seen": test.get("last_seen") if isinstance(test.get("last_seen"), str) else None,
                "last_run_url": _url(test.get("last_run_url")),
            }
        )
    rows.sort(key=lambda r: (-(r["flake_rate"] or 0), -(r["failures"] or 0), r["nodeid"]))
    return {"status": "ok", "path": ws.rel(path), "tests": rows[: cfg.top_flaky]}


def _url(value: Any) -> str | None:
    return value if isinstance(value, str) and value.startswith(("https://", "http://")) and " " not in value else None


def _issues(ws: Workspace, ctx: JobContext, cfg: CiConfig) -> dict[str, Any]:
    """The open CI failure issue (and open CI alert issues) the alert inbox's cache knows: the failure
    issue titled ``health.failure_issue_title``, not another job's (a failing latency or weekly run)."""
    path = ws.path(alertinbox.CACHE_PATH)
    try:
        doc = fsio.read_json(path, default=None, what="alert inbox cache", display=alertinbox.CACHE_PATH)
    except ObservabilityError as exc:
        ctx.warn(f"{exc.message}; the page names no failure issue")
        return {"status": "malformed", "open": []}
    if doc is None:
        return {"status": "absent", "open": []}
    issues = doc.get("issues") if isinstance(doc, dict) else None
    if not isinstance(issues, dict):
        ctx.warn(f"{alertinbox.CACHE_PATH}: field issues: expected an object; the page names no failure issue")
        return {"status": "malformed", "open": []}
    found = []
    for fp, entry in sorted(issues.items()):
        if not isinstance(entry, dict) or entry.get("state") != "open" or entry.get("drill"):
            continue
        kind = entry.get("kind")
        ci_failure = kind == "failure" and entry.get("title") == cfg.failure_issue_title
        if not ci_failure and not (kind == "alert" and entry.get("origin") == "ci"):
            continue
        found_last = entry.get("last_failure")
        last: dict[str, Any] = found_last if isinstance(found_last, dict) else {}
        found.append(
            {
                "fingerprint": fp,
                "kind": kind,
                "number": entry["number"] if isinstance(entry.get("number"), int) else None,
                "title": str(entry.get("title") or ""),
                "url": _url(entry.get("html_url")),
                "failures": entry.get("failures") if isinstance(entry.get("failures"), int) else None,
                "since": _text(entry.get("started_at") or entry.get("opened_at")),
                "last_run_url": _url(last.get("run_url")),
            }
        )
    return {"status": "ok", "open": found}


def _formatters(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per tool over ``entries`` (oldest first): its mode now, since when, and its results."""
    tools: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for entry in entries:
        for f in entry.get("formatters") or []:
            tools.setdefault(f["name"], []).append((entry, f))
    rows = []
    for name, seen in sorted(tools.items()):
        mode = seen[-1][1]["mode"]
        since = seen[-1][0]
        for entry, f in reversed(seen):
            if f["mode"] != mode:
                break
            since = entry
        passes = sum(1 for _, f in seen if f["result"] == "pass")
        rows.append(
            {
                "name": name,
                "mode": mode,
                "mode_since": since["recorded_at"],
                "last_result": seen[-1][1]["result"],
                "runs": len(seen),
                "passes": passes,
                "history": [f["mode"][0] + ("+" if f["result"] == "pass" else "-") for _, f in seen],
            }
        )
    return rows


def gather(ctx: JobContext, cfg: CiConfig) -> dict[str, Any]:
    """The snapshot as data (schemas/ci_health.schema.json): what the page and the JSON twin show."""
    ws = ctx.workspace
    entries, history_status = _history(ws, ctx)
    latest = entries[-1] if entries else None
    default = [e for e in entries if e.get("branch") == cfg.default_branch]
    trend = default[-cfg.trend_runs :]
    # the baseline the alert judges by: that of the newest default-branch entry with coverage
    judged = [i for i, e in enumerate(entries) if e.get("branch") == cfg.default_branch and e.get("coverage")]
    baseline = metrics.baseline(entries, judged[-1], cfg) if judged else None
    earlier = [i for i in judged[:-1] if entries[i]["run_id"] != entries[judged[-1]]["run_id"]] if judged else []
    return {
        "version": 1,
        "generated_at": clock.iso(ctx.now),
        "job_id": ctx.job_id,
        "default_branch": cfg.default_branch,
        "history": {"status": history_status, "path": metrics.METRICS_FILE, "entries": len(entries)},
        "latest": None
        if latest is None
        else {
            k: latest.get(k)
            for k in ("run_id", "run_attempt", "run_url", "commit", "branch", "conclusion", "recorded_at")
        },
        "coverage": {
            "baseline_pct": baseline,
            "baseline_runs": min(len(earlier), cfg.baseline_runs) if baseline is not None else 0,
            "latest_pct": entries[judged[-1]]["coverage"]["line_pct"] if judged else None,
            "threshold_pct": cfg.coverage_drop_threshold_pct,
            "trend": [
                {
                    "run_id": e["run_id"],
                    "run_attempt": e["run_attempt"],
                    "run_url": e.get("run_url"),
                    "recorded_at": e["recorded_at"],
                    "line_pct": (e.get("coverage") or {}).get("line_pct"),
                    "branch_pct": (e.get("coverage") or {}).get("branch_pct"),
                    "tests_failed": None if not e.get("tests") else e["tests"]["failed"] + e["tests"]["errors"],
                    "conclusion": e["conclusion"],
                }
                for e in trend
            ],
        },
        "formatters": _formatters(entries[-cfg.trend_runs :]),
        "flaky": _flakes(ws, ctx, cfg),
        "failure_issues": _issues(ws, ctx, cfg),
        "where_to_look": _where_to_look(entries, cfg),
    }


# A run whose log the on-call reads; not a cancelled one (mostly superseded by a newer push: nothing to read).
FAILING = ("failure", "timed_out", "startup_failure")


def _where_to_look(entries: list[dict[str, Any]], cfg: CiConfig) -> list[dict[str, str | None]]:
    # The newest run that did not succeed, not the newest run: after a green run the log to read is
    # that of the failure before it (a green run's log explains nothing).
    failing = next((e for e in reversed(entries) if e.get("conclusion") in FAILING), None)
    run_url = failing.get("run_url") if failing else None
    if failing is None:
        which = "of a failing run (none recorded: no run failed)"
    else:
        which = f"of the newest failing run, {failing['run_id']} ({failing['conclusion'].replace('_', ' ')})"
    return [
        {
            "what": f"the `{LOG_ARTIFACT}` artifact {which} (the full pytest log; the step summary has its tail)",
            "url": f"{run_url}#artifacts" if run_url else None,
        },
        {"what": "the open CI failure issue: every failing run, first and last, with links", "url": None},
        {"what": "the flaky tests above: a known flake is rerun, not debugged first", "url": None},
        {"what": f"the runbook: {cfg.runbook} (and docs/alerts.md for the failure issue)", "url": None},
    ]


STATUS_ICON = {"success": "✅", "failure": "❌", "timed_out": "⏱️", "cancelled": "⏹️"}


def render(doc: dict[str, Any]) -> str:
    """The page in Markdown (the step summary and out/ci/ci_health.md)."""
    lines = ["# CI health", "", f"_Generated {doc['generated_at']} by `observability ci health`._", ""]
    lines += ["## Latest pipeline status", ""]
    latest = doc["latest"]
    if latest is None:
        lines.append(
            f"_No CI metrics recorded ({doc['history']['path']} {doc['history']['status']}): "
            "run `observability ci metrics` in the CI workflow._"
        )
    else:
        icon = STATUS_ICON.get(latest["conclusion"], "❔")
        run = f"[run {latest['run_id']}]({latest['run_url']})" if latest["run_url"] else f"run `{latest['run_id']}`"
        commit = f" at `{latest['commit'][:12]}`" if latest["commit"] else ""
        branch = f" on `{markdown.cell(latest['branch'])}`" if latest["branch"] else ""
        lines.append(
            f"{icon} **{latest['conclusion']}** — {run} attempt {latest['run_attempt']}{branch}{commit}, "
            f"recorded {latest['recorded_at']}."
        )
    lines += ["", "## Coverage baseline and trend", ""]
    cov = doc["coverage"]
    if cov["latest_pct"] is None:
        lines.append(f"_No coverage recorded on `{markdown.cell(doc['default_branch'])}` yet._")
    elif cov["baseline_pct"] is None:
        lines.append(
            f"Latest line coverage {cov['latest_pct']:.2f}%; no baseline yet (it needs an earlier run on "
            f"`{markdown.cell(doc['default_branch'])}`)."
        )
    else:
        lines.append(
            f"Baseline **{cov['baseline_pct']:.2f}%** (median of the last {cov['baseline_runs']} run(s) on "
            f"`{markdown.cell(doc['default_branch'])}` before the latest), latest {cov['latest_pct']:.2f}%; the "
            f"alert fires more than {cov['threshold_pct']:g} point(s) below the baseline."
        )
    trend = cov["trend"]
    if trend:
        labels = _labels([t["recorded_at"] for t in trend])
        lines += [""]
        lines += markdown.xychart(
            labels,
            {
                "line coverage %": [t["line_pct"] for t in trend],
                "branch coverage %": [t["branch_pct"] for t in trend],
            },
            y_label="coverage %",
            x_label="run (UTC day)",
            unit="%",
            decimals=1,
            threshold=None if cov["baseline_pct"] is None else round(cov["baseline_pct"] - cov["threshold_pct"], 2),
            threshold_name="alert below",
        )
        rows = [
            "| run | recorded | conclusion | line % | branch % | failed tests |",
            "| --- | --- | --- | ---: | ---: | ---: |",
        ]
        for label, t in zip(labels, trend, strict=True):
            run = f"[{t['run_id']}]({t['run_url']})" if t["run_url"] else t["run_id"]
            rows.append(
                f"| {label}: {run} | {t['recorded_at']} | {t['conclusion']} | {_pct(t['line_pct'])} | "
                f"{_pct(t['branch_pct'])} | {'—' if t['tests_failed'] is None else t['tests_failed']} |"
            )
        lines += ["", *markdown.details(f"The last {len(trend)} run(s)", rows)]
    lines += ["", "## Formatter rollout", ""]
    if not doc["formatters"]:
        lines.append("_No formatter or linter results recorded (`ci metrics --formatter`)._")
    else:
        lines += [
            "| tool | mode | since | last result | passed | recent runs (oldest first) |",
            "| --- | --- | --- | --- | ---: | --- |",
        ]
        for f in doc["formatters"]:
            lines.append(
                f"| {markdown.cell(f['name'])} | {f['mode']} | {f['mode_since']} | {f['last_result']} | "
                f"{f['passes']}/{f['runs']} | `{' '.join(f['history'])}` |"
            )
        lines.append("")
        lines.append("_Recent runs: `e`/`a` enforced/advisory, `+` passed, `-` failed._")
    lines += ["", "## Top flaky tests", ""]
    flaky = doc["flaky"]
    if flaky["status"] == "absent":
        lines.append(f"_No flake digest ({flaky['path']} not found): `observability ci flakes` writes it._")
    elif flaky["status"] == "malformed":
        lines.append(
            f"_The flake digest {flaky['path']} is malformed (see the run's warnings): no flaky tests listed._"
        )
    elif not flaky["tests"]:
        lines.append("_No flaky tests in the digest._")
    else:
        lines += ["| test | flake rate | failures | first seen | last seen |", "| --- | ---: | ---: | --- | --- |"]
        for t in flaky["tests"]:
            last = f"[{t['last_seen'] or 'run'}]({t['last_run_url']})" if t["last_run_url"] else (t["last_seen"] or "—")
            rate = "—" if t["flake_rate"] is None else f"{t['flake_rate']:.1%}"
            failures = "—" if t["failures"] is None else t["failures"]
            nodeid = markdown.cell(t["nodeid"]).replace("`", "'")
            lines.append(f"| `{nodeid}` | {rate} | {failures} | {t['first_seen'] or '—'} | {last} |")
    lines += ["", "## Open CI failure issue", ""]
    issues = doc["failure_issues"]
    if issues["status"] == "absent":
        lines.append(
            f"_No alert inbox cache ({alertinbox.CACHE_PATH}): pull the state or run `observability alerts sync`._"
        )
    elif issues["status"] == "malformed":
        lines.append(f"_The alert inbox cache {alertinbox.CACHE_PATH} is malformed (see the run's warnings)._")
    elif not issues["open"]:
        lines.append("No open CI failure issue. ✅")
    else:
        for issue in issues["open"]:
            title = markdown.cell(issue["title"])
            link = f"[#{issue['number']} {title}]({issue['url']})" if issue["url"] else f"#{issue['number']} {title}"
            extra = []
            if issue["failures"] is not None:
                extra.append(f"{issue['failures']} failed run(s) in a row")
            if issue["since"]:
                extra.append(f"since {issue['since']}")
            if issue["last_run_url"]:
                extra.append(f"[last failing run]({issue['last_run_url']})")
            lines.append(f"- {link}" + (f" — {', '.join(extra)}" if extra else ""))
    lines += ["", "## Where to look first when jobs fail", ""]
    for index, step in enumerate(doc["where_to_look"], 1):
        lines.append(f"{index}. " + (f"[{step['what']}]({step['url']})" if step["url"] else str(step["what"])))
    return "\n".join(lines) + "\n"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _labels(stamps: list[str]) -> list[str]:
    """x-axis labels: the UTC day (MM-DD), a second run that day numbered (11-28.2)."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for stamp in stamps:
        day = stamp[5:10]
        seen[day] = seen.get(day, 0) + 1
        out.append(day if seen[day] == 1 else f"{day}.{seen[day]}")
    return out


def _json_twin(md_path: Path) -> Path:
    return md_path.with_suffix(".json") if md_path.suffix == ".md" else md_path.with_name(md_path.name + ".json")


def run_health(ctx: JobContext, opts: HealthOptions) -> JobResult:
    """Write the CI health page and its JSON twin; the page is the step summary too."""
    ws = ctx.workspace
    out = ws.output_file(opts.out or DEFAULT_OUT, "--out")
    twin = ws.output_file(_json_twin(out), "--out")
    path, display = resolve(ws, opts.config, CI_CONFIG)
    cfg = load_ci(path, display=display)
    doc = gather(ctx, cfg)
    schemas.validate(SCHEMA, doc, what="the CI health snapshot (as written by this run)")
    page = render(doc)
    out.parent.mkdir(parents=True, exist_ok=True)
    fsio.atomic_write_text(out, page)
    fsio.atomic_write_json(twin, doc)
    ctx.artefact(out)
    ctx.artefact(twin)
    # The latest snapshot stays in the state too (the `ci` scope), where `site build` reads it: the page
    # first, the JSON last.
    snapshot_md, snapshot_json = ws.path(SNAPSHOT_MD), ws.path(SNAPSHOT_JSON)
    snapshot_md.parent.mkdir(parents=True, exist_ok=True)
    fsio.atomic_write_text(snapshot_md, page)
    fsio.atomic_write_json(snapshot_json, doc)
    ctx.artefact(snapshot_md)
    ctx.artefact(snapshot_json)
    return JobResult(
        figures={
            "latest_conclusion": (doc["latest"] or {}).get("conclusion"),
            "coverage_baseline_pct": doc["coverage"]["baseline_pct"],
            "flaky_tests": len(doc["flaky"]["tests"]),
            "open_failure_issues": len(doc["failure_issues"]["open"]),
            "page": ws.rel(out),
        },
        findings=["input_warnings"] if ctx.warnings else [],
        summary_markdown=page,
        outputs={"page": ws.rel(out)},
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None

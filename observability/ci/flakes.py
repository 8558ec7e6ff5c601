"""The body of ``ci flakes``: merge flake telemetry into ops/ci/flake_history.json and write the digest
(out/ci/flakes.json and the step summary): flake rate per test over a window, newest first."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from observability import clock, fsio, markdown, schemas
from observability.ci import pytest_flakes as plugin
from observability.errors import InputError, SchemaError
from observability.runtime import JobContext, JobResult

HISTORY = "ops/ci/flake_history.json"  # kept between runs by the state store (the `ci` scope)
DIGEST = "out/ci/flakes.json"
HISTORY_SCHEMA = "ci_flake_history"
TELEMETRY_SCHEMA = "ci_flake_telemetry"
DIGEST_SCHEMA = "ci_flake_digest"
SCHEMA_VERSION = 1
HISTORY_LIMIT = 2000  # sessions kept in the workspace history, newest first
RUNS_SHOWN = 5  # run links per test
TESTS_SHOWN = 50  # rows of the Markdown table (the JSON has every test)
FUTURE_SLACK = timedelta(hours=1)  # a runner's clock ahead of this one's
_URL = re.compile(r"https?://[^\s()<>\[\]`|\"']+")


@dataclass(frozen=True)
class FlakesOptions:
    telemetry: tuple[str, ...] = ()
    window_days: int = 14


def flakes(ctx: JobContext, opts: FlakesOptions) -> JobResult:
    ws = ctx.workspace
    history_path = ws.path(HISTORY)
    # Everything is read and checked before anything is written: bad input leaves both files as they were.
    display = ws.rel(history_path)
    stored = fsio.read_json(history_path, default=None, what="flake history", display=display)
    sessions: list[dict[str, Any]] = []
    if stored is not None:
        _check(HISTORY_SCHEMA, stored, display, "restore it with `observability state pull` or move it aside")
        sessions = _not_ahead(ctx, list(stored["sessions"]), display)
    added = 0
    inputs = []
    for given in opts.telemetry:
        path = ws.path(given)
        name = ws.rel(path)
        document = fsio.read_json(path, what="flake telemetry", display=name)
        _check(TELEMETRY_SCHEMA, document, name, "expected a document written by the pytest flake plugin")
        inputs.append(name)
        incoming = [plugin.history_entry(document), *document["history"]]
        incoming = _not_ahead(ctx, incoming, name)
        before = len(sessions)
        sessions = merge(sessions, incoming)
        added += len(sessions) - before
    sessions = sessions[:HISTORY_LIMIT]
    digest = build_digest(sessions, now=ctx.now, window_days=opts.window_days)
    schemas.validate(DIGEST_SCHEMA, digest, what="flake digest")
    history = {"schema_version": SCHEMA_VERSION, "sessions": sessions}
    schemas.validate(HISTORY_SCHEMA, history, what="flake history")
    fsio.atomic_write_json(history_path, history)
    ctx.artefact(history_path)
    target = ws.path(DIGEST)
    fsio.atomic_write_json(target, digest)
    ctx.artefact(target)
    ctx.note(
        f"{added} new session(s) from {len(inputs)} telemetry file(s); {digest['sessions']} session(s) "
        f"in the last {opts.window_days} days, {sum(1 for t in digest['tests'] if t['flaky'])} flaky test(s)"
    )
    return JobResult(
        figures={
            "sessions": digest["sessions"],
            "sessions_added": added,
            "flaky_tests": sum(1 for t in digest["tests"] if t["flaky"]),
            "failing_tests": sum(1 for t in digest["tests"] if t["failures"]),
            "digest": ws.rel(target),
            "history": display,
        },
        summary_markdown=render(digest),
        outputs={"digest": ws.rel(target)},
    )


def _not_ahead(ctx: JobContext, entries: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """``entries`` without the sessions that start after now (plus FUTURE_SLACK): the history is newest
    first and bounded, so a session dated in the future would stay at its head, never dropped, counted in
    every window, pushing real sessions out."""
    limit = ctx.now + FUTURE_SLACK
    kept = [e for e in entries if clock.parse_iso(e["started_at"]) <= limit]
    if len(kept) < len(entries):
        ahead = next(e for e in entries if e not in kept)
        ctx.warn(
            f"{name}: {len(entries) - len(kept)} session(s) dated after now (first: started_at "
            f"{ahead['started_at']}); left out of the history"
        )
    return kept


def _check(schema: str, document: Any, name: str, advice: str) -> None:
    try:
        schemas.validate(schema, document, what=name)
    except SchemaError as exc:
        raise InputError(f"{exc.message}; {advice}") from None


def merge(sessions: list[dict[str, Any]], incoming: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``sessions`` with the ``incoming`` entries it lacks (one per session: plugin.session_key), newest first."""
    seen = {plugin.session_key(s) for s in sessions}
    merged = list(sessions)
    for entry in incoming:
        key = plugin.session_key(entry)
        if key not in seen:
            seen.add(key)
            merged.append(entry)
    merged.sort(key=lambda s: (s["started_at"], str(s.get("run_attempt"))), reverse=True)
    return merged


def _flaky_in(sessions: list[dict[str, Any]]) -> list[set[str]]:
    """Per session (newest first), the tests flaky in it: marked so by the plugin, or failed in an earlier
    attempt of the same run (same commit; off Actions, a session on the same commit) while this session
    passed everything (exit status 0). The second catches a re-run attempt on a fresh runner, whose plugin
    saw no earlier file. Another run on the same commit is not enough: it may not have run that test (a
    workflow_dispatch or schedule with another selection), and only the events of failures are kept."""
    flaky: list[set[str]] = [{e["nodeid"] for e in s["events"] if e["outcome"] == "flaky"} for s in sessions]
    failed_on: dict[tuple[str, str | None], set[str]] = {}  # (commit, run id) -> tests failed so far (oldest first)
    for index in range(len(sessions) - 1, -1, -1):
        session = sessions[index]
        commit = session.get("commit")
        if not commit:
            continue
        key = (commit, session.get("run_id"))
        if session.get("exit_status") == 0:
            flaky[index] |= failed_on.get(key, set())
            failed_on.pop(key, None)  # each failure is counted flaky once, by the first pass after it
        else:
            failed = {e["nodeid"] for e in session["events"] if e["outcome"] in plugin.FAILING}
            failed_on.setdefault(key, set()).update(failed)
    return flaky


def build_digest(sessions: list[dict[str, Any]], *, now, window_days: int) -> dict[str, Any]:
    since = now - timedelta(days=window_days)
    flaky_sets = _flaky_in(sessions)
    in_window = [clock.parse_iso(s["started_at"]) >= since for s in sessions]
    count = sum(in_window)
    tests: dict[str, dict[str, Any]] = {}
    for session, flaky, inside in zip(sessions, flaky_sets, in_window, strict=True):  # newest first
        outcomes = {e["nodeid"]: e["outcome"] for e in session["events"]}
        for nodeid in flaky:
            outcomes[nodeid] = "flaky"
        for nodeid, outcome in outcomes.items():
            test = tests.get(nodeid)
            if test is None:
                test = tests[nodeid] = {
                    "nodeid": nodeid,
                    "failures": 0,
                    "flaky": 0,
                    "first_seen": session["started_at"],
                    "last_seen": session["started_at"],
                    "last_outcome": outcome,
                    "last_run_url": _url(session.get("run_url")),
                    "runs": [],
                }
            test["first_seen"] = session["started_at"]  # older sessions come later
            if not inside:
                continue
            if outcome == "flaky":
                test["flaky"] += 1
            elif outcome in plugin.FAILING:
                test["failures"] += 1
            if len(test["runs"]) < RUNS_SHOWN:
                test["runs"].append(
                    {
                        "started_at": session["started_at"],
                        "outcome": outcome,
                        "commit": session.get("commit"),
                        "run_url": _url(session.get("run_url")),
                    }
                )
    listed = []
    for test in tests.values():
        if not test["runs"]:
            continue  # seen only before the window
        test["flake_rate"] = round(test["flaky"] / count, 4) if count else 0.0
        listed.append(test)
    listed.sort(key=lambda t: (t["last_seen"], t["flaky"], t["nodeid"]), reverse=True)
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": clock.iso(now),
        "window_days": window_days,
        "since": clock.iso(since),
        "sessions": count,
        "sessions_failed": sum(
            1 for s, inside in zip(sessions, in_window, strict=True) if inside and s.get("exit_status")
        ),
        "tests": listed,
    }


def _url(value: Any) -> str | None:
    """A run URL fit for a link (telemetry is outside input: anything else is dropped)."""
    return value if isinstance(value, str) and _URL.fullmatch(value) else None


def _when(value: str) -> str:
    return value.replace("T", " ").removesuffix("Z")


def render(digest: dict[str, Any]) -> str:
    days = digest["window_days"]
    lines = [f"## Flaky tests, last {days} day(s)", ""]
    tests = digest["tests"]
    lines.append(
        f"{digest['sessions']} pytest session(s) since {_when(digest['since'])} UTC, "
        f"{digest['sessions_failed']} of them failed; {sum(1 for t in tests if t['flaky'])} flaky test(s), "
        f"{sum(1 for t in tests if t['failures'])} failing test(s)."
    )
    lines.append("")
    if tests:
        lines += [
            "| test | flake rate | flaky | failed | first seen | last seen | runs |",
            "| --- | ---: | ---: | ---: | --- | --- | --- |",
        ]
        for test in tests[:TESTS_SHOWN]:
            runs = " ".join(
                f"[{run['outcome']}]({run['run_url']})" if run["run_url"] else run["outcome"] for run in test["runs"]
            )
            lines.append(
                "| "
                + " | ".join(
                    [
                        markdown.cell(markdown.user_text(test["nodeid"], 160)),
                        f"{test['flake_rate'] * 100:.1f}%",
                        str(test["flaky"]),
                        str(test["failures"]),
                        _when(test["first_seen"]),
                        _when(test["last_seen"]),
                        markdown.cell(runs),
                    ]
                )
                + " |"
            )
        if len(tests) > TESTS_SHOWN:
            lines += ["", f"{len(tests) - TESTS_SHOWN} more in out/ci/flakes.json."]
    else:
        lines.append("No failing or flaky test in the window.")
    lines += [
        "",
        *markdown.details(
            "How to read this",
            [
                "A test is **flaky** in a session when it failed and then passed in that session (a rerun) or "
                "passed after failing in an earlier attempt of the same run (a re-run attempt). **Flake "
                "rate**: the sessions in the window where it was flaky, out of all sessions in the window. "
                "**Failed**: sessions where it failed for good. First and last seen cover the whole kept "
                "history; newest first. Each run link opens that workflow run (download its `pytest-log` "
                'artifact for the full output). See docs/ci.md, "Reading flake telemetry".',
            ],
        ),
    ]
    return "\n".join(lines) + "\n"

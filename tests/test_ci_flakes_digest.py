"""`observability ci flakes`: flake telemetry merged into ops/ci/flake_history.json (one entry per
session) and the digest (out/ci/flakes.json, the step summary); bad input names its file and field and
leaves both files as they were. The telemetry here is built to the plugin's schema (the plugin's own
output goes through the command in tests/test_ci_flakes_plugin.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from _support_cli import Run
from observability import schemas
from observability.cli import cli

NOW = "2026-03-20T12:00:00Z"
SHA_A = "a" * 40
SHA_B = "b" * 40


def _run(workspace: Path, *args: str, summary: Path | None = None) -> Run:
    env = {"OBS_NOW": NOW, "GITHUB_ACTIONS": None, "GITHUB_SHA": None, "OBS_FAIL_ON": None}
    if summary is not None:
        env |= {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(summary) + ".out"}
    return Run(CliRunner().invoke(cli, ["ci", "flakes", "--workspace", str(workspace), *args], env=env))


def _session(started: str, commit: str | None, exit_status: int, events, *, run_id=None, attempt=None) -> dict:
    url = f"https://github.com/acme/research/actions/runs/{run_id}/attempts/{attempt}" if run_id else None
    return {
        "started_at": started,
        "finished_at": started,
        "commit": commit,
        "branch": "main",
        "run_id": run_id,
        "run_attempt": attempt,
        "run_url": url,
        "exit_status": exit_status,
        "events": [{"nodeid": n, "outcome": o} for n, o in events],
    }


def _document(session: dict, history=()) -> dict:
    meta = {
        key: session[key]
        for key in ("started_at", "finished_at", "commit", "branch", "run_id", "run_attempt", "run_url", "exit_status")
    }
    meta |= {"duration": 1.5, "python": "3.12.1", "implementation": "CPython", "platform": "linux"}
    meta |= {"collected": 10, "passed": 8, "failed": 1, "errors": 0, "skipped": 1, "rerun": 0}
    meta |= {"workflow": "CI" if session["run_id"] else None, "job": "tests" if session["run_id"] else None}
    events = [
        {
            "nodeid": e["nodeid"],
            "outcome": e["outcome"],
            "phase": "call",
            "duration": 0.25,
            "attempts": 2 if e["outcome"] == "flaky" else 1,
            "trace": "E   AssertionError" if e["outcome"] != "flaky" else None,
            "earlier_run_url": None,
            "earlier_started_at": None,
        }
        for e in session["events"]
    ]
    document = {"schema_version": 1, "meta": meta, "events": events, "history": list(history)}
    schemas.validate("ci_flake_telemetry", document, what="test telemetry")
    return document


def _write(path: Path, document) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return str(path)


@pytest.fixture
def workspace(tmp_path):
    (tmp_path / "ws" / "ops").mkdir(parents=True)
    return tmp_path / "ws"


def test_merges_sessions_once_and_rates_flakes_over_the_window(workspace, tmp_path):
    old = _session("2026-02-01T10:00:00Z", SHA_A, 1, [("t.py::test_net", "failed")], run_id="5", attempt=1)
    one = _session(
        "2026-03-18T10:00:00Z",
        SHA_B,
        1,
        [("t.py::test_net", "failed"), ("t.py::test_db", "failed")],
        run_id="9",
        attempt=1,
    )
    # attempt 2 ran on a fresh runner: no history, everything passed
    two = _session("2026-03-18T11:00:00Z", SHA_B, 0, [], run_id="9", attempt=2)
    three = _session("2026-03-19T10:00:00Z", SHA_B, 0, [("t.py::test_db", "flaky")], run_id="10", attempt=1)
    four = _session("2026-03-20T09:00:00Z", None, 1, [("t.py::test_db|x`y", "error")])  # local, no commit
    first = _write(tmp_path / "a.json", _document(one, [old]))
    second = _write(tmp_path / "b.json", _document(three, [two, one, old]))
    third = _write(tmp_path / "c.json", _document(four))
    summary = tmp_path / "summary.md"
    run = _run(workspace, "--telemetry", first, "--telemetry", second, "--telemetry", third, summary=summary)
    assert run.exit_code == 0, run
    assert run.summary["sessions_added"] == 5 and run.summary["sessions"] == 4  # the February one is out of the window
    history = json.loads((workspace / "ops" / "ci" / "flake_history.json").read_text())
    schemas.validate("ci_flake_history", history, what="history")
    assert [s["started_at"][:10] for s in history["sessions"]] == [
        "2026-03-20",
        "2026-03-19",
        "2026-03-18",
        "2026-03-18",
        "2026-02-01",
    ]
    digest = json.loads((workspace / "out" / "ci" / "flakes.json").read_text())
    schemas.validate("ci_flake_digest", digest, what="digest")
    assert (digest["window_days"], digest["sessions"], digest["sessions_failed"]) == (14, 4, 2)
    assert [t["nodeid"] for t in digest["tests"]] == ["t.py::test_db|x`y", "t.py::test_db", "t.py::test_net"]
    rows = {t["nodeid"]: t for t in digest["tests"]}
    db = rows["t.py::test_db"]
    # flaky in run 9 attempt 2 (failed in attempt 1, the same commit, then all passed) and in run 10
    assert (db["failures"], db["flaky"], db["flake_rate"]) == (1, 2, 0.5)
    assert db["first_seen"] == "2026-03-18T10:00:00Z" and db["last_seen"] == "2026-03-19T10:00:00Z"
    assert db["last_run_url"] == "https://github.com/acme/research/actions/runs/10/attempts/1"
    assert [r["outcome"] for r in db["runs"]] == ["flaky", "flaky", "failed"]
    net = rows["t.py::test_net"]
    assert (net["failures"], net["flaky"], net["first_seen"]) == (1, 1, "2026-02-01T10:00:00Z")
    local = rows["t.py::test_db|x`y"]
    assert local["last_run_url"] is None and local["failures"] == 1 and local["flake_rate"] == 0
    text = summary.read_text()
    assert "## Flaky tests, last 14 day(s)" in text and "How to read this" in text
    assert "| `t.py::test_db` | 50.0% | 2 | 1 | 2026-03-18 10:00:00 | 2026-03-19 10:00:00 |" in text
    assert "`t.py::test_db\\|x'y`" in text  # a pipe cannot break the table, a backtick not the code span
    assert "[flaky](https://github.com/acme/research/actions/runs/10/attempts/1)" in text

    # The same files again add nothing; a narrower window counts fewer sessions.
    again = _run(workspace, "--telemetry", second, "--window-days", "2")
    assert again.exit_code == 0, again
    assert again.summary["sessions_added"] == 0
    digest = json.loads((workspace / "out" / "ci" / "flakes.json").read_text())
    assert digest["sessions"] == 2 and digest["window_days"] == 2
    assert [t["nodeid"] for t in digest["tests"]] == ["t.py::test_db|x`y", "t.py::test_db"]


def test_no_telemetry_yet_is_an_empty_digest(workspace, tmp_path):
    summary = tmp_path / "summary.md"
    run = _run(workspace, summary=summary)
    assert run.exit_code == 0 and run.summary["status"] == "ok", run
    digest = json.loads((workspace / "out" / "ci" / "flakes.json").read_text())
    assert digest["sessions"] == 0 and digest["tests"] == []
    assert "No failing or flaky test in the window." in summary.read_text()


def test_a_run_url_that_is_no_url_is_not_linked(workspace, tmp_path):
    session = _session("2026-03-19T10:00:00Z", SHA_A, 1, [("t.py::test_x", "failed")], run_id="3", attempt=1)
    document = _document(session)
    document["meta"]["run_url"] = "javascript:alert(1)"
    summary = tmp_path / "summary.md"
    run = _run(workspace, "--telemetry", _write(tmp_path / "t.json", document), summary=summary)
    assert run.exit_code == 0, run
    assert json.loads((workspace / "out" / "ci" / "flakes.json").read_text())["tests"][0]["last_run_url"] is None
    assert "javascript:" not in summary.read_text()


def _bad(field: str, value):
    document = _document(_session("2026-03-19T10:00:00Z", SHA_A, 1, [("t.py::test_x", "failed")]))
    target = document
    *parents, last = field.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[int(last) if last.isdigit() else last] = value
    return document


@pytest.mark.parametrize(
    "content,expected",
    [
        ("{not json", "bad.json: line 1 flake telemetry is not valid JSON"),
        ([], "bad.json: field <root>: [] is not of type 'object'"),
        (_bad("meta.started_at", "yesterday"), "bad.json: field meta.started_at: 'yesterday' does not match"),
        (_bad("events.0.outcome", "passed"), "bad.json: field events[0].outcome: 'passed' is not one of"),
        (_bad("history", {}), "bad.json: field history: {} is not of type 'array'"),
    ],
    ids=["not-json", "not-an-object", "bad-time", "bad-outcome", "history-not-a-list"],
)
def test_bad_telemetry_names_the_file_and_field_and_writes_nothing(workspace, tmp_path, content, expected):
    good = _write(tmp_path / "good.json", _document(_session("2026-03-18T10:00:00Z", SHA_A, 0, [])))
    assert _run(workspace, "--telemetry", good).exit_code == 0
    before = {p: p.read_bytes() for p in (workspace / "ops" / "ci").iterdir()} | {
        p: p.read_bytes() for p in (workspace / "out" / "ci").iterdir()
    }
    bad = _write(tmp_path / "bad.json", content if isinstance(content, str) else content)
    run = _run(workspace, "--telemetry", good, "--telemetry", bad)
    assert run.exit_code == 1 and run.error_code == "invalid_input", run
    assert expected in run.summary["diagnostics"]["error_message"]
    after = {p: p.read_bytes() for p in (workspace / "ops" / "ci").iterdir()} | {
        p: p.read_bytes() for p in (workspace / "out" / "ci").iterdir()
    }
    assert after == before


def test_missing_telemetry_and_a_damaged_history_are_named(workspace, tmp_path):
    missing = _run(workspace, "--telemetry", str(tmp_path / "nowhere.json"))
    assert missing.exit_code == 1 and missing.error_code == "missing_input", missing
    assert "nowhere.json: flake telemetry not found" in missing.summary["diagnostics"]["error_message"]
    history = workspace / "ops" / "ci" / "flake_history.json"
    _write(history, {"schema_version": 1, "sessions": [{"started_at": "2026-03-18T10:00:00Z"}]})
    damaged = _run(workspace)
    assert damaged.exit_code == 1 and damaged.error_code == "invalid_input", damaged
    message = damaged.summary["diagnostics"]["error_message"]
    assert "ops/ci/flake_history.json: field sessions[0]:" in message and "state pull" in message
    assert not (workspace / "out" / "ci" / "flakes.json").exists()


def test_the_window_must_be_a_day_or_more(workspace):
    run = _run(workspace, "--window-days", "0")
    assert run.exit_code == 2 and "--window-days" in run.stderr


def test_another_run_on_the_same_commit_passing_does_not_make_a_failure_flaky(workspace, tmp_path):
    """Run 30 failed test_db; run 31 on the same commit (a dispatch without that test) passed everything:
    test_db is still a failure, not a flake. Run 30's second attempt passing does make it flaky."""
    failed = _session("2026-03-18T10:00:00Z", SHA_A, 1, [("t.py::test_db", "failed")], run_id="30", attempt=1)
    other = _session("2026-03-18T11:00:00Z", SHA_A, 0, [], run_id="31", attempt=1)
    run = _run(workspace, "--telemetry", _write(tmp_path / "a.json", _document(other, [failed])))
    assert run.exit_code == 0, run
    digest = json.loads((workspace / "out" / "ci" / "flakes.json").read_text())
    (db,) = digest["tests"]
    assert (db["failures"], db["flaky"], db["last_outcome"]) == (1, 0, "failed")
    again = _session("2026-03-18T12:00:00Z", SHA_A, 0, [], run_id="30", attempt=2)
    run = _run(workspace, "--telemetry", _write(tmp_path / "b.json", _document(again)))
    assert run.exit_code == 0, run
    (db,) = json.loads((workspace / "out" / "ci" / "flakes.json").read_text())["tests"]
    assert (db["failures"], db["flaky"]) == (1, 1)


def test_a_session_dated_in_the_future_is_left_out_of_the_history(workspace, tmp_path):
    """Telemetry is outside input (a pull request shapes its tests). A session dated 9999 sat at the head of
    the newest-first, bounded history for good: counted in every window, never dropped, pushing real
    sessions out. It is now left out, with a warning naming the file."""
    future = _session("9999-12-31T23:59:59Z", SHA_B, 1, [("t.py::test_fake", "failed")], run_id="9", attempt=1)
    real = _session("2026-03-19T10:00:00Z", SHA_A, 1, [("t.py::test_x", "failed")], run_id="3", attempt=1)
    soon = _session("2026-03-20T12:30:00Z", SHA_A, 0, [], run_id="4", attempt=1)  # a clock a little ahead
    path = _write(tmp_path / "t.json", _document(real, history=[future, soon]))
    run = _run(workspace, "--telemetry", path)
    assert run.exit_code == 0, run
    assert any("t.json: 1 session(s) dated after now" in w for w in run.summary["diagnostics"]["warnings"]), run.summary
    history = json.loads((workspace / "ops" / "ci" / "flake_history.json").read_text())
    assert [s["started_at"] for s in history["sessions"]] == ["2026-03-20T12:30:00Z", "2026-03-19T10:00:00Z"]
    digest = json.loads((workspace / "out" / "ci" / "flakes.json").read_text())
    assert digest["sessions"] == 2 and [t["nodeid"] for t in digest["tests"]] == ["t.py::test_x"]
    # one already kept (written before this check) goes too
    history["sessions"].insert(0, future)
    (workspace / "ops" / "ci" / "flake_history.json").write_text(json.dumps(history))
    run = _run(workspace)
    assert run.exit_code == 0 and any(
        "flake_history.json: 1 session(s)" in w for w in run.summary["diagnostics"]["warnings"]
    ), run
    assert len(json.loads((workspace / "ops" / "ci" / "flake_history.json").read_text())["sessions"]) == 2

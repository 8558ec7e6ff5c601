"""`observability ci health` (issue 14 item 4): the CI health page and its JSON twin from empty,
partial and full inputs; a damaged input is a warning naming it, never a missing page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _support_ci import run_ci
from observability import markdown, schemas

PAGE, TWIN = "out/ci/ci_health.md", "out/ci/ci_health.json"


def _ws(tmp_path: Path) -> Path:
    (tmp_path / "ops").mkdir()
    return tmp_path


def _health(ws: Path, *args: str, **env: str):
    code, summary, stderr = run_ci(ws, "health", *args, now="2026-11-28T12:00:00Z", **env)
    assert code == 0, stderr
    doc = json.loads((ws / TWIN).read_text()) if (ws / TWIN).exists() else None
    if doc is not None:
        assert schemas.errors("ci_health", doc) == []
    return summary, doc, stderr


def _coverage(path: Path, covered: int, valid: int = 200) -> None:
    path.write_text(
        f'<?xml version="1.0" ?>\n<coverage lines-valid="{valid}" lines-covered="{covered}" '
        f'line-rate="{covered / valid:.4f}" branches-valid="0" branches-covered="0" branch-rate="0"/>\n'
    )


def _record(ws: Path, run: int, covered: int | None, *extra: str, branch: str = "main") -> None:
    args = [
        "metrics",
        "--run-id",
        str(run),
        "--branch",
        branch,
        "--run-url",
        f"https://github.com/o/r/actions/runs/{run}",
    ]
    if covered is not None:
        _coverage(ws / f"c{run}.xml", covered)
        args += ["--coverage-xml", f"c{run}.xml"]
    code, _, stderr = run_ci(ws, *args, *extra, now=f"2026-11-{10 + run:02d}T10:00:00Z")
    assert code == 0, stderr


def test_from_an_empty_workspace_every_section_says_what_is_missing(tmp_path):
    ws = _ws(tmp_path)
    summary_file = tmp_path / "summary.md"
    summary, doc, _ = _health(ws, GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=str(summary_file))
    assert summary["status"] == "ok" and summary["artefacts"][:2] == [PAGE, TWIN]
    page = (ws / PAGE).read_text()
    assert "_No CI metrics recorded (ops/ci/ci_metrics.json absent)" in page
    assert "_No coverage recorded on `main` yet._" in page
    assert "_No formatter or linter results recorded" in page
    assert "_No flake digest (out/ci/flakes.json not found)" in page
    assert "_No alert inbox cache (ops/alert_inbox.json)" in page
    assert "## Where to look first when jobs fail" in page and "`pytest-log` artifact" in page
    assert page in summary_file.read_text()  # the page is the step summary
    assert doc["latest"] is None and doc["flaky"]["status"] == "absent" and doc["coverage"]["trend"] == []


def test_partial_inputs_and_a_malformed_flake_digest_give_a_page_and_a_warning_naming_it(tmp_path):
    ws = _ws(tmp_path)
    _record(ws, 1, 180)
    (ws / "out" / "ci").mkdir(parents=True)
    (ws / "out" / "ci" / "flakes.json").write_text('{"tests": {"not": "a list"}}')
    summary, doc, stderr = _health(ws)
    assert summary["status"] == "warning"
    assert "out/ci/flakes.json: field tests: expected a list of tests" in stderr
    assert summary["diagnostics"]["warnings"] == [
        "out/ci/flakes.json: field tests: expected a list of tests; the page lists no flaky tests"
    ]
    page = (ws / PAGE).read_text()
    assert "The flake digest out/ci/flakes.json is malformed" in page
    assert "Latest line coverage 90.00%; no baseline yet" in page
    assert doc["latest"]["run_id"] == "1" and doc["coverage"]["baseline_pct"] is None
    (ws / "out" / "ci" / "flakes.json").write_text("{broken")
    summary, doc, stderr = _health(ws)
    assert summary["status"] == "warning" and "out/ci/flakes.json: line 1 flake digest is not valid JSON" in stderr
    (ws / "ops" / "ci" / "ci_metrics.json").write_text('{"version": 2}')
    summary, doc, stderr = _health(ws)
    assert "ops/ci/ci_metrics.json: field" in stderr and doc["history"]["status"] == "malformed"


def _inbox(ws: Path) -> None:
    failure = {
        "number": 41,
        "kind": "failure",
        "state": "open",
        "status": "firing",
        "title": "CI failure alerts",
        "html_url": "https://github.com/o/r/issues/41",
        "failures": 3,
        "started_at": "2026-11-15T10:00:00Z",
        "last_failure": {"at": "2026-11-16T10:00:00Z", "run_url": "https://github.com/o/r/actions/runs/16"},
    }
    closed = {**failure, "number": 7, "state": "closed", "title": "old failure"}
    other = {"number": 9, "kind": "alert", "origin": "latency", "state": "open", "status": "firing", "title": "latency"}
    (ws / "ops" / "alert_inbox.json").write_text(
        json.dumps({"issues": {"failure-ci": failure, "failure-old": closed, "latency-x": other}})
    )


def _digest(ws: Path) -> None:
    tests = [
        {"nodeid": "tests/test_b.py::test_slow", "failures": 1, "flaky": 1, "flake_rate": 0.05},
        {
            "nodeid": "tests/test_a.py::test_race",
            "failures": 4,
            "flaky": 3,
            "flake_rate": 0.2,
            "first_seen": "2026-11-01T00:00:00Z",
            "last_seen": "2026-11-20T00:00:00Z",
            "last_run_url": "https://github.com/o/r/actions/runs/20",
        },
        {"nodeid": "tests/test_c.py::test_steady", "failures": 2, "flaky": 0, "flake_rate": 0.0},
        {"nodeid": 5},
    ]
    (ws / "out" / "ci").mkdir(parents=True, exist_ok=True)
    (ws / "out" / "ci" / "flakes.json").write_text(json.dumps({"tests": tests}))


def test_from_full_inputs_the_page_has_the_trend_rollout_flakes_and_the_open_issue(tmp_path):
    ws = _ws(tmp_path)
    fmt = ["--formatter", "ruff-format", "--formatter-mode"]
    _record(ws, 1, 180, *fmt, "advisory", "--formatter-result", "fail", "--conclusion", "success")
    _record(ws, 2, None, "--conclusion", "failure")  # no coverage that run: a gap, not 0
    _record(ws, 3, 182, *fmt, "advisory", "--formatter-result", "pass", "--conclusion", "success")
    _record(ws, 4, 150, branch="feature")  # not the default branch: neither charted nor a baseline
    _record(ws, 5, 184, *fmt, "enforced", "--formatter-result", "pass", "--conclusion", "success")
    _record(ws, 6, 170, *fmt, "enforced", "--formatter-result", "fail", "--conclusion", "timed_out")
    _inbox(ws)
    _digest(ws)
    summary, doc, stderr = _health(ws)
    assert summary["status"] == "warning" and "out/ci/flakes.json: field tests[3].nodeid" in stderr
    page = (ws / PAGE).read_text()
    assert "⏱️ **timed_out** — [run 6](https://github.com/o/r/actions/runs/6) attempt 1 on `main`" in page
    # baseline: the median of the earlier main runs with coverage (90.0, 91.0, 92.0)
    assert doc["coverage"]["baseline_pct"] == 91.0 and doc["coverage"]["latest_pct"] == 85.0
    assert "Baseline **91.00%** (median of the last 3 run(s) on `main` before the latest), latest 85.00%" in page
    assert 'x-axis "run (UTC day)" [11-11, 11-13, 11-15, 11-16]' in page  # run 2 had no coverage at all
    assert "  line [90.0, 91.0, 92.0, 85.0]" in page
    assert "🟥 alert below 90.0 %" in page
    # the table lists every main run, the one without coverage too
    assert "| 11-12: [2](https://github.com/o/r/actions/runs/2) | 2026-11-12T10:00:00Z | failure | — | — | — |" in page
    assert [t["run_id"] for t in doc["coverage"]["trend"]] == ["1", "2", "3", "5", "6"]
    assert "| ruff-format | enforced | 2026-11-15T10:00:00Z | fail | 2/4 | `a- a+ e+ e-` |" in page
    assert [t["nodeid"] for t in doc["flaky"]["tests"]] == ["tests/test_a.py::test_race", "tests/test_b.py::test_slow"]
    assert (
        "| `tests/test_a.py::test_race` | 20.0% | 4 | 2026-11-01T00:00:00Z | "
        "[2026-11-20T00:00:00Z](https://github.com/o/r/actions/runs/20) |" in page
    )
    assert (
        "- [#41 CI failure alerts](https://github.com/o/r/issues/41) — 3 failed run(s) in a row, since "
        "2026-11-15T10:00:00Z, [last failing run](https://github.com/o/r/actions/runs/16)" in page
    )
    assert "old failure" not in page and "latency" not in page.split("## Open CI failure issue")[1]
    assert (
        "1. [the `pytest-log` artifact of the newest failing run, 6 (timed out)" in page
        and "(https://github.com/o/r/actions/runs/6#artifacts)" in page
    )


def test_out_moves_the_page_and_its_twin_and_a_directory_there_is_usage_error(tmp_path):
    ws = _ws(tmp_path)
    summary, _, _ = _health(ws, "--out", "out/status/ci.md")
    assert (ws / "out/status/ci.md").is_file() and (ws / "out/status/ci.json").is_file()
    assert not (ws / PAGE).exists()
    (ws / "out" / "taken.md").mkdir()
    code, summary, _ = run_ci(ws, "health", "--out", "out/taken.md")
    assert code == 2 and "is a directory" in summary["diagnostics"]["error_message"]


@pytest.mark.parametrize("decimals,expected", [(0, "line [91, 92]"), (1, "line [90.6, 91.8]")])
def test_the_chart_keeps_the_decimals_asked_for(decimals, expected):
    lines = markdown.xychart(["a", "b"], {"s": [90.6, 91.8]}, y_label="%", decimals=decimals)
    assert f"  {expected}" in lines


def test_where_to_look_links_the_newest_failing_run_not_a_green_one_after_it(tmp_path):
    ws = _ws(tmp_path)
    _record(ws, 1, 180, "--conclusion", "success")
    _, doc, _ = _health(ws)
    assert doc["where_to_look"][0]["url"] is None  # nothing failed: no log to send anyone to
    assert "none recorded" in doc["where_to_look"][0]["what"]
    _record(ws, 2, 180, "--conclusion", "failure")
    _record(ws, 3, 180, "--conclusion", "success")
    _record(ws, 4, 180, "--conclusion", "cancelled")  # superseded by a newer push: no log to read
    _, doc, _ = _health(ws)
    assert doc["where_to_look"][0]["url"] == "https://github.com/o/r/actions/runs/2#artifacts"
    assert "newest failing run, 2 (failure)" in doc["where_to_look"][0]["what"]


def test_another_job_s_failure_issue_is_not_the_ci_failure_issue(tmp_path):
    ws = _ws(tmp_path)
    _record(ws, 1, 180, "--conclusion", "failure")
    ci = {"number": 41, "kind": "failure", "state": "open", "title": "CI failure alerts", "failures": 1}
    latency = {"number": 42, "kind": "failure", "state": "open", "title": "latency/latency failed", "failures": 3}
    (ws / "ops" / "alert_inbox.json").write_text(json.dumps({"issues": {"failure-a": ci, "failure-b": latency}}))
    _, doc, _ = _health(ws)
    assert [i["number"] for i in doc["failure_issues"]["open"]] == [41]
    config = ws / "configs" / "observability"
    config.mkdir(parents=True)
    (config / "ci.yaml").write_text("health:\n  failure_issue_title: latency/latency failed\n")
    _, doc, _ = _health(ws)
    assert [i["number"] for i in doc["failure_issues"]["open"]] == [42]

"""Stale weekly inputs (issue 10 item 4): every input's as-of time and age is in the payload and the
review; an input older than its configured max age is `stale` and raises a warning, never `ok`."""

from __future__ import annotations

import json
from pathlib import Path

from _support_weekly import WEEK, inputs_workspace, weekly
from test_weekly_payload import assert_conforms, dry_run_payload


def _summary(ws: Path) -> Path:
    return ws / "reports" / "portfolio_summary.json"


def _set_generated_at(ws: Path, stamp: str) -> None:
    doc = json.loads(_summary(ws).read_text(encoding="utf-8"))
    doc["generated_at"] = stamp
    _summary(ws).write_text(json.dumps(doc), encoding="utf-8")


def _config(ws: Path, text: str) -> None:
    path = ws / "configs" / "observability" / "weekly_report.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _entry(doc: dict, name: str) -> dict:
    return next(i for i in doc["freshness"]["inputs"] if i["name"] == name)


def _report(ws: Path, tmp_path: Path):
    step = tmp_path / "step_summary.md"
    run = weekly(
        ws,
        "report",
        "--week-start",
        WEEK,
        "--dry-run-webhook",
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(step)},
    )
    _, doc = dry_run_payload(ws, run)
    assert_conforms(doc)
    review = (ws / "out" / "weekly_report" / f"{run.summary['job_id']}.md").read_text(encoding="utf-8")
    assert "### Inputs" in step.read_text(encoding="utf-8")  # the step summary shows the ages too
    return run, doc, review


def test_portfolio_summary_a_year_old_is_stale_with_its_age(tmp_path):
    ws = inputs_workspace(tmp_path / "ws")
    _set_generated_at(ws, "2025-01-07T22:15:03Z")  # a year before the demo clock (2026-01-08T00:07Z)
    run, doc, review = _report(ws, tmp_path)
    entry = _entry(doc, "portfolio_summary")
    assert entry["status"] == "stale"
    assert entry["as_of"] == "2025-01-07T22:15:03Z" and entry["as_of_from"] == "generated_at"
    assert entry["path"] == "reports/portfolio_summary.json"
    assert entry["age_seconds"] == 365 * 86400 + 6717  # to the demo clock, 2026-01-08T00:07:00Z
    assert entry["max_age_seconds"] == 192 * 3600
    assert doc["freshness"]["reference_at"] == "2026-01-08T00:07:00Z"
    assert doc["freshness"]["stale_count"] == 1
    [alert] = [a for a in doc["alerts"] if a["rule"] == "stale_input"]
    assert (alert["severity"], alert["status"], alert["source"]) == ("warning", "firing", "portfolio_summary")
    assert "365 d" in alert["message"] and "2025-01-07T22:15:03Z" in alert["message"]
    assert alert["evidence"]["age_seconds"] == entry["age_seconds"]
    assert run.summary["stale_inputs"] == 1
    # the one-line log and the summary say why the run is not plain ok (not only the payload and review)
    [warned] = [w for w in run.summary["diagnostics"]["warnings"] if "portfolio_summary" in w]
    assert "stale" in warned and "365 d" in warned and warned in run.stderr
    # the review says so, with the age, next to the budget it comes from
    line = next(x for x in review.splitlines() if "portfolio_summary" in x and "|" in x and "365 d" in x)
    assert "stale" in line and "2025-01-07T22:15:03Z" in line
    kpi = next(x for x in review.splitlines() if x.startswith("| ") and "drawdown" not in x and "%" in x)
    assert "stale" in kpi


def test_fresh_inputs_stay_ok_and_show_their_age(tmp_path):
    ws = inputs_workspace(tmp_path / "ws")
    _, doc, review = _report(ws, tmp_path)
    assert doc["freshness"]["stale_count"] == 0
    assert not [a for a in doc["alerts"] if a["rule"] == "stale_input"]
    portfolio = _entry(doc, "portfolio_summary")
    assert portfolio["status"] == "ok" and portfolio["age_seconds"] == 6717  # 22:15:03 (to the second) -> 00:07:00
    rollup = _entry(doc, "latency_rollup")
    assert (
        rollup["status"] == "ok" and rollup["as_of_from"] == "latest_hour" and rollup["as_of"] == "2026-01-07T23:00:00Z"
    )
    runs = _entry(doc, "runs_index")
    assert runs["as_of_from"] == "latest_run" and runs["age_seconds"] is not None
    telemetry = _entry(doc, "telemetry")  # the sample telemetry carries no timestamp
    assert (telemetry["as_of"], telemetry["age_seconds"], telemetry["status"]) == (None, None, "unknown")
    assert "### Inputs" in review and "unknown" in review
    kpi = next(x for x in review.splitlines() if x.startswith("| ") and "drawdown" not in x and "%" in x)
    assert "stale" not in kpi


def test_an_input_dated_in_the_future_is_never_ok(tmp_path):
    """A clock-skewed or mistyped generated_at (a year ahead) would read age 0 s, `ok`, for a year."""
    ws = inputs_workspace(tmp_path / "ws")
    _set_generated_at(ws, "2027-01-07T22:15:03Z")
    run, doc, review = _report(ws, tmp_path)
    entry = _entry(doc, "portfolio_summary")
    assert (entry["status"], entry["age_seconds"]) == ("unknown", None)
    assert entry["as_of"] == "2027-01-07T22:15:03Z"  # shown as it is, for the operator to see
    [warned] = [w for w in run.summary["diagnostics"]["warnings"] if "portfolio_summary" in w]
    assert "2027-01-07T22:15:03Z" in warned and "future" in warned and warned in run.stderr
    _set_generated_at(ws, "2026-01-08T01:07:00Z")  # within the hour of tolerance the latency job also allows
    _, doc, _ = _report(ws, tmp_path)
    assert _entry(doc, "portfolio_summary")["status"] == "ok"


def test_boundary_exactly_at_the_max_age(tmp_path):
    ws = inputs_workspace(tmp_path / "ws")
    _config(ws, "freshness:\n  max_age_hours:\n    portfolio_summary: 24\n")
    _set_generated_at(ws, "2026-01-07T00:07:00Z")  # exactly 24 h before the reference
    _, doc, _ = _report(ws, tmp_path)
    assert _entry(doc, "portfolio_summary")["status"] == "ok"
    assert _entry(doc, "portfolio_summary")["age_seconds"] == 24 * 3600
    _set_generated_at(ws, "2026-01-07T00:06:59Z")
    _, doc, _ = _report(ws, tmp_path)
    assert _entry(doc, "portfolio_summary")["status"] == "stale"


def test_bad_max_age_is_a_config_error(tmp_path):
    ws = inputs_workspace(tmp_path / "ws")
    _config(ws, "freshness:\n  max_age_hours:\n    portfolio_summary: 0\n")
    run = weekly(ws, "report", "--week-start", WEEK, "--dry-run-webhook")
    assert run.exit_code == 2, run
    assert "freshness.max_age_hours.portfolio_summary" in run.stderr


def test_telemetry_timestamp_gives_its_age_and_a_bad_one_names_the_field(tmp_path):
    ws = inputs_workspace(tmp_path / "ws")
    path = ws / "reports" / "portfolio_samples" / "router_demo" / "telemetry.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**doc, "as_of": "2025-12-01T00:00:00Z"}), encoding="utf-8")
    _, payload, review = _report(ws, tmp_path)
    entry = _entry(payload, "telemetry")
    assert (entry["as_of"], entry["as_of_from"], entry["status"]) == ("2025-12-01T00:00:00Z", "as_of", "stale")
    assert [a["source"] for a in payload["alerts"] if a["rule"] == "stale_input"] == ["telemetry"]
    path.write_text(json.dumps({**doc, "generated_at": "last tuesday"}), encoding="utf-8")
    run = weekly(ws, "report", "--week-start", WEEK, "--dry-run-webhook")
    # Once fatal; now the shared rule (issue 12 item 1): the stamp is skipped with a warning naming the
    # file and field, and the input's age is unknown, as the dashboard reads the same file.
    assert run.exit_code == 0, run
    assert run.summary["diagnostics"]["warnings"] == [
        "reports/portfolio_samples/router_demo/telemetry.json: generated_at: 'last tuesday' is not an ISO-8601 "
        "timestamp; value skipped"
    ]


def test_a_malformed_rollup_row_outside_the_week_does_not_break_the_age(tmp_path):
    ws = inputs_workspace(tmp_path / "ws")
    rollup = ws / "ops" / "signal_latency_rollup.csv"
    lines = rollup.read_text(encoding="utf-8").splitlines(keepends=True)
    rollup.write_text(lines[0] + "1999-garbage,x\n" + "".join(lines[1:]), encoding="utf-8")
    _, payload, _ = _report(ws, tmp_path)
    assert _entry(payload, "latency_rollup")["as_of"] == "2026-01-07T23:00:00Z"

"""`observability log kpi` and the weekly review's operations KPIs: SLO breaches, delivery retries, mean
export time and upload failure rate per ISO week and calendar month, from the automation log."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from _support_cli import Run
from observability import kpi, runlog, schemas
from observability.cli import cli
from observability.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
SLO = {"id": "slo-a", "rule": "latency_slo", "source": "a", "severity": "warning", "status": "firing"}


def _run(args: list[str], now: str = "2026-02-10T00:00:00Z") -> Run:
    env = {"OBS_NOW": now, "GITHUB_ACTIONS": None, "OBS_WEEKLY_WEBHOOK_URL": None, "OBS_DASHBOARD_UPLOAD_COMMAND": None}
    return Run(CliRunner().invoke(cli, args, env=env))


def _line(job: str, at: str, *, status="ok", attempts=1, duration=0, alerts=(), diagnostics=None, **extra) -> dict:
    stamp = at.replace("-", "").replace(":", "")
    return {
        "job_id": f"{stamp}-{job}-0000abcd",
        "job": job,
        "status": status,
        "started_at": at,
        "completed_at": at,
        "duration_ms": duration,
        "attempts": attempts,
        "artefacts": [],
        "alerts": list(alerts),
        "diagnostics": diagnostics or {},
        **extra,
    }


LINES = [
    # ISO week 2026-W02 (Mon 5 Jan): a breach episode starts, goes critical, ends; a second episode starts.
    _line("latency", "2026-01-05T00:07:00Z", alerts=[SLO]),
    _line("latency", "2026-01-05T00:22:00Z", alerts=[{**SLO, "severity": "critical"}]),
    _line("latency", "2026-01-05T00:37:00Z", alerts=[{**SLO, "status": "resolved"}]),
    _line("latency", "2026-01-07T10:07:00Z", alerts=[{**SLO, "severity": "critical"}]),
    _line("weekly", "2026-01-05T00:30:00Z", attempts=3),
    _line("dashboard", "2026-01-05T00:44:00Z", duration=1000, diagnostics={"upload_status": "ok"}),
    _line("dashboard", "2026-01-06T00:44:00Z", duration=3000, status="error", diagnostics={"upload_status": "failed"}),
    _line("dashboard", "2026-01-07T00:44:00Z", duration=2000, diagnostics={"upload_status": "ok"}),
    _line("sync", "2026-01-07T01:00:00Z", status="error", attempts=5),
    # ISO week 2026-W03: the second episode still firing (counts again in this week), a dry sync (no upload).
    _line("latency", "2026-01-12T00:07:00Z", alerts=[SLO]),
    _line("sync", "2026-01-12T01:00:00Z", status="dry_run"),
    _line("dashboard", "2026-01-12T00:44:00Z", duration=500, status="warning"),
    # February: an older-format upload failure (no upload_status), a rebuilt line (counted as a run only).
    _line(
        "dashboard", "2026-02-02T00:44:00Z", status="error", duration=99, diagnostics={"error_code": "upload_failed"}
    ),
    _line("weekly", "2026-02-02T00:30:00Z", attempts=4, rebuilt=True),
]


def _workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "ops").mkdir(parents=True)
    for line in LINES:
        runlog.append(Workspace(ws), line)
    return ws


def test_weekly_figures(tmp_path):
    ws = _workspace(tmp_path)
    run = _run(["log", "kpi", "--workspace", str(ws), "--period", "week"])
    assert run.exit_code == 0, run
    doc = run.summary["kpi"]
    schemas.validate("log_kpi", doc, what="kpi")
    rows = {r["period"]: r for r in doc["periods"]}
    assert list(rows) == ["2026-W02", "2026-W03", "2026-W06"]
    w2, w3, w6 = rows["2026-W02"], rows["2026-W03"], rows["2026-W06"]
    assert (w2["slo_breaches"], w2["slo_breaches_critical"]) == (2, 1)
    assert (w2["delivery_retries"], w2["retried_runs"], w2["retries_by_job"]) == (6, 2, {"sync": 4, "weekly": 2})
    assert (w2["exports"], w2["mean_export_ms"]) == (2, 1500)  # the failed export is not an export time
    assert (w2["uploads"], w2["upload_failures"], w2["upload_failure_rate"]) == (4, 2, 0.5)
    assert (w3["slo_breaches"], w3["uploads"], w3["mean_export_ms"]) == (1, 0, 500)
    assert w3["upload_failure_rate"] is None
    assert (w6["runs"], w6["rebuilt_lines"], w6["delivery_retries"], w6["upload_failures"]) == (2, 1, 0, 1)
    assert json.loads((ws / "out" / "kpi" / "week.json").read_text()) == doc


def test_monthly_figures_and_markdown(tmp_path):
    ws = _workspace(tmp_path)
    run = _run(["log", "kpi", "--workspace", str(ws), "--period", "month", "--format", "markdown"])
    assert run.exit_code == 0, run
    rows = {r["period"]: r for r in run.summary["kpi"]["periods"]}
    assert rows["2026-01"]["slo_breaches"] == 2  # the episode running into W03 is one episode in January
    assert rows["2026-01"]["start"] == "2026-01-01T00:00:00Z" and rows["2026-01"]["end"] == "2026-02-01T00:00:00Z"
    text = (ws / "out" / "kpi" / "month.md").read_text()
    assert "| 2026-01 | 12 | 2 (1 critical) | 6 | 1,167 ms | 4 | 50.0% |" in text
    assert "| 2026-02 | 2 (1 rebuilt) | 0 (0 critical) | 0 | – | 1 | 100.0% |" in text


def test_since_and_until_bound_the_periods(tmp_path):
    ws = _workspace(tmp_path)
    run = _run(["log", "kpi", "--workspace", str(ws), "--since", "2026-01-08", "--until", "2026-02-01"])
    assert [r["period"] for r in run.summary["kpi"]["periods"]] == ["2026-W02", "2026-W03"]
    bad = _run(["log", "kpi", "--workspace", str(ws), "--since", "last tuesday"])
    assert bad.exit_code == 2 and "--since 'last tuesday'" in bad.summary["diagnostics"]["error_message"]


def test_lines_in_rotated_segments_are_counted(tmp_path):
    ws = _workspace(tmp_path)
    before = kpi.report(Workspace(ws), "month")
    runlog.maintain(Workspace(ws), kpi.clock.parse_iso("2026-03-02T00:00:00Z"))  # a new month: rotation
    assert runlog.segments(Workspace(ws))
    assert kpi.report(Workspace(ws), "month") == before


def test_the_weekly_review_shows_the_weeks_operations_kpis(tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(ROOT / "ops-template", ws)
    sample = ["latency", "sample", "--workspace", str(ws), "--input", "sample/signal_notifier.csv"]
    assert _run(sample, "2026-01-08T00:07:00Z").exit_code == 0  # the rollups the report reads (+1 line, 1 breach)
    for line in LINES[:9]:
        runlog.append(Workspace(ws), line)
    run = _run(["weekly", "report", "--workspace", str(ws), "--week-start", "2026-01-05", "--dry-run"])
    assert run.exit_code == 0, run
    review = next(ws.glob("out/weekly_report/*.md")).read_text()
    assert "### Operations KPIs this week (automation log)" in review
    # the sample's line and nine more (the weekly run's own is not yet logged when the review is written)
    assert "| 2026-W02 | 10 | 3 (2 critical) | 6 | 1,500 ms | 4 | 50.0% |" in review


def test_real_exports_with_an_upload_give_the_upload_failure_rate(tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(ROOT / "ops-template", ws)
    sample = ["latency", "sample", "--workspace", str(ws), "--input", "sample/signal_notifier.csv"]
    assert _run(sample, "2026-01-08T00:07:00Z").exit_code == 0
    export = ["dashboard", "export", "--workspace", str(ws), "--upload-max-retries", "1"]
    assert _run([*export, "--upload-command", "true {bundle_dir}"], "2026-01-08T00:44:00Z").exit_code == 0
    assert _run([*export, "--upload-command", "false {bundle_dir}"], "2026-01-08T01:44:00Z").exit_code == 1
    assert _run(export, "2026-01-08T02:44:00Z").exit_code == 0  # no upload command: no upload
    run = _run(["log", "kpi", "--workspace", str(ws)], "2026-01-08T03:00:00Z")
    (row,) = run.summary["kpi"]["periods"]
    assert (row["uploads"], row["upload_failures"], row["upload_failure_rate"], row["exports"]) == (2, 1, 0.5, 2)

"""observability verify job: trace real runs (the demo workspace) to their artefacts, checksums and heartbeat."""

from __future__ import annotations

import json
import shutil
from datetime import datetime

import pytest

from _support_verify import UTC, log_records, make_demo, report_validates, run_cli, verify, verify_job

NOW = datetime(2026, 1, 8, 3, 41, tzinfo=UTC)


def ids(ws) -> dict[str, str]:
    """The demo runs' job ids by job (``20260108T000700Z-<job>-<random tail>``)."""
    found: dict[str, str] = {}
    for record in log_records(ws):
        found.setdefault(record["job"], record["job_id"])
    return found


# One worker runs this file (the demo workspace is made once, not once per worker under -n).
pytestmark = pytest.mark.xdist_group("verify_job")


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory):
    return make_demo(tmp_path_factory.mktemp("demo") / "ws")


@pytest.fixture
def demo(demo_template, tmp_path):
    target = tmp_path / "ws"
    shutil.copytree(demo_template, target)
    return target


@pytest.mark.parametrize("job", ["latency", "dashboard", "weekly"])
def test_every_demo_run_traces_cleanly(demo, job):
    job_id = ids(demo)[job]
    assert job_id.startswith(f"20260108T000700Z-{job}-")
    run = verify_job(demo, job_id, now=NOW)
    assert run.exit_code == 0 and run.summary["status"] == "ok" and run.summary["problems"] == [], run
    trace = run.summary["trace"]
    assert trace["job_id"] == job_id and trace["lines"][0]["sequence"] >= 1
    assert all(a["exists"] for a in trace["artefacts"]) and trace["heartbeat"]["agrees"] is True
    if job != "latency":
        assert trace["checksums"] and all(c["ok"] for c in trace["checksums"]), trace
    report = report_validates(demo, run.summary["job_id"])
    assert report["kind"] == "job" and report["traced_job_id"] == job_id
    assert log_records(demo)[-1]["job"] == "verify-job"
    assert not (demo / "ops" / "verify-job_heartbeat.json").exists()


def test_a_tampered_dataset_fails_both_the_live_manifest_and_the_snapshot(demo):
    DASHBOARD = ids(demo)["dashboard"]  # noqa: N806
    (demo / "out" / "dashboard" / "turnover.json").write_bytes(b'{"rows": []}\n')
    snap = demo / "ops" / "dashboard_export_history" / DASHBOARD / "slippage.json"
    snap.write_bytes(snap.read_bytes().replace(b"slippage_bps", b"slippage_BPS", 1))
    run = verify_job(demo, DASHBOARD, now=NOW)
    assert run.exit_code == 1 and run.summary["status"] == "error", run
    assert run.summary["diagnostics"]["error_code"] == "verification_failed"
    problems = run.summary["problems"]
    assert len(problems) == 2, problems
    assert any(
        p.startswith("out/dashboard/turnover.json: sha256") and "recorded in out/dashboard/manifest.json" in p
        for p in problems
    ), problems
    assert any(p.startswith(f"ops/dashboard_export_history/{DASHBOARD}/slippage.json: sha256") for p in problems)
    assert {a["rule"] for a in run.summary["alerts"]} == {"checksum_mismatch"}
    assert "problem: out/dashboard/turnover.json" in run.stderr


def test_a_tampered_weekly_payload_is_caught_by_its_own_checksum(demo):
    WEEKLY = ids(demo)["weekly"]  # noqa: N806
    path = demo / "out" / "weekly_report" / f"{WEEKLY}.json"
    doc = json.loads(path.read_text())
    doc["week_end"] = "2030-01-01"
    path.write_text(json.dumps(doc))
    run = verify_job(demo, WEEKLY, now=NOW)
    assert run.exit_code == 1
    assert any("does not match its payload_checksum_sha256" in p for p in run.summary["problems"]), run


def test_a_missing_artefact_and_a_disagreeing_heartbeat_are_both_listed(demo):
    LATENCY = ids(demo)["latency"]  # noqa: N806
    (demo / "out" / "latency_alerts" / f"{LATENCY}.json").unlink()
    beat = demo / "ops" / "latency_job_heartbeat.json"
    doc = json.loads(beat.read_text())
    doc["status"] = "ok"
    beat.write_text(json.dumps(doc))
    run = verify_job(demo, LATENCY, now=NOW)
    assert run.exit_code == 1, run
    problems = run.summary["problems"]
    assert f"out/latency_alerts/{LATENCY}.json: listed by the run but missing" in problems
    assert "ops/latency_job_heartbeat.json: heartbeat says status 'ok' (log: 'dry_run')" in problems
    assert {a["rule"] for a in run.summary["alerts"]} == {"artefact_missing", "heartbeat_mismatch"}


def test_a_heartbeat_of_a_later_run_is_not_a_problem_but_a_missing_one_for_the_latest_is(demo):
    later = run_cli(
        demo,
        "latency",
        "sample",
        "--input",
        "sample/signal_notifier.csv",
        "--dry-run-alert",
        now=datetime(2026, 1, 8, 0, 22, tzinfo=UTC),
    )
    assert later.exit_code == 0, later
    old = verify_job(demo, ids(demo)["latency"], now=NOW)
    assert old.exit_code == 0 and old.summary["trace"]["heartbeat"]["superseded_by"] == later.summary["job_id"], old
    (demo / "ops" / "latency_job_heartbeat.json").unlink()
    new = verify_job(demo, later.summary["job_id"], now=NOW)
    assert new.exit_code == 1 and any("heartbeat" in p for p in new.summary["problems"]), new


def test_a_tampered_latency_archive_is_caught_by_the_archive_manifest(demo):
    (demo / "sample" / "new.csv").write_text(
        "timestamp_utc,latency_ms,status,detail,source\n2026-01-08T00:10:00Z,100,success,,broker_api\n"
    )
    rotated = run_cli(
        demo,
        "latency",
        "sample",
        "--input",
        "sample/new.csv",
        "--raw-retention-days",
        "1",
        "--dry-run-alert",
        now=datetime(2026, 1, 8, 0, 22, tzinfo=UTC),
    )
    archive = [a for a in rotated.summary["artefacts"] if a.endswith(".csv.gz")]
    assert archive, rotated
    assert verify_job(demo, rotated.summary["job_id"], now=NOW).exit_code == 0
    with open(demo / archive[0], "ab") as handle:
        handle.write(b"x")
    run = verify_job(demo, rotated.summary["job_id"], now=NOW)
    assert run.exit_code == 1
    assert (
        run.summary["problems"][0].startswith(f"{archive[0]}: sha256")
        and "recorded in ops/signal_latency_archive/manifest.jsonl" in run.summary["problems"][0]
    )


def test_an_unknown_or_malformed_job_id(demo):
    run = verify_job(demo, "20990101T000000Z-latency", now=NOW)
    assert run.exit_code == 1 and run.summary["problems"] == [
        "ops/automation_runs.log: no line has job_id 20990101T000000Z-latency"
    ]
    assert verify_job(demo, "latency", now=NOW).exit_code == 2


def test_the_nightly_run_traces_each_jobs_latest_run(demo):
    clean = verify(demo, now=NOW)
    # The demo also ran a dry-run alerts sync; the verify run it made is not traced by verify itself.
    traced = {t["job_id"] for t in clean.summary["checks"]["traced"]}
    demo_ids = ids(demo)
    assert traced == {demo_ids[job] for job in ("latency", "dashboard", "weekly", "alerts")}, clean
    assert not any(a["rule"] in ("checksum_mismatch", "artefact_missing") for a in clean.summary["alerts"])
    (demo / "out" / "dashboard" / "latency.json").write_bytes(b"{}")
    run = verify(demo, now=NOW)
    assert run.exit_code == 0 and run.summary["status"] == "warning"
    alert = run.rules()[("checksum_mismatch", "dashboard")]
    assert alert["severity"] == "critical" and alert["evidence"]["items"][0]["job_id"] == demo_ids["dashboard"]


def _runner_line(job_id: str, job: str, artefacts: list[str], run_id: str) -> dict:
    return {
        "job_id": job_id,
        "job": job,
        "status": "ok",
        "sequence": 1,
        "artefacts": artefacts,
        "github": {"run_id": run_id, "run_url": f"https://github.com/acme/ops/actions/runs/{run_id}"},
    }


def test_out_files_and_inputs_of_a_run_on_another_runner_are_not_missing(tmp_path, monkeypatch):
    """A fresh runner's nightly verify never has yesterday's out/ or inputs (only ops/ state travels)."""
    from observability.verify.trace import trace
    from observability.workspace import Workspace

    ws = Workspace(tmp_path)
    line = _runner_line(
        "20260107T004400Z-dashboard",
        "dashboard",
        ["out/dashboard/manifest.json", "runs/index.csv", "ops/state_archive/a.json", "ops/state_archive"],
        "111",
    )
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/ops")
    monkeypatch.setenv("GITHUB_RUN_ID", "222")  # the nightly verify is another run
    result = trace(ws, line["job_id"], [line])
    assert result.findings == []
    assert {a["in_run_artifact"] for a in result.artefacts} == {"https://github.com/acme/ops/actions/runs/111"}
    monkeypatch.setenv("GITHUB_RUN_ID", "111")  # the same run: its out/ must be here
    assert [f.rule for f in trace(ws, line["job_id"], [line]).findings] == ["artefact_missing"] * 4
    monkeypatch.delenv("GITHUB_ACTIONS")
    local = {**line, "github": None}
    assert [f.rule for f in trace(ws, line["job_id"], [local]).findings] == ["artefact_missing"] * 4
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_RUN_ID", "222")
    state = _runner_line("20260107T004400Z-latency", "latency", ["ops/latency_state.json"], "111")
    assert [f.rule for f in trace(ws, state["job_id"], [state]).findings] == ["artefact_missing"]  # state must be


def test_a_state_pull_that_lists_other_jobs_heartbeats_has_no_heartbeat_of_its_own(tmp_path):
    from observability.verify.trace import trace
    from observability.workspace import Workspace

    ws = Workspace(tmp_path)
    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "alerts_heartbeat.json").write_text('{"job_id": "x-alerts", "status": "ok"}')
    line = {
        "job_id": "20260107T004400Z-state",
        "job": "state",
        "status": "ok",
        "sequence": 3,
        "artefacts": ["ops/alerts_heartbeat.json"],
    }
    result = trace(ws, line["job_id"], [line])
    assert result.findings == [] and result.heartbeat is None

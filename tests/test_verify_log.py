"""observability verify: the automation log (schema, torn lines, sequence gaps and duplicates), exit codes."""

from __future__ import annotations

import json
from datetime import timedelta

from _support_verify import (
    NOW,
    add_run,
    log_lines,
    log_records,
    new_workspace,
    on_cadence,
    report_validates,
    verify,
    write_log_lines,
)


def _healthy(tmp_path):
    root = new_workspace(tmp_path / "ws")
    on_cadence(root)
    return root


def test_clean_workspace_is_ok_and_leaves_its_own_log_line_report_and_heartbeat(tmp_path):
    root = _healthy(tmp_path)
    before = len(log_lines(root))
    run = verify(root)
    assert run.exit_code == 0, run
    assert run.summary["status"] == "ok" and run.summary["alerts"] == [] and run.summary["findings"] == 0, run
    assert json.loads((root / "ops" / "verify_alerts.json").read_text())["alerts"] == []
    assert run.summary["checks"]["log"] == {
        "lines": before,
        "valid": before,
        "first_sequence": 1,
        "last_sequence": before,
    }
    judged = {c["schedule"]: c for c in run.summary["checks"]["cadence"]}
    assert judged["latency"]["judged"] == judged["latency"]["on_time"] == 96
    records = log_records(root)
    assert len(records) == before + 1
    assert records[-1]["job"] == "verify" and records[-1]["status"] == "ok" and records[-1]["sequence"] == before + 1
    report = report_validates(root, run.summary["job_id"])
    assert report["kind"] == "nightly" and report["status"] == "ok"
    beat = json.loads((root / "ops" / "verify_heartbeat.json").read_text())
    assert beat["job_id"] == run.summary["job_id"] and beat["findings"] == 0


def test_a_removed_line_is_a_sequence_gap(tmp_path):
    root = _healthy(tmp_path)
    lines = log_lines(root)
    del lines[9:12]  # sequences 10, 11, 12
    write_log_lines(root, lines)
    run = verify(root)
    assert run.exit_code == 0 and run.summary["status"] == "warning", run
    alert = run.rules()[("log_sequence_gap", "automation_log")]
    assert "10-12" in alert["message"] and alert["evidence"]["items"][0]["missing_count"] == 3
    current = json.loads((root / "ops" / "verify_alerts.json").read_text())
    assert current["job_id"] == run.summary["job_id"] and current["alerts"] == run.summary["alerts"]
    assert set(run.summary["findings_by_rule"]) == {"log_sequence_gap"}, run.summary["findings_by_rule"]
    report = report_validates(root, run.summary["job_id"])
    assert [a["id"] for a in report["alerts"]] == [alert["id"]]


def test_a_repeated_sequence_is_a_duplicate(tmp_path):
    root = _healthy(tmp_path)
    lines = log_lines(root)
    lines.insert(5, lines[4])  # sequence 5 twice
    write_log_lines(root, lines)
    run = verify(root)
    alert = run.rules()[("log_sequence_duplicate", "automation_log")]
    assert alert["evidence"]["items"][0]["sequence"] == 5 and alert["evidence"]["items"][0]["lines"] == [5, 6]
    assert ("log_sequence_gap", "automation_log") not in run.rules()


def test_a_sequence_file_ahead_of_the_log_means_lines_lost_at_the_end(tmp_path):
    root = _healthy(tmp_path)
    last = log_records(root)[-1]["sequence"]
    (root / "ops" / "automation_runs.sequence").write_text(f"{last + 2}\n")
    run = verify(root)
    alert = run.rules()[("log_sequence_gap", "automation_log")]
    assert f"{last + 1}-{last + 2}" in alert["message"]


def test_a_torn_last_line_is_reported_not_crashed_on(tmp_path):
    root = _healthy(tmp_path)
    count = len(log_lines(root))
    with open(root / "ops" / "automation_runs.log", "ab") as handle:
        handle.write(b'{"job_id":"20260113T033700Z-latency","job":"lat')
    run = verify(root)
    assert run.exit_code == 0 and run.summary["status"] == "warning", run
    alert = run.rules()[("log_invalid_line", "automation_log")]
    assert f"automation_runs.log:{count + 1}: torn last line" in alert["message"]
    # verify's own append dropped the torn tail: the log is whole again
    records = log_records(root)
    assert records[-1]["job"] == "verify" and records[-1]["sequence"] == count + 1


def test_lines_that_break_the_schema_or_are_not_json_are_named(tmp_path):
    root = _healthy(tmp_path)
    lines = log_lines(root)
    bad = json.loads(lines[2])
    bad["status"] = "bogus"
    lines[2] = (json.dumps(bad) + "\n").encode()
    lines[6] = b"this is not json\n"
    write_log_lines(root, lines)
    run = verify(root)
    alert = run.rules()[("log_invalid_line", "automation_log")]
    messages = [item["message"] for item in alert["evidence"]["items"]]
    assert alert["breach_count"] == 2
    assert any(m.startswith("ops/automation_runs.log:3: field status:") for m in messages), messages
    assert any(m.startswith("ops/automation_runs.log:7: not JSON") for m in messages), messages
    # the schema-breaking line still carries sequence 3; the garbage replaced sequence 7
    assert run.rules()[("log_sequence_gap", "automation_log")]["evidence"]["items"][0]["missing"] == ["7"]


def test_strict_turns_findings_into_exit_1(tmp_path):
    root = _healthy(tmp_path)
    lines = log_lines(root)
    del lines[3]
    write_log_lines(root, lines)
    run = verify(root, "--strict")
    assert run.exit_code == 1 and run.summary["status"] == "error", run
    assert run.summary["diagnostics"]["error_code"] == "verification_failed"
    assert log_records(root)[-1]["diagnostics"]["error_code"] == "verification_failed"


def test_alert_ids_are_stable_across_nights(tmp_path):
    root = _healthy(tmp_path)
    lines = log_lines(root)
    del lines[3]
    write_log_lines(root, lines)
    first = verify(root).rules()[("log_sequence_gap", "automation_log")]["id"]
    again = verify(root, now=NOW.replace(minute=50)).rules()[("log_sequence_gap", "automation_log")]["id"]
    assert first == again and len(first) == 16


def test_an_unreadable_log_is_an_error_not_a_finding(tmp_path):
    root = _healthy(tmp_path)
    log = root / "ops" / "automation_runs.log"
    log.unlink()
    log.mkdir()  # reading a directory fails the same way for root and other users
    run = verify(root)
    assert run.exit_code == 1 and run.summary["status"] == "error", run
    assert run.summary["diagnostics"]["error_code"] == "invalid_input"
    assert "ops/automation_runs.log: cannot read" in run.summary["diagnostics"]["error_message"]


def test_a_new_workspace_is_clean_until_a_scheduled_job_should_have_beaten(tmp_path):
    root = new_workspace(tmp_path / "ws")
    run = verify(root)
    assert run.exit_code == 0 and run.summary["status"] == "ok", run
    # two days after the first logged run (verify's), latency and dashboard should have beaten; weekly
    # (Mondays) not yet
    later = verify(root, now=NOW + timedelta(days=2))
    assert later.exit_code == 0 and later.summary["status"] == "warning", later
    assert {s for (rule, s) in later.rules() if rule == "stale_heartbeat"} == {"latency", "dashboard"}
    later = verify(root, now=NOW + timedelta(days=7))
    assert {s for (rule, s) in later.rules() if rule == "stale_heartbeat"} == {"latency", "dashboard", "weekly"}
    assert (
        later.rules()[("stale_heartbeat", "weekly")]["message"]
        == "ops/weekly_report_heartbeat.json: missing: the job has never beaten here"
    )
    assert later.rules()[("missed_run", "latency")]["severity"] == "critical"


def test_bad_flags_and_a_bad_schedules_file_exit_2(tmp_path):
    root = _healthy(tmp_path)
    assert verify(root, "--since", "yesterday").exit_code == 2
    (root / "configs" / "observability" / "schedules.yaml").write_text(
        "schedules:\n  latency:\n    cron: '7,22,37,61 * * * *'\n    job: latency\n"
    )
    run = verify(root)
    assert run.exit_code == 2, run
    assert (
        "configs/observability/schedules.yaml: field schedules.latency.cron: minute field: 61 is outside 0-59"
        in run.summary["diagnostics"]["error_message"]
    )
    add_run(root, "latency", NOW)  # nothing else breaks: the log stays appendable

"""observability verify: missed and late scheduled runs, heartbeat freshness, the cron parser."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from _support_verify import NOW, UTC, add_run, iso, new_workspace, on_cadence, verify
from observability.cron import Cron, CronError


def test_three_missed_latency_runs_in_24_hours_are_reported_slot_by_slot(tmp_path):
    root = new_workspace(tmp_path / "ws")
    dropped = {
        ("latency", "2026-01-12T09:07:00Z"),
        ("latency", "2026-01-12T09:22:00Z"),
        ("latency", "2026-01-13T01:52:00Z"),
    }
    on_cadence(root, drop=dropped)
    run = verify(root)
    assert run.exit_code == 0 and run.summary["status"] == "warning", run
    assert set(run.summary["findings_by_rule"]) == {"missed_run"}, run.summary
    alert = run.rules()[("missed_run", "latency")]
    assert alert["breach_count"] == 3 and alert["severity"] == "warning"
    assert sorted(i["slot"] for i in alert["evidence"]["items"]) == sorted(slot for _, slot in dropped)
    assert alert["last_breach_at"] == "2026-01-13T01:52:00Z"
    latency = {c["schedule"]: c for c in run.summary["checks"]["cadence"]}["latency"]
    assert (latency["judged"], latency["on_time"], latency["missed"]) == (96, 93, 3)


def test_a_run_late_within_grace_is_not_counted(tmp_path):
    root = new_workspace(tmp_path / "ws")
    on_cadence(root, delay_minutes=18)  # every latency run 18 min late: grace is 20
    run = verify(root)
    assert run.summary["status"] == "ok" and run.summary["alerts"] == [], run


def test_a_run_late_beyond_grace_is_still_one_missed_slot(tmp_path):
    root = new_workspace(tmp_path / "ws")
    on_cadence(root, drop={("latency", "2026-01-12T12:07:00Z")})
    add_run(root, "latency", datetime(2026, 1, 12, 12, 30, tzinfo=UTC), heartbeat=False)  # 23 min late
    alert = verify(root).rules()[("missed_run", "latency")]
    assert alert["breach_count"] == 1 and alert["evidence"]["items"][0]["slot"] == "2026-01-12T12:07:00Z"


def test_weekly_runs_on_monday_and_is_judged_once_its_grace_has_passed(tmp_path):
    root = new_workspace(tmp_path / "ws")
    on_cadence(root, skip={"weekly"})
    # Monday 03:41: the 00:53 slot still has grace until 03:53, so nothing is judged yet
    monday = verify(root, now=NOW - timedelta(days=1))
    assert ("missed_run", "weekly") not in monday.rules(), monday
    assert {c["schedule"]: c for c in monday.summary["checks"]["cadence"]}["weekly"]["judged"] == 0
    # Tuesday 03:41: judged and missed; no weekly run at all in the window makes it critical
    tuesday = verify(root)
    alert = tuesday.rules()[("missed_run", "weekly")]
    assert alert["severity"] == "critical" and alert["evidence"]["items"][0]["slot"] == "2026-01-12T00:53:00Z"
    assert alert["evidence"]["items"][0]["workflow"] == "weekly.yml"
    # a week later the slot is outside the window: reported once, not every night
    later = verify(root, now=NOW + timedelta(days=1))
    assert ("missed_run", "weekly") not in later.rules()


def test_weekly_run_on_monday_within_grace_is_on_time_and_beyond_it_is_late(tmp_path):
    root = new_workspace(tmp_path / "ws")
    on_cadence(root, skip={"weekly"})
    add_run(root, "weekly", datetime(2026, 1, 12, 3, 30, tzinfo=UTC))  # 157 min after 00:53, grace 180
    assert ("missed_run", "weekly") not in verify(root).rules()

    root = new_workspace(tmp_path / "ws2")
    on_cadence(root, skip={"weekly"})
    add_run(root, "weekly", datetime(2026, 1, 12, 4, 30, tzinfo=UTC))  # 217 min late
    alert = verify(root).rules()[("missed_run", "weekly")]
    assert alert["evidence"]["items"][0]["late_minutes"] == 217
    assert alert["severity"] == "warning" and "started 217 min late" in alert["message"]


def test_the_daily_and_weekly_dashboard_slots_are_told_apart_by_the_cron_that_fired(tmp_path):
    root = new_workspace(tmp_path / "ws")
    on_cadence(root, skip={"dashboard-daily", "dashboard-weekly"})
    # Monday: only the daily cron fired (github.schedule says so); the weekly 00:23 slot was dropped
    add_run(root, "dashboard", datetime(2026, 1, 12, 0, 39, tzinfo=UTC), schedule="37 0 * * *")
    add_run(root, "dashboard", datetime(2026, 1, 13, 0, 39, tzinfo=UTC), schedule="37 0 * * *")
    run = verify(root, "--since", "2d")
    alert = run.rules()[("missed_run", "dashboard")]
    assert [i["schedule"] for i in alert["evidence"]["items"]] == ["dashboard-weekly"], alert


def test_slots_before_the_first_logged_run_are_not_judged(tmp_path):
    root = new_workspace(tmp_path / "ws")
    on_cadence(root, days=0.25)  # deployed six hours ago
    run = verify(root)
    assert ("missed_run", "latency") not in run.rules() and ("missed_run", "dashboard") not in run.rules(), run


def test_a_stale_heartbeat_is_reported_and_the_limit_is_configurable(tmp_path):
    root = new_workspace(tmp_path / "ws")
    on_cadence(root)
    beat = root / "ops" / "latency_job_heartbeat.json"
    doc = json.loads(beat.read_text())
    doc["last_success_at"] = iso(NOW - timedelta(hours=7))
    beat.write_text(json.dumps(doc))
    run = verify(root)
    alert = run.rules()[("stale_heartbeat", "latency")]
    assert (
        "7.0 h ago, limit 6 h" in alert["message"]
        and alert["evidence"]["items"][0]["path"] == "ops/latency_job_heartbeat.json"
    )
    assert ("stale_heartbeat", "latency") not in verify(root, "--max-heartbeat-age-hours", "8").rules()


def test_a_job_that_fails_every_run_goes_stale(tmp_path):
    """A failed run still rewrites the heartbeat; only the last success counts as a sign of life."""
    root = new_workspace(tmp_path / "ws")
    on_cadence(root)
    beat = root / "ops" / "latency_job_heartbeat.json"
    doc = json.loads(beat.read_text())
    doc.update(
        generated_at=iso(NOW - timedelta(minutes=5)), status="error", last_success_at=iso(NOW - timedelta(hours=9))
    )
    beat.write_text(json.dumps(doc))
    alert = verify(root).rules()[("stale_heartbeat", "latency")]
    assert "9.0 h ago" in alert["message"]


def test_weekly_and_daily_heartbeats_get_their_interval_not_six_hours(tmp_path):
    root = new_workspace(tmp_path / "ws")
    on_cadence(root)
    checks = {c["job"]: c for c in verify(root).summary["checks"]["heartbeats"]}
    assert checks["weekly"]["limit_hours"] == 171.0 and checks["weekly"]["age_hours"] > 26
    assert checks["dashboard"]["limit_hours"] == 25.5 and "verify" not in checks
    (root / "ops" / "weekly_report_heartbeat.json").write_text("{torn")
    alert = verify(root).rules()[("stale_heartbeat", "weekly")]
    assert "unreadable" in alert["message"]


def test_an_unscheduled_job_that_writes_a_heartbeat_is_checked_too(tmp_path):
    root = new_workspace(tmp_path / "ws")
    on_cadence(root)
    add_run(root, "backfill", NOW - timedelta(hours=10))
    assert ("stale_heartbeat", "backfill") in verify(root).rules()


@pytest.mark.parametrize(
    "expression,minutes,hours,weekdays",
    [
        ("7,22,37,52 * * * *", {7, 22, 37, 52}, set(range(24)), set(range(7))),
        ("*/20 1-3 * * 1-5", {0, 20, 40}, {1, 2, 3}, {1, 2, 3, 4, 5}),
        ("5/30 0-12/6 * * 0,7", {5, 35}, {0, 6, 12}, {0}),
    ],
)
def test_cron_fields(expression, minutes, hours, weekdays):
    cron = Cron.parse(expression)
    assert (set(cron.minutes), set(cron.hours), set(cron.weekdays)) == (minutes, hours, weekdays)


def test_cron_times_and_the_day_of_month_or_day_of_week_rule():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert len(list(Cron.parse("7,22,37,52 * * * *").times(start, start + timedelta(days=1)))) == 96
    mondays = list(Cron.parse("53 0 * * 1").times(start, start + timedelta(days=31)))
    assert [d.day for d in mondays] == [5, 12, 19, 26] and mondays[0].hour == 0 and mondays[0].minute == 53
    both = list(Cron.parse("0 12 1 * 1").times(start, start + timedelta(days=31)))  # the 1st OR Mondays
    assert [d.day for d in both] == [1, 5, 12, 19, 26]
    assert [d.month for d in Cron.parse("0 0 1 2,4 *").times(start, start + timedelta(days=120))] == [2, 4]


@pytest.mark.parametrize(
    "expression,message",
    [
        ("* * * *", "expected 5 fields"),
        ("60 * * * *", "minute field: 60 is outside 0-59"),
        ("0 0 * * MON", "day of week field: 'MON' is not a number"),
        ("0 5-1 * * *", "hour field: range '5-1' runs backwards"),
        ("*/0 * * * *", "minute field: 0 is outside 1-59"),
        ("1,,2 * * * *", "minute field: empty list item"),
    ],
)
def test_cron_errors_say_which_field(expression, message):
    with pytest.raises(CronError, match=message):
        Cron.parse(expression)


def test_a_job_that_ran_in_the_window_but_missed_a_later_slot_is_a_warning_not_critical(tmp_path):
    root = new_workspace(tmp_path / "ws")
    add_run(root, "dashboard", datetime(2026, 1, 13, 0, 6, tzinfo=UTC))  # deployed at 00:06 with a manual run
    on_cadence(root, days=3.5 / 24, skip={"dashboard-daily", "dashboard-weekly"})
    alert = verify(root).rules()[("missed_run", "dashboard")]
    assert alert["severity"] == "warning" and alert["evidence"]["items"][0]["slot"] == "2026-01-13T00:37:00Z"
    root = new_workspace(tmp_path / "ws2")
    on_cadence(root, days=3.5 / 24, skip={"dashboard-daily", "dashboard-weekly"})
    assert verify(root).rules()[("missed_run", "dashboard")]["severity"] == "critical"


def test_without_schedules_yaml_the_cadence_is_skipped_with_a_warning(tmp_path):
    root = new_workspace(tmp_path / "ws")
    on_cadence(root, drop={("latency", "2026-01-12T09:07:00Z")})
    (root / "configs" / "observability" / "schedules.yaml").unlink()
    run = verify(root)
    assert run.exit_code == 0 and ("missed_run", "latency") not in run.rules(), run
    assert any("schedules.yaml not found: cadence not checked" in w for w in run.summary["diagnostics"]["warnings"])
    named = verify(root, "--schedules", "configs/observability/schedules.yaml")
    assert named.exit_code == 2 and "config file not found" in named.summary["diagnostics"]["error_message"]


def test_since_takes_an_iso_time(tmp_path):
    root = new_workspace(tmp_path / "ws")
    on_cadence(root, drop={("latency", "2026-01-12T09:07:00Z"), ("latency", "2026-01-12T20:07:00Z")})
    run = verify(root, "--since", "2026-01-12T12:00:00Z")
    assert run.rules()[("missed_run", "latency")]["breach_count"] == 1
    assert run.summary["window"] == {"since": "2026-01-12T12:00:00Z", "until": iso(NOW)}


def test_the_hourly_latency_dataset_schedule_is_judged_slot_by_slot(tmp_path):
    """The template's schedules.yaml: dashboard-hourly is judged like every other cron."""
    from _support_verify import TEMPLATE_SCHEDULES

    root = new_workspace(tmp_path / "ws")
    (root / "configs" / "observability" / "schedules.yaml").write_text(TEMPLATE_SCHEDULES.read_text())
    on_cadence(root)
    clean = verify(root)
    assert ("missed_run", "dashboard") not in clean.rules(), clean
    hourly = {c["schedule"]: c for c in clean.summary["checks"]["cadence"]}["dashboard-hourly"]
    assert hourly["judged"] >= 23 and hourly["missed"] == 0, hourly

    again = new_workspace(tmp_path / "ws2")
    (again / "configs" / "observability" / "schedules.yaml").write_text(TEMPLATE_SCHEDULES.read_text())
    on_cadence(again, drop={("dashboard-hourly", "2026-01-12T15:17:00Z"), ("dashboard-hourly", "2026-01-12T16:17:00Z")})
    alert = verify(again).rules()[("missed_run", "dashboard")]
    assert sorted(i["slot"] for i in alert["evidence"]["items"]) == ["2026-01-12T15:17:00Z", "2026-01-12T16:17:00Z"]
    assert {i["workflow"] for i in alert["evidence"]["items"]} == {"dashboard.yml"}

"""Stale latency sources (issue 10 item 4): a source silent past its freshness limit is `stale`, never `ok`.

Every source shows its last sample time and age; a source older than ``stale_after_hours`` raises a
``stale`` warning (which supersedes ``no_data``); a source not in ``sources`` is dropped
``drop_stale_after_days`` after it turned stale, a configured one stays until removed from config.
"""

from __future__ import annotations

from datetime import timedelta

from _support_latency import (
    alert_file,
    append_log,
    assert_valid,
    current_row,
    ok_run,
    run_latency,
    ts,
    write_config,
    write_log,
)

T = ts("2025-10-11T08:00:00Z")


def _rows(at, *sources):
    return [current_row(at + timedelta(minutes=1 + i), 100 + i, "success", "", s) for i, s in enumerate(sources)]


class Feed:
    def __init__(self, ws):
        self.ws = ws
        self.log = ws / "logs" / "notifier.csv"
        write_log(self.log, [])

    def run(self, now, rows=()):
        append_log(self.log, list(rows))
        summary = ok_run(self.ws, "--input", "logs/notifier.csv", now=now)
        for alert in summary["alerts"]:
            assert_valid("alert_item", alert)
        return summary


def source(summary, name):
    return next(s for s in summary["sources"] if s["source"] == name)


def alerts(summary, rule, name):
    return [a for a in summary["alerts"] if a["rule"] == rule and a["source"] == name]


def test_configured_source_silent_13_months_is_stale_not_ok(tmp_path):
    write_config(tmp_path, "sources: [feed_a, feed_old]\n")
    feed = Feed(tmp_path)
    first = feed.run(T + timedelta(minutes=20), _rows(T, "feed_a", "feed_old"))
    assert source(first, "feed_old")["status"] == "ok"
    assert source(first, "feed_old")["age_seconds"] == (20 - 2) * 60  # last sample at T+2 min

    later = T + timedelta(days=395)  # 13 months
    s = feed.run(later, _rows(later - timedelta(minutes=10), "feed_a"))
    old = source(s, "feed_old")
    assert old["status"] == "stale"
    assert old["timestamp_utc"] == "2025-10-11T08:02:00Z"
    assert old["age_seconds"] == int((later - (T + timedelta(minutes=2))).total_seconds())
    assert old["stale_after_hours"] == 168
    assert source(s, "feed_a")["status"] == "ok"
    [stale] = alerts(s, "stale", "feed_old")
    assert (stale["severity"], stale["status"], stale["transition"]) == ("warning", "firing", "opened")
    assert "394 d" in stale["message"] and "2025-10-11T08:02:00Z" in stale["message"]
    assert "#latency-stale" in stale["next_action"]
    assert not [a for a in s["alerts"] if a["rule"] == "no_data" and a["status"] == "firing"]
    assert s["status"] == "warning"
    assert alert_file(tmp_path, s["job_id"]) == s["alerts"]
    # the step summary shows the state and the age
    step = tmp_path / "step_summary.md"
    run = run_latency(
        tmp_path,
        "--input",
        "logs/notifier.csv",
        now=later + timedelta(minutes=15),
        env={"GITHUB_STEP_SUMMARY": str(step), "GITHUB_ACTIONS": "true"},
    )
    assert run.exit_code == 0, run
    line = next(x for x in step.read_text(encoding="utf-8").splitlines() if "feed_old" in x and "|" in x)
    assert "stale" in line and "🟢" not in line and "395 d" in line
    # a configured stale source stays stale (until removed from config), the alert unchanged
    s2 = feed.run(later + timedelta(days=60))
    assert source(s2, "feed_old")["status"] == "stale"
    assert alerts(s2, "stale", "feed_old")[0]["transition"] == "unchanged"


def test_unconfigured_source_13_months_old_turns_stale_then_is_dropped(tmp_path):
    feed = Feed(tmp_path)
    feed.run(T + timedelta(minutes=20), _rows(T, "feed_a", "feed_gone"))
    later = T + timedelta(days=395)
    s = feed.run(later, _rows(later - timedelta(minutes=10), "feed_a"))
    assert source(s, "feed_gone")["status"] == "stale"
    assert alerts(s, "stale", "feed_gone")[0]["status"] == "firing"
    # still listed 30 days after it turned stale (the default retention) ...
    s30 = feed.run(later + timedelta(days=30))
    assert source(s30, "feed_gone")["status"] == "stale"
    # ... dropped after that, its alert resolved saying why
    s31 = feed.run(later + timedelta(days=30, minutes=15))
    assert "feed_gone" not in [x["source"] for x in s31["sources"]]
    [gone] = alerts(s31, "stale", "feed_gone")
    assert (gone["status"], gone["transition"]) == ("resolved", "resolved")
    assert "dropped" in gone["message"]
    s32 = feed.run(later + timedelta(days=30, minutes=30))
    assert alerts(s32, "stale", "feed_gone") == []


def test_boundary_exactly_at_the_limit_is_not_stale(tmp_path):
    write_config(
        tmp_path,
        "sources: [feed_a, feed_b]\nno_data_after_minutes: 60\nstale_after_hours: 24\n"
        "source_stale_after_hours: {feed_a: 48}\n",
    )
    feed = Feed(tmp_path)
    feed.run(T + timedelta(minutes=10), _rows(T, "feed_a", "feed_b"))
    last_b = T + timedelta(minutes=2)
    at_limit = feed.run(last_b + timedelta(hours=24))
    assert source(at_limit, "feed_b")["status"] == "no_data"
    assert source(at_limit, "feed_b")["age_seconds"] == 24 * 3600
    assert alerts(at_limit, "stale", "feed_b") == []
    past = feed.run(last_b + timedelta(hours=24, seconds=1))
    assert source(past, "feed_b")["status"] == "stale"
    [nd] = alerts(past, "no_data", "feed_b")  # superseded, not "samples arriving again"
    assert nd["status"] == "resolved" and "stale" in nd["message"]
    # feed_a has its own, longer limit
    assert source(past, "feed_a")["status"] == "no_data"
    assert source(past, "feed_a")["stale_after_hours"] == 48
    # samples return: ok again, the stale alert resolves
    back = feed.run(last_b + timedelta(hours=25), _rows(last_b + timedelta(hours=24, minutes=30), "feed_a", "feed_b"))
    assert source(back, "feed_b")["status"] == "ok"
    [r] = alerts(back, "stale", "feed_b")
    assert (r["status"], r["transition"]) == ("resolved", "resolved")


def test_fresh_sources_stay_ok_with_their_age(tmp_path):
    write_config(tmp_path, "sources: [feed_a]\n")
    feed = Feed(tmp_path)
    s = feed.run(T + timedelta(minutes=20), _rows(T, "feed_a"))
    assert source(s, "feed_a")["status"] == "ok" and source(s, "feed_a")["age_seconds"] == 19 * 60
    assert s["alerts"] == [] and s["status"] == "ok"


def test_stale_limit_not_beyond_no_data_is_a_config_error(tmp_path):
    write_config(tmp_path, "no_data_after_minutes: 120\nstale_after_hours: 2\n")
    write_log(tmp_path / "logs" / "notifier.csv", [])
    run = run_latency(tmp_path, "--input", "logs/notifier.csv", now=T)
    assert run.exit_code == 2, run
    assert "stale_after_hours" in run.stderr and "no_data_after_minutes" in run.stderr
    assert not (tmp_path / "ops" / "latency_state.json").exists()


def test_a_stale_source_is_raised_through_the_alert_inbox(tmp_path):
    """The stale warning reaches `alerts sync` like no_data does (the latency source reads the state)."""
    from observability.alerts.render import _RULE_TITLES
    from observability.alerts.sources import LatencySource
    from observability.workspace import Workspace

    write_config(tmp_path, "sources: [feed_a, feed_old]\n")
    feed = Feed(tmp_path)
    feed.run(T + timedelta(minutes=20), _rows(T, "feed_a", "feed_old"))
    later = T + timedelta(days=395)
    feed.run(later, _rows(later - timedelta(minutes=10), "feed_a"))
    report = LatencySource("oncall", "docs/runbook.md").collect(Workspace(tmp_path))
    assert report.authoritative
    [alert] = [a for a in report.alerts if a.subject == "feed_old"]
    assert (alert.rule, alert.severity) == ("stale", "warning")
    assert "stale" in alert.message and alert.next_action.endswith("#latency-stale")
    assert "stale" in _RULE_TITLES

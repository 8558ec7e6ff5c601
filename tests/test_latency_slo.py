"""SLO evaluation across CLI runs: streaks, escalation, resolution, no_data, late data, catch-up."""

from __future__ import annotations

import statistics
from datetime import timedelta

import pytest

from _support_latency import (
    alert_file,
    append_log,
    assert_valid,
    current_row,
    heartbeat,
    iso,
    ok_run,
    ts,
    write_config,
    write_log,
)

T = ts("2025-10-11T08:00:00Z")
SLO = "1000"
GOOD = [100, 200, 300, 250, 150]
BAD = [5000, 6000, 7000, 8000, 9000]


def w(k: int):
    """Start of the k-th 15-minute window from T."""
    return T + timedelta(minutes=15 * k)


def after(k: int):
    """The scheduled run just after window k closed."""
    return w(k + 1) + timedelta(minutes=2)


def samples(k: int, values, statuses=None, source: str = "feed_a", offset: int = 1) -> list[str]:
    statuses = statuses or ["success"] * len(values)
    return [
        current_row(w(k) + timedelta(minutes=offset + i), v, s, "", source)
        for i, (v, s) in enumerate(zip(values, statuses, strict=False))
    ]


def p95(values) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[94]


class Feed:
    """One workspace with one upstream log and the CLI run after each window."""

    def __init__(self, ws, *extra):
        self.ws = ws
        self.log = ws / "logs" / "notifier.csv"
        write_log(self.log, [])
        self.extra = extra

    def run(self, now, rows=()) -> dict:
        append_log(self.log, list(rows))
        summary = ok_run(self.ws, "--input", "logs/notifier.csv", "--slo-ms", SLO, *self.extra, now=now)
        for alert in summary["alerts"]:
            assert_valid("alert_item", alert)
        if summary["alerts"]:
            assert alert_file(self.ws, summary["job_id"]) == summary["alerts"]
        else:
            assert not (self.ws / "out" / "latency_alerts" / f"{summary['job_id']}.json").exists()
        return summary


def only(summary: dict, rule: str = "latency_slo", source: str = "feed_a") -> dict:
    found = [a for a in summary["alerts"] if a["rule"] == rule and a["source"] == source]
    assert len(found) == 1, summary["alerts"]
    return found[0]


def source_entry(summary: dict, source: str = "feed_a") -> dict:
    found = [s for s in summary["sources"] if s["source"] == source]
    assert len(found) == 1, summary["sources"]
    return found[0]


def test_streak_warning_critical_resolved(tmp_path):
    feed = Feed(tmp_path)
    s0 = feed.run(after(0), samples(0, GOOD))
    assert s0["status"] == "ok" and s0["alerts"] == [] and s0["pending_alerts"] == 0
    assert heartbeat(tmp_path)["breach_streak"] == 0

    # window 1 breaches: no alert yet, but the streak is 1
    s1 = feed.run(after(1), samples(1, BAD))
    assert s1["status"] == "ok" and s1["alerts"] == []
    assert s1["breach_count"] == 1
    assert s1["breach_streak"] == 1
    hb = heartbeat(tmp_path)
    assert hb["pending_alerts"] == 0 and hb["breach_streak"] == 1
    assert hb["last_breach_at"] == iso(w(1))
    src = source_entry(s1)
    assert src["timestamp_utc"] == iso(w(1) + timedelta(minutes=5))
    assert src["latency_ms"] == BAD[-1]
    assert src["p95_latency_ms"] == pytest.approx(p95(BAD), abs=1e-3)

    # window 2: warning, opened
    s2 = feed.run(after(2), samples(2, BAD))
    assert s2["status"] == "warning" and s2["pending_alerts"] == 1
    a2 = only(s2)
    assert (a2["severity"], a2["status"], a2["transition"]) == ("warning", "firing", "opened")
    assert a2["breach_streak"] == 2 and a2["breach_count"] == 2
    assert a2["started_at"] == iso(w(1)) and a2["last_breach_at"] == iso(w(2))
    assert a2["evidence"]["p95_ms"] == pytest.approx(p95(BAD), abs=1e-3)
    hb = heartbeat(tmp_path)
    assert hb["pending_alerts"] == 1 and hb["breach_streak"] == 2 and hb["last_breach_at"] == iso(w(2))
    assert hb["status"] == "warning"
    assert source_entry(s2)["status"] == "warning"

    # window 3: critical, escalated, same id
    s3 = feed.run(after(3), samples(3, BAD))
    a3 = only(s3)
    assert a3["id"] == a2["id"]
    assert (a3["severity"], a3["status"], a3["transition"]) == ("critical", "firing", "escalated")
    assert a3["breach_streak"] == 3 and a3["breach_count"] == 3 and a3["last_breach_at"] == iso(w(3))
    assert source_entry(s3)["status"] == "critical" and source_entry(s3)["breach_streak"] == 3
    assert s3["breach_streak"] == 3

    # a run with nothing new changes nothing and counts nothing twice
    s3b = feed.run(after(3) + timedelta(minutes=5))
    a3b = only(s3b)
    assert a3b["id"] == a2["id"] and a3b["transition"] == "unchanged"
    assert a3b["breach_count"] == 3 and a3b["breach_streak"] == 3

    # window 4 is good: resolved
    s4 = feed.run(after(4), samples(4, GOOD))
    a4 = only(s4)
    assert a4["id"] == a2["id"]
    assert (a4["status"], a4["transition"]) == ("resolved", "resolved")
    assert a4["breach_count"] == 3 and a4["breach_streak"] == 0
    assert a4["last_breach_at"] == iso(w(3)) and a4["resolved_at"] == iso(w(4))
    assert s4["status"] == "ok" and s4["pending_alerts"] == 0 and s4["breach_streak"] == 0
    hb = heartbeat(tmp_path)
    assert hb["pending_alerts"] == 0 and hb["breach_streak"] == 0 and hb["last_breach_at"] == iso(w(3))
    assert source_entry(s4)["status"] == "ok"
    assert source_entry(s4)["p95_latency_ms"] == pytest.approx(p95(GOOD), abs=1e-3)

    # the next run no longer reports it
    s5 = feed.run(after(5), samples(5, GOOD))
    assert s5["alerts"] == []

    # a new episode gets the same fingerprint but counts from zero
    feed.run(after(6), samples(6, BAD))
    s7 = feed.run(after(7), samples(7, BAD))
    a7 = only(s7)
    assert a7["id"] == a2["id"] and a7["transition"] == "opened"
    assert a7["breach_count"] == 2 and a7["started_at"] == iso(w(6))


def test_error_sample_is_critical_at_once(tmp_path):
    feed = Feed(tmp_path)
    s0 = feed.run(after(0), samples(0, [100, 120, 130], ["success", "error", "ok"]))
    a = only(s0)
    assert (a["severity"], a["transition"], a["status"]) == ("critical", "opened", "firing")
    assert a["breach_streak"] == 1 and a["breach_count"] == 1
    assert a["evidence"]["error_samples"] == 1
    assert s0["status"] == "warning" and heartbeat(tmp_path)["pending_alerts"] == 1


def test_failure_rate_breach_with_fine_p95(tmp_path):
    feed = Feed(tmp_path)
    # 1 of 5 failing = 20 %: not above the threshold
    s0 = feed.run(after(0), samples(0, GOOD, ["success", "failure", "ok", "stable", "success"]))
    assert s0["breach_count"] == 0
    two_of_five = ["failure", "success", "timeout", "ok", "success"]  # 40 %
    feed.run(after(1), samples(1, GOOD, two_of_five))
    s2 = feed.run(after(2), samples(2, GOOD, two_of_five))
    a = only(s2)
    assert a["severity"] == "warning" and a["breach_count"] == 2
    assert a["evidence"]["failure_rate"] == pytest.approx(0.4)
    assert a["evidence"]["p95_ms"] < 1000
    assert "failure rate" in a["message"]


def test_no_data_for_configured_source(tmp_path):
    write_config(tmp_path, "sources: [feed_a, feed_b]\nno_data_after_minutes: 30\n")
    feed = Feed(tmp_path)
    s0 = feed.run(after(0), samples(0, GOOD))
    assert s0["alerts"] == []
    feed.run(after(1), samples(1, GOOD))
    # feed_b silent since the first run (after(0)): 30 min at after(2), not yet longer than 30
    s2 = feed.run(after(2), samples(2, GOOD))
    assert s2["alerts"] == []
    s3 = feed.run(after(3), samples(3, GOOD))
    a = only(s3, "no_data", "feed_b")
    assert a["status"] == "firing" and a["transition"] == "opened"
    assert [x["source"] for x in s3["alerts"]] == ["feed_b"]
    assert source_entry(s3, "feed_b")["status"] == "no_data"
    assert s3["status"] == "warning" and heartbeat(tmp_path)["pending_alerts"] == 1
    s4 = feed.run(after(4), samples(4, GOOD))
    assert only(s4, "no_data", "feed_b")["id"] == a["id"]
    assert only(s4, "no_data", "feed_b")["transition"] == "unchanged"
    # samples return
    s5 = feed.run(after(5), samples(5, GOOD) + samples(5, GOOD, source="feed_b"))
    r = only(s5, "no_data", "feed_b")
    assert r["id"] == a["id"] and (r["status"], r["transition"]) == ("resolved", "resolved")
    assert s5["status"] == "ok" and heartbeat(tmp_path)["pending_alerts"] == 0

    # feed_a goes silent too (now a known source): no_data after 30 min
    s6 = feed.run(after(6), samples(6, GOOD, source="feed_b"))
    assert s6["alerts"] == []
    s8 = None
    for k in (7, 8):
        s8 = feed.run(after(k), samples(k, GOOD, source="feed_b"))
    assert only(s8, "no_data", "feed_a")["status"] == "firing"


def test_late_samples_do_not_double_count(tmp_path):
    feed = Feed(tmp_path)
    feed.run(after(0), samples(0, BAD[:2]))
    s1 = feed.run(after(1), samples(1, BAD[:2]))
    assert only(s1)["breach_count"] == 2
    # late samples for windows 0 and 1 (already evaluated) plus window 2
    late = samples(0, BAD[2:], offset=8) + samples(1, BAD[2:], offset=8)
    s2 = feed.run(after(2), late + samples(2, BAD))
    a = only(s2)
    assert a["breach_count"] == 3 and a["breach_streak"] == 3
    assert a["severity"] == "critical" and a["last_breach_at"] == iso(w(2))
    # late good samples into window 1 that do not change its verdict
    s3 = feed.run(after(2) + timedelta(minutes=5), samples(1, [10], offset=12))
    assert only(s3)["breach_count"] == 3 and only(s3)["breach_streak"] == 3


def test_late_samples_turn_a_good_window_bad(tmp_path):
    feed = Feed(tmp_path)
    feed.run(after(0), samples(0, BAD))
    s1 = feed.run(after(1), samples(1, [100]))  # one good sample: streak broken
    assert s1["alerts"] == []
    # late, slow samples for window 1 make it a breach: windows 0,1 and the new 2 all breach
    s2 = feed.run(after(2), samples(1, [9000, 9000, 9000], offset=5) + samples(2, BAD))
    a = only(s2)
    assert a["severity"] == "critical" and a["breach_count"] == 3 and a["started_at"] == iso(w(0))


def test_catch_up_after_missed_runs(tmp_path):
    feed = Feed(tmp_path)
    feed.run(after(0), samples(0, GOOD))
    # 2 hours of missed schedules; the notifier kept writing
    gap = (
        samples(1, GOOD)
        + samples(2, BAD)
        + samples(3, BAD)
        + samples(4, BAD)
        + samples(5, GOOD)
        + samples(6, GOOD)
        + samples(7, GOOD)
        + samples(8, GOOD)
    )
    s = feed.run(after(8), gap)
    assert s["breach_count"] == 3
    a = only(s)
    assert (a["status"], a["transition"], a["severity"]) == ("resolved", "resolved", "critical")
    assert a["breach_count"] == 3 and a["started_at"] == iso(w(2))
    assert a["last_breach_at"] == iso(w(4)) and a["resolved_at"] == iso(w(5))
    assert s["pending_alerts"] == 0 and s["status"] == "ok"
    assert heartbeat(tmp_path)["last_breach_at"] == iso(w(4))


def test_catch_up_ending_in_a_breach(tmp_path):
    feed = Feed(tmp_path)
    feed.run(after(0), samples(0, GOOD))
    gap = samples(1, GOOD) + samples(2, BAD) + samples(3, GOOD) + samples(4, BAD) + samples(5, BAD)
    s = feed.run(after(5), gap)
    a = only(s)
    assert (a["status"], a["severity"], a["transition"]) == ("firing", "warning", "opened")
    assert a["breach_count"] == 2 and a["breach_streak"] == 2 and a["started_at"] == iso(w(4))


def test_two_breaching_windows_hours_apart_are_not_a_streak():
    """A silence longer than the no_data limit ends an episode: no warning from two lone breaches."""
    from observability.config.latency import LatencyConfig
    from observability.latency.slo import max_gap, streak_at

    cfg = LatencyConfig()  # 15-min windows, no_data after 60 min
    breach, good = [1, 200000.0, 0.0, 0, 5], [0, 100.0, 0.0, 0, 5]
    apart = {"2026-01-05T08:00:00Z": breach, "2026-01-05T12:00:00Z": breach}
    assert streak_at(apart, max_gap=max_gap(cfg)) == (1, "2026-01-05T12:00:00Z")
    sparse = {"2026-01-05T11:30:00Z": breach, "2026-01-05T12:00:00Z": breach}  # one sample per 30 min
    assert streak_at(sparse, max_gap=max_gap(cfg)) == (2, "2026-01-05T11:30:00Z")
    broken = {**sparse, "2026-01-05T11:45:00Z": good}
    assert streak_at(broken, max_gap=max_gap(cfg))[0] == 1

"""Rollups stored one file per UTC day: migration of the old single file, streaks across days, readers."""

from __future__ import annotations

from datetime import timedelta

from _support_latency import append_log, current_row, ok_run, rollup_rows, run_latency, ts, write_log
from observability.latency.rollup import RollupStore
from observability.outputs.rollups import HEADER, read_combined

SLO = 1000.0


def rows(items):
    return [current_row(stamp, latency, status, source=source) for stamp, latency, status, source in items]


def hourly(start, hours, latency=10.0, sources=("feed_a", "feed_b")):
    return [
        (start + timedelta(hours=h, minutes=m), latency, "success", s)
        for h in range(hours)
        for m in (5, 35)
        for s in sources
    ]


def day_files(ws):
    return sorted(p.name for p in (ws / "ops" / "signal_latency_rollup").glob("*.csv"))


def test_rollups_are_one_file_per_day_and_join_to_the_old_single_file(tmp_path):
    start = ts("2025-10-10T20:00:00Z")
    write_log(tmp_path / "log.csv", rows(hourly(start, 30)))
    ok_run(tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=30, minutes=5))
    assert day_files(tmp_path) == ["2025-10-10.csv", "2025-10-11.csv", "2025-10-12.csv"]
    assert not (tmp_path / "ops" / "signal_latency_rollup.csv").exists()
    joined = read_combined(tmp_path / "ops" / "signal_latency_rollup.csv").decode()
    lines = joined.splitlines(keepends=True)
    assert lines[0] == HEADER and len(lines) == 1 + 30 * 2
    assert lines[1:] == sorted(lines[1:])  # (hour, source) order, as the single file had
    for name in day_files(tmp_path):
        body = (tmp_path / "ops" / "signal_latency_rollup" / name).read_text().splitlines()[1:]
        assert body and all(line.startswith(name[:10]) for line in body)


def test_an_old_single_rollup_file_is_migrated_on_the_first_run(tmp_path):
    start = ts("2025-10-10T20:00:00Z")
    write_log(tmp_path / "log.csv", rows(hourly(start, 30)))
    ok_run(tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=30, minutes=5))
    single = tmp_path / "ops" / "signal_latency_rollup.csv"
    directory = tmp_path / "ops" / "signal_latency_rollup"
    expected = {p.name: p.read_bytes() for p in directory.glob("*.csv")}
    # What an older release left: one file, and no day directory.
    single.write_bytes(read_combined(single))
    for path in directory.iterdir():
        path.unlink()
    directory.rmdir()
    run = run_latency(tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=30, minutes=20))
    assert run.exit_code == 0, run.stderr
    assert "split 60 rollup row(s) of the old single file ops/signal_latency_rollup.csv" in run.stderr
    assert not single.exists()
    assert {p.name: p.read_bytes() for p in directory.glob("*.csv")} == expected
    # A later run (nothing new) leaves the day files as they are.
    again = run_latency(
        tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=30, minutes=35)
    )
    assert again.exit_code == 0 and "split" not in again.stderr
    assert {p.name: p.read_bytes() for p in directory.glob("*.csv")} == expected


def test_an_old_single_file_brought_back_does_not_overwrite_newer_day_files(tmp_path):
    """A `state pull` from a store pushed by an older release may bring the single file back."""
    start = ts("2025-10-10T20:00:00Z")
    write_log(tmp_path / "log.csv", rows(hourly(start, 6)))
    ok_run(tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=6, minutes=5))
    single = tmp_path / "ops" / "signal_latency_rollup.csv"
    stale = read_combined(single)
    append_log(tmp_path / "log.csv", rows([(start + timedelta(hours=1, minutes=50), 9000.0, "success", "feed_a")]))
    ok_run(tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=6, minutes=20))
    newer = read_combined(single)
    assert newer != stale
    old_day = HEADER + "2025-10-09T23:00:00Z,feed_a,1,0,0.0000,5.000,5.000,5.000,5.000,false,0\n"
    single.write_text(old_day + stale.decode()[len(HEADER) :])
    ok_run(tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=6, minutes=35))
    assert not single.exists()
    assert read_combined(single).decode() == old_day + newer.decode()[len(HEADER) :]  # only the missing day taken


def test_breach_streaks_run_across_midnight_and_late_data_restreaks_the_next_day(tmp_path):
    start = ts("2025-10-10T22:00:00Z")
    bad = lambda h: [(start + timedelta(hours=h, minutes=m), 5000.0, "success", "feed_a") for m in (1, 2)]
    good = lambda h: [(start + timedelta(hours=h, minutes=m), 10.0, "success", "feed_a") for m in (1, 2)]
    write_log(tmp_path / "log.csv", rows(bad(0) + good(1) + bad(2) + bad(3)))  # 22, 23, 00, 01
    ok_run(tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=4))
    streaks = [(r["hour_utc"][8:13], int(r["breach_streak"])) for r in rollup_rows(tmp_path)]
    assert streaks == [("10T22", 1), ("10T23", 0), ("11T00", 1), ("11T01", 2)]
    day2 = tmp_path / "ops" / "signal_latency_rollup" / "2025-10-11.csv"
    # Late samples make hour 23 of the first day breach: only that day's hour is recomputed, and the
    # next day, which no new sample touched, is rewritten because its streaks continue from it.
    append_log(
        tmp_path / "log.csv",
        rows([(start + timedelta(hours=1, minutes=m), 9000.0, "success", "feed_a") for m in (10, 20, 30)]),
    )
    summary = ok_run(tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=4, minutes=15))
    assert summary["rollups_written"] == 1
    streaks = [(r["hour_utc"][8:13], int(r["breach_streak"])) for r in rollup_rows(tmp_path)]
    assert streaks == [("10T22", 1), ("10T23", 2), ("11T00", 3), ("11T01", 4)]
    assert "2025-10-11T01:00:00Z,feed_a,2," in day2.read_text()


def test_a_day_left_with_stale_streaks_by_a_killed_run_is_repaired_by_the_next(tmp_path):
    """Day files are written one by one: a run killed between two leaves a later day's streaks behind."""
    start = ts("2025-10-10T22:00:00Z")
    bad = lambda h: [(start + timedelta(hours=h, minutes=m), 5000.0, "success", "feed_a") for m in (1, 2)]
    write_log(tmp_path / "log.csv", rows(bad(0) + bad(1) + bad(2)))  # 22, 23, 00
    ok_run(tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=3))
    day2 = tmp_path / "ops" / "signal_latency_rollup" / "2025-10-11.csv"
    good = day2.read_text()
    assert ",true,3\n" in good
    day2.write_text(good.replace(",true,3\n", ",true,1\n"))  # as if the earlier day's rewrite had not reached it
    store = RollupStore(tmp_path / "ops" / "signal_latency_rollup.csv", str)
    row = store.read_since("2025-10-10T23:00:00Z")[0]
    store.update({(row.hour_utc, row.source): row}, start + timedelta(hours=3), 90)  # what the rerun recomputes
    assert day2.read_text() == good
    assert [p.name for p in store.written] == ["2025-10-11.csv"]  # the first day was already right


def test_expired_days_are_deleted_and_the_oldest_day_trimmed(tmp_path):
    start = ts("2025-10-01T20:00:00Z")
    write_log(tmp_path / "log.csv", rows(hourly(start, 8)))
    ok_run(tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=8))
    assert day_files(tmp_path) == ["2025-10-01.csv", "2025-10-02.csv"]
    # 1 day of retention, 22 hours on: 01T20 .. 01T21 expire (01T22 is the cutoff), 2025-10-01 is trimmed.
    summary = ok_run(
        tmp_path,
        "--input",
        "log.csv",
        "--slo-ms",
        str(SLO),
        "--rollup-retention-days",
        "1",
        now=start + timedelta(days=1, hours=2),
    )
    assert summary["rollups_dropped"] == 2 * 2
    assert [r["hour_utc"][8:13] for r in rollup_rows(tmp_path)][0] == "01T22"
    summary = ok_run(
        tmp_path,
        "--input",
        "log.csv",
        "--slo-ms",
        str(SLO),
        "--rollup-retention-days",
        "1",
        now=start + timedelta(days=1, hours=5),
    )
    # cutoff 02T01: hours 01T22, 01T23 (the whole first day, deleted) and 02T00 (trimmed) go
    assert summary["rollups_dropped"] == 3 * 2 and day_files(tmp_path) == ["2025-10-02.csv"]
    assert [r["hour_utc"][8:13] for r in rollup_rows(tmp_path)][0] == "02T01"

"""The first cycle of an hour appends its rows to the newest day file instead of rewriting it; the
files are byte for byte those of a rewrite, and a run killed between the append and its state
commit is redone without a doubled row."""

from __future__ import annotations

from datetime import timedelta

import pytest

from _support_latency import append_log, current_row, ok_run, run_latency, ts, write_log
from observability.latency import job
from observability.latency.rollup import HEADER, RollupStore

SLO = 1000.0
START = ts("2025-10-11T06:00:00Z")


def hour_rows(hour: int) -> list[str]:
    at = START + timedelta(hours=hour)
    # feed_b breaches from hour 2 on: its streak runs across appended hours
    return [
        current_row(at + timedelta(minutes=m), 5000.0 if (s == "feed_b" and hour >= 2) else 10.0 + hour, source=s)
        for m in (5, 35)
        for s in ("feed_a", "feed_b", "feed_c")
        if not (s == "feed_c" and hour == 3)
    ]


def day_files(ws) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((ws / "ops" / "signal_latency_rollup").glob("*.csv"))}


def cycles(ws, hours: range, minute: int = 50) -> None:
    for hour in hours:
        append_log(ws / "log.csv", hour_rows(hour))
        ok_run(ws, "--input", "log.csv", "--slo-ms", str(SLO), now=START + timedelta(hours=hour, minutes=minute))


def test_appending_an_hour_gives_the_bytes_a_rewrite_gives(tmp_path, monkeypatch):
    appended, rewritten = tmp_path / "a", tmp_path / "r"
    for ws in (appended, rewritten):
        write_log(ws / "log.csv", [])
    cycles(appended, range(0, 1))
    part = appended / "ops" / "signal_latency_rollup" / "2025-10-11.csv"
    inode = part.stat().st_ino
    cycles(appended, range(1, 6))
    assert part.stat().st_ino == inode  # appended to, never replaced
    monkeypatch.setattr(RollupStore, "_append", lambda *args: False)
    cycles(rewritten, range(0, 6))
    assert day_files(appended) == day_files(rewritten)
    lines = part.read_text().splitlines()
    assert [line.split(",")[-1] for line in lines if ",feed_b," in line] == ["0", "0", "1", "2", "3", "4"]


def test_a_second_cycle_in_the_same_hour_rewrites_the_day(tmp_path):
    write_log(tmp_path / "log.csv", [])
    cycles(tmp_path, range(0, 2), minute=20)
    part = tmp_path / "ops" / "signal_latency_rollup" / "2025-10-11.csv"
    inode = part.stat().st_ino
    append_log(tmp_path / "log.csv", [current_row(START + timedelta(hours=1, minutes=40), 10.0, source="feed_a")])
    ok_run(tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=START + timedelta(hours=1, minutes=50))
    assert part.stat().st_ino != inode
    assert [line for line in part.read_text().splitlines() if line.startswith("2025-10-11T07:00:00Z,feed_a,")][0].split(
        ","
    )[2] == "3"  # the hour's row recomputed with the third sample, once


def test_a_torn_last_line_makes_the_cycle_rewrite_the_day_without_it(tmp_path, monkeypatch):
    torn, clean = tmp_path / "t", tmp_path / "c"
    for ws in (torn, clean):
        write_log(ws / "log.csv", [])
        cycles(ws, range(0, 2))
    with open(torn / "ops" / "signal_latency_rollup" / "2025-10-11.csv", "a") as handle:
        handle.write("2025-10-11T08:00:00Z,feed_a,1")  # what a writer killed mid-line would leave
    for ws in (torn, clean):
        cycles(ws, range(2, 4))
    assert day_files(torn) == day_files(clean)


class Killed(BaseException):
    """Stands in for SIGKILL between the rollup append and the state commit."""


def test_a_run_killed_after_the_append_is_redone_without_a_doubled_row(tmp_path, monkeypatch):
    killed, clean = tmp_path / "k", tmp_path / "c"
    for ws in (killed, clean):
        write_log(ws / "log.csv", [])
        cycles(ws, range(0, 2))
    append_log(killed / "log.csv", hour_rows(2))
    real = job._write_state

    def die(path, state):
        raise Killed()

    monkeypatch.setattr(job, "_write_state", die)
    part = killed / "ops" / "signal_latency_rollup" / "2025-10-11.csv"
    before = part.read_bytes()
    with pytest.raises(Killed):
        run_latency(killed, "--input", "log.csv", "--slo-ms", str(SLO), now=START + timedelta(hours=2, minutes=50))
    assert len(part.read_bytes()) > len(before)  # the append happened, the state was not committed
    monkeypatch.setattr(job, "_write_state", real)
    ok_run(killed, "--input", "log.csv", "--slo-ms", str(SLO), now=START + timedelta(hours=2, minutes=50))
    cycles(clean, range(2, 3))
    cycles(killed, range(3, 4))
    cycles(clean, range(3, 4))
    assert day_files(killed) == day_files(clean)


@pytest.mark.parametrize(
    "since",
    [
        "2025-10-11T00:00:00Z",
        "2025-10-11T05:00:00Z",
        "2025-10-11T09:00:00Z",
        "2025-10-11T11:00:00Z",
        "2025-10-11T12:00:00Z",
    ],
)
def test_the_tail_read_backwards_in_chunks_equals_the_whole_file_s_rows(tmp_path, since):
    store = RollupStore(tmp_path / "ops" / "signal_latency_rollup.csv", str)
    store.dir.mkdir(parents=True)
    body = "".join(
        f"2025-10-11T{h:02d}:00:00Z,feed_{s:04d},1,0,0.0000,1.000,2.000,3.000,4.000,false,0\n"
        for h in range(12)
        for s in range(1500)
    )  # ~125 KB an hour: several 64 KiB chunks
    store.part("2025-10-11").write_text(HEADER + body)
    expected = [line for line in RollupStore(store.legacy, str).load("2025-10-11") if line[:20] >= since]
    assert store._tail("2025-10-11", since) == expected
    store.part("2025-10-11").write_text(HEADER + body + "2025-10-11T12:00:00Z,feed_0")  # torn
    assert store._tail("2025-10-11", since) is None


def test_a_damaged_row_met_by_the_append_names_its_line(tmp_path):
    """The append path read the day file's tail backwards and named a damaged row 'line ?'; the error
    names its line number as a rewrite's does, and nothing is appended."""
    write_log(tmp_path / "log.csv", [])
    cycles(tmp_path, range(0, 2))
    part = tmp_path / "ops" / "signal_latency_rollup" / "2025-10-11.csv"
    lines = part.read_text().splitlines(keepends=True)
    lines[-1] = "2025-10-11T07:00:00Z,feed_c\n"  # a hand edit cut the last row's figures
    part.write_text("".join(lines))
    before = part.read_bytes()
    append_log(tmp_path / "log.csv", hour_rows(2))
    run = run_latency(tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=START + timedelta(hours=2, minutes=50))
    assert run.exit_code == 1 and run.error_code == "invalid_input", run
    message = run.summary["diagnostics"]["error_message"]
    assert f"ops/signal_latency_rollup/2025-10-11.csv: line {len(lines)}: not a rollup row" in message, message
    assert part.read_bytes() == before


def test_a_damaged_header_is_refused_by_the_first_cycle_of_an_hour_too(tmp_path):
    """The append path read only the day file's tail, so a damaged header went unnoticed by every cycle
    that appended (an hourly cadence: all of them) and failed the readers (weekly, dashboard) instead."""
    write_log(tmp_path / "log.csv", [])
    cycles(tmp_path, range(0, 2))
    part = tmp_path / "ops" / "signal_latency_rollup" / "2025-10-11.csv"
    part.write_bytes(part.read_bytes().replace(b"hour_utc,source", b"hour,source", 1))
    before = part.read_bytes()
    append_log(tmp_path / "log.csv", hour_rows(2))
    run = run_latency(tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=START + timedelta(hours=2, minutes=50))
    assert run.exit_code == 1 and run.error_code == "invalid_input", run
    assert (
        "ops/signal_latency_rollup/2025-10-11.csv: line 1: unexpected header"
        in run.summary["diagnostics"]["error_message"]
    )
    assert part.read_bytes() == before

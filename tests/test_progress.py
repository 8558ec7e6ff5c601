"""Progress on stderr (observability/progress.py): nothing for short work, a line every few seconds off
a terminal, one bar on a terminal, never a byte on stdout; time is driven by a fake clock."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest

from _support_latency import current_row, run_latency, ts, write_log
from observability import progress
from observability.progress import Progress


class Clock:
    """Fake monotonic time: ``step`` seconds pass at each reading."""

    def __init__(self, step: float = 0.0):
        self.now, self.step = 1000.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_work_shorter_than_two_seconds_shows_nothing():
    clock, err = Clock(), io.StringIO()
    with Progress("backfill", 100, stream=err, clock=clock, environ={}) as p:
        for _ in range(100):
            clock.now += 0.019  # 1.9 s in all
            p.update(advance=1)
    assert err.getvalue() == ""


def test_off_a_terminal_one_line_every_five_seconds_then_a_last_line():
    clock, err = Clock(), io.StringIO()
    with Progress("logs/signal.csv: reading", 50 << 20, unit="B", stream=err, clock=clock, environ={}) as p:
        for _ in range(50):  # 1 MiB a second for 50 s
            clock.now += 1.0
            p.update(advance=1 << 20)
    lines = err.getvalue().splitlines()
    # shown from 2 s on, then at most every 5 s: at 2, 7, ..., 47 s, and the closing line
    assert len(lines) == 11, lines
    assert lines[0] == "logs/signal.csv: reading: 2.0 MiB of 50.0 MiB (4%), ~48 s left, 1.0 MiB/s, 2 s"
    assert lines[-2].startswith("logs/signal.csv: reading: 47.0 MiB of 50.0 MiB (94%), ~3 s left")
    assert lines[-1] == "logs/signal.csv: reading: done, 50.0 MiB in 50 s"


def test_on_a_terminal_one_bar_is_redrawn_in_place():
    clock, err = Clock(), Terminal()
    with Progress("export", 10, unit="datasets", stream=err, clock=clock, environ={}) as p:
        for _ in range(10):
            clock.now += 1.0
            p.update(advance=1)
    text = err.getvalue()
    assert text.count("\n") == 1 and text.endswith("export: done, 10 datasets in 10 s\n")
    frames = text.split("\r\x1b[K")[1:]
    assert (
        frames[0] == "export [" + "#" * 4 + "." * 20 + "] 2 datasets of 10 datasets (20%), ~8 s left, 1 datasets/s, 2 s"
    )
    assert len(frames) == 10  # 2..10 s, each a second apart (over the 0.2 s redraw interval), and the end


def test_obs_progress_off_silences_it_and_an_unknown_total_still_reports():
    clock, err = Clock(), io.StringIO()
    with Progress("x", stream=err, clock=clock, environ={"OBS_PROGRESS": "off"}) as p:
        clock.now += 60
        p.update(5)
    assert err.getvalue() == ""
    with Progress("rows", stream=err, clock=clock, environ={}) as p:
        clock.now += 3
        p.update(300)
    assert err.getvalue().splitlines() == ["rows: 300, 100/s, 3 s", "rows: done, 300 in 3 s"]


def test_a_wait_is_announced_only_when_long():
    err = io.StringIO()
    progress.waiting("github: retrying", 1.5, stream=err, environ={})
    progress.waiting("github: retrying", 8, stream=err, environ={})
    progress.waiting("github: retrying", 8, stream=err, environ={"OBS_PROGRESS": "off"})
    assert err.getvalue() == "github: retrying: waiting 8 s\n"


def test_a_latency_backfill_reports_progress_on_stderr_and_leaves_stdout_one_json_document(tmp_path, monkeypatch):
    start = ts("2025-10-11T00:00:00Z")
    rows = [current_row(start + timedelta(seconds=3 * i), 100.0, source="feed_a") for i in range(40_000)]
    write_log(tmp_path / "log.csv", rows)
    monkeypatch.setattr(progress, "monotonic", Clock(step=1.0))  # one second per reading of the clock
    run = run_latency(tmp_path, "--input", "log.csv", now=start + timedelta(hours=34))
    assert run.exit_code == 0, run
    assert json.loads(run.stdout)["samples_written"] == 40_000  # stdout: the JSON summary and nothing else
    lines = [line for line in run.stderr.splitlines() if line.startswith("log.csv: reading new rows")]
    assert lines and lines[-1].startswith("log.csv: reading new rows: done, "), run.stderr
    assert any("%)" in line for line in lines[:-1]), lines
    # after the reading, storing and evaluating a backfill takes longer still (70 % of a 600,000-row run)
    after = [line for line in run.stderr.splitlines() if line.startswith("latency sample: store, roll up")]
    assert after and after[-1].startswith("latency sample: store, roll up, evaluate (steps): done, 4 in "), run.stderr


@pytest.mark.parametrize("value", ["off", "OFF", "0", "no"])
def test_every_spelling_of_off(value):
    assert progress.mode(Terminal(), {"OBS_PROGRESS": value}) == "off"
    assert progress.mode(Terminal(), {}) == "bar" and progress.mode(io.StringIO(), {}) == "lines"

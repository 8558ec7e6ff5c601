"""kill -9 the latency job at random points; the next run must recover with nothing lost or doubled.

The job runs as a real subprocess (``python -m observability latency sample``) over a
workspace fed by a synthetic notifier log; OBS_NOW fixes the clock so each cycle is
deterministic. After every kill every JSON/JSONL/CSV artefact parses, a clean follow-up
run exits 0, and the raw store plus every archive listed in the manifest hold exactly the
samples of the input log.
"""

from __future__ import annotations

import csv
import random
import shutil
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest

from observability.samplegen.notifier import rows
from tests._support_robust import (
    after,
    append_current,
    assert_same_samples,
    check_ops_parse,
    clean_env,
    manifest_entries,
    read_log,
    rows_to_keys,
    run_cli,
    stamp,
    start_cli,
    stored_keys,
    summary,
    unmeasured,
)

SOURCES = ["broker_api", "dukascopy", "router_demo"]
START = stamp(1)


def _sample_args(ws: Path, *extra: str) -> list[str]:
    return [
        "latency",
        "sample",
        "--workspace",
        str(ws),
        "--input",
        "logs/signal_notifier.csv",
        "--lock-timeout",
        "5",
        *extra,
    ]


def _kill_after(args: list[str], env: dict, delay: float) -> int | None:
    """Start the job, SIGKILL it after ``delay`` s; returns its exit code if it finished first."""
    proc = start_cli(args, env=unmeasured(env))
    time.sleep(delay)
    finished = proc.poll()
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    return finished


def _kill_when(args: list[str], env: dict, trigger, limit: float = 30.0) -> bool:
    """Start the job, SIGKILL it as soon as ``trigger()`` is true; False if it finished first."""
    proc = start_cli(args, env=unmeasured(env))
    deadline = time.monotonic() + limit
    hit = False
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            hit = trigger()
        except OSError:
            hit = False
        if hit:
            break
        time.sleep(0.0005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    return hit


def _assert_recovered(ws: Path, args: list[str], env: dict, expected, context: str) -> dict:
    """The state right after a kill parses; a clean rerun exits 0 and stores every sample once."""
    check_ops_parse(ws, allow_torn_log_tail=True)
    done = run_cli(args, env=env)
    assert done.returncode == 0, f"{context}: follow-up run exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    result = summary(done)
    assert result["status"] in ("ok", "warning"), f"{context}: {result['status']} {result['diagnostics']}"
    check_ops_parse(ws)
    assert not (ws / "ops" / "signal_latency.csv.rotating").exists(), f"{context}: rotation leftover not cleaned"
    listed = {e["path"] for e in manifest_entries(ws)}
    archives = {p.relative_to(ws).as_posix() for p in (ws / "ops" / "signal_latency_archive").rglob("*.csv.gz")}
    assert archives == listed, f"{context}: archives not in the manifest: {sorted(archives - listed)}"
    assert_same_samples(stored_keys(ws), expected)
    sequences = [line["sequence"] for line in read_log(ws)]
    assert sequences == list(range(1, len(sequences) + 1)), f"{context}: sequence {sequences}"
    return result


# One worker runs this file (the start-up calibration is made once, not once per worker under -n).
pytestmark = pytest.mark.xdist_group("latency_crash")


@pytest.fixture(scope="module")
def startup_seconds() -> float:
    """How long the interpreter and imports take before the job does anything (the faster of two
    starts: the first of a fresh checkout also compiles the modules)."""
    timings = []
    for _ in range(2):
        t0 = time.perf_counter()
        done = run_cli(["latency", "sample", "--help"], env=unmeasured(clean_env()))
        assert done.returncode == 0, done.stderr
        timings.append(time.perf_counter() - t0)
    return min(timings)


@pytest.fixture(scope="module")
def run_seconds(tmp_path_factory) -> float:
    """How long one cycle takes on this machine (kill delays are drawn below it): the faster of two
    runs, as the first of a fresh checkout also compiles every module (and, in parallel, the other
    workers' load comes and goes): a slow calibration drew kill delays after the cycles had ended."""
    data = rows(START, START + timedelta(days=1), SOURCES, step=timedelta(minutes=1), seed=1)
    env = clean_env(OBS_NOW=after(START + timedelta(days=1), 7))
    timings = []
    for _ in range(2):
        ws = tmp_path_factory.mktemp("calibrate")
        append_current(ws / "logs" / "signal_notifier.csv", data)
        t0 = time.perf_counter()
        done = run_cli(_sample_args(ws, "--max-raw-bytes", "40000"), env=unmeasured(env))
        assert done.returncode == 0, done.stderr
        timings.append(time.perf_counter() - t0)
    # No floor above the cycle itself: a floor longer than a (fast) cycle drew most kill delays
    # after it had finished, and a seed could kill nothing.
    return max(0.05, min(timings))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 23, 37, 41])
def test_sigkill_at_random_points_loses_and_duplicates_nothing(
    tmp_path: Path, seed: int, run_seconds: float, startup_seconds: float
):
    rng = random.Random(seed)
    ws = tmp_path / "ws"
    log = ws / "logs" / "signal_notifier.csv"
    days = 4
    data = rows(START, START + timedelta(days=days), SOURCES, step=timedelta(minutes=1), seed=seed)
    # Some cycles rotate by size, some by retention, some not at all.
    extra = {
        11: ["--max-raw-bytes", "40000"],
        23: ["--raw-retention-days", "2", "--max-raw-bytes", "60000"],
        37: ["--raw-retention-days", "1"],
        41: [],
    }[seed]
    expected = rows_to_keys([])
    cycles = 4 if seed != 41 else 3
    per_cycle = timedelta(days=days) / cycles
    rotations, interrupted, bad_rows = 0, 0, 0
    scale = 1.0  # shrinks after a run that finished before its kill (this machine got faster)
    for cycle in range(cycles):
        lo, hi = START + per_cycle * cycle, START + per_cycle * (cycle + 1)
        chunk = [r for r in data if lo <= r[0] < hi]
        append_current(log, chunk)
        with open(log, "a", encoding="utf-8") as handle:  # two bad rows per cycle go to the rejects file
            handle.write(f"{after(lo, 1)},-5,success,,broker_api\n2026-13-01T00:00:00Z,5,success,,broker_api\n")
        bad_rows += 2
        expected += rows_to_keys(chunk)
        env = clean_env(OBS_NOW=after(hi, 7))
        args = _sample_args(ws, *extra)
        # Mostly after start-up, where the job writes; sometimes during it.
        earliest = (0.02 if cycle == 0 else startup_seconds * 0.8) * scale
        delay = rng.uniform(earliest, run_seconds * 1.1 * scale)
        finished = _kill_after(args, env, delay)
        if finished is not None:  # the machine runs faster than when calibrated: kill earlier from now on
            scale *= 0.6
        context = f"seed {seed} cycle {cycle} killed after {delay:.3f}s (finished first: {finished})"
        result = _assert_recovered(ws, args, env, expected, context)
        rotations += len(result["rotated"])
        with open(ws / "ops" / "signal_latency_rejects.csv", newline="", encoding="utf-8") as handle:
            rejects = [(r["input"], r["line"]) for r in csv.DictReader(handle)]
        assert len(rejects) == len(set(rejects)) == bad_rows, f"{context}: rejects {rejects}"
        interrupted += finished is None
    assert interrupted >= 1, f"seed {seed}: every run finished before its kill; the test killed nothing"
    if extra:
        assert manifest_entries(ws), f"seed {seed}: no rotation ever happened; the test did not cover it"


def _rotation_due_workspace(tmp_path: Path) -> tuple[Path, list[str], dict, object]:
    """A workspace whose raw store is far past --max-raw-bytes: the next run must rotate."""
    ws = tmp_path / "base"
    data = rows(START, START + timedelta(days=3), SOURCES, step=timedelta(minutes=1), seed=5)
    append_current(ws / "logs" / "signal_notifier.csv", data)
    env = clean_env(OBS_NOW=after(START + timedelta(days=3), 7))
    done = run_cli(_sample_args(ws), env=env)
    assert done.returncode == 0, done.stderr
    assert not manifest_entries(ws)
    later = rows(
        START + timedelta(days=3), START + timedelta(days=3, hours=2), SOURCES, step=timedelta(minutes=1), seed=6
    )
    append_current(ws / "logs" / "signal_notifier.csv", later)
    env = clean_env(OBS_NOW=after(START + timedelta(days=3, hours=2), 7))
    return ws, ["--max-raw-bytes", "50000"], env, rows_to_keys(data) + rows_to_keys(later)


def _triggers(ws: Path) -> dict:
    ops = ws / "ops"
    raw = ops / "signal_latency.csv"
    raw_size = raw.stat().st_size
    state = ops / "latency_state.json"
    manifest = ops / "signal_latency_archive" / "manifest.jsonl"
    mtime = state.stat().st_mtime_ns
    return {
        "raw_appended": lambda: raw.stat().st_size > raw_size,  # before the state commit
        "state_committed": lambda: state.stat().st_mtime_ns != mtime,  # cursors committed, rotation not begun
        "archive_written": lambda: any((ops / "signal_latency_archive").rglob("*.csv.gz")),
        "rotating_file_written": lambda: (ops / "signal_latency.csv.rotating").exists(),
        "journal_committed": lambda: b'"rotation": {' in state.read_bytes(),
        "manifest_appended": lambda: manifest.exists() and manifest.stat().st_size > 0,
        "raw_swapped": _swapped(ops / "signal_latency.csv.rotating"),
    }


def _swapped(rotating: Path):
    """True once the rotated raw file was seen and has since been moved into place."""
    seen = []

    def trigger() -> bool:
        if rotating.exists():
            seen.append(True)
            return False
        return bool(seen)

    return trigger


@pytest.mark.slow
def test_sigkill_while_a_rotation_is_due(tmp_path: Path, run_seconds: float):
    base, extra, env, expected = _rotation_due_workspace(tmp_path)
    hits = []
    for name in _triggers(base):
        ws = tmp_path / name
        shutil.copytree(base, ws)
        args = _sample_args(ws, *extra)
        hit = _kill_when(args, env, _triggers(ws)[name])
        hits.append(hit)
        _assert_recovered(ws, args, env, expected, f"killed at {name} (hit: {hit})")
        assert len(manifest_entries(ws)) == 1, f"{name}: rotation repeated or lost: {manifest_entries(ws)}"
    # Polling can miss a window on a loaded machine, but most kills must land inside the rotation.
    assert sum(hits) >= 4, f"kills landed inside the rotation only {sum(hits)} time(s): {hits}"
    rng = random.Random(99)
    for attempt in range(4):
        ws = tmp_path / f"random{attempt}"
        shutil.copytree(base, ws)
        args = _sample_args(ws, *extra)
        delay = rng.uniform(0.1, run_seconds * 1.2)
        _kill_after(args, env, delay)
        _assert_recovered(ws, args, env, expected, f"rotation run killed after {delay:.3f}s")
        assert len(manifest_entries(ws)) == 1


def test_a_torn_log_line_left_by_a_kill_is_repaired_by_the_next_run(tmp_path: Path):
    """A writer killed mid-line leaves a line with no newline; the next append must not glue onto it."""
    ws = tmp_path / "ws"
    data = rows(START, START + timedelta(hours=2), SOURCES, step=timedelta(minutes=5), seed=3)
    append_current(ws / "logs" / "signal_notifier.csv", data)
    env = clean_env(OBS_NOW=after(START + timedelta(hours=2), 7))
    args = _sample_args(ws)
    assert run_cli(args, env=env).returncode == 0
    log = ws / "ops" / "automation_runs.log"
    whole = log.read_bytes()
    log.write_bytes(whole + whole[: len(whole) // 2])  # what a writer killed mid-line leaves
    with pytest.raises(AssertionError):
        read_log(ws)
    done = run_cli(args, env=env)
    assert done.returncode == 0, done.stderr
    lines = read_log(ws)
    assert [line["sequence"] for line in lines] == [1, 2]
    assert_same_samples(stored_keys(ws), rows_to_keys(data))


def test_same_job_id_rotating_twice_keeps_both_archives(tmp_path: Path):
    """Two rotations under one job id (a fixed clock, or a rerun given --job-id) must not overwrite an archive."""
    ws = tmp_path / "ws"
    log = ws / "logs" / "signal_notifier.csv"
    first = rows(START, START + timedelta(days=1), SOURCES, step=timedelta(minutes=1), seed=8)
    second = rows(START + timedelta(days=1), START + timedelta(days=2), SOURCES, step=timedelta(minutes=1), seed=9)
    env = clean_env(OBS_NOW=after(START + timedelta(days=2), 7))
    args = _sample_args(ws, "--max-raw-bytes", "40000", "--job-id", "20260103T000700Z-latency")
    append_current(log, first)
    assert run_cli(args, env=env).returncode == 0
    append_current(log, second)
    done = run_cli(args, env=env)
    assert done.returncode == 0, done.stderr
    assert len(manifest_entries(ws)) == 2, manifest_entries(ws)
    assert_same_samples(stored_keys(ws), rows_to_keys(first) + rows_to_keys(second))


def _marks(state: dict, now: str) -> dict:
    """Each source's 672 hourly marks at ``now`` (how a state's run-length text reads)."""
    from observability.clock import parse_iso
    from observability.latency import tally

    sources = state[tally.KEY]["sources"]
    return {source: tally.marks_at(state, source, parse_iso(now)) for source in sources}


def _marks_of_state(ws: Path, now: str) -> dict:
    import json

    return _marks(json.loads((ws / "ops" / "latency_state.json").read_text()), now)


def _rebuilt_from_day_files(ws: Path, now: str, slo_ms: float) -> dict:
    """The marks the day files on disk give (what the state's must equal)."""
    from observability import slo
    from observability.clock import parse_iso
    from observability.latency import tally
    from observability.outputs.rollups import parse_row

    objective = slo.Objective(slo_ms, 0.2)
    hours = []
    for day in sorted((ws / "ops" / "signal_latency_rollup").glob("*.csv")):
        for line in day.read_text().splitlines()[1:]:
            row = parse_row(line)
            hours.append((row.hour_utc, row.source, objective.meets(row)))
    state: dict = {}
    tally.rebuild(state, hours, objective, parse_iso(now))
    return _marks(state, now)


@pytest.mark.slow
def test_sigkill_in_a_cycle_that_updates_the_slo_marks_leaves_them_consistent(tmp_path: Path, run_seconds: float):
    """The hourly SLO marks (slo_tally) are committed with the state while the rollup day files are
    written before it: killed anywhere in a cycle, the next run's marks equal those of the day files."""
    base = tmp_path / "base"
    data = rows(START, START + timedelta(days=2), SOURCES, step=timedelta(minutes=1), seed=3)
    append_current(base / "logs" / "signal_notifier.csv", data)
    done = run_cli(_sample_args(base), env=clean_env(OBS_NOW=after(START + timedelta(days=2), 7)))
    assert done.returncode == 0, done.stderr
    later = rows(START + timedelta(days=2), START + timedelta(days=2, hours=3), SOURCES, step=timedelta(minutes=1))
    append_current(base / "logs" / "signal_notifier.csv", later)
    now = after(START + timedelta(days=2, hours=3), 7)
    rollups = base / "ops" / "signal_latency_rollup"
    stamps = {p.name: p.stat().st_mtime_ns for p in rollups.glob("*.csv")}

    def rollup_written(ws: Path):
        folder = ws / "ops" / "signal_latency_rollup"
        return lambda: any(stamps.get(p.name) != p.stat().st_mtime_ns for p in folder.glob("*.csv"))

    hits = []
    # the same SLO (the marks are updated) and a new one (they are rebuilt from the day files)
    for extra, slo_ms in (((), 120000.0), (("--slo-ms", "1500"), 1500.0)):
        env = clean_env(OBS_NOW=now)
        for attempt in range(3):
            ws = tmp_path / f"slo{slo_ms:g}-{attempt}"
            shutil.copytree(base, ws)
            args = _sample_args(ws, *extra)
            if attempt == 0:
                hits.append(_kill_when(args, env, rollup_written(ws)))
            else:
                _kill_after(args, env, random.Random(attempt).uniform(0.05, run_seconds * 1.1))
            done = run_cli(args, env=env)
            assert done.returncode == 0, done.stderr
            marks = _marks_of_state(ws, now)
            assert marks == _rebuilt_from_day_files(ws, now, slo_ms), f"{extra} attempt {attempt}"
            assert all(m.strip(".") for m in marks.values()) and len(marks) == len(SOURCES)  # not all gaps
    assert any(hits), "no kill landed after the rollups were written; the test killed nothing there"

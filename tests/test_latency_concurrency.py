"""Parallel runs: one wins the job lock, the others skip cleanly; the automation log stays gap-free."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from observability.samplegen.notifier import rows
from tests._support_robust import (
    REPO,
    after,
    append_current,
    assert_same_samples,
    check_ops_parse,
    clean_env,
    log_validator,
    read_log,
    rows_to_keys,
    run_cli,
    stamp,
    start_cli,
    stored_keys,
)

SOURCES = ["broker_api", "dukascopy", "router_demo"]
START = stamp(1)


def _check_log(ws: Path, expected_lines: int) -> list[dict]:
    raw = (ws / "ops" / "automation_runs.log").read_bytes()
    for number, line in enumerate(raw.splitlines(keepends=True), start=1):
        assert len(line) < 4096, f"log line {number} is {len(line)} bytes"
    lines = read_log(ws)
    assert len(lines) == expected_lines, f"{len(lines)} log lines, expected {expected_lines}"
    validator = log_validator()
    for line in lines:
        problems = [e.message for e in validator.iter_errors(line)]
        assert not problems, f"log line {line.get('sequence')}: {problems}"
    sequences = [line["sequence"] for line in lines]
    assert sequences == list(range(1, expected_lines + 1)), (
        f"sequence not strictly increasing without gaps: {sequences}"
    )
    assert (ws / "ops" / "automation_runs.sequence").read_text().strip() == str(expected_lines)
    return lines


@pytest.mark.slow
def test_eight_runs_at_once_one_wins_the_others_skip(tmp_path: Path):
    ws = tmp_path / "ws"
    log = ws / "logs" / "signal_notifier.csv"
    first = rows(START, START + timedelta(days=1), SOURCES, step=timedelta(minutes=1), seed=2)
    append_current(log, first)
    env = clean_env(OBS_NOW=after(START + timedelta(days=4), 7))
    args = ["latency", "sample", "--workspace", str(ws), "--input", "logs/signal_notifier.csv", "--lock-timeout", "0"]
    warm = run_cli(args, env=env)
    assert warm.returncode == 0, warm.stderr
    # New samples arrive, then eight runs start at once.
    # Enough of them that the winner holds the lock while the others are still starting up.
    second = rows(
        START + timedelta(days=1),
        START + timedelta(days=4),
        SOURCES + ["extra_feed"],
        step=timedelta(minutes=1),
        seed=3,
    )
    append_current(log, second)
    procs = [start_cli(args, env=env) for _ in range(8)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{err}"
        results.append(json.loads(out))
    statuses = [r["status"] for r in results]
    skipped = [r for r in results if r["status"] == "skipped"]
    ran = [r for r in results if r["status"] != "skipped"]
    assert ran and all(r["status"] in ("ok", "warning") for r in ran), statuses
    assert skipped, f"no run was skipped: {statuses} (the runs did not overlap)"
    for r in skipped:
        assert r["diagnostics"]["reason"] == "lock_not_acquired", r["diagnostics"]
        assert r["diagnostics"]["lock_file"] == "ops/.latency.lock"
    # Exactly one run ingested the new samples; any later winner found nothing new.
    assert sorted(r["samples_written"] for r in ran)[-1] == len(second)
    assert sum(r["samples_written"] for r in ran) == len(second)
    lines = _check_log(ws, 1 + 8)
    assert sorted(line["status"] for line in lines[1:]) == sorted(statuses)
    assert all(line["diagnostics"]["reason"] == "lock_not_acquired" for line in lines if line["status"] == "skipped")
    check_ops_parse(ws)
    assert_same_samples(stored_keys(ws), rows_to_keys(first) + rows_to_keys(second))


_APPENDER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {repo!r})
    from observability import runlog
    from observability.workspace import Workspace

    ws = Workspace.open(sys.argv[1])
    worker = int(sys.argv[2])
    for i in range(int(sys.argv[3])):
        record = {{
            "job_id": f"20260101T0000{{worker:02d}}Z-latency", "job": "latency", "status": "error",
            "started_at": "2026-01-01T00:00:00Z", "completed_at": "2026-01-01T00:00:01Z", "duration_ms": 1000,
            "attempts": 1, "artefacts": [f"ops/file-{{worker}}-{{n}}.csv" for n in range(40)],
            "alerts": [{{"id": f"a{{n}}", "severity": "warning", "status": "firing", "rule": "latency_slo",
                        "source": "é" * 60}} for n in range(i % 4 * 10)],
            "diagnostics": {{"error_code": "job_failed", "error_message": "é" * (i * 200),
                            "worker": worker, "run": i}},
        }}
        runlog.append(ws, record)
""")


@pytest.mark.slow
def test_parallel_log_appends_keep_the_sequence_gap_free_and_lines_small(tmp_path: Path):
    ws = tmp_path / "ws"
    ws.mkdir()
    script = tmp_path / "appender.py"
    script.write_text(_APPENDER.format(repo=str(REPO)), encoding="utf-8")
    workers, per_worker = 8, 10
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(ws), str(w), str(per_worker)],
            env=clean_env(),
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    lines = _check_log(ws, workers * per_worker)
    tagged = [
        (line["diagnostics"]["worker"], line["diagnostics"]["run"]) for line in lines if "worker" in line["diagnostics"]
    ]
    assert len(tagged) == len(set(tagged)), "a record was logged twice"
    assert any(line["diagnostics"].get("truncated") for line in lines), (
        "no record was large enough to need cutting; the size limit was not exercised"
    )


_FAILING_RUNS = textwrap.dedent("""
    import sys
    sys.path.insert(0, {repo!r})
    from observability.cli import cli

    ws, worker, runs, missing = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    codes = []
    for i in range(runs):
        # As the console script would see it (source_command keeps only `observability latency sample`).
        sys.argv = ["observability", "latency", "sample", "--workspace", ws, "--input", missing,
                    "--input", missing + ".2", "--lock-file", f"ops/.latency-{{worker}}.lock"]
        try:
            cli.main(sys.argv[1:], prog_name="observability")
        except SystemExit as exc:
            codes.append(exc.code)
    sys.stderr.write(" ".join(map(str, codes)))
""")


@pytest.mark.slow
def test_parallel_failing_runs_each_log_one_valid_line(tmp_path: Path):
    """8 processes x 10 runs of a job that fails fast (missing input with a long non-ASCII path)."""
    ws = tmp_path / "ws"
    ws.mkdir()
    # ~3.9 KB of UTF-8 each: the error message alone overflows a log line (the command line recorded
    # is the command path only, never the arguments), so every line is cut.
    missing = "/".join(["é" * 120] * 16) + "/signal.csv"
    script = tmp_path / "failing.py"
    script.write_text(_FAILING_RUNS.format(repo=str(REPO)), encoding="utf-8")
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(ws), str(w), "10", missing],
            env=clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(8)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert err.strip().splitlines()[-1] == " ".join(["1"] * 10), err[-2000:]
    lines = _check_log(ws, 80)
    assert all(line["status"] == "error" and line["diagnostics"]["error_code"] == "missing_input" for line in lines)
    assert any(line["diagnostics"].get("truncated") for line in lines)

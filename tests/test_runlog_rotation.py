"""Rotation of the automation log: size and month segments, retention, crash repair, windowed readers.

Library calls on tmp_path workspaces, the verify CLI in-process, and a real child process killed
with SIGKILL at random points while it appends through rotations.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from _support_robust import unmeasured
from observability import runlog
from observability.verify import logcheck
from observability.workspace import Workspace

T0 = datetime(2026, 1, 20, 0, 0, tzinfo=UTC)
PAD = "x" * 400  # ~560-byte lines: 6 hours of 15-minute runs are ~13 KiB


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def record(at: datetime, tag: str = "latency", *, job: str = "latency") -> dict:
    return {
        "job_id": f"{at:%Y%m%dT%H%M%SZ}-{tag}",
        "job": job,
        "status": "ok",
        "started_at": iso(at),
        "completed_at": iso(at + timedelta(seconds=5)),
        "duration_ms": 5000,
        "attempts": 1,
        "artefacts": [],
        "alerts": [],
        "diagnostics": {"detail": PAD},
    }


def fill(
    ws: Workspace,
    count: int,
    *,
    start: datetime = T0,
    step: timedelta = timedelta(minutes=15),
    rotate_bytes: int = 32 * 1024,
    retention_days: int | None = None,
) -> list[str]:
    ids = []
    for i in range(count):
        rec = record(start + i * step)
        runlog.append(ws, rec, rotate_bytes=rotate_bytes, retention_days=retention_days)
        ids.append(rec["job_id"])
    return ids


def segment_files(ws: Workspace) -> list[Path]:
    return sorted(ws.run_segments.rglob("*.jsonl.gz"))


def sequences(ws: Workspace) -> list[int]:
    return [r["sequence"] for r in runlog.iter_records(ws)]


@pytest.fixture
def ws(tmp_path) -> Workspace:
    (tmp_path / "ops").mkdir()
    return Workspace(tmp_path)


def test_size_rotation_writes_named_segments_and_keeps_every_line_once(ws):
    ids = fill(ws, 200)
    files = segment_files(ws)
    assert len(files) >= 3, files
    for path in files:
        segment = runlog.segments(ws)[files.index(path)]
        lines = gzip.decompress(path.read_bytes()).splitlines()
        seqs = [json.loads(line)["sequence"] for line in lines]
        assert (segment.first_sequence, segment.last_sequence) == (seqs[0], seqs[-1])
        assert path.parent.relative_to(ws.run_segments).as_posix() == "2026/01"
        assert path.read_bytes()[4:8] == b"\0\0\0\0"  # gzip mtime 0: deterministic bytes
    assert ws.run_log.stat().st_size < 32 * 1024 + 16 * 1024
    assert sequences(ws) == list(range(1, 201))
    assert [r["job_id"] for r in runlog.iter_records(ws)] == ids
    scan = logcheck.scan(ws)
    assert scan.findings == [] and scan.first_sequence == 1 and scan.last_sequence == 200


def test_two_workspaces_rotating_the_same_lines_write_identical_segments(tmp_path):
    a, b = Workspace(tmp_path / "a"), Workspace(tmp_path / "b")
    fill(a, 60)
    fill(b, 60)
    files_a = {p.relative_to(a.root).as_posix(): p.read_bytes() for p in segment_files(a)}
    files_b = {p.relative_to(b.root).as_posix(): p.read_bytes() for p in segment_files(b)}
    assert files_a and files_a == files_b


def test_a_new_month_rotates_and_the_runs_own_lines_stay_in_the_live_log(ws):
    big = 10 * 1024 * 1024
    fill(ws, 5, start=datetime(2026, 1, 31, 22, 0, tzinfo=UTC), rotate_bytes=big)
    # the first hours of a month: a run that began in January may still be logging its lines
    runlog.append(ws, record(datetime(2026, 2, 1, 0, 7, tzinfo=UTC)), rotate_bytes=big)
    assert segment_files(ws) == []
    rec = record(datetime(2026, 2, 1, 6, 7, tzinfo=UTC))
    seq = runlog.append(ws, rec, rotate_bytes=big)
    [segment] = runlog.segments(ws)
    assert segment.path.parent.relative_to(ws.run_segments).as_posix() == "2026/01"
    assert (segment.first_sequence, segment.last_sequence) == (1, 5)
    live = [json.loads(line) for line in ws.run_log.read_text().splitlines()]
    assert [r["sequence"] for r in live] == [6, 7] and live[-1]["job_id"] == rec["job_id"] and seq == 7
    # size: every line of the last 6 hours (a chain's steps, the run's own line) stays live
    start = datetime(2026, 2, 2, tzinfo=UTC)
    for i in range(80):
        at = start + timedelta(minutes=15 * i)
        runlog.append(ws, record(at), rotate_bytes=8 * 1024)
        live = {json.loads(line)["sequence"] for line in ws.run_log.read_text().splitlines()}
        recent = [r["sequence"] for r in runlog.iter_records(ws, since=at - timedelta(hours=6))]
        assert recent and set(recent) <= live, (recent, sorted(live))
    assert len(runlog.segments(ws)) > 3


def test_segments_older_than_the_retention_are_pruned_and_the_line_says_so(ws):
    fill(ws, 40, step=timedelta(days=1), rotate_bytes=4 * 1024, retention_days=10)
    kept = runlog.segments(ws)
    newest_line = max(r["sequence"] for r in runlog.iter_records(ws))
    assert all(s.last_at >= T0 + timedelta(days=39) - timedelta(days=10) for s in kept)
    assert kept[0].first_sequence > 1  # the oldest history went
    pruned = [p for r in runlog.iter_records(ws) for p in r["diagnostics"].get("log_segments_pruned", [])]
    assert pruned and all(p.startswith("ops/automation_runs/2026/") for p in pruned)
    assert not any((ws.root / p).exists() for p in pruned)
    assert newest_line == 40
    assert logcheck.scan(ws).findings == []  # pruned history is not a gap


def test_a_rotation_killed_before_the_cut_duplicates_nothing_and_the_next_append_repairs(ws):
    fill(ws, 10, rotate_bytes=10 * 1024 * 1024)
    live = ws.run_log.read_bytes()
    lines = live.splitlines()
    # what a kill between the segment write and the live-log cut leaves behind
    path = ws.run_segments / runlog.segment_name(1, 10, T0, T0 + 9 * timedelta(minutes=15))
    path.parent.mkdir(parents=True)
    path.write_bytes(runlog.encode_segment(lines))
    assert sequences(ws) == list(range(1, 11))
    assert logcheck.scan(ws).findings == []
    seq = runlog.append(ws, record(T0 + timedelta(hours=5)), rotate_bytes=10 * 1024 * 1024)
    assert seq == 11
    assert [json.loads(line)["sequence"] for line in ws.run_log.read_text().splitlines()] == [11]
    assert sequences(ws) == list(range(1, 12))


def test_readers_open_only_the_segments_of_their_window(ws):
    ids = fill(ws, 400, rotate_bytes=16 * 1024)  # 100 hours
    segments = runlog.segments(ws)
    oldest = segments[0].path
    oldest.write_bytes(b"not gzip at all")
    recent = T0 + timedelta(hours=90)
    got = list(runlog.iter_records(ws, since=recent))  # never touches the damaged oldest segment
    assert got and all(r["started_at"] >= iso(recent) for r in got)
    assert [r["job_id"] for r in runlog.iter_records(ws, job_id=ids[-30])] == [ids[-30]]
    with pytest.raises(runlog.SegmentError, match=oldest.name):
        list(runlog.iter_records(ws))
    problems: list = []
    assert len(list(runlog.iter_records(ws, problems=problems))) < 400
    assert problems == [(ws.rel(oldest), problems[0][1])] and "damaged segment" in problems[0][1]


def _verify(root: Path, now: datetime, *args: str):
    from click.testing import CliRunner

    from _support_cli import Run
    from observability.cli import cli

    env = {
        "GITHUB_ACTIONS": None,
        "OBS_WORKSPACE": None,
        "GITHUB_OUTPUT": None,
        "GITHUB_STEP_SUMMARY": None,
        "OBS_HEARTBEAT_PING_URL": None,
        "GITHUB_RUN_ID": None,
        "GITHUB_EVENT_NAME": None,
        "OBS_NOW": iso(now),
    }
    return Run(CliRunner().invoke(cli, ["verify", *args, "--workspace", str(root)], env=env))


def test_verify_names_a_damaged_segment_and_a_gap_between_segments(ws, monkeypatch):
    monkeypatch.setattr(runlog, "ROTATE_BYTES", 16 * 1024)  # verify's own append uses the default
    now = T0
    ids = fill(ws, 400, start=now - timedelta(hours=400), step=timedelta(hours=1))
    segments = runlog.segments(ws)
    clean = _verify(ws.root, now)
    assert clean.exit_code == 0 and "log_segment_damaged" not in str(clean.summary["alerts"]), clean
    log = clean.summary["checks"]["log"]
    # read: the window (24 h), the day before it plus grace, at least 8 days; not the 16 days on file
    assert 150 < log["first_sequence"] <= 400 - 8 * 24 + 1 and log["last_sequence"] == 400, log
    # the last segment is in the window: damaged, it is named, not crashed on
    damaged = segments[-1].path
    original = damaged.read_bytes()
    damaged.write_bytes(original[: len(original) // 2])
    run = _verify(ws.root, now)
    assert run.exit_code == 0 and run.summary["status"] == "warning", run
    alert = run.rules()[("log_segment_damaged", "automation_log")]
    assert ws.rel(damaged) in alert["message"]
    damaged.write_bytes(original)
    # a segment long before the window is gone: the gap is found from the names alone
    segments[2].path.unlink()
    run = _verify(ws.root, now)
    gap = run.rules()[("log_sequence_gap", "automation_log")]
    assert f"{segments[2].first_sequence}-{segments[2].last_sequence}" in gap["message"], gap["message"]
    assert ws.rel(segments[1].path) in gap["message"]
    # verify job finds a rotated run from the time in its id
    from observability.verify.trace import trace_from_log

    found = trace_from_log(ws, ids[48])
    assert found.lines and not [f for f in found.findings if f.rule == "job_not_found"]


CHILD = """
import sys
from datetime import datetime, timedelta, timezone
sys.path.insert(0, {tests!r})
from test_runlog_rotation import record
from observability import runlog
from observability.workspace import Workspace
from pathlib import Path
ws = Workspace(Path({root!r}))
start, count = int(sys.argv[1]), int(sys.argv[2])
t0 = datetime(2026, 1, 28, tzinfo=timezone.utc)
for i in range(start, start + count):
    # four records a day: months roll over every ~120 records, size rotations every ~5
    runlog.append(ws, record(t0 + timedelta(hours=6 * i), tag=f"k{{i}}"), rotate_bytes=3000,
                  retention_days=100000)
"""


def _state(ws: Workspace) -> list[int]:
    """The indexes of the records on file, checking sequence continuity and no duplicates."""
    recs = list(runlog.iter_records(ws))
    seqs = [r["sequence"] for r in recs]
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    return [int(r["job_id"].rsplit("-k", 1)[1]) for r in recs]


def test_sigkill_at_any_point_of_append_and_rotation_loses_and_doubles_nothing(ws, tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(tests=str(Path(__file__).parent), root=str(ws.root)))
    rng = random.Random(9)
    next_index, kills = 0, 0
    for _ in range(25):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(next_index), "5000"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=unmeasured(dict(os.environ)),
        )
        time.sleep(rng.uniform(0.25, 0.9))  # interpreter start is ~0.2 s: most kills land mid-loop
        finished = proc.poll() is not None
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == (0 if finished else -signal.SIGKILL), err
        kills += not finished
        indexes = _state(ws)
        # everything appended is still there once, in order; at most the killed append is missing
        assert indexes == list(range(len(indexes))), indexes
        next_index = len(indexes)
    assert kills >= 15 and next_index > 100, (kills, next_index)
    assert len(runlog.segments(ws)) > 10
    # a clean append repairs whatever the last kill left (torn tail, lines in a segment and the live log)
    runlog.append(
        ws,
        record(datetime(2026, 1, 28, tzinfo=UTC) + timedelta(hours=6 * next_index), tag=f"k{next_index}"),
        rotate_bytes=3000,
        retention_days=100000,
    )
    assert _state(ws) == list(range(next_index + 1))
    assert logcheck.scan(ws).findings == []


# --- the state store: rotation on one side, both push ------------------------------------------

import _support_state  # noqa: E402
from _support_state import make_workspace, ok  # noqa: E402

s3_server = _support_state.s3_server
stores = _support_state.stores
NOW_ENV = "2026-01-21T12:00:00Z"  # the state runs' own log lines: same month as the records


def _raw_lines(root: Path) -> list[bytes]:
    """Every line on disk, segments and live log, without deduplication."""
    ws = Workspace(root)
    out = [line for s in runlog.segments(ws) for line in gzip.decompress(s.path.read_bytes()).splitlines()]
    return out + ws.run_log.read_bytes().splitlines()


@pytest.mark.parametrize("case", ["rotated_first", "rotated_last", "both_rotate"])
def test_two_workspaces_one_rotates_both_push_nothing_lost_or_doubled(stores, tmp_path, case):
    env = {**stores.env, "OBS_NOW": NOW_ENV}
    url = stores.new()
    seed = make_workspace(tmp_path / "seed")
    ok(seed, "pull", url, env=env)
    fill(Workspace(seed), 30, start=T0 + timedelta(hours=12), rotate_bytes=1 << 30)
    ok(seed, "push", url, env=env)
    a, b = make_workspace(tmp_path / "a"), make_workspace(tmp_path / "b")
    ok(a, "pull", url, env=env)
    ok(b, "pull", url, env=env)
    runlog.append(Workspace(a), record(T0 + timedelta(days=1, hours=1), tag="from-a"), rotate_bytes=1024)
    runlog.append(
        Workspace(b),
        record(T0 + timedelta(days=1, hours=1), tag="from-b"),
        rotate_bytes=1024 if case == "both_rotate" else 1 << 30,
    )
    assert runlog.segments(Workspace(a))
    first, second = (b, a) if case == "rotated_last" else (a, b)
    ok(first, "push", url, env=env)
    merged = ok(second, "push", url, env=env, status=("warning",))
    assert merged["merged_generation"] is not None and merged["log_lines_renumbered"], merged
    c = make_workspace(tmp_path / "c")
    ok(c, "pull", url, env=env)
    lines = _raw_lines(c)
    seqs = [json.loads(line)["sequence"] for line in lines]
    assert sorted(seqs) == list(range(1, len(seqs) + 1)), seqs  # continuous, and no line twice
    job_ids = [json.loads(line)["job_id"] for line in lines]
    runs = [j for j in job_ids if not j.endswith("-state")]  # OBS_NOW gives every state run one id
    assert len(set(runs)) == len(runs)
    for tag in ("from-a", "from-b"):
        assert sum(j.endswith(tag) for j in job_ids) == 1, (tag, job_ids)
    assert sum(j.endswith("-latency") for j in job_ids) == 30
    assert logcheck.scan(Workspace(c)).findings == []
    # the workspace that merged holds the committed segments, none of its own dissolved ones
    assert {p.name for p in segment_files(Workspace(second))} == {p.name for p in segment_files(Workspace(c))}


def test_a_pull_over_a_local_rotation_keeps_the_lines_without_backups(stores, tmp_path, monkeypatch):
    env = {**stores.env, "OBS_NOW": NOW_ENV}
    url = stores.new()
    seed = make_workspace(tmp_path / "seed")
    ok(seed, "pull", url, env=env)
    fill(Workspace(seed), 30, start=T0 + timedelta(hours=12), rotate_bytes=1 << 30)
    ok(seed, "push", url, env=env)
    a, b = make_workspace(tmp_path / "a"), make_workspace(tmp_path / "b")
    ok(a, "pull", url, env=env)
    ok(b, "pull", url, env=env)
    ok(b, "push", url, env=env)  # the store moves on without a
    runlog.append(Workspace(a), record(T0 + timedelta(days=1, hours=1), tag="from-a"), rotate_bytes=1024)
    [own] = segment_files(Workspace(a))
    monkeypatch.setattr(runlog, "ROTATE_BYTES", 1 << 30)
    pulled = ok(a, "pull", url, env=env)  # status ok: the local segment is read back, not backed up
    assert pulled["backed_up"] == [] and pulled["log_lines_kept"] >= 1, pulled
    assert not own.exists()
    ok(a, "push", url, env=env)
    c = make_workspace(tmp_path / "c")
    ok(c, "pull", url, env=env)
    lines = _raw_lines(c)
    seqs = [json.loads(line)["sequence"] for line in lines]
    assert sorted(seqs) == list(range(1, len(seqs) + 1)), seqs
    assert sum(json.loads(line)["job_id"].endswith("from-a") for line in lines) == 1
    assert sum(json.loads(line)["job_id"].endswith("-latency") for line in lines) == 30

"""Races between runs (issue 10, item 16): real concurrent processes, the same fixed second.

Two exports started in the same second must keep two job ids and two history snapshots; two
``alerts sync`` runs with empty caches must converge to one open issue; a close that hits the
rate limit after the "Resolved" comment must not post that comment again on the retry.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from _support_dashboard import NOW as EXPORT_NOW
from _support_dashboard import export, make_workspace, spawn_export
from _support_github import ALERT_ENV_CLEAR, FakeGitHub, alerts_cli

from observability import runlog
from observability.dashboard import history
from observability.runtime import JOB_ID_RE, make_job_id

HISTORY = "ops/dashboard_export_history"
STAMP = EXPORT_NOW.replace("-", "").replace(":", "")  # 2026-01-08T00:07:00Z -> 20260108T000700Z


# -- job ids and history snapshots ---------------------------------------------------------------
def test_two_exports_in_the_same_second_keep_two_ids_and_two_snapshots(tmp_path):
    make_workspace(tmp_path)
    procs = [spawn_export(tmp_path) for _ in range(2)]  # both with OBS_NOW fixed to the same second
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    ids = sorted(json.loads(out)["job_id"] for out, _ in outs)
    assert ids[0] != ids[1]
    for job_id in ids:
        assert JOB_ID_RE.match(job_id) and job_id.startswith(f"{STAMP}-dashboard-"), job_id
        assert runlog.job_id_time(job_id) is not None  # the time prefix `verify job` searches by
    snapshots = sorted(p.name for p in (tmp_path / HISTORY).iterdir() if not p.name.startswith("."))
    assert snapshots == ids
    for job_id in ids:
        manifest = json.loads((tmp_path / HISTORY / job_id / "manifest.json").read_text())
        assert manifest["job_id"] == job_id
        env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "OBS_WORKSPACE")}
        env["OBS_NOW"] = EXPORT_NOW
        traced = subprocess.run([sys.executable, "-m", "observability", "verify", "job", "--job-id", job_id,
                                 "--workspace", str(tmp_path)], capture_output=True, text=True, env=env, timeout=120)
        report = json.loads(traced.stdout)
        assert report["traced_job_id"] == job_id, traced.stderr


def test_job_ids_made_in_the_same_second_differ_and_keep_their_time():
    from datetime import datetime, timezone

    at = datetime(2026, 1, 8, 0, 7, tzinfo=timezone.utc)
    ids = {make_job_id("latency", at) for _ in range(200)}
    assert len(ids) == 200
    for job_id in ids:
        assert re.fullmatch(r"20260108T000700Z-latency-[0-9a-f]{8}", job_id) and JOB_ID_RE.match(job_id)
        assert runlog.job_id_time(job_id) == at


def test_a_job_id_given_twice_never_overwrites_a_snapshot(tmp_path):
    make_workspace(tmp_path)
    given = f"{STAMP}-dashboard"
    assert export(tmp_path, "--job-id", given).exit_code == 0
    first = (tmp_path / HISTORY / given / "manifest.json").read_bytes()
    again = export(tmp_path, "--job-id", given)
    assert again.exit_code == 0, again
    names = sorted(p.name for p in (tmp_path / HISTORY).iterdir() if not p.name.startswith("."))
    assert names == [given, f"{given}.2"]
    assert (tmp_path / HISTORY / given / "manifest.json").read_bytes() == first  # the first one kept as it was
    assert f"{HISTORY}/{given}.2" in again.summary["artefacts"]
    assert history.list_snapshots(tmp_path / HISTORY)[1].generated_at is not None


def test_snapshots_written_at_once_under_one_name_all_survive(tmp_path):
    """Many writers racing for one name: each lands under its own name, none is replaced."""
    barrier = threading.Barrier(6)
    landed: list[Path] = []

    def write(i: int) -> None:
        barrier.wait()
        landed.append(history.write_snapshot(tmp_path, "20260108T000700Z-dashboard", {"manifest.json": b"%d" % i}))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({p.name for p in landed}) == 6
    assert sorted((p / "manifest.json").read_bytes() for p in landed) == [b"%d" % i for i in range(6)]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left behind

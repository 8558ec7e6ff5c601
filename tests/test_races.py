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
from datetime import UTC
from pathlib import Path

import pytest

from _support_dashboard import NOW as EXPORT_NOW, export, make_workspace, spawn_export
from _support_github import ALERT_ENV_CLEAR, FakeGitHub, alerts_cli, unpaced
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
        traced = subprocess.run(
            [sys.executable, "-m", "observability", "verify", "job", "--job-id", job_id, "--workspace", str(tmp_path)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        report = json.loads(traced.stdout)
        assert report["traced_job_id"] == job_id, traced.stderr


def test_job_ids_made_in_the_same_second_differ_and_keep_their_time():
    from datetime import datetime

    at = datetime(2026, 1, 8, 0, 7, tzinfo=UTC)
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
    assert again.summary["history_snapshot"] == f"{HISTORY}/{given}.2"  # the summary names its own snapshot
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


# -- alert issues ----------------------------------------------------------------------------------
ALERT_NOW = "2026-01-08T10:00:00Z"
MISSED = {
    "id": "0123456789abcdef",
    "rule": "missed_run",
    "source": "latency",
    "severity": "warning",
    "message": "latency: 3 scheduled runs missed",
    "next_action": "check the schedule",
    "runbook": "docs/schedules.md#missed-runs",
}


def firing(ws: Path, *alerts: dict) -> Path:
    (ws / "ops").mkdir(parents=True, exist_ok=True)
    (ws / "ops" / "verify_alerts.json").write_text(json.dumps({"alerts": list(alerts)}))
    return ws


def spawn_sync(ws: Path, fake: FakeGitHub, now: str = ALERT_NOW) -> subprocess.Popen:
    unpaced(ws)
    env = {k: v for k, v in os.environ.items() if k not in ALERT_ENV_CLEAR}
    env.update(OBS_NOW=now, GITHUB_TOKEN=fake.token, GITHUB_API_URL=fake.url, GITHUB_REPOSITORY=fake.repo)
    return subprocess.Popen(
        [sys.executable, "-m", "observability", "alerts", "sync", "--workspace", str(ws)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def cached_number(ws: Path) -> list[int]:
    doc = json.loads((ws / "ops" / "alert_inbox.json").read_text())
    return sorted(e["number"] for e in doc["issues"].values())


def test_two_syncs_with_empty_caches_at_once_converge_on_one_open_issue(tmp_path):
    with FakeGitHub() as fake:
        # Both runs list (and find nothing) before either creates: the overlap two workflows can have.
        fake.hold(2, lambda method, path: method == "GET" and path.endswith("/issues"))
        workspaces = [firing(tmp_path / name, MISSED) for name in ("a", "b")]
        procs = [spawn_sync(ws, fake) for ws in workspaces]
        outs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outs
        assert fake.violations == []
        assert sorted(fake.issues) == [1, 2]  # both created: the race really happened
        assert [n for n, i in fake.issues.items() if i["state"] == "open"] == [1]  # the oldest is kept
        assert fake.issues[2]["state_reason"] == "duplicate"
        assert fake.comment_bodies(2) == ["Duplicate of #1: a concurrent run opened it first. Closing."]
        assert fake.comment_bodies(1) == []
        counts = sorted(json.dumps(json.loads(out)["action_counts"], sort_keys=True) for out, _ in outs)
        assert counts == ['{"adopted": 1, "closed_duplicate": 1}', '{"opened": 1}']
        assert [cached_number(ws) for ws in workspaces] == [[1], [1]]
        # A third runner with no cache adopts #1 (not the closed duplicate); the resolution closes #1.
        third = firing(tmp_path / "c")
        run = alerts_cli(third, "sync", now="2026-01-08T11:00:00Z", fake=fake)
        assert run.exit_code == 0 and run.summary["action_counts"] == {"resolved": 1}, run
        assert fake.issues[1]["state"] == "closed" and fake.issues[1]["state_reason"] == "completed"
        assert len(fake.comment_bodies(2)) == 1 and len(fake.issues) == 2


@pytest.mark.parametrize("status", [403, 429])
def test_a_rate_limited_close_does_not_post_resolved_again(tmp_path, status):
    with FakeGitHub() as fake:
        ws = firing(tmp_path, MISSED)
        assert alerts_cli(ws, "sync", now=ALERT_NOW, fake=fake).summary["action_counts"] == {"opened": 1}
        firing(ws)  # the alert is gone
        fake.inject(
            status,
            headers={"retry-after": "900"},  # past the wait bound: the run gives up
            body={"message": "You have exceeded a secondary rate limit."},
            match=lambda method, path: method == "PATCH" and path.endswith("/issues/1"),
        )
        failed = alerts_cli(ws, "sync", now="2026-01-08T11:00:00Z", fake=fake)
        assert failed.exit_code != 0 and failed.summary["status"] == "error", failed
        assert fake.issues[1]["state"] == "open"
        resolved = [b for b in fake.comment_bodies(1) if b.startswith("**Resolved**")]
        assert len(resolved) == 1 and "at 2026-01-08T11:00:00Z" in resolved[0]
        retry = alerts_cli(ws, "sync", now="2026-01-08T11:15:00Z", fake=fake)
        assert retry.exit_code == 0 and retry.summary["action_counts"] == {"resolved": 1}, retry
        assert fake.issues[1]["state"] == "closed"
        assert [b for b in fake.comment_bodies(1) if b.startswith("**Resolved**")] == resolved  # not posted again
        assert "closing" not in json.dumps(json.loads((ws / "ops" / "alert_inbox.json").read_text()))
        assert fake.violations == []


def test_a_rate_limited_close_does_not_post_recovered_again(tmp_path):
    def report(*args: str, now: str):
        return alerts_cli(
            tmp_path, "report-failure", "--workflow", "latency", "--job", "sample", *args, now=now, fake=fake
        )

    with FakeGitHub() as fake:
        assert report("--run-url", "https://github.com/acme/ops/actions/runs/1", now=ALERT_NOW).exit_code == 0
        fake.inject(
            429,
            headers={"retry-after": "900"},
            match=lambda method, path: method == "PATCH" and path.endswith("/issues/1"),
        )
        failed = report(
            "--run-url", "https://github.com/acme/ops/actions/runs/2", "--recovered", now="2026-01-08T11:00:00Z"
        )
        assert failed.exit_code != 0 and fake.issues[1]["state"] == "open", failed
        retry = report(
            "--run-url", "https://github.com/acme/ops/actions/runs/3", "--recovered", now="2026-01-08T11:15:00Z"
        )
        assert retry.exit_code == 0 and retry.summary["action_counts"] == {"recovered": 1}, retry
        assert fake.issues[1]["state"] == "closed"
        recovered = [b for b in fake.comment_bodies(1) if b.startswith("**Recovered**")]
        assert len(recovered) == 1 and "at 2026-01-08T11:00:00Z" in recovered[0]
        assert fake.violations == []


# -- bad inputs around these races (real CLI, real processes) -----------------------------------------
def test_a_file_squatting_on_the_snapshot_name_is_left_alone(tmp_path):
    make_workspace(tmp_path)
    given = f"{STAMP}-dashboard"
    (tmp_path / HISTORY).mkdir(parents=True)
    (tmp_path / HISTORY / given).write_text("not a snapshot\n")
    proc = spawn_export(tmp_path, "--job-id", given)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert (tmp_path / HISTORY / given).read_text() == "not a snapshot\n"
    assert (tmp_path / HISTORY / f"{given}.2" / "manifest.json").is_file()
    assert f"{HISTORY}/{given}.2" in json.loads(out)["artefacts"]


def test_a_bad_closing_mark_in_the_issue_cache_names_the_field_and_rebuilds(tmp_path):
    with FakeGitHub() as fake:
        ws = firing(tmp_path, MISSED)
        assert alerts_cli(ws, "sync", now=ALERT_NOW, fake=fake).exit_code == 0
        cache = ws / "ops" / "alert_inbox.json"
        doc = json.loads(cache.read_text())
        (fp,) = doc["issues"]
        doc["issues"][fp]["closing"] = 5
        cache.write_text(json.dumps(doc))
        firing(ws)
        proc = spawn_sync(ws, fake, now="2026-01-08T11:00:00Z")
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert f"ops/alert_inbox.json: field issues.{fp}.closing:" in err and "rebuilding it from GitHub" in err
        assert json.loads(out)["action_counts"] == {"resolved": 1}
        assert len([b for b in fake.comment_bodies(1) if b.startswith("**Resolved**")]) == 1
        assert fake.violations == []


def test_two_failure_reports_with_empty_caches_at_once_keep_one_issue_and_both_failures(tmp_path):
    with FakeGitHub() as fake:
        fake.hold(2, lambda method, path: method == "GET" and path.endswith("/issues"))
        procs = []
        for i, name in enumerate(("a", "b")):
            env = {k: v for k, v in os.environ.items() if k not in ALERT_ENV_CLEAR}
            env.update(OBS_NOW=ALERT_NOW, GITHUB_TOKEN=fake.token, GITHUB_API_URL=fake.url, GITHUB_REPOSITORY=fake.repo)
            unpaced(tmp_path / name)
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "observability",
                        "alerts",
                        "report-failure",
                        "--workflow",
                        "latency",
                        "--job",
                        "sample",
                        "--run-url",
                        f"https://github.com/acme/ops/actions/runs/{i + 1}",
                        "--workspace",
                        str(tmp_path / name),
                    ],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=env,
                )
            )
        outs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outs
        assert sorted(fake.issues) == [1, 2] and fake.violations == []
        assert [n for n, i in fake.issues.items() if i["state"] == "open"] == [1]
        assert fake.issues[2]["state_reason"] == "duplicate"
        # The adopting run's failure is counted in the kept issue's body (edited in place, no comment).
        assert fake.comment_bodies(1) == []
        assert "2 failed run(s) in a row" in fake.issues[1]["body"]
        assert [cached_number(tmp_path / name) for name in ("a", "b")] == [[1], [1]]

"""state pull/push against each backend (file, S3 on moto, a bare git repo): round trips and concurrency."""

from __future__ import annotations

import gzip
import json
import threading

import pytest

import _support_state
from _support_state import all_files, git, log_lines, make_workspace, ok, s3_client, state, synced_files

s3_server = _support_state.s3_server
stores = _support_state.stores

START = {
    "ops/latency_state.json": '{"streak": 1}\n',
    "ops/signal_latency.csv": "timestamp_utc,source\n",
    "ops/signal_latency_archive/2026/01/x.csv.gz": "gz\n",
    "ops/.latency.lock": "",
    "ops/.latency_state.json.abc.tmp": "torn",
    "out/keep.json": "{}\n",
}


def seeded(stores, tmp_path):
    """A store at generation 1 holding START, and the workspace that pushed it."""
    url = stores.new()
    ws = make_workspace(tmp_path / "seed", START)
    assert ok(ws, "pull", url, env=stores.env)["empty_store"] is True
    summary = ok(ws, "push", url, env=stores.env)
    assert summary["generation"] == 1 and summary["pushed"] is True
    return url, ws


def test_a_new_store_starts_empty_without_sample_data_and_round_trips(stores, tmp_path):
    url, ws = seeded(stores, tmp_path)
    # Only the ops/ skeleton: no sample state_archive snapshots from ops-template/.
    assert not [p for p in synced_files(ws) if p.startswith("ops/state_archive/")]
    assert (ws / "ops" / "README.md").is_file()
    other = make_workspace(tmp_path / "other")
    summary = ok(other, "pull", url, env=stores.env)
    assert summary["generation"] == 1 and summary["empty_store"] is False
    mine, theirs = synced_files(ws), synced_files(other)
    # The pull appended its own log line after the snapshot landed; everything else is identical.
    for path in set(mine) | set(theirs):
        if path not in ("ops/automation_runs.log", "ops/automation_runs.sequence"):
            assert mine.get(path) == theirs.get(path), path
    assert not (other / "ops" / ".latency.lock").exists()
    assert not (other / "ops" / ".latency_state.json.abc.tmp").exists()
    assert not (other / "out" / "keep.json").exists()


def test_second_push_updates_and_removes_files(stores, tmp_path):
    url, ws = seeded(stores, tmp_path)
    (ws / "ops" / "latency_state.json").write_text('{"streak": 2}\n')
    (ws / "ops" / "signal_latency_archive" / "2026" / "01" / "x.csv.gz").unlink()
    summary = ok(ws, "push", url, env=stores.env)
    assert summary["generation"] == 2 and summary["base_generation"] == 1 and summary["files_changed"] >= 2
    other = make_workspace(tmp_path / "other", {"ops/signal_latency_archive/2026/01/x.csv.gz": "gz\n"})
    pulled = ok(other, "pull", url, env=stores.env, status=("warning",))
    assert pulled["backed_up"] == ["ops/signal_latency_archive/2026/01/x.csv.gz"]  # never pulled: a copy is kept
    assert (other / "ops" / "latency_state.json").read_text() == '{"streak": 2}\n'
    assert not (other / "ops" / "signal_latency_archive" / "2026" / "01" / "x.csv.gz").exists()


def test_a_push_uploads_only_the_blobs_the_store_lacks(stores, tmp_path):
    url, ws = seeded(stores, tmp_path)
    again = ok(ws, "pull", url, env=stores.env)
    assert again["generation"] == 1 and again["log_lines_kept"] == 1  # the first push's own log line
    summary = ok(ws, "push", url, env=stores.env)
    # Every run logs a line after its work, so the log and its sequence always change; nothing else did.
    assert summary["generation"] == 2 and summary["files_changed"] == 2
    log = (ws / "ops" / "automation_runs.log").stat().st_size
    assert 0 < summary["bytes_uploaded"] < log + 100
    sequences = [line["sequence"] for line in log_lines(ws)]
    assert sequences == list(range(1, len(sequences) + 1))


def _two_pulled(stores, tmp_path):
    url, _ = seeded(stores, tmp_path)
    a = make_workspace(tmp_path / "a")
    b = make_workspace(tmp_path / "b")
    assert ok(a, "pull", url, env=stores.env)["generation"] == 1
    assert ok(b, "pull", url, env=stores.env)["generation"] == 1
    return url, a, b


def test_concurrent_pushes_of_different_files_both_survive(stores, tmp_path):
    url, a, b = _two_pulled(stores, tmp_path)
    (a / "ops" / "latency_state.json").write_text('{"streak": "from a"}\n')
    (b / "ops" / "weekly_report_history").mkdir(parents=True)
    (b / "ops" / "weekly_report_history" / "2026-01-05.json").write_text('{"from": "b"}\n')
    first = ok(a, "push", url, env=stores.env)
    second = ok(b, "push", url, env=stores.env, status=("warning",))
    assert first["generation"] == 2
    assert second["generation"] == 3 and second["merged_generation"] == 2
    assert second["log_lines_renumbered"], second
    # b now holds a's change too, so its ops/ is the committed snapshot.
    assert (b / "ops" / "latency_state.json").read_text() == '{"streak": "from a"}\n'
    c = make_workspace(tmp_path / "c")
    ok(c, "pull", url, env=stores.env)
    assert (c / "ops" / "latency_state.json").read_text() == '{"streak": "from a"}\n'
    assert (c / "ops" / "weekly_report_history" / "2026-01-05.json").read_text() == '{"from": "b"}\n'
    lines = log_lines(c)
    sequences = [line["sequence"] for line in lines]
    assert sequences == list(range(1, len(lines) + 1)), sequences
    # The pulls of seed, a, b and c: a's and b's both had sequence 2 locally; b's line was renumbered.
    assert len(lines) == 4 and all(line["job"] == "state" for line in lines)
    assert (c / "ops" / "automation_runs.sequence").read_text().strip() == str(sequences[-1])


def test_concurrent_pushes_of_the_same_file_refuse_the_second_loudly(stores, tmp_path):
    url, a, b = _two_pulled(stores, tmp_path)
    (a / "ops" / "latency_state.json").write_text('{"streak": "from a"}\n')
    (b / "ops" / "latency_state.json").write_text('{"streak": "from b"}\n')
    ok(a, "push", url, env=stores.env)
    before = synced_files(b)
    refused = state(b, "push", "--store", url, env=stores.env)
    assert refused.exit_code == 1, refused
    assert refused.summary["status"] == "error" and refused.error_code == "state_conflict"
    message = refused.summary["diagnostics"]["error_message"]
    assert "ops/latency_state.json" in message and "generation 1 to 2" in message and "state pull" in message
    assert refused.summary["diagnostics"]["conflicting_files"] == ["ops/latency_state.json"]
    after = synced_files(b)
    assert after.pop("ops/automation_runs.log") != before.pop("ops/automation_runs.log")  # the error line
    after.pop("ops/automation_runs.sequence"), before.pop("ops/automation_runs.sequence")
    assert after == before
    c = make_workspace(tmp_path / "c")
    assert ok(c, "pull", url, env=stores.env)["generation"] == 2
    assert (c / "ops" / "latency_state.json").read_text() == '{"streak": "from a"}\n'


def test_racing_commits_on_one_generation_let_exactly_one_through(stores, tmp_path):
    """The backend's conditional write itself: eight runs commit generation 2 at the same moment."""
    from observability.state.backends import open_store
    from observability.state.manifest import Manifest
    from observability.state.selection import Entry, sha256_bytes

    url, _ = seeded(stores, tmp_path)
    env = {k: v for k, v in stores.env.items() if v is not None}
    results, barrier = [], threading.Barrier(8)
    import os

    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:

        def attempt(i: int) -> None:
            store = open_store(url)
            try:
                head = store.head()
                data = f"run {i}\n".encode()
                entry = Entry(sha256_bytes(data), len(data))
                manifest = Manifest(
                    generation=head.generation + 1,
                    parent_generation=head.generation,
                    created_at="2026-01-01T00:00:00Z",
                    job_id=f"20260101T000000Z-run{i}",
                    files={**head.manifest.files, "ops/race.txt": entry},
                )
                barrier.wait(timeout=30)
                results.append((i, store.publish(manifest, lambda sha: data, head)[0]))
            finally:
                store.close()

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        winners = [i for i, committed in results if committed]
        assert len(results) == 8 and len(winners) == 1, results
        store = open_store(url)
        try:
            head = store.head()
            assert head.generation == 2 and head.manifest.job_id == f"20260101T000000Z-run{winners[0]}"
            assert store.get_blob(head.manifest.files["ops/race.txt"].sha256) == f"run {winners[0]}\n".encode()
        finally:
            store.close()
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _corrupt(stores, url: str, tmp_path, sha: str) -> None:
    key = f"blobs/sha256/{sha[:2]}/{sha}"
    if stores.kind == "file":
        (tmp_path / "store" / key).write_bytes(b"flipped bits\n")
    elif stores.kind == "s3":
        bucket, prefix = url[len("s3://") :].split("/", 1)
        s3_client(stores.endpoint).put_object(Bucket=bucket, Key=f"{prefix}/{key}", Body=b"flipped bits\n")
    else:
        repo, branch = url[len("git+file://") :].split("#")
        work = tmp_path / "tamper"
        git("clone", "--quiet", "--branch", branch, repo, str(work))
        (work / key).write_bytes(b"flipped bits\n")
        git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-am", "tamper", cwd=work)
        git("push", "--quiet", "origin", branch, cwd=work)


def test_a_corrupted_blob_is_detected_and_nothing_local_changes(stores, tmp_path):
    url, ws = seeded(stores, tmp_path)
    pulled = json.loads((ws / "ops" / ".state_pulled.json").read_text())
    manifest_sha = pulled["files"]["ops/latency_state.json"]["sha256"]
    _corrupt(stores, url, tmp_path, manifest_sha)
    victim = make_workspace(tmp_path / "victim", {"ops/latency_state.json": "local work\n", "ops/notes.txt": "mine\n"})
    before = all_files(victim)
    run = state(victim, "pull", "--store", url, env=stores.env)
    assert run.exit_code == 1 and run.error_code == "snapshot_corrupt", run
    assert "ops/latency_state.json fails its checksum" in run.summary["diagnostics"]["error_message"]
    after = all_files(victim)
    assert {k: v for k, v in after.items() if "automation_runs" not in k and not k.startswith("ops/.")} == {
        k: v for k, v in before.items() if "automation_runs" not in k
    }
    assert not any(k.startswith(("ops/.state_pull.", "ops/.state_pulled")) for k in after)


def test_pull_over_unpushed_local_work_keeps_a_copy(stores, tmp_path):
    url, _ = seeded(stores, tmp_path)
    ws = make_workspace(tmp_path / "w", {"ops/latency_state.json": "unpushed\n", "ops/scratch.csv": "x\n"})
    run = state(ws, "pull", "--store", url, env=stores.env)
    assert run.exit_code == 0 and run.summary["status"] == "warning", run
    assert sorted(run.summary["backed_up"]) == ["ops/latency_state.json", "ops/scratch.csv"]
    backup = ws / "ops" / ".state_backup" / run.summary["job_id"]
    assert (backup / "ops" / "latency_state.json").read_text() == "unpushed\n"
    assert (ws / "ops" / "latency_state.json").read_text() == START["ops/latency_state.json"]
    assert not (ws / "ops" / "scratch.csv").exists()


def test_git_branch_holds_one_parentless_snapshot_commit(tmp_path, request):
    from _support_state import StoreFactory

    factory = StoreFactory("git", tmp_path, request)
    url, ws = seeded(factory, tmp_path)
    (ws / "ops" / "latency_state.json").write_text('{"streak": 9}\n')
    ok(ws, "push", url, env=factory.env)
    repo, branch = url[len("git+file://") :].split("#")
    assert git("rev-list", "--count", branch, cwd=repo).strip() == "1"
    tree = git("ls-tree", "-r", "--name-only", branch, cwd=repo).split()
    assert "manifest.json" in tree and all(p == "manifest.json" or p.startswith("blobs/sha256/") for p in tree)
    manifest = json.loads(git("show", f"{branch}:manifest.json", cwd=repo))
    assert manifest["generation"] == 2 and manifest["parent_generation"] == 1


def test_a_pull_that_dies_mid_swap_leaves_no_record_and_one_rerun_recovers(tmp_path, monkeypatch, request):
    from _support_state import StoreFactory
    from observability.state import job

    factory = StoreFactory("file", tmp_path, request)
    url, ws = seeded(factory, tmp_path)
    (ws / "ops" / "latency_state.json").write_text('{"streak": 5}\n')
    (ws / "ops" / "signal_latency.csv").write_text("timestamp_utc,source\n2026,a\n")
    ok(ws, "push", url)
    victim = make_workspace(tmp_path / "victim")
    ok(victim, "pull", url)
    ok(ws, "pull", url)
    (ws / "ops" / "latency_state.json").write_text('{"streak": 6}\n')
    ok(ws, "push", url)
    real_replace, calls = job.os.replace, []

    def dying_replace(src, dst):
        if ".state_pull." in str(src) and ".state_pull." not in str(dst):  # the swap, not the staging
            calls.append(dst)
            if len(calls) == 2:
                raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(job.os, "replace", dying_replace)
    died = state(victim, "pull", "--store", url)
    monkeypatch.setattr(job.os, "replace", real_replace)
    assert died.exit_code == 1 and died.error_code == "workspace_error", died
    assert "run `observability state pull` again" in died.summary["diagnostics"]["error_message"]
    assert not (victim / "ops" / ".state_pulled.json").exists()
    assert not list((victim / "ops").glob(".state_pull.*"))
    again = ok(victim, "pull", url, status=("ok", "warning"))
    assert again["generation"] == 3
    assert (victim / "ops" / "latency_state.json").read_text() == '{"streak": 6}\n'
    assert json.loads((victim / "ops" / ".state_pulled.json").read_text())["generation"] == 3


def test_a_store_that_went_back_a_generation_is_refused(tmp_path, request):
    from _support_state import StoreFactory

    factory = StoreFactory("file", tmp_path, request)
    url, ws = seeded(factory, tmp_path)
    ok(ws, "pull", url)
    ok(ws, "push", url)
    (tmp_path / "store" / "manifests" / "000000000002.json").unlink()  # restored from an older backup
    (tmp_path / "store" / "HEAD").write_text("1\n")
    run = state(ws, "push", "--store", url)
    assert run.exit_code == 1 and run.error_code == "state_conflict", run
    assert "behind the generation 2" in run.summary["diagnostics"]["error_message"]


# --- scopes: a job pulls only what it reads and pushes only what it changed ------------------------

YEAR = {
    "ops/latency_state.json": '{"streak": 0}\n',
    "ops/signal_latency.csv": "timestamp_utc,source\n",
    "ops/signal_latency_rollup.csv": "hour,source\n",
    "ops/signal_latency_archive/manifest.jsonl": '{"path": "ops/signal_latency_archive/2026-01/a.csv.gz"}\n',
    "ops/signal_latency_archive/2026-01/a.csv.gz": "old archive\n",
    "ops/dashboard_export_history/20260101T000000Z-dashboard/manifest.json": '{"bundle": 1}\n',
    "ops/dashboard_export_history/20260102T000000Z-dashboard/manifest.json": '{"bundle": 2}\n',
    "ops/dashboard_export_heartbeat.json": '{"job_id": "20260102T000000Z-dashboard"}\n',
    "ops/weekly_report_history/2026-01-05.json": '{"week": 1}\n',
    "ops/state_archive/s/USDJPY/m/20260101.json": '{"ev": 1}\n',
    # Large enough to be stored compressed: a scoped push must carry its encoding along.
    "ops/dashboard_export_history/20260102T000000Z-dashboard/latency.json": '{"rows": "' + "0123456789" * 5000 + '"}\n',
}


def _scoped_pair(stores, tmp_path):
    url = stores.new()
    seed = make_workspace(tmp_path / "seed", YEAR)
    ok(seed, "pull", url, env=stores.env)
    ok(seed, "push", url, env=stores.env)
    a = make_workspace(tmp_path / "latency")
    b = make_workspace(tmp_path / "dashboard")
    pulled_a = ok(a, "pull", url, "--for", "latency", env=stores.env)
    pulled_b = ok(b, "pull", url, "--for", "dashboard", env=stores.env)
    return url, a, b, pulled_a, pulled_b


def test_a_scoped_pull_brings_only_what_the_job_reads(stores, tmp_path):
    url, a, b, pulled_a, pulled_b = _scoped_pair(stores, tmp_path)
    mine = set(synced_files(a))
    assert "ops/latency_state.json" in mine and "ops/signal_latency_archive/manifest.jsonl" in mine
    assert "ops/automation_runs.log" in mine
    # Neither the gz archives nor dashboard, weekly or strategy history reach a latency run.
    assert not [p for p in mine if p.endswith(".csv.gz") or "history" in p or "state_archive/" in p], mine
    assert pulled_a["scope"] == "latency" and pulled_a["files"] < pulled_a["files_in_store"]
    theirs = set(synced_files(b))
    assert "ops/dashboard_export_history/20260101T000000Z-dashboard/manifest.json" in theirs
    assert "ops/latency_state.json" not in theirs and "ops/signal_latency.csv" not in theirs
    record = json.loads((a / "ops" / ".state_pulled.json").read_text())
    assert record["scope"]["name"] == "latency"
    assert "ops/dashboard_export_heartbeat.json" in record["files"]  # the base is the whole snapshot


def test_latency_and_dashboard_runs_pulled_together_both_push_and_nothing_is_lost(stores, tmp_path):
    url, a, b, _, _ = _scoped_pair(stores, tmp_path)
    # latency: new state, a new archive (never pulled the old one) and its manifest line.
    (a / "ops" / "latency_state.json").write_text('{"streak": 1}\n')
    (a / "ops" / "signal_latency_archive" / "2026-02").mkdir(parents=True)
    (a / "ops" / "signal_latency_archive" / "2026-02" / "b.csv.gz").write_text("new archive\n")
    with open(a / "ops" / "signal_latency_archive" / "manifest.jsonl", "a") as handle:
        handle.write('{"path": "ops/signal_latency_archive/2026-02/b.csv.gz"}\n')
    (a / "ops" / "latency_job_heartbeat.json").write_text('{"job_id": "20260201T000000Z-latency"}\n')
    # dashboard: a new bundle, the oldest one pruned, its heartbeat rewritten.
    history = b / "ops" / "dashboard_export_history"
    (history / "20260103T000000Z-dashboard").mkdir()
    (history / "20260103T000000Z-dashboard" / "manifest.json").write_text('{"bundle": 3}\n')
    (history / "20260101T000000Z-dashboard" / "manifest.json").unlink()
    (b / "ops" / "dashboard_export_heartbeat.json").write_text('{"job_id": "20260201T000000Z-dashboard"}\n')
    first = ok(a, "push", url, env=stores.env)
    assert first["scope"] == "latency" and first["files_changed"] >= 4
    # Only what the latency run changed was sent: never the dashboard history or the old archive.
    assert first["bytes_uploaded"] < 2000
    second = ok(b, "push", url, env=stores.env, status=("warning",))
    assert second["merged_generation"] == first["generation"]
    # b was re-applied on a's snapshot, but files outside its scope were not brought onto its disk.
    assert not (b / "ops" / "latency_state.json").exists()
    c = make_workspace(tmp_path / "c")
    ok(c, "pull", url, env=stores.env)
    files = synced_files(c)
    assert files["ops/latency_state.json"] == b'{"streak": 1}\n'
    assert files["ops/signal_latency_archive/2026-01/a.csv.gz"] == b"old archive\n"
    assert files["ops/signal_latency_archive/2026-02/b.csv.gz"] == b"new archive\n"
    assert b"2026-02/b.csv.gz" in files["ops/signal_latency_archive/manifest.jsonl"]
    assert files["ops/dashboard_export_history/20260103T000000Z-dashboard/manifest.json"] == b'{"bundle": 3}\n'
    assert "ops/dashboard_export_history/20260101T000000Z-dashboard/manifest.json" not in files
    assert files["ops/dashboard_export_history/20260102T000000Z-dashboard/manifest.json"] == b'{"bundle": 2}\n'
    assert files["ops/weekly_report_history/2026-01-05.json"] == b'{"week": 1}\n'
    assert "ops/state_archive/s/USDJPY/m/20260101.json" not in files  # an upstream input, never state
    sequences = [line["sequence"] for line in log_lines(c)]
    assert sequences == list(range(1, len(sequences) + 1))


def test_a_scoped_run_never_deletes_what_it_did_not_pull(stores, tmp_path):
    url, a, _, _, _ = _scoped_pair(stores, tmp_path)
    (a / "ops" / "latency_state.json").write_text('{"streak": 5}\n')
    ok(a, "push", url, env=stores.env)
    c = make_workspace(tmp_path / "c")
    ok(c, "pull", url, env=stores.env)
    files = synced_files(c)
    for path, text in YEAR.items():
        if path != "ops/latency_state.json" and not path.startswith("ops/state_archive/"):  # an input
            assert files[path] == text.encode(), path
    # A pulled file the latency run deleted is deleted; a dashboard file it never had is not.
    (a / "ops" / "signal_latency_rollup.csv").unlink()
    ok(a, "push", url, env=stores.env)
    d = make_workspace(tmp_path / "d")
    ok(d, "pull", url, env=stores.env)
    assert "ops/signal_latency_rollup.csv" not in synced_files(d)
    assert "ops/dashboard_export_history/20260101T000000Z-dashboard/manifest.json" in synced_files(d)


def test_two_runs_that_both_rewrote_a_heartbeat_merge_it_as_the_later_one(stores, tmp_path):
    url, a, b, _, _ = _scoped_pair(stores, tmp_path)
    (a / "ops" / "alerts_heartbeat.json").write_text(
        json.dumps({"job_id": "20260201T000100Z-alerts", "status": "ok", "last_success_at": "2026-02-01T00:01:00Z"})
    )
    (b / "ops" / "alerts_heartbeat.json").write_text(
        json.dumps({"job_id": "20260201T000000Z-alerts", "status": "error", "last_success_at": "2026-01-31T00:00:00Z"})
    )
    ok(a, "push", url, env=stores.env)
    ok(b, "push", url, env=stores.env, status=("warning",))
    beat = json.loads((b / "ops" / "alerts_heartbeat.json").read_text())
    assert beat["job_id"] == "20260201T000100Z-alerts" and beat["status"] == "ok"
    assert beat["last_success_at"] == "2026-02-01T00:01:00Z"


def test_two_runs_that_both_rewrote_the_issue_cache_merge_it_and_mark_it_stale(stores, tmp_path):
    """Latency and dashboard runs overlapping both sync the alert inbox: no state_conflict; the merged
    cache knows every issue either run touched and re-lists at the next sync (GitHub is the truth)."""
    url, a, b, _, _ = _scoped_pair(stores, tmp_path)

    def cache(issues: dict) -> str:
        return json.dumps(
            {
                "version": 1,
                "repo": "acme/ops",
                "labels": ["observability"],
                "stale": False,
                "updated_at": "2026-02-01T00:00:00Z",
                "issues": issues,
            }
        )

    (a / "ops" / "alert_inbox.json").write_text(cache({"aaaa": {"number": 1, "state": "open"}}))
    (b / "ops" / "alert_inbox.json").write_text(cache({"bbbb": {"number": 2, "state": "open"}}))
    ok(a, "push", url, env=stores.env)
    ok(b, "push", url, env=stores.env, status=("warning",))
    c = make_workspace(tmp_path / "c")
    ok(c, "pull", url, env=stores.env)
    merged = json.loads(synced_files(c)["ops/alert_inbox.json"])
    assert set(merged["issues"]) == {"aaaa", "bbbb"} and merged["stale"] is True


def test_an_unknown_scope_is_a_usage_error(stores, tmp_path):
    url = stores.new()
    ws = make_workspace(tmp_path / "ws")
    run = state(ws, "pull", "--store", url, "--for", "nonsense", env=stores.env)
    assert run.exit_code == 2 and "unknown job" in run.summary["diagnostics"]["error_message"], run


def test_large_text_files_travel_compressed_and_come_back_identical(stores, tmp_path):
    url = stores.new()
    rows = "".join(f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z,feed_{i % 10},{100 + i % 37},ok\n" for i in range(6000))
    ws = make_workspace(tmp_path / "ws", {"ops/signal_latency.csv": rows, "ops/small.json": "{}\n"})
    ok(ws, "pull", url, env=stores.env)
    pushed = ok(ws, "push", url, env=stores.env)
    size = len(rows.encode())
    assert pushed["bytes_uploaded"] < size / 3, pushed
    other = make_workspace(tmp_path / "other")
    pulled = ok(other, "pull", url, env=stores.env)
    assert (other / "ops" / "signal_latency.csv").read_text() == rows
    assert pulled["bytes_downloaded"] < size / 3
    if stores.kind == "file":
        store = tmp_path / "store"
        raw = max((store / "manifests").glob("*.json")).read_bytes()
        assert raw[:2] == b"\x1f\x8b"  # manifests are stored compressed too
        manifest = json.loads(gzip.decompress(raw))
        assert manifest["schema_version"] == "1.1.0"
        entry = manifest["files"]["ops/signal_latency.csv"]
        assert entry["encoding"] == "xz" and entry["size"] == size
        assert "encoding" not in manifest["files"]["ops/small.json"]
        blob = store / "blobs" / "sha256" / entry["sha256"][:2] / (entry["sha256"] + ".xz")
        # A damaged compressed blob is caught before ops/ changes.
        blob.write_bytes(b"not xz")
        third = make_workspace(tmp_path / "third")
        run = state(third, "pull", "--store", url, env=stores.env)
        assert run.exit_code == 1 and run.error_code == "snapshot_corrupt", run
        assert "ops/signal_latency.csv" in run.summary["diagnostics"]["error_message"]
        assert not (third / "ops" / "signal_latency.csv").exists()


def test_gzip_blobs_of_earlier_pushes_still_read_and_xz_is_deterministic():
    """Blobs are stored xz (gzip where Python lacks lzma); gzip blobs already in a store still decode."""
    from observability.state import selection

    data = b"2026-01-01T00:00:00Z,feed_0,123.456,success,\n" * 2000
    assert selection.storage_for("ops/signal_latency.csv", len(data)) == "xz"
    packed = selection.encode(data, "xz")
    assert packed == selection.encode(data, "xz") and len(packed) < len(data) / 10
    assert selection.decode(packed, "xz") == data
    assert selection.decode(selection.encode(data, "gzip"), "gzip") == data
    with pytest.raises(ValueError, match="not valid xz"):
        selection.decode(b"\x1f\x8b broken", "xz")


STACK = {
    "ops/observability/docker-compose.yml": "services: {}\n",
    "ops/observability/grafana/dashboards/job-health.json": "{}\n",
}


def test_the_local_grafana_stack_under_ops_is_never_state(stores, tmp_path):
    """ops/observability/ is the repository's own configuration (init writes it): a push never sends
    it, a pull neither overwrites nor deletes it."""
    url = stores.new()
    ws = make_workspace(tmp_path / "a", {**START, **STACK})
    ok(ws, "pull", url, env=stores.env)
    ok(ws, "push", url, env=stores.env)
    assert "ops/latency_state.json" in synced_files(ws)
    assert not [p for p in synced_files(ws) if p.startswith("ops/observability/")]
    other = make_workspace(tmp_path / "b", {"ops/observability/docker-compose.yml": "services: {mine: {}}\n"})
    ok(other, "pull", url, env=stores.env)
    assert (other / "ops" / "latency_state.json").is_file()
    assert (other / "ops" / "observability" / "docker-compose.yml").read_text() == "services: {mine: {}}\n"
    assert not (other / "ops" / "observability" / "grafana").exists()


def test_a_store_written_before_inputs_left_the_state_still_pulls_and_pushes(stores, tmp_path):
    """0.1.0 carried ops/state_archive/ in the store; such a manifest is read without those files,
    which a pull leaves alone locally and the next push drops."""
    url = stores.new()
    seed = make_workspace(tmp_path / "seed", {"ops/latency_state.json": "{}\n"})
    ok(seed, "pull", url, env=stores.env)
    ok(seed, "push", url, env=stores.env)
    # Rewrite the stored manifest as 0.1.0 would have: with a state_archive entry (file store only).
    if not url.startswith("file://"):
        pytest.skip("rewrites the stored manifest in place: file store only")
    import gzip
    from pathlib import Path as _Path
    from urllib.parse import urlparse

    root = _Path(urlparse(url).path)
    (newest,) = sorted((root / "manifests").glob("*.json"))[-1:]
    raw = newest.read_bytes()
    doc = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    entry = next(iter(doc["files"].values()))
    doc["files"]["ops/state_archive/s/USDJPY/m/1.json"] = entry
    doc["files"]["ops/observability/docker-compose.yml"] = entry  # the stack's config, never state either
    data = json.dumps(doc).encode()
    newest.write_bytes(gzip.compress(data) if raw[:2] == b"\x1f\x8b" else data)
    ws = make_workspace(tmp_path / "ws", {"ops/state_archive/s/USDJPY/m/2.json": '{"ev": 2}\n'})
    ok(ws, "pull", url, env=stores.env)
    assert (ws / "ops" / "state_archive" / "s" / "USDJPY" / "m" / "2.json").is_file()  # a local input kept
    assert not (ws / "ops" / "state_archive" / "s" / "USDJPY" / "m" / "1.json").exists()
    assert not (ws / "ops" / "observability").exists()
    ok(ws, "push", url, env=stores.env)

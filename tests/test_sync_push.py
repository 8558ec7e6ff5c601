"""sync push against a directory and a moto S3 server: upload, index, idempotence, repair, retention, dry run."""

from __future__ import annotations

import hashlib
import json

import _support_state
import _support_sync
from _support_dashboard import assert_valid
from _support_state import closed_port, s3_env
from _support_sync import BUNDLE_DAY, NOW, OLD_WEEK, WEEKS, local_artefacts, make_workspace, sync

s3_server = _support_state.s3_server
targets = _support_sync.targets


def _pushed(ws, url, env, *args, status="ok"):
    run = sync(ws, "--to", url, *args, env=env)
    assert run.exit_code == 0, run
    assert run.summary["status"] == status, run
    return run.summary


def test_upload_lands_under_dated_prefixes_and_the_index_names_the_latest(targets, tmp_path):
    ws = make_workspace(tmp_path / "ws")
    before = local_artefacts(ws)
    summary = _pushed(ws, targets.new(), targets.env)
    manifest = json.loads((ws / "out" / "dashboard" / "manifest.json").read_text())
    bundle = f"dashboard/{BUNDLE_DAY}/{manifest['job_id']}/"
    expected = {bundle + p.name: p.read_bytes() for p in (ws / "out" / "dashboard").iterdir() if p.is_file()}
    for week in WEEKS:
        for suffix in (".json", ".sig"):
            expected[f"weekly/{week}/{week}{suffix}"] = (
                ws / "ops" / "weekly_report_history" / f"{week}{suffix}"
            ).read_bytes()
    assert targets.stored() == sorted([*expected, "index.json"])
    assert all(targets.read(key) == data for key, data in expected.items())
    assert summary["uploaded"] == len(expected) and summary["present"] == 0 and summary["repaired"] == 0
    assert summary["bytes_uploaded"] == sum(len(d) for d in expected.values())
    assert summary["prefixes"] == [bundle, *(f"weekly/{w}/" for w in WEEKS)]
    assert not any(OLD_WEEK in key for key in targets.stored())  # outside the retention: not sent at all

    index = targets.index()
    assert_valid("sync_index", index)
    assert index["latest"] == {"dashboard": bundle, "weekly": f"weekly/{WEEKS[-1]}/"}
    assert [e["prefix"] for e in index["weekly"]] == [f"weekly/{w}/" for w in reversed(WEEKS)]
    files = {f["key"]: f for f in index["dashboard"][0]["files"]}
    assert files[bundle + "manifest.json"]["sha256"] == hashlib.sha256(expected[bundle + "manifest.json"]).hexdigest()
    # The index lists what a consumer needs to check a download: every file with its checksum.
    for dataset in manifest["datasets"]:
        assert files[bundle + dataset["path"]]["sha256"] == dataset["checksum_sha256"]

    report = json.loads((ws / summary["report"]).read_text())
    assert_valid("sync_report", report)
    assert {f["action"] for f in report["files"]} == {"uploaded"}
    assert local_artefacts(ws) == before


def test_a_rerun_uploads_nothing_and_leaves_the_index_alone(targets, tmp_path):
    ws = make_workspace(tmp_path / "ws")
    url = targets.new()
    first = _pushed(ws, url, targets.env)
    index = targets.read("index.json")
    again = _pushed(ws, url, targets.env)
    assert again["uploaded"] == 0 and again["bytes_uploaded"] == 0 and again["repaired"] == 0
    assert again["present"] == first["uploaded"]
    assert again["index_updated"] is False and targets.read("index.json") == index


def test_a_new_export_goes_to_its_own_prefix_and_becomes_the_latest(targets, tmp_path):
    from _support_dashboard import export

    ws = make_workspace(tmp_path / "ws")
    url = targets.new()
    first = _pushed(ws, url, targets.env)
    assert export(ws, now="2026-03-03T06:00:00Z").exit_code == 0
    second = _pushed(ws, url, targets.env, status="ok")
    assert second["prefixes"][0].startswith("dashboard/2026-03-03/")
    assert second["uploaded"] >= 1 and second["present"] == 4  # the weekly payloads were there already
    index = targets.index()
    assert index["latest"]["dashboard"] == second["prefixes"][0]
    assert [e["prefix"] for e in index["dashboard"]] == [second["prefixes"][0], first["prefixes"][0]]


def test_a_corrupt_stored_object_is_detected_and_sent_again(targets, tmp_path):
    ws = make_workspace(tmp_path / "ws")
    url = targets.new()
    first = _pushed(ws, url, targets.env)
    key = f"{first['prefixes'][0]}turnover.json"
    good = targets.read(key)
    targets.write(key, good[:-10] + b"corrupted\n")  # same size, other bytes
    run = sync(ws, "--to", url, env=targets.env)
    assert run.exit_code == 0 and run.summary["status"] == "warning", run
    assert run.summary["repaired"] == 1 and run.summary["uploaded"] == 0
    assert any(key in w and "differs" in w for w in run.summary["diagnostics"]["warnings"])
    assert targets.read(key) == good


def test_retention_prunes_old_prefixes_and_logs_each_prune(targets, tmp_path):
    ws = make_workspace(tmp_path / "ws")
    url = targets.new()
    old = {
        "dashboard/2025-12-01/20251201T000000Z-dashboard/manifest.json": b"{}\n",
        "dashboard/2025-12-01/20251201T000000Z-dashboard/turnover.json": b"[]\n",
        "dashboard/2026-01-05/20260105T000000Z-dashboard/manifest.json": b"{}\n",  # exactly 8 weeks: kept
        "weekly/2025-12-29/2025-12-29.json": b"{}\n",
        "weekly/2025-12-29/2025-12-29.sig": b"ab\n",
        "notes/readme.txt": b"not ours\n",
    }
    for key, data in old.items():
        targets.write(key, data)
    summary = _pushed(ws, url, targets.env)
    assert [(p["prefix"], p["objects"], p["bytes"]) for p in summary["pruned"]] == [
        ("dashboard/2025-12-01/", 2, 6),
        ("weekly/2025-12-29/", 2, 6),
    ]
    keys = targets.stored()
    assert not any(k.startswith(("dashboard/2025-12-01/", "weekly/2025-12-29/")) for k in keys)
    assert "dashboard/2026-01-05/20260105T000000Z-dashboard/manifest.json" in keys and "notes/readme.txt" in keys
    lines = [json.loads(line) for line in (ws / "ops" / "sync_prune_log.jsonl").read_text().splitlines()]
    assert [line["prefix"] for line in lines] == ["dashboard/2025-12-01/", "weekly/2025-12-29/"]
    for line in lines:
        assert_valid("sync_prune", line)
        assert line["job_id"] == summary["job_id"] and line["pruned_at"] == NOW and line["retention_weeks"] == 8
        assert line["reason"] == "retention"
    assert "ops/sync_prune_log.jsonl" in summary["artefacts"]
    index = targets.index()
    assert not any(
        e["prefix"].startswith(("dashboard/2025-12-01/", "weekly/2025-12-29/"))
        for kind in ("dashboard", "weekly")
        for e in index[kind]
    )


def test_the_newest_prefix_of_a_kind_is_never_pruned(targets, tmp_path):
    ws = make_workspace(tmp_path / "ws")
    url = targets.new()
    _pushed(ws, url, targets.env, "--no-dashboard")
    # Months later, with no new week delivered: the last weeks stay, the oldest of them goes.
    later = sync(
        ws, "--to", url, "--no-dashboard", "--retention-weeks", "1", env=targets.env, now="2026-06-01T06:00:00Z"
    )
    assert later.exit_code == 0, later
    assert [p["prefix"] for p in later.summary["pruned"]] == [f"weekly/{WEEKS[0]}/"]
    assert targets.index()["latest"]["weekly"] == f"weekly/{WEEKS[-1]}/"
    assert f"weekly/{WEEKS[-1]}/{WEEKS[-1]}.json" in targets.stored()


def test_dry_run_contacts_nothing_and_lists_what_would_be_sent(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    # An S3 endpoint where nothing listens: any contact would fail the run.
    env = s3_env(f"http://127.0.0.1:{closed_port()}")
    run = sync(ws, "--to", "s3://bucket/prefix", "--dry-run", env=env)
    assert run.exit_code == 0 and run.summary["status"] == "dry_run", run
    report = json.loads((ws / run.summary["report"]).read_text())
    assert_valid("sync_report", report)
    assert report["dry_run"] is True and report["target"] == "s3://bucket/prefix"
    assert {f["action"] for f in report["files"]} == {"would_upload"}
    assert len(report["files"]) == run.summary["files"] == 6 + 2 * len(WEEKS)
    target = tmp_path / "never"
    run = sync(ws, "--to", target.as_uri(), "--dry-run")
    assert run.exit_code == 0 and run.summary["status"] == "dry_run", run
    assert not target.exists()
    log = [json.loads(line) for line in (ws / "ops" / "automation_runs.log").read_text().splitlines()]
    assert log[-1]["status"] == "dry_run" and log[-1]["job"] == "sync"


def test_the_url_comes_from_obs_sync_to(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    target = tmp_path / "from-env"
    run = sync(ws, env={"OBS_SYNC_TO": target.as_uri()})
    assert run.exit_code == 0, run
    assert (target / "index.json").is_file()


def test_temp_files_of_a_killed_push_are_swept_from_a_directory_target(tmp_path):
    """A sync push killed mid-write leaves `.<name>.<8 chars>.tmp` in the shared directory (which may be
    served as is); listing and pruning skip dot files, so nothing ever removed it, and a pruned dated
    directory holding one stayed forever. An hour old, it is a killed writer's: the next push removes it."""
    import os
    import time

    ws = make_workspace(tmp_path / "ws")
    root = tmp_path / "shared"
    url = root.as_uri()
    _pushed(ws, url, {})
    old_prefix = root / "weekly" / "2025-12-29"
    old_prefix.mkdir(parents=True)
    (old_prefix / "2025-12-29.json").write_bytes(b"{}\n")
    (old_prefix / "2025-12-29.sig").write_bytes(b"ab\n")
    stamp = time.time() - 2 * 3600
    dead = [
        root / "dashboard" / ".manifest.json.0a1b2c3d.tmp",
        old_prefix / ".2025-12-29.json.9f8e7d6c.tmp",
        root / ".index.json.12345678.tmp",
    ]
    for path in dead:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half")
        os.utime(path, (stamp, stamp))
    live = root / "dashboard" / ".turnover.json.abcdef12.tmp"  # a concurrent push's, seconds old
    live.write_bytes(b"half")
    mine = root / "notes" / ".draft.tmp"  # not our naming
    mine.parent.mkdir()
    mine.write_bytes(b"x")
    os.utime(mine, (stamp, stamp))
    summary = _pushed(ws, url, {})
    assert not any(p.exists() for p in dead)
    assert live.exists() and mine.exists()
    assert not old_prefix.exists()  # pruned, and its directory gone with it
    assert [p["prefix"] for p in summary["pruned"]] == ["weekly/2025-12-29/"]

"""sync push thins the dashboard prefixes as the dashboard history does: past 48 hours only the last
export of each UTC day stays (a directory and moto's S3 server); the prune log and the index say why
each prefix went, and the nightly `verify --sync-to` raises nothing for a thinned prefix.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

import _support_dashboard
import _support_state
import _support_sync
from _support_cli import Run
from _support_dashboard import assert_valid
from _support_state import base_env
from _support_sync import sync
from observability import clock
from observability.cli import cli
from observability.storage import open_bucket
from observability.verify import storage

s3_server = _support_state.s3_server
targets = _support_sync.targets

# Hourly-style exports over three days, each synced as the dashboard workflow does.
EXPORTS = (
    "2026-02-27T01:17:00Z",
    "2026-02-27T13:17:00Z",
    "2026-02-27T23:17:00Z",  # the last of 27 Feb: kept
    "2026-02-28T04:17:00Z",  # before the 48 h on 2 Mar 06:00, the last of that part of 28 Feb: kept for now
    "2026-02-28T09:17:00Z",  # within 48 h: kept
    "2026-03-02T05:17:00Z",
)
NOW = "2026-03-02T06:00:00Z"
LATER = "2026-03-02T12:00:00Z"  # 28 Feb 09:17 is past 48 h now: 04:17 is no longer the last of its day


def _hourly(ws: Path, url: str, env: dict) -> dict[str, str]:
    """Export and sync at each time of EXPORTS; the prefix each export went to, by time."""
    prefixes = {}
    for at in EXPORTS:
        done = _support_dashboard.export(ws, "--dataset", "latency", now=at)
        assert done.exit_code == 0, done
        pushed = sync(ws, "--to", url, "--no-weekly", env=env, now=at)
        assert pushed.exit_code == 0 and pushed.summary["status"] == "ok", pushed
        prefixes[at] = pushed.summary["prefixes"][0]
    return prefixes


def _workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    _support_dashboard.make_workspace(ws)
    return ws


def _verify(ws: Path, url: str, env: dict, now: str) -> Run:
    environ = base_env(**{"OBS_NOW": now, "OBS_SYNC_TO": None, **env})
    result = CliRunner().invoke(
        cli, ["verify", "--workspace", str(ws), "--sync-to", url], env=environ, catch_exceptions=False
    )
    return Run(result)


def _storage_alerts(run: Run) -> list[dict]:
    assert run.exit_code in (0, 1), run
    return [a for a in run.summary["alerts"] if a["rule"].startswith("sync_")]


def test_exports_past_48_hours_are_thinned_to_the_last_of_each_day(targets, tmp_path):
    ws = _workspace(tmp_path)
    url = targets.new()
    prefixes = _hourly(ws, url, targets.env)
    assert len(set(prefixes.values())) == len(EXPORTS)
    # Each hourly sync already thinned what had passed 48 h: on 2 Mar 05:17 the first two of 27 Feb.
    thinned = [prefixes[EXPORTS[0]], prefixes[EXPORTS[1]]]
    kept = [p for at, p in prefixes.items() if p not in thinned]
    stored = targets.stored()
    assert not any(k.startswith(tuple(thinned)) for k in stored)
    assert all(any(k.startswith(p) and k.endswith("manifest.json") for k in stored) for p in kept)

    lines = [json.loads(line) for line in (ws / "ops" / "sync_prune_log.jsonl").read_text().splitlines()]
    assert [(line["prefix"], line["reason"], line["kind"], line["date"]) for line in lines] == [
        (p, "thinned", "dashboard", "2026-02-27") for p in thinned
    ]
    for line in lines:
        assert_valid("sync_prune", line)
        assert line["objects"] >= 3 and line["bytes"] > 0  # the bundle: its datasets, README.json, manifest.json

    index = targets.index()
    assert_valid("sync_index", index)
    assert [e["prefix"] for e in index["dashboard"]] == list(reversed(kept))
    assert index["latest"]["dashboard"] == prefixes[EXPORTS[-1]]
    assert [(r["prefix"], r["reason"], r["date"]) for r in index["removed"]] == [
        (p, "thinned", "2026-02-27") for p in sorted(thinned, reverse=True)
    ]
    assert {r["job_id"] for r in index["removed"]} == {line["job_id"] for line in lines}

    # Later the same day 28 Feb 09:17 passes 48 h too: 04:17 is no longer the last of its day.
    later = sync(ws, "--to", url, "--no-weekly", env=targets.env, now=LATER)
    assert later.exit_code == 0, later
    assert [(p["prefix"], p["reason"]) for p in later.summary["pruned"]] == [(prefixes[EXPORTS[3]], "thinned")]
    assert "thinned: not the last export of 2026-02-28, older than 48 h" in later.stderr
    report = json.loads((ws / later.summary["report"]).read_text())
    assert_valid("sync_report", report)
    assert report["pruned"][0]["reason"] == "thinned"
    index = targets.index()
    assert [e["prefix"] for e in index["dashboard"]] == [prefixes[EXPORTS[i]] for i in (5, 4, 2)]
    assert [r["prefix"] for r in index["removed"]] == [prefixes[EXPORTS[3]], *sorted(thinned, reverse=True)]

    # The nightly check reads what the index lists and raises nothing for what was thinned.
    checked = _verify(ws, url, targets.env, LATER)
    assert _storage_alerts(checked) == []
    assert checked.summary["checks"]["storage"]["findings"] == 0
    assert checked.summary["checks"]["storage"]["latest_dashboard"] == prefixes[EXPORTS[-1]]


def test_a_rerun_thins_nothing_more_and_leaves_the_index_alone(targets, tmp_path):
    ws = _workspace(tmp_path)
    url = targets.new()
    _hourly(ws, url, targets.env)
    index = targets.read("index.json")
    again = sync(ws, "--to", url, "--no-weekly", env=targets.env, now=NOW)
    assert again.exit_code == 0 and again.summary["pruned"] == [] and again.summary["index_updated"] is False
    assert targets.read("index.json") == index


def test_the_newest_export_and_the_one_just_sent_are_never_thinned(tmp_path):
    """Days without an export (an outage): the last exports stay, however old."""
    ws = _workspace(tmp_path)
    url = (tmp_path / "shared").as_uri()
    for at in ("2026-02-20T10:17:00Z", "2026-02-20T11:17:00Z"):
        assert _support_dashboard.export(ws, "--dataset", "latency", now=at).exit_code == 0
        assert sync(ws, "--to", url, "--no-weekly", now=at).exit_code == 0
    # Ten days on, the bundle of 20 Feb 11:17 is synced again (no export since): it is the newest.
    late = sync(ws, "--to", url, "--no-weekly", now="2026-03-02T06:00:00Z")
    assert late.exit_code == 0, late
    pruned = late.summary["pruned"]
    assert len(pruned) == 1 and pruned[0]["reason"] == "thinned" and "T101700Z" in pruned[0]["prefix"]
    index = json.loads((tmp_path / "shared" / "index.json").read_text())
    assert len(index["dashboard"]) == 1 and "T111700Z" in index["latest"]["dashboard"]


def test_a_whole_day_past_the_retention_is_pruned_for_the_retention_not_thinned(targets, tmp_path):
    ws = _workspace(tmp_path)
    url = targets.new()
    for key in (
        "dashboard/2025-12-01/20251201T011700Z-dashboard/manifest.json",
        "dashboard/2025-12-01/20251201T021700Z-dashboard/manifest.json",
    ):
        targets.write(key, b"{}\n")
    assert _support_dashboard.export(ws, "--dataset", "latency", now=NOW).exit_code == 0
    done = sync(ws, "--to", url, "--no-weekly", env=targets.env, now=NOW)
    assert done.exit_code == 0, done
    assert [(p["prefix"], p["reason"], p["objects"]) for p in done.summary["pruned"]] == [
        ("dashboard/2025-12-01/", "retention", 2)
    ]
    assert [(r["prefix"], r["reason"]) for r in targets.index()["removed"]] == [("dashboard/2025-12-01/", "retention")]


def test_removals_leave_the_index_after_the_retention(tmp_path):
    ws = _workspace(tmp_path)
    url = (tmp_path / "shared").as_uri()
    _hourly(ws, url, {})
    assert len(json.loads((tmp_path / "shared" / "index.json").read_text())["removed"]) == 2
    assert _support_dashboard.export(ws, "--dataset", "latency", now="2026-05-01T06:00:00Z").exit_code == 0
    much_later = sync(ws, "--to", url, "--no-weekly", now="2026-05-01T06:00:00Z")
    assert much_later.exit_code == 0, much_later
    removed = json.loads((tmp_path / "shared" / "index.json").read_text())["removed"]
    # the old thinning records aged out; what this run removed is recorded
    assert removed and {r["removed_at"] for r in removed} == {"2026-05-01T06:00:00Z"}


def test_verify_raises_nothing_for_a_prefix_thinned_while_it_ran(tmp_path, monkeypatch):
    """verify read the index before a sync thinned a prefix it lists: the object is gone, but the
    index the sync wrote first says why, so it is a note, not an alert."""
    ws = _workspace(tmp_path)
    shared = tmp_path / "shared"
    url = shared.as_uri()
    for at in EXPORTS[:3]:
        assert _support_dashboard.export(ws, "--dataset", "latency", now=at).exit_code == 0
        assert sync(ws, "--to", url, "--no-weekly", now=at).exit_code == 0
    before = (shared / "index.json").read_bytes()
    thinning = sync(ws, "--to", url, "--no-weekly", now=NOW)
    assert [p["reason"] for p in thinning.summary["pruned"]] == ["thinned", "thinned"], thinning

    real = open_bucket
    reads = []

    class Stale:
        """The target as a check that started before the sync saw it: the index read first is the old one."""

        def __init__(self, bucket):
            self.bucket = bucket

        def __getattr__(self, name):
            return getattr(self.bucket, name)

        def get(self, key):
            reads.append(key)
            if key == "index.json" and reads.count(key) == 1:
                return before
            return self.bucket.get(key)

    monkeypatch.setattr(storage, "open_bucket", lambda *a, **k: Stale(real(*a, **k)))
    result = storage.check(_open(ws), storage.StorageCheckOptions(url, retry_wait_seconds=0), now=clock.parse_iso(NOW))
    assert result.findings == [], [f.message for f in result.findings]
    assert sum("while the check ran" in note and "(thinned)" in note for note in result.notes) == 2
    assert reads.count("index.json") == 2  # read again once, on the first missing object

    # Without the removal on record (a prefix deleted by hand) the same gap is an alert.
    (shared / "index.json").write_bytes(before)
    reads.clear()
    result = storage.check(_open(ws), storage.StorageCheckOptions(url, retry_wait_seconds=0), now=clock.parse_iso(NOW))
    assert {f.rule for f in result.findings} == {"sync_object_missing"}


def _open(ws: Path):
    from observability.workspace import Workspace

    return Workspace.open(str(ws))

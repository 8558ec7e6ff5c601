"""History snapshots: one complete bundle per export, pruned after the retention with a record each."""

from __future__ import annotations

import json

from _support_dashboard import export, make_workspace, manifest, sha256, verify

HISTORY = "ops/dashboard_export_history"
RECORD = "ops/dashboard_export_archive_manifest.jsonl"


def test_each_export_snapshots_a_complete_restorable_bundle(tmp_path):
    make_workspace(tmp_path)
    assert export(tmp_path, "--job-id", "20260108T000700Z-dashboard").exit_code == 0
    snap = tmp_path / HISTORY / "20260108T000700Z-dashboard"
    assert sorted(p.name for p in snap.iterdir()) == [
        "README.json",
        "ev_history.json",
        "latency.json",
        "manifest.json",
        "slippage.json",
        "turnover.json",
    ]
    assert (snap / "manifest.json").read_bytes() == (tmp_path / "out/dashboard/manifest.json").read_bytes()
    for item in manifest(tmp_path)["datasets"]:
        assert sha256(snap / item["path"]) == item["checksum_sha256"]
    # rollback: the snapshot verifies as a bundle on its own
    check = verify(tmp_path, "--manifest", f"{HISTORY}/20260108T000700Z-dashboard/manifest.json")
    assert check.exit_code == 0, check
    # still verifiable later, after newer exports and long past the freshness limit
    assert export(tmp_path, now="2026-01-09T00:07:00Z").exit_code == 0
    check = verify(
        tmp_path, "--manifest", f"{HISTORY}/20260108T000700Z-dashboard/manifest.json", now="2026-02-01T00:00:00Z"
    )
    assert check.exit_code == 0, check
    (snap / "turnover.json").write_text("{}")
    tampered = verify(tmp_path, "--manifest", f"{HISTORY}/20260108T000700Z-dashboard/manifest.json")
    assert tampered.exit_code == 1 and "checksum" in tampered.summary["problems"][0]


def test_snapshots_older_than_the_retention_are_pruned_and_recorded(tmp_path):
    make_workspace(tmp_path)
    days = ["2026-01-01", "2026-01-15", "2026-02-01", "2026-03-01"]
    for day in days:
        stamp = day.replace("-", "") + "T003000Z-dashboard"
        assert (
            export(tmp_path, "--history-retention-days", "30", "--job-id", stamp, now=f"{day}T00:30:00Z").exit_code == 0
        )
    names = sorted(p.name for p in (tmp_path / HISTORY).iterdir())
    # on 03-01 the cutoff is 01-30: the 01-01 and 01-15 snapshots went (01-01 already on 02-01)
    assert names == ["20260201T003000Z-dashboard", "20260301T003000Z-dashboard"]
    records = [json.loads(line) for line in (tmp_path / RECORD).read_text().splitlines()]
    assert [r["snapshot"] for r in records] == [
        f"{HISTORY}/20260101T003000Z-dashboard",
        f"{HISTORY}/20260115T003000Z-dashboard",
    ]
    assert [r["job_id"] for r in records] == ["20260201T003000Z-dashboard", "20260301T003000Z-dashboard"]
    assert records[0]["sequence"] == 1 and records[0]["retention_days"] == 30
    assert {f["path"] for f in records[0]["files"]} >= {"manifest.json", "turnover.json"}
    assert all(len(f["sha256"]) == 64 for f in records[0]["files"])
    assert verify(tmp_path, "--history-retention-days", "30", now="2026-03-01T01:00:00Z").exit_code == 0


def test_default_retention_is_56_days_and_the_current_snapshot_is_never_pruned(tmp_path):
    make_workspace(tmp_path)
    assert export(tmp_path, now="2026-01-01T00:30:00Z").exit_code == 0
    assert export(tmp_path, now="2026-02-25T00:30:00Z").exit_code == 0  # 55 days later
    assert len(list((tmp_path / HISTORY).iterdir())) == 2
    assert export(tmp_path, now="2026-02-27T00:30:00Z").exit_code == 0  # 57 days
    assert len(list((tmp_path / HISTORY).iterdir())) == 2
    assert not [p for p in (tmp_path / HISTORY).iterdir() if p.name.startswith("20260101T003000Z-")]


def test_leftovers_of_a_killed_snapshot_write_are_cleaned(tmp_path):
    make_workspace(tmp_path)
    junk = tmp_path / HISTORY / ".20260101T000000Z-dashboard.tmp-999"
    junk.mkdir(parents=True)
    (junk / "manifest.json").write_text("{")
    assert export(tmp_path).exit_code == 0
    assert not junk.exists()


def test_past_48_hours_only_the_last_snapshot_of_each_day_is_kept(tmp_path):
    """The hourly latency refresh snapshots 24 bundles a day; past 48 h one a day is enough."""
    make_workspace(tmp_path)
    stamps = [("2026-01-05", h) for h in (0, 1, 23)] + [("2026-01-06", h) for h in (5, 6)]
    stamps += [("2026-01-07", 10), ("2026-01-07", 11), ("2026-01-08", 0)]
    for i, (day, hour) in enumerate(stamps):
        now = f"{day}T{hour:02d}:17:00Z"
        only = ("--dataset", "latency") if i else ()  # a full export first, then the hourly ones
        job_id = f"{day.replace('-', '')}T{hour:02d}1700Z-dashboard"
        assert export(tmp_path, *only, "--job-id", job_id, now=now).exit_code == 0
    names = sorted(p.name for p in (tmp_path / HISTORY).iterdir())
    # on 01-08 00:17 the cut is 01-06 00:17: 01-05 keeps its last (23:17), 01-06 and 01-07 are within 48 h
    assert names == [
        "20260105T231700Z-dashboard",
        "20260106T051700Z-dashboard",
        "20260106T061700Z-dashboard",
        "20260107T101700Z-dashboard",
        "20260107T111700Z-dashboard",
        "20260108T001700Z-dashboard",
    ]
    records = [json.loads(line) for line in (tmp_path / RECORD).read_text().splitlines()]
    assert [(r["snapshot"].rsplit("/", 1)[1], r.get("reason")) for r in records] == [
        ("20260105T001700Z-dashboard", "thinned"),
        ("20260105T011700Z-dashboard", "thinned"),
    ]
    # a latency-only export carries the other datasets over: the day's last snapshot is a whole bundle
    kept = tmp_path / HISTORY / "20260105T231700Z-dashboard"
    assert sorted(p.name for p in kept.glob("*.json") if p.name not in ("README.json", "manifest.json")) == [
        "ev_history.json",
        "latency.json",
        "slippage.json",
        "turnover.json",
    ]
    check = verify(tmp_path, "--dataset", "latency", now="2026-01-08T00:20:00Z")  # the others were not refreshed
    assert check.exit_code == 0, check

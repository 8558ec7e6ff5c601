"""dashboard export --sync-to: the fresh bundle goes to shared storage after a successful export."""

from __future__ import annotations

import json

import _support_state
import _support_sync
from _support_dashboard import export
from _support_state import closed_port, s3_env
from _support_sync import NOW, make_workspace

s3_server = _support_state.s3_server
targets = _support_sync.targets


def test_export_sync_to_uploads_the_new_bundle(targets, tmp_path):
    ws = make_workspace(tmp_path / "ws")
    url = targets.new()
    run = export(ws, "--sync-to", url, now=NOW, env=targets.env)
    assert run.exit_code == 0 and run.summary["status"] == "ok", run
    synced = run.summary["sync"]
    manifest = json.loads((ws / "out" / "dashboard" / "manifest.json").read_text())
    prefix = f"dashboard/2026-03-02/{run.summary['job_id']}/"
    assert manifest["job_id"] == run.summary["job_id"] and synced["prefixes"] == [prefix]
    assert synced["status"] == "ok" and synced["uploaded"] == 6
    assert targets.read(prefix + "manifest.json") == (ws / "out" / "dashboard" / "manifest.json").read_bytes()
    assert targets.index()["latest"] == {"dashboard": prefix, "weekly": None}  # weekly payloads are sync push's
    assert not any(key.startswith("weekly/") for key in targets.stored())


def test_export_sync_to_outage_ends_sync_failed_and_keeps_the_bundle(monkeypatch, tmp_path):
    ws = make_workspace(tmp_path / "ws")
    waits: list[float] = []
    monkeypatch.setattr("time.sleep", waits.append)
    env = {**s3_env(f"http://127.0.0.1:{closed_port()}")}
    run = export(ws, "--sync-to", "s3://bucket/p", now="2026-03-02T07:00:00Z", env=env)
    assert run.exit_code == 1, run
    assert run.summary["status"] == "error" and run.summary["diagnostics"]["error_code"] == "sync_failed"
    assert run.summary["sync"]["status"] == "failed"
    assert waits == [2.0, 4.0, 8.0, 16.0]  # the defaults: 5 attempts, doubling from 2 s
    manifest = json.loads((ws / "out" / "dashboard" / "manifest.json").read_text())
    assert manifest["job_id"] == run.summary["job_id"]  # the export itself landed and stays
    assert (ws / "ops" / "dashboard_export_history" / run.summary["job_id"]).is_dir()


def test_export_sync_to_with_dry_run_upload_contacts_nothing(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    target = tmp_path / "never"
    run = export(ws, "--sync-to", target.as_uri(), "--dry-run-upload", now="2026-03-02T07:00:00Z")
    assert run.exit_code == 0 and run.summary["status"] == "dry_run", run
    assert run.summary["sync"]["status"] == "dry_run" and run.summary["sync"]["files"] == 6
    assert not target.exists()
    assert (ws / run.summary["sync"]["report"]).is_file()


def test_export_sync_to_a_bad_url_is_a_usage_error_before_exporting(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    before = (ws / "out" / "dashboard" / "manifest.json").read_bytes()
    run = export(ws, "--sync-to", "ftp://host/x", now="2026-03-02T07:00:00Z")
    assert run.exit_code == 2, run
    assert "--to ftp://host/x: unknown scheme" in run.summary["diagnostics"]["error_message"]
    assert (ws / "out" / "dashboard" / "manifest.json").read_bytes() == before


def test_a_failed_export_is_not_synced(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    (ws / "reports" / "portfolio_samples" / "router_demo" / "telemetry.json").write_text("{not json")
    target = tmp_path / "shared"
    run = export(ws, "--sync-to", target.as_uri(), now="2026-03-02T07:00:00Z")
    assert run.exit_code == 1 and run.summary["diagnostics"]["failed_datasets"] == ["slippage"], run
    assert run.summary["sync"] == {"status": "skipped", "reason": "export_failed"}
    assert not target.exists()

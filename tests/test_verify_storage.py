"""The nightly check of the shared-storage copies (seed 002 §2): `verify --sync-to` re-reads what
`sync push` stored (a directory and moto's S3 server) and alerts on a missing object, changed bytes,
a bad signature or a copy that lags the workspace, naming the object.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import _support_state
import _support_sync
from _support_cli import Run
from _support_dashboard import export
from _support_state import base_env, closed_port
from _support_sync import NOW, WEEKS, make_workspace, sync
from observability import clock
from observability.cli import cli
from observability.outputs import weekly as weekly_outputs
from observability.verify import storage
from observability.workspace import Workspace

s3_server = _support_state.s3_server
targets = _support_sync.targets

SECRET = "verify-storage-webhook-secret-3f9a"


def _signed_workspace(root: Path) -> Path:
    """The sync tests' workspace, its weekly payloads re-written as real signed deliveries."""
    ws = make_workspace(root)
    history = ws / "ops" / "weekly_report_history"
    for week in WEEKS:
        payload = {"week_start": week, "schema_version": weekly_outputs.SCHEMA_VERSION}
        payload[weekly_outputs.CHECKSUM_FIELD] = weekly_outputs.checksum(payload)
        body = json.dumps(payload, sort_keys=True).encode()
        (history / f"{week}.json").write_bytes(body)
        (history / f"{week}.sig").write_text(hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest())
    return ws


def _verify(ws: Path, url: str, env: dict, *args: str) -> Run:
    environ = base_env(**{"OBS_NOW": NOW, "OBS_SYNC_TO": None, "OBS_WEBHOOK_SECRET": SECRET, **env})
    result = CliRunner().invoke(
        cli, ["verify", "--workspace", str(ws), "--sync-to", url, *args], env=environ, catch_exceptions=False
    )
    return Run(result)


def _sync_alerts(run: Run) -> dict[str, list[dict]]:
    """The storage alerts by rule (one alert per rule and prefix)."""
    assert run.exit_code == 0, run
    found: dict[str, list[dict]] = {}
    for alert in run.summary["alerts"]:
        if alert["rule"].startswith("sync_"):
            found.setdefault(alert["rule"], []).append(alert)
    return found


def _objects(alerts: list[dict]) -> list[str]:
    return sorted(item["object"] for alert in alerts for item in alert["evidence"]["items"])


def _push(ws: Path, url: str, env: dict) -> None:
    pushed = sync(ws, "--to", url, env=env)
    assert pushed.exit_code == 0 and pushed.summary["status"] in ("ok", "warning"), pushed


def test_intact_copies_raise_nothing_and_every_object_is_reread(targets, tmp_path):
    ws = _signed_workspace(tmp_path / "ws")
    url = targets.new()
    _push(ws, url, targets.env)
    run = _verify(ws, url, targets.env)
    assert _sync_alerts(run) == {}
    checked = run.summary["checks"]["storage"]
    assert checked["objects_read"] == 11 and checked["signatures"] == "hmac" and checked["findings"] == 0
    assert checked["bytes_read"] == sum(len(targets.read(k)) for k in targets.stored())
    report = json.loads((ws / "out" / "verify" / f"{run.summary['job_id']}.json").read_text())
    assert report["checks"]["storage"]["target"] == checked["target"]


def test_missing_changed_and_badly_signed_objects_are_alerts_naming_them(targets, tmp_path):
    ws = _signed_workspace(tmp_path / "ws")
    url = targets.new()
    _push(ws, url, targets.env)
    index = targets.index()
    bundle = index["latest"]["dashboard"]
    targets.write(bundle + "latency.json", b'{"tampered": true}\n')  # changed bytes
    week_a, week_b = WEEKS
    body_b = f"weekly/{week_b}/{week_b}.json"
    if targets.kind == "file":
        (targets.root / body_b).unlink()
    else:
        _support_state.s3_client(targets.endpoint).delete_object(
            Bucket=targets.bucket, Key=f"{targets.prefix}/{body_b}"
        )
    targets.write(f"weekly/{week_a}/{week_a}.sig", b"0" * 64)  # a signature that signs nothing
    run = _verify(ws, url, targets.env)
    alerts = _sync_alerts(run)
    assert set(alerts) == {"sync_object_changed", "sync_object_missing", "sync_signature_mismatch"}
    display = run.summary["checks"]["storage"]["target"]
    sig_a = f"{display}/weekly/{week_a}/{week_a}.sig"
    # the index and the bundle's own manifest both disagree with the dataset; the .sig differs from the index
    assert _objects(alerts["sync_object_changed"]) == sorted([f"{display}/{bundle}latency.json"] * 2 + [sig_a])
    assert {a["source"] for a in alerts["sync_object_changed"]} == {
        f"{display}/{bundle}",
        f"{display}/weekly/{week_a}/",
    }
    assert all(a["severity"] == "critical" for a in alerts["sync_object_changed"])
    assert _objects(alerts["sync_object_missing"]) == [f"{display}/{body_b}"]
    assert _objects(alerts["sync_signature_mismatch"]) == [sig_a]
    assert "under any key in OBS_WEBHOOK_SECRET" in alerts["sync_signature_mismatch"][0]["message"]
    # the existing alert path: the inbox's built-in verify source reads ops/verify_alerts.json
    firing = json.loads((ws / "ops" / "verify_alerts.json").read_text())["alerts"]
    assert {a["rule"] for a in firing} >= set(alerts)
    # a push repairs the copies; the next night finds nothing and the alerts resolve
    _push(ws, url, targets.env)
    after = _verify(ws, url, targets.env)
    assert _sync_alerts(after) == {}
    assert not [
        a
        for a in json.loads((ws / "ops" / "verify_alerts.json").read_text())["alerts"]
        if a["rule"].startswith("sync_")
    ]


def test_a_copy_that_lags_the_export_or_the_deliveries_is_out_of_date(targets, tmp_path):
    ws = _signed_workspace(tmp_path / "ws")
    url = targets.new()
    _push(ws, url, targets.env)
    again = export(ws, now="2026-03-02T07:00:00Z")  # a newer export that was never synced
    assert again.exit_code == 0, again
    newer = "2026-03-02"  # a week delivered after the last sync
    history = ws / "ops" / "weekly_report_history"
    (history / f"{newer}.json").write_text("{}")
    (history / f"{newer}.sig").write_text("00")
    alerts = _sync_alerts(_verify(ws, url, targets.env))
    assert set(alerts) == {"sync_out_of_date", "sync_object_missing"}
    assert "sequence 1, the workspace exported sequence 2" in alerts["sync_out_of_date"][0]["message"]
    assert alerts["sync_out_of_date"][0]["severity"] == "warning"
    assert _objects(alerts["sync_object_missing"])[0].endswith(f"weekly/{newer}/{newer}.json")


def test_without_the_secret_signatures_are_compared_with_the_workspace(tmp_path):
    ws = _signed_workspace(tmp_path / "ws")
    url = (tmp_path / "shared").as_uri()
    _push(ws, url, {})
    week = WEEKS[0]
    (tmp_path / "shared" / f"weekly/{week}/{week}.sig").write_text("f" * 64)
    run = _verify(ws, url, {"OBS_WEBHOOK_SECRET": None})
    assert run.summary["checks"]["storage"]["signatures"] == "local"
    assert "differs from ops/weekly_report_history" in _sync_alerts(run)["sync_signature_mismatch"][0]["message"]


def test_an_unreachable_target_is_one_warning_after_the_retry_policy(tmp_path, monkeypatch):
    ws = Workspace.open(str(_signed_workspace(tmp_path / "ws")))
    waits: list[float] = []
    for name, value in _support_state.s3_env(f"http://127.0.0.1:{closed_port()}").items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)  # boto3 reads its credentials from the process environment
    opts = storage.StorageCheckOptions("s3://bucket/shared", max_attempts=3, retry_wait_seconds=1.5, sleep=waits.append)
    result = storage.check(ws, opts, now=clock.parse_iso(NOW))
    assert [f.rule for f in result.findings] == ["sync_unreachable"] and waits == [1.5, 3.0]
    assert "after 3 attempt(s)" in result.findings[0].message


def test_nothing_synced_yet_is_a_note_not_an_alert(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    for sig in (ws / "ops" / "weekly_report_history").glob("*.sig"):
        sig.unlink()  # nothing delivered either
    exported = _sync_alerts(_verify(ws, (tmp_path / "empty").as_uri(), {}))
    # An export the target never got (a mistyped OBS_SYNC_TO, a sync that never ran) is not "nothing to store".
    assert set(exported) == {"sync_out_of_date"}
    assert "stored bundle is sequence none" in exported["sync_out_of_date"][0]["message"]
    (ws / "ops" / "dashboard_export_heartbeat.json").unlink()
    shutil.rmtree(ws / "out" / "dashboard")  # nothing exported
    run = _verify(ws, (tmp_path / "empty").as_uri(), {})
    assert _sync_alerts(run) == {} and "nothing synced yet" in run.stderr


@pytest.mark.parametrize("url", ["ftp://host/x", "git+file:///tmp/x.git"])
def test_a_bad_sync_to_is_a_usage_error(tmp_path, url):
    ws = make_workspace(tmp_path / "ws")
    run = _verify(ws, url, {})
    assert run.exit_code == 2 and "--sync-to" in run.summary["diagnostics"]["error_message"], run


def test_a_damaged_copy_opens_an_issue_naming_the_object(tmp_path):
    """The whole alert path: verify's finding -> ops/verify_alerts.json -> `alerts sync` -> one issue per alert."""
    from tests._support_github import FakeGitHub, alerts_cli

    ws = _signed_workspace(tmp_path / "ws")
    shared = tmp_path / "shared"
    _push(ws, shared.as_uri(), {})
    week = WEEKS[1]
    (shared / f"weekly/{week}/{week}.sig").write_text("0" * 64)
    run = _verify(ws, shared.as_uri(), {})
    assert set(_sync_alerts(run)) == {"sync_object_changed", "sync_signature_mismatch"}
    with FakeGitHub() as fake:
        synced = alerts_cli(ws, "sync", "--source", "verify", now=NOW, fake=fake)
        assert synced.exit_code == 0, synced
        bodies = {issue["title"]: issue["body"] for issue in fake.issues.values()}
    key = f"weekly/{week}/{week}.sig"
    named = [title for title, body in bodies.items() if key in body]
    prefix = f"{shared.as_uri()}/weekly/{week}/"
    assert sorted(named) == [
        f"verify: {rule} on {prefix}" for rule in ("sync_object_changed", "sync_signature_mismatch")
    ]

"""A failing dataset keeps its last good version; upload commands run without a shell."""

from __future__ import annotations

import json
import sys

from _support_dashboard import bundle, entry, export, heartbeat, make_workspace, manifest, sha256, verify


def test_failed_dataset_keeps_last_good_file_and_entry_while_others_refresh(tmp_path):
    make_workspace(tmp_path)
    assert export(tmp_path).exit_code == 0
    good = entry(tmp_path, "turnover")
    good_bytes = (tmp_path / "out/dashboard/turnover.json").read_bytes()
    (tmp_path / "runs" / "index.csv").write_text("not,a,runs,index\n1,2,3,4\n")
    (tmp_path / "reports/portfolio_samples/router_demo/telemetry.json").write_text(
        json.dumps({"execution_health": {"new_strategy": {"slippage_bps": 9.0, "reject_rate": 0.5}}})
    )
    result = export(tmp_path, now="2026-01-09T00:07:00Z")
    assert result.exit_code == 1, result
    assert result.summary["status"] == "error"
    assert result.summary["diagnostics"]["error_code"] == "invalid_input"
    assert result.summary["diagnostics"]["failed_datasets"] == ["turnover"]
    assert "runs/index.csv" in result.summary["diagnostics"]["error_message"]
    assert (tmp_path / "out/dashboard/turnover.json").read_bytes() == good_bytes
    kept = entry(tmp_path, "turnover")
    assert kept["status"] == "stale"
    assert {k: kept[k] for k in good if k not in ("status",)} == {k: good[k] for k in good if k != "status"}
    assert kept["last_failure"]["error_code"] == "invalid_input"
    # the other datasets refreshed in the same run
    assert [r["strategy"] for r in bundle(tmp_path, "slippage")["rows"]] == ["new_strategy"]
    assert manifest(tmp_path)["sequence"] == 2
    beat = heartbeat(tmp_path)
    assert beat["status"] == "error" and beat["last_failure"]["error_code"] == "invalid_input"
    assert beat["datasets"]["turnover"]["status"] == "failed" and beat["datasets"]["turnover"]["stale"] is True
    assert beat["datasets"]["turnover"]["last_success_at"] == "2026-01-08T00:07:00Z"
    assert beat["datasets"]["slippage"]["last_success_at"] == "2026-01-09T00:07:00Z"
    # the bundle is intact (checksums match) but verify reports the stale dataset
    check = verify(tmp_path, now="2026-01-09T00:10:00Z")
    assert check.exit_code == 1
    assert any("turnover is the last good version" in p for p in check.summary["problems"])
    assert not any("checksum" in p for p in check.summary["problems"])
    # the input recovers: the dataset is rebuilt and the stale mark goes away
    make_workspace(tmp_path)
    again = export(tmp_path, now="2026-01-10T00:07:00Z")
    assert again.exit_code == 0, again
    assert entry(tmp_path, "turnover")["status"] == "ok" and "last_failure" not in entry(tmp_path, "turnover")
    assert heartbeat(tmp_path)["datasets"]["turnover"]["status"] == "ok"


def test_missing_input_on_first_export_leaves_the_dataset_out(tmp_path):
    make_workspace(tmp_path)
    (tmp_path / "ops" / "signal_latency_rollup.csv").unlink()
    result = export(tmp_path)
    assert result.exit_code == 1
    assert result.summary["diagnostics"]["error_code"] == "missing_input"
    assert "signal_latency_rollup.csv" in result.summary["diagnostics"]["error_message"]
    assert [e["dataset"] for e in manifest(tmp_path)["datasets"]] == ["ev_history", "slippage", "turnover"]
    assert "dataset latency failed" in result.stderr and "no previous version" in result.stderr


def _script(tmp_path, body: str) -> str:
    path = tmp_path / "upload.py"
    path.write_text(body)
    return f"{sys.executable} {path}"


def test_upload_command_gets_the_bundle_dir_as_one_argument_without_a_shell(tmp_path):
    make_workspace(tmp_path)
    out = tmp_path / "uploaded.json"
    cmd = _script(
        tmp_path,
        "import json, os, sys\n"
        f"json.dump({{'argv': sys.argv[1:], 'files': sorted(os.listdir(sys.argv[1]))}}, "
        f"open({str(out)!r}, 'w'))\n",
    )
    result = export(tmp_path, "--upload-command", cmd + " {bundle_dir} 'two words' ';' '$(touch pwned)'")
    assert result.exit_code == 0, result
    assert result.summary["upload"]["status"] == "ok"
    seen = json.loads(out.read_text())
    assert seen["argv"] == [str(tmp_path / "out" / "dashboard"), "two words", ";", "$(touch pwned)"]
    assert {"manifest.json", "README.json", "ev_history.json"} <= set(seen["files"])
    assert not (tmp_path / "pwned").exists()


def test_upload_failure_is_upload_failed_and_keeps_the_bundle(tmp_path):
    make_workspace(tmp_path)
    cmd = _script(tmp_path, "import sys\nsys.stderr.write('AccessDenied: bucket policy\\n')\nsys.exit(3)\n")
    result = export(tmp_path, "--upload-command", cmd, "--upload-retry-wait-seconds", "0")
    assert result.exit_code == 1, result
    diagnostics = result.summary["diagnostics"]
    assert diagnostics["error_code"] == "upload_failed" and diagnostics["upload_returncode"] == 3
    assert result.summary["upload"]["attempts"] == 3  # a non-zero exit is retried, up to --upload-max-retries
    assert "attempt 3 of 3, giving up" in diagnostics["error_message"]
    assert "exited 3" in diagnostics["error_message"] and "AccessDenied" in diagnostics["error_message"]
    assert heartbeat(tmp_path)["last_failure"]["error_code"] == "upload_failed"
    for item in manifest(tmp_path)["datasets"]:
        assert item["checksum_sha256"] == sha256(tmp_path / "out/dashboard" / item["path"])
    missing = export(tmp_path, "--upload-command", "/nonexistent/uploader {bundle_dir}", now="2026-01-08T01:00:00Z")
    assert missing.exit_code == 1 and missing.summary["diagnostics"]["error_code"] == "upload_failed"
    assert missing.summary["upload"]["attempts"] == 1  # a command that cannot start is not retried
    log = [json.loads(line) for line in (tmp_path / "ops/automation_runs.log").read_text().splitlines()]
    assert log[-1]["diagnostics"]["error_code"] == "upload_failed" and log[-1]["status"] == "error"
    assert [line["attempts"] for line in log[-2:]] == [3, 1]


def test_dry_run_upload_runs_nothing_and_records_the_command(tmp_path):
    make_workspace(tmp_path)
    marker = tmp_path / "ran"
    cmd = _script(tmp_path, f"open({str(marker)!r}, 'w').write('x')\n")
    result = export(tmp_path, "--upload-command", cmd + " {bundle_dir}", "--dry-run-upload")
    assert result.exit_code == 0 and result.summary["status"] == "dry_run"
    assert not marker.exists()
    record = json.loads((tmp_path / f"out/dashboard_upload/{result.summary['job_id']}.json").read_text())
    assert record["argv"][-1] == str(tmp_path / "out" / "dashboard")


def test_unsplittable_upload_command_is_a_usage_error(tmp_path):
    make_workspace(tmp_path)
    result = export(tmp_path, "--upload-command", "aws s3 sync 'unterminated")
    assert result.exit_code == 2 and "--upload-command" in result.summary["diagnostics"]["error_message"]


def test_custom_heartbeat_file(tmp_path):
    make_workspace(tmp_path)
    assert export(tmp_path, "--heartbeat-file", "state/dash.json").exit_code == 0
    beat = json.loads((tmp_path / "state/dash.json").read_text())
    assert beat["status"] == "ok" and beat["datasets"]["ev_history"]["status"] == "ok"
    assert not (tmp_path / "ops/dashboard_export_heartbeat.json").exists()


def test_a_run_dying_before_the_manifest_is_recovered_by_the_next_run(tmp_path, monkeypatch):
    from observability.dashboard import manifest as manifest_mod

    make_workspace(tmp_path)
    assert export(tmp_path).exit_code == 0
    (tmp_path / "reports/portfolio_samples/router_demo/telemetry.json").write_text(
        json.dumps({"execution_health": {"new": {"slippage_bps": 1.0, "reject_rate": 0.1}}})
    )

    def die(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(manifest_mod, "write", die)
    crashed = export(tmp_path, now="2026-01-09T00:07:00Z")
    assert crashed.exit_code == 1 and crashed.summary["diagnostics"]["error_code"] == "internal_error"
    assert manifest(tmp_path)["sequence"] == 1  # the old manifest is still in place
    assert verify(tmp_path, now="2026-01-09T00:08:00Z").exit_code == 1  # new slippage.json, old checksum
    monkeypatch.undo()
    again = export(tmp_path, now="2026-01-09T01:07:00Z")
    assert again.exit_code == 0, again
    assert again.summary["datasets"]["slippage"]["status"] == "built"
    assert manifest(tmp_path)["sequence"] == 3  # 2 was reserved by the dead run: a gap, never reused
    assert verify(tmp_path, now="2026-01-09T01:08:00Z").exit_code == 0


def test_dry_run_upload_without_a_command_is_still_a_dry_run(tmp_path):
    make_workspace(tmp_path)
    result = export(tmp_path, "--dry-run-upload")
    assert result.exit_code == 0 and result.summary["status"] == "dry_run"
    assert "upload" not in result.summary
    log = [json.loads(line) for line in (tmp_path / "ops/automation_runs.log").read_text().splitlines()]
    assert log[-1]["status"] == "dry_run"


def test_a_fresh_runner_restores_the_last_bundle_from_history_before_exporting(tmp_path):
    """out/ is empty on a new runner while ops/ (with the history) comes from the state store."""
    import shutil

    make_workspace(tmp_path)
    assert export(tmp_path).exit_code == 0
    turnover = (tmp_path / "out/dashboard/turnover.json").read_bytes()
    shutil.rmtree(tmp_path / "out")
    # the daily schedule exports a subset: the weekly-only dataset must stay in the bundle
    daily = export(tmp_path, "--dataset", "ev_history", "--dataset", "slippage", now="2026-01-09T00:07:00Z")
    assert daily.exit_code == 0, daily
    assert {"turnover", "latency"} <= {item["dataset"] for item in manifest(tmp_path)["datasets"]}
    assert (tmp_path / "out/dashboard/turnover.json").read_bytes() == turnover
    assert manifest(tmp_path)["sequence"] == 2
    assert verify(tmp_path, now="2026-01-09T00:10:00Z").exit_code == 0
    # and a failing input on a fresh runner keeps the restored last good file
    shutil.rmtree(tmp_path / "out")
    (tmp_path / "runs" / "index.csv").write_text("not,a,runs,index\n1,2,3,4\n")
    failed = export(tmp_path, now="2026-01-10T00:07:00Z")
    assert failed.exit_code == 1 and failed.summary["diagnostics"]["failed_datasets"] == ["turnover"]
    assert (tmp_path / "out/dashboard/turnover.json").read_bytes() == turnover
    assert entry(tmp_path, "turnover")["status"] == "stale"


def test_a_killed_exports_young_temp_file_is_never_uploaded(tmp_path):
    """A rerun minutes after an export was SIGKILLed mid-write: the temp it left is younger than the
    hour the job-start sweep waits for, yet an `aws s3 sync` of the bundle directory must not publish it."""
    import signal
    import subprocess

    make_workspace(tmp_path)
    assert export(tmp_path).exit_code == 0
    target = tmp_path / "out" / "dashboard" / "turnover.json"
    writer = (
        "import os, sys, time\nfrom pathlib import Path\nfrom observability import fsio\n"
        "def hang(fd):\n    print('writing', flush=True); time.sleep(60)\n"
        "os.fsync = hang\nfsio.atomic_write_bytes(Path(sys.argv[1]), b'{\"half\": ')\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", writer, str(target)], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    [left] = [p for p in target.parent.iterdir() if p.name.startswith(".turnover.json.") and p.name.endswith(".tmp")]
    out = tmp_path / "uploaded.json"
    cmd = _script(
        tmp_path, f"import json, os, sys\njson.dump(sorted(os.listdir(sys.argv[1])), open({str(out)!r}, 'w'))\n"
    )
    result = export(tmp_path, "--upload-command", cmd + " {bundle_dir}", now="2026-01-08T01:00:00Z")
    assert result.exit_code == 0, result
    assert left.name not in json.loads(out.read_text())
    assert not left.exists()

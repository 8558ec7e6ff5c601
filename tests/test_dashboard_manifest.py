"""Manifest: schema, checksums, row counts, sequence (+1 per export, also under concurrency), reuse."""

from __future__ import annotations

import json

import pytest

from _support_dashboard import (
    DATASETS,
    assert_valid,
    bundle,
    entry,
    export,
    heartbeat,
    make_workspace,
    manifest,
    sha256,
    spawn_export,
)


def test_manifest_lists_every_dataset_with_matching_checksums_and_row_counts(tmp_path):
    make_workspace(tmp_path)
    result = export(tmp_path)
    assert result.exit_code == 0, result
    doc = manifest(tmp_path)
    assert_valid("dashboard_manifest", doc)
    assert doc["sequence"] == 1 and doc["job_id"] == result.summary["job_id"]
    assert doc["job_id"].startswith("20260108T000700Z-dashboard-")
    assert [e["dataset"] for e in doc["datasets"]] == list(DATASETS)
    for item in doc["datasets"]:
        path = tmp_path / "out" / "dashboard" / item["path"]
        assert item["checksum_sha256"] == sha256(path)
        assert item["row_count"] == len(json.loads(path.read_text())["rows"])
        assert len(item["source_hash"]) == 64 and item["status"] == "ok"
    prov = doc["provenance"]
    assert prov["command"].startswith("observability")  # in-process: pytest's argv; see the subprocess test
    assert "ops/state_archive" in prov["inputs"] and "runs" in prov["inputs"]
    assert result.summary["manifest_sequence"] == 1
    readme = bundle(tmp_path, "README")
    assert set(readme["datasets"]) == set(DATASETS)
    assert readme["datasets"]["turnover"]["refresh_schedule"] == "Mon 00:29 UTC (dashboard-weekly)"  # schedules.yaml
    assert readme["datasets"]["latency"]["upstream_command"].startswith("observability latency sample")
    assert not any("/" + str(tmp_path).strip("/") in json.dumps(d) for d in (doc, readme))  # no absolute paths


def test_heartbeat_has_job_id_generated_at_and_per_dataset_status(tmp_path):
    make_workspace(tmp_path)
    result = export(tmp_path)
    assert result.exit_code == 0
    beat = heartbeat(tmp_path)
    assert beat["job_id"] == result.summary["job_id"] and beat["generated_at"] == "2026-01-08T00:07:00Z"
    assert beat["last_success_at"] == "2026-01-08T00:07:00Z" and beat["status"] == "ok"
    for name in DATASETS:
        assert beat["datasets"][name]["status"] == "ok"
        assert beat["datasets"][name]["last_success_at"] == "2026-01-08T00:07:00Z"


def test_sequence_increases_by_one_per_export_and_survives_a_deleted_manifest(tmp_path):
    make_workspace(tmp_path)
    for n, now in enumerate(("2026-01-08T00:07:00Z", "2026-01-08T01:07:00Z", "2026-01-08T02:07:00Z"), start=1):
        assert export(tmp_path, now=now).exit_code == 0
        assert manifest(tmp_path)["sequence"] == n
    (tmp_path / "out" / "dashboard" / "manifest.json").unlink()
    assert export(tmp_path, now="2026-01-08T03:07:00Z").exit_code == 0
    assert manifest(tmp_path)["sequence"] == 4  # never reused


def test_unchanged_inputs_keep_the_files_and_use_the_cache(tmp_path):
    make_workspace(tmp_path)
    assert export(tmp_path).exit_code == 0
    before = {name: entry(tmp_path, name) for name in DATASETS}
    files = {name: (tmp_path / "out" / "dashboard" / f"{name}.json").read_bytes() for name in DATASETS}
    result = export(tmp_path, now="2026-01-09T00:07:00Z")
    assert result.exit_code == 0, result
    assert {n: d["status"] for n, d in result.summary["datasets"].items()} == {n: "unchanged" for n in DATASETS}
    for name in DATASETS:
        after = entry(tmp_path, name)
        assert (tmp_path / "out" / "dashboard" / f"{name}.json").read_bytes() == files[name]
        assert after["checksum_sha256"] == before[name]["checksum_sha256"]
        assert after["generated_at"] == "2026-01-08T00:07:00Z" and after["refreshed_at"] == "2026-01-09T00:07:00Z"
    assert manifest(tmp_path)["sequence"] == 2
    # a changed input rebuilds only its dataset; the parse cache serves the rest
    (tmp_path / "reports/portfolio_samples/router_demo/telemetry.json").write_text(
        json.dumps({"execution_health": {"x": {"slippage_bps": 1.0, "reject_rate": 0.0}}})
    )
    (tmp_path / "out" / "dashboard" / "ev_history.json").write_text("{}")  # tampered: rebuilt, not trusted
    result = export(tmp_path, now="2026-01-10T00:07:00Z")
    assert result.summary["datasets"]["slippage"]["status"] == "built"
    assert result.summary["datasets"]["ev_history"]["status"] == "built"
    assert result.summary["datasets"]["turnover"]["status"] == "unchanged"
    assert result.summary["cache"]["state_archive"]["misses"] == 0
    assert entry(tmp_path, "slippage")["row_count"] == 1


def test_changed_options_rebuild(tmp_path):
    make_workspace(tmp_path)
    assert export(tmp_path, "--dataset", "ev_history").exit_code == 0
    result = export(tmp_path, "--dataset", "ev_history", "--ev-history-limit", "1")
    assert result.summary["datasets"]["ev_history"]["status"] == "built"


def test_selected_datasets_only_and_others_carried_over(tmp_path):
    make_workspace(tmp_path)
    assert export(tmp_path).exit_code == 0
    latency_before = entry(tmp_path, "latency")
    result = export(tmp_path, "--dataset", "turnover", now="2026-01-09T00:07:00Z")
    assert result.exit_code == 0 and set(result.summary["datasets"]) == {"turnover"}
    assert entry(tmp_path, "latency") == latency_before
    assert len(manifest(tmp_path)["datasets"]) == 4


def test_provenance_file_overrides_and_bad_one_is_a_usage_error(tmp_path):
    make_workspace(tmp_path)
    (tmp_path / "prov.json").write_text(
        json.dumps({"command": "make dashboard", "commit_sha": "a" * 40, "inputs": ["upstream/ops/state_archive"]})
    )
    assert export(tmp_path, "--provenance", "prov.json").exit_code == 0
    assert manifest(tmp_path)["provenance"] == {
        "command": "make dashboard",
        "commit_sha": "a" * 40,
        "inputs": ["upstream/ops/state_archive"],
    }
    (tmp_path / "bad.json").write_text("[1, 2")
    bad = export(tmp_path, "--provenance", "bad.json", now="2026-01-09T00:07:00Z")
    assert bad.exit_code == 2 and "bad.json" in bad.summary["diagnostics"]["error_message"]
    missing = export(tmp_path, "--provenance", "nope.json", now="2026-01-09T00:08:00Z")
    assert missing.exit_code == 2 and "nope.json" in missing.summary["diagnostics"]["error_message"]


def test_manifest_outside_the_output_dir_is_refused(tmp_path):
    make_workspace(tmp_path)
    result = export(tmp_path, "--manifest", "elsewhere/manifest.json")
    assert result.exit_code == 2 and "--manifest" in result.summary["diagnostics"]["error_message"]


@pytest.mark.slow
def test_six_concurrent_exports_get_strictly_increasing_sequences(tmp_path):
    make_workspace(tmp_path)
    procs = [spawn_export(tmp_path, "--job-id", f"20260108T00070{i}Z-dashboard") for i in range(6)]
    summaries = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        summaries.append(json.loads(out))
    sequences = sorted(s["manifest_sequence"] for s in summaries)
    assert sequences == [1, 2, 3, 4, 5, 6]
    assert manifest(tmp_path)["sequence"] == 6
    # The command path only, never the arguments (docs/credentials.md: command lines are never published).
    assert manifest(tmp_path)["provenance"]["command"] == "observability dashboard export"
    snaps = sorted((tmp_path / "ops" / "dashboard_export_history").iterdir())
    seen = [json.loads((s / "manifest.json").read_text())["sequence"] for s in snaps]
    assert sorted(seen) == [1, 2, 3, 4, 5, 6]
    # ordered by the time each run finished its bundle, the sequence only goes up
    log = [json.loads(line) for line in (tmp_path / "ops" / "automation_runs.log").read_text().splitlines()]
    by_job = {s["job_id"]: s["manifest_sequence"] for s in summaries}
    in_log_order = [by_job[line["job_id"]] for line in log]
    assert in_log_order == sorted(in_log_order)
    for item in manifest(tmp_path)["datasets"]:
        assert item["checksum_sha256"] == sha256(tmp_path / "out" / "dashboard" / item["path"])


def test_a_corrupt_manifest_is_replaced_and_the_sequence_continues(tmp_path):
    make_workspace(tmp_path)
    assert export(tmp_path).exit_code == 0
    (tmp_path / "out/dashboard/manifest.json").write_text("{ torn")
    result = export(tmp_path, now="2026-01-09T00:07:00Z")
    assert result.exit_code == 0 and result.summary["status"] == "warning", result
    assert any("manifest.json: not valid JSON" in w for w in result.summary["diagnostics"]["warnings"])
    assert manifest(tmp_path)["sequence"] == 2
    assert_valid("dashboard_manifest", manifest(tmp_path))


@pytest.mark.slow
def test_exports_with_different_job_locks_still_serialise_the_bundle(tmp_path):
    make_workspace(tmp_path)
    procs = [
        spawn_export(tmp_path, "--job-id", f"20260108T00071{i}Z-dashboard", "--lock-file", f"ops/.lock{i}")
        for i in range(4)
    ]
    sequences = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        sequences.append(json.loads(out)["manifest_sequence"])
    assert sorted(sequences) == [1, 2, 3, 4]
    assert manifest(tmp_path)["sequence"] == 4
    for item in manifest(tmp_path)["datasets"]:
        assert item["checksum_sha256"] == sha256(tmp_path / "out" / "dashboard" / item["path"])


def test_published_files_are_readable_like_any_file_the_user_writes(tmp_path):
    """Atomic writes used mkstemp's 0600: an `aws s3 sync` or a web server could not read the bundle
    (issue 10, item 15). They now get 0666 less the umask, as open() would."""
    import os

    from observability import fsio

    old = os.umask(0o022)
    try:
        fsio._FILE_MODE = fsio._default_file_mode()
        target = tmp_path / "out" / "dashboard" / "manifest.json"
        fsio.atomic_write_json(target, {"a": 1})
        assert target.stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(old)
        fsio._FILE_MODE = fsio._default_file_mode()

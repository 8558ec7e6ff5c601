"""``observability dashboard verify`` finds tampering, gaps, wrong counts, staleness and old history."""

from __future__ import annotations

import json
import shutil

import pytest

from _support_dashboard import export, make_workspace, verify

OUT = "out/dashboard"


@pytest.fixture()
def ws(tmp_path):
    make_workspace(tmp_path)
    assert export(tmp_path).exit_code == 0
    return tmp_path


def _edit(path, change):
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=2))


def test_a_fresh_bundle_verifies(ws):
    result = verify(ws)
    assert result.exit_code == 0, result
    assert result.summary["status"] == "ok" and result.summary["problems"] == []
    assert result.summary["manifest_sequence"] == 1
    assert "bundle ok" in result.stderr
    # verify never touches the export's heartbeat
    assert json.loads((ws / "ops/dashboard_export_heartbeat.json").read_text())["job_id"].startswith(
        "20260108T000700Z-dashboard-"
    )


def test_tampered_file_is_caught(ws):
    _edit(ws / OUT / "slippage.json", lambda d: d["rows"][0].update(slippage_bps=0.1))
    result = verify(ws)
    assert result.exit_code == 1
    assert any("slippage.json: checksum" in p for p in result.summary["problems"])
    assert "problem: out/dashboard/slippage.json: checksum" in result.stderr


def test_missing_dataset_file_and_missing_entry_are_caught(ws):
    (ws / OUT / "latency.json").unlink()
    _edit(
        ws / OUT / "manifest.json",
        lambda d: d.update(datasets=[e for e in d["datasets"] if e["dataset"] != "turnover"]),
    )
    problems = verify(ws).summary["problems"]
    assert "out/dashboard/latency.json: dataset file missing" in problems
    assert "out/dashboard/manifest.json: dataset turnover missing from the manifest" in problems


def test_wrong_row_count_is_caught(ws):
    _edit(ws / OUT / "manifest.json", lambda d: d["datasets"][2].update(row_count=99))
    problems = verify(ws).summary["problems"]
    assert any("turnover.json: 3 rows, manifest says row_count 99" in p for p in problems)


def test_row_failing_its_schema_is_caught_even_with_a_matching_checksum(ws):
    import hashlib

    path = ws / OUT / "ev_history.json"
    _edit(path, lambda d: d["rows"][0].update(win_rate_lcb=1.5))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    _edit(ws / OUT / "manifest.json", lambda d: d["datasets"][0].update(checksum_sha256=digest))
    problems = verify(ws).summary["problems"]
    assert any("ev_history.json: rows[0].win_rate_lcb" in p for p in problems), problems


def test_stale_manifest_by_age_and_by_sequence(ws):
    late = verify(ws, now="2026-01-11T00:07:00Z")
    assert late.exit_code == 1
    assert any("stale manifest: generated 2026-01-08T00:07:00Z" in p for p in late.summary["problems"])
    assert any("dataset ev_history is stale" in p for p in late.summary["problems"])
    # an older bundle restored over a newer export
    old = ws / "old-manifest.json"
    shutil.copy(ws / OUT / "manifest.json", old)
    assert export(ws, now="2026-01-08T01:07:00Z").exit_code == 0
    shutil.copy(old, ws / OUT / "manifest.json")
    problems = verify(ws, now="2026-01-08T02:00:00Z").summary["problems"]
    assert any("stale manifest: sequence 1 but export 2 has been issued" in p for p in problems), problems


def test_every_problem_is_printed_not_just_the_first(ws):
    _edit(ws / OUT / "slippage.json", lambda d: d.update(rows=[]))
    (ws / OUT / "latency.json").unlink()
    _edit(ws / OUT / "manifest.json", lambda d: d.update(sequence=0))
    result = verify(ws)
    assert result.exit_code == 1
    assert result.summary["problem_count"] >= 4
    assert result.stderr.count("problem: ") == result.summary["problem_count"]


def test_history_outside_the_retention_is_a_problem(ws):
    old = ws / "ops/dashboard_export_history/20251001T003000Z-dashboard"
    (current,) = (ws / "ops/dashboard_export_history").iterdir()
    shutil.copytree(current, old)
    _edit(old / "manifest.json", lambda d: d.update(generated_at="2025-10-01T00:30:00Z"))
    problems = verify(ws).summary["problems"]
    assert any(
        "20251001T003000Z-dashboard: history snapshot from 2025-10-01T00:30:00Z is older than the 56-day" in p
        for p in problems
    ), problems


def test_unreadable_manifest(ws):
    (ws / OUT / "manifest.json").write_text("{not json")
    result = verify(ws)
    assert result.exit_code == 1 and "not valid JSON" in result.summary["problems"][0]
    (ws / OUT / "manifest.json").unlink()
    assert "manifest not found" in verify(ws).summary["problems"][0]


def test_only_the_requested_datasets_are_required(ws):
    (ws / OUT / "latency.json").unlink()
    assert verify(ws, "--dataset", "ev_history", "--dataset", "turnover").exit_code == 0

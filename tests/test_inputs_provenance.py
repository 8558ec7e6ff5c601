"""Provenance: what ``inputs pull`` brought is named, with its identity, in every later artefact."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from _support_dashboard import export, write_state_archive
from _support_inputs import pull, repo_inputs_config, research_repo, write_config
from _support_weekly import inputs_workspace, weekly


def _upstream(tmp_path: Path) -> tuple[Path, str, Path]:
    research = inputs_workspace(tmp_path / "research")
    write_state_archive(research)
    files = {
        p.relative_to(research).as_posix(): p.read_bytes()
        for p in research.rglob("*")
        if p.is_file()
        and p.relative_to(research).parts[0] in ("runs", "reports")
        or p.is_file()
        and "state_archive" in p.parts
    }
    bare, commit = research_repo(tmp_path / "git", files)
    return bare, commit, research


def _pulled_workspace(tmp_path: Path) -> tuple[Path, str]:
    bare, commit, research = _upstream(tmp_path)
    ws = tmp_path / "ws"
    write_config(ws, repo_inputs_config(bare))
    (ws / "ops").mkdir(parents=True, exist_ok=True)
    shutil.copy(research / "ops" / "signal_latency_rollup.csv", ws / "ops" / "signal_latency_rollup.csv")
    run = pull(ws, env={"OBS_NOW": "2026-01-08T00:05:00Z"})
    assert run.exit_code == 0, run
    return ws, commit


def test_the_dashboard_manifest_names_each_pulled_input_and_its_commit(tmp_path):
    ws, commit = _pulled_workspace(tmp_path)
    run = export(ws)
    assert run.exit_code == 0, run
    prov = json.loads((ws / "out/dashboard/manifest.json").read_text())["provenance"]
    pulled = {r["name"]: r for r in prov["inputs_pulled"]}
    assert set(pulled) == {"runs", "reports", "state-archive"}
    assert all(r["identity"] == {"commit": commit} and len(r["sha256"]) == 64 for r in pulled.values())
    assert pulled["runs"]["source"].endswith("@main:runs")


def test_the_weekly_payload_sources_carry_their_origin(tmp_path):
    ws, commit = _pulled_workspace(tmp_path)
    run = weekly(ws, "report", "--dry-run-webhook", "--week-start", "2026-01-05")
    assert run.exit_code == 0, run
    doc = json.loads((ws / "out" / "weekly_report" / f"{run.summary['job_id']}.json").read_text())
    payload = doc.get("payload", doc)
    by_path = {s["path"]: s for s in payload["sources"]}
    assert by_path["runs/index.csv"]["origin"][0]["name"] == "runs"
    assert by_path["runs/index.csv"]["origin"][0]["identity"]["commit"] == commit
    assert by_path["reports/portfolio_summary.json"]["origin"][0]["name"] == "reports"
    assert "origin" not in by_path["ops/signal_latency_rollup.csv"]  # made here, not pulled


def test_no_pull_no_pulled_inputs(tmp_path):
    from observability import provenance

    assert provenance.fields(tmp_path, "2026-01-01T00:00:00Z", ["runs"]) == {
        "generated_at": "2026-01-01T00:00:00Z",
        "source_command": provenance.source_command(),
        "commit_sha": provenance.commit_sha(tmp_path),
        "inputs": ["runs"],
    }
    (tmp_path / "out/inputs").mkdir(parents=True)
    (tmp_path / "out/inputs/pulled.json").write_text("{not json")
    assert provenance.pulled(tmp_path) == []


def test_latency_alert_files_name_the_pulled_signal_log(tmp_path):
    from observability import provenance

    (tmp_path / "out/inputs").mkdir(parents=True)
    record = {
        "name": "signal-log",
        "kind": "https",
        "destination": "logs/signal_notifier.csv",
        "source": "https://example.invalid/log.csv",
        "identity": {"etag": '"abc"'},
        "sha256": "0" * 64,
        "bytes": 10,
        "files": 1,
        "bytes_fetched": 10,
        "job_id": "20260101T000000Z-inputs",
        "pulled_at": "2026-01-01T00:00:00Z",
    }
    (tmp_path / "out/inputs/pulled.json").write_text(json.dumps({"inputs": [record]}))
    fields = provenance.fields(tmp_path, "2026-01-01T00:00:00Z", ["logs/signal_notifier.csv", "sample/x.csv"])
    assert [r["name"] for r in fields["inputs_pulled"]] == ["signal-log"]
    assert fields["inputs_pulled"][0]["identity"] == {"etag": '"abc"'}


def _real_upstream(root: Path) -> Path:
    from _support_dashboard import FIXTURES

    return Path(os.environ.get("OBS_TEST_UPSTREAM_FIXTURES") or FIXTURES)


def test_the_real_upstream_repository_feeds_the_dashboard(tmp_path):
    """The real research outputs (../shared/fixtures/upstream, or OBS_TEST_UPSTREAM_FIXTURES) as the
    research repository: the pulled workspace exports the upstream datasets, each traced to its commit."""
    fixtures = _real_upstream(tmp_path)
    if not (fixtures / "runs" / "index.csv").is_file():
        pytest.skip(f"upstream fixtures not found at {fixtures}")
    files = {
        p.relative_to(fixtures).as_posix(): p.read_bytes()
        for p in fixtures.rglob("*")
        if p.is_file()
        and p.relative_to(fixtures).parts[0] in ("runs", "reports")
        or p.is_file()
        and "state_archive" in p.relative_to(fixtures).parts
    }
    bare, commit = research_repo(tmp_path / "git", files)
    ws = tmp_path / "ws"
    write_config(
        ws,
        "inputs:\n"
        + "".join(
            f'  - name: {name}\n    destination: {path}\n    repository: {{url: "git+file://{bare}", ref: main, path: {path}}}\n'
            for name, path in (("runs", "runs"), ("reports", "reports"), ("state-archive", "ops/state_archive"))
        ),
    )
    run = pull(ws, env={"OBS_NOW": "2026-01-08T00:05:00Z"})
    assert run.exit_code == 0, run
    assert (ws / "runs/index.csv").read_bytes() == (fixtures / "runs/index.csv").read_bytes()
    exported = export(ws, "--dataset", "ev_history", "--dataset", "slippage", "--dataset", "turnover")
    assert exported.exit_code == 0, exported
    manifest = json.loads((ws / "out/dashboard/manifest.json").read_text())
    assert {r["name"] for r in manifest["provenance"]["inputs_pulled"]} == {"runs", "reports", "state-archive"}
    assert all(r["identity"]["commit"] == commit for r in manifest["provenance"]["inputs_pulled"])
    ev_rows = json.loads((ws / "out/dashboard/ev_history.json").read_text())
    assert "DayORB5m" in json.dumps(ev_rows)  # the real archive, not the sample's

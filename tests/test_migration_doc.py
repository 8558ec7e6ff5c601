"""docs/migration.md maps every legacy script, flag and ops/ or out/ file the seeds (000-002) name."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGE = (ROOT / "docs" / "migration.md").read_text(encoding="utf-8")
FIXTURES = Path(os.environ.get("OBS_TEST_UPSTREAM_FIXTURES") or ROOT.parent / "shared" / "fixtures" / "upstream")
SEEDS = FIXTURES.parent.parent / "seeds"  # ../shared/seeds beside ../shared/fixtures

# What seeds 000-002 name (extracted once with the patterns below), kept here so the check runs without them.
NAMED = [
    "scripts/analyze_signal_latency.py",
    "scripts/summarize_runs.py",
    "analysis/export_dashboard_data.py",
    "scripts/verify_dashboard_bundle.py",
    "scripts/verify_observability_job.py",
    "scripts/run_daily_workflow.py",
    "scripts/rebuild_automation_log.py",
    "scripts/_automation_logging.py",
    "scripts/_automation_context.py",
    "scripts/_webhook.py",
    "analysis/latency_rollup.py",
    "analysis/weekly_payload.py",
    "scripts/archive_state.py",
    "scripts/build_router_snapshot.py",
    "scripts/report_portfolio_summary.py",
    "--alert-config",
    "--check-secrets",
    "--config",
    "--config-dump",
    "--dataset",
    "--dry-run",
    "--dry-run-alert",
    "--dry-run-webhook",
    "--ev-history-limit",
    "--heartbeat-file",
    "--ingest",
    "--job-id",
    "--lock-file",
    "--manifest",
    "--max-retries",
    "--observability",
    "--out-dir",
    "--payload-schema",
    "--provenance",
    "--raw-retention-days",
    "--retry-wait-seconds",
    "--rollup-output",
    "--rollup-retention-days",
    "--upload-command",
    "--webhook-secret-env",
    "--webhook-url-env",
    "--weekly-payload",
    "ops/signal_latency.csv",
    "ops/signal_latency.lock",
    "ops/.latency.lock",
    "ops/signal_latency_rollup.csv",
    "ops/signal_latency_archive/manifest.jsonl",
    "ops/latency_job_heartbeat.json",
    "ops/weekly_report_heartbeat.json",
    "ops/dashboard_export_heartbeat.json",
    "ops/weekly_report_history/<week_start>.json",
    "ops/dashboard_export_history/<timestamp>.json",
    "ops/dashboard_export_archive_manifest.json",
    "ops/dashboard_export.log",
    "ops/automation_runs.log",
    "ops/automation_runs.sequence",
    "ops/credentials.md",
    "ops/*_history",
    "out/weekly_report/<timestamp>.json",
    "out/weekly_report/<job_id>.json",
    "out/weekly_report/<job_id>_invalid.json",
    "out/dashboard/<dataset>.json",
    "out/dashboard/manifest.json",
    "out/dashboard/README.json",
    "out/dashboard_snapshot.json",
    "out/latency_alerts/<job_id>.json",
    "ops/signal_latency*.csv",
    "ops/state_archive/<strategy>/<symbol>/<mode>/*",
    "ops/weekly_report_history/*.json",
    "out/dashboard/*.json",
]
# The upstream script's own flags beyond the seeds (scripts/analyze_signal_latency.py of the fixtures' repo).
UPSTREAM_FLAGS = [
    "--input",
    "--max-raw-bytes",
    "--archive-dir",
    "--archive-manifest",
    "--alerts-dir",
    "--slo-threshold",
]
UPSTREAM_FLAGS += ["--failure-threshold", "--out-json", "--json-out", "--job-name"]

_SCRIPT = re.compile(r"(?:scripts|analysis)/[A-Za-z_]+\.py")
_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]+")
_FILE = re.compile(r"(?:ops|out)/[A-Za-z0-9_.<>*/-]+[A-Za-z0-9_>*]")


def _missing(names) -> list[str]:
    return sorted({n for n in names if f"`{n}`" not in PAGE and not re.search(rf"`[^`]*{re.escape(n)}[^`]*`", PAGE)})


def test_every_name_the_seeds_give_is_mapped():
    assert _missing(NAMED) == []


def test_every_upstream_script_flag_is_mapped():
    assert _missing(UPSTREAM_FLAGS) == []


def test_the_changed_meaning_of_signal_latency_csv_is_explained():
    section = PAGE.split("## `ops/signal_latency.csv`: same name, different meaning", 1)[1].split("\n## ", 1)[0]
    assert "timestamp_utc,latency_ms,status,detail,source" in section and "timestamp_utc,source,latency_ms" in section


def test_the_check_finds_an_unmapped_name():
    assert _missing(["scripts/never_mentioned.py", "--no-such-flag"]) == [
        "--no-such-flag",
        "scripts/never_mentioned.py",
    ]


@pytest.mark.skipif(not SEEDS.is_dir(), reason=f"seeds not found at {SEEDS} (set OBS_TEST_UPSTREAM_FIXTURES)")
def test_the_list_holds_everything_seeds_000_to_002_name():
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("00[0-2]_*.txt")))
    found = set(_SCRIPT.findall(text)) | set(_FLAG.findall(text))
    found |= {f for f in _FILE.findall(text) if not f.endswith("/")}
    assert _missing(found) == []


def test_the_raw_store_columns_on_the_page_are_the_ones_written():
    from observability.outputs import rawsamples

    assert f"`{rawsamples.HEADER.strip()}`" in PAGE, (
        "docs/migration.md shows other raw-store columns than rawsamples.HEADER"
    )

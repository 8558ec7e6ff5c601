"""The weekly payload: schema conformance (sample workspace, real upstream files), determinism,
checksum, the documented definitions, and the error paths (missing/malformed input, schema failure)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from _support_weekly import (
    FIXTURES,
    WEEK,
    fixtures_workspace,
    inputs_workspace,
    log_lines,
    read_json,
    sample_workspace,
    weekly,
)
from observability import fsio
from observability.config.weekly import WeeklyConfig
from observability.weekly import payload as payload_mod
from observability.weekly.inputs import Reader
from observability.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((REPO / "schemas" / "observability_weekly_report.schema.json").read_text())


def assert_conforms(doc: dict) -> None:
    Draft202012Validator.check_schema(SCHEMA)
    errors = sorted(
        Draft202012Validator(SCHEMA, format_checker=FormatChecker()).iter_errors(doc),
        key=lambda e: list(e.absolute_path),
    )
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def dry_run_payload(ws: Path, run) -> tuple[bytes, dict]:
    assert run.exit_code == 0, run
    assert run.summary["status"] == "dry_run", run
    path = ws / "out" / "weekly_report" / f"{run.summary['job_id']}.json"
    body = path.read_bytes()
    return body, json.loads(body)


def test_schema_is_draft_2020_12_with_id():
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"].endswith("/observability_weekly_report.schema.json")
    Draft202012Validator.check_schema(SCHEMA)


def test_sample_workspace_payload_conforms(tmp_path):
    ws = sample_workspace(tmp_path / "ws")
    body, doc = dry_run_payload(ws, weekly(ws, "report", "--week-start", WEEK, "--dry-run-webhook"))
    assert_conforms(doc)
    assert doc["week_start"] == WEEK and doc["week_end"] == "2026-01-12"
    assert doc["latency"]["samples"] > 0 and doc["latency"]["daily"]
    assert doc["runs"]["baseline"] and doc["runs"]["rolling"]
    assert any(a["rule"] == "latency_slo" for a in doc["alerts"])  # the demo's firing latency alert
    assert isinstance(doc["attachments"], list)
    assert body == fsio.canonical_json(doc).encode()  # the stored bytes are the canonical body
    assert all(not s["path"].startswith("/") for s in doc["sources"])


@pytest.mark.skipif(
    not (FIXTURES / "runs" / "index.csv").exists(), reason="../shared/fixtures/upstream is not present in this checkout"
)
def test_real_upstream_files_conform(tmp_path):
    ws = fixtures_workspace(tmp_path / "ws")
    run = weekly(ws, "report", "--dry-run-webhook", now="2025-10-13T01:00:00Z")
    _, doc = dry_run_payload(ws, run)
    assert_conforms(doc)
    assert doc["week_start"] == "2025-10-06"  # the last complete ISO week before the clock
    ids = [r["run_id"] for r in doc["runs"]["rolling"]]
    assert any(i.startswith("grid_USDJPY_") for i in ids)  # lower-case upstream ids validate
    assert doc["runs"]["summary"]["indexed_runs"] == 228  # one run of the 229 starts after the week
    assert [c["name"] for c in doc["utilisation"]["categories"]] == ["day", "scalping"]
    assert doc["execution_health"]["slippage_bps"] == {"day_orb_5m_v1": 2.5, "tokyo_micro_mean_reversion_v0": 4.1}
    with_daily = [r for r in doc["runs"]["baseline"] if r["start_ts"]]
    assert with_daily and with_daily[0]["turnover"]["days"] == 2190


def test_two_builds_are_byte_identical(tmp_path):
    ws = inputs_workspace(tmp_path / "ws")
    first, _ = dry_run_payload(
        ws, weekly(ws, "report", "--week-start", WEEK, "--dry-run-webhook", "--job-id", "20260108T000700Z-weekly")
    )
    second, _ = dry_run_payload(
        ws, weekly(ws, "report", "--week-start", WEEK, "--dry-run-webhook", "--job-id", "20260108T000700Z-weekly")
    )
    assert first == second


def test_library_build_is_deterministic_across_workspaces(tmp_path):
    prov = payload_mod.Provenance("20260108T000700Z-weekly", None, "observability weekly report")
    at = datetime(2026, 1, 8, 0, 7, tzinfo=UTC)
    bodies = []
    for name in ("a", "b"):
        ws = Workspace(inputs_workspace(tmp_path / name).resolve())
        doc = payload_mod.build(Reader(ws), WeeklyConfig(), payload_mod.Week(date(2026, 1, 5)), at, prov)
        bodies.append(payload_mod.body_bytes(doc))
    assert bodies[0] == bodies[1]


def test_checksum_covers_the_body_without_itself(tmp_path):
    ws = inputs_workspace(tmp_path / "ws")
    _, doc = dry_run_payload(ws, weekly(ws, "report", "--week-start", WEEK, "--dry-run-webhook"))
    body = {k: v for k, v in doc.items() if k != "payload_checksum_sha256"}
    expected = hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    assert doc["payload_checksum_sha256"] == expected


def test_arrays_are_sorted_and_floats_fixed(tmp_path):
    ws = inputs_workspace(tmp_path / "ws")
    _, doc = dry_run_payload(ws, weekly(ws, "report", "--week-start", WEEK, "--dry-run-webhook"))
    breaches = [(b["timestamp"], b["source"]) for b in doc["latency"]["breaches"]]
    assert breaches == sorted(breaches)
    assert [c["name"] for c in doc["utilisation"]["categories"]] == sorted(
        c["name"] for c in doc["utilisation"]["categories"]
    )
    stamps = [r["timestamp"] for r in doc["runs"]["rolling"]]
    assert stamps == sorted(stamps, reverse=True)
    for r in doc["runs"]["rolling"]:
        for value in (r["win_rate"], r["win_rate_lcb"], r["ev"]["latest"]):
            assert value is None or round(value, 6) == value


def test_wilson_lower_bound_matches_known_values():
    assert payload_mod.wilson_lcb(0, 0, 0.95) is None
    assert payload_mod.wilson_lcb(128, 197, 0.95) == pytest.approx(0.580844, abs=1e-6)
    assert payload_mod.wilson_lcb(5, 10, 0.95) == pytest.approx(0.236593, abs=1e-6)
    assert payload_mod.wilson_lcb(10, 10, 0.95) == pytest.approx(0.722467, abs=1e-6)


def test_cohorts_and_budget_follow_the_config(tmp_path):
    ws = inputs_workspace(tmp_path / "ws")
    cfg = ws / "configs" / "observability" / "weekly_report.yaml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(
        "cohorts:\n  baseline_pattern: 'grid_'\n  baseline_limit: 3\n  rolling_window_days: 7\n"
        "budget:\n  warning_ratio: 0.9\n  breach_ratio: 0.95\n"
    )
    _, doc = dry_run_payload(ws, weekly(ws, "report", "--week-start", WEEK, "--dry-run-webhook"))
    assert len(doc["runs"]["baseline"]) == 3 and all(r["run_id"].startswith("grid_") for r in doc["runs"]["baseline"])
    assert all(r["timestamp"] >= "2026-01-05" for r in doc["runs"]["rolling"])
    day = next(c for c in doc["utilisation"]["categories"] if c["name"] == "day")
    assert day["utilisation_ratio"] == 0.855 and day["status"] == "ok"  # 0.855 < 0.9 now


def test_bad_config_is_exit_2_naming_file_line_and_field(tmp_path):
    ws = inputs_workspace(tmp_path / "ws")
    cfg = ws / "configs" / "observability" / "weekly_report.yaml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text("owner: research-ops\ncohorts:\n  baseline_limt: 3\n")
    run = weekly(ws, "report", "--week-start", WEEK, "--dry-run-webhook")
    assert run.exit_code == 2, run
    message = run.summary["diagnostics"]["error_message"]
    assert "configs/observability/weekly_report.yaml:3" in message and "baseline_limit" in message


@pytest.mark.parametrize(
    "victim, code",
    [
        ("runs/index.csv", "missing_input"),
        ("reports/portfolio_summary.json", "missing_input"),
        ("reports/portfolio_samples/router_demo/telemetry.json", "missing_input"),
        ("ops/signal_latency_rollup.csv", "missing_input"),
    ],
)
def test_missing_input_names_the_file(tmp_path, victim, code):
    ws = inputs_workspace(tmp_path / "ws")
    (ws / victim).unlink()
    run = weekly(ws, "report", "--week-start", WEEK, "--dry-run-webhook")
    assert run.exit_code == 1, run
    assert run.summary["status"] == "error"
    assert run.summary["diagnostics"]["error_code"] == code
    assert victim in run.summary["diagnostics"]["error_message"]
    if victim == "ops/signal_latency_rollup.csv":  # a logical file: say where it lives and what writes it
        assert "ops/signal_latency_rollup/" in run.summary["diagnostics"]["error_message"]
        assert "observability latency sample" in run.summary["diagnostics"]["error_message"]
    assert not list((ws / "out" / "weekly_report").glob("*Z-weekly.json"))  # never a half-filled payload


@pytest.mark.parametrize(
    "victim, content, needle",
    [
        ("reports/portfolio_summary.json", "{not json", "line 1"),
        ("runs/index.csv", "run_id,symbol\nx,USDJPY\n", "missing column"),
        ("reports/portfolio_samples/router_demo/telemetry.json", '{"execution_health": []}', "execution_health"),
    ],
)
def test_malformed_input_is_invalid_input(tmp_path, victim, content, needle):
    ws = inputs_workspace(tmp_path / "ws")
    (ws / victim).write_text(content)
    run = weekly(ws, "report", "--week-start", WEEK, "--dry-run-webhook")
    assert run.exit_code == 1, run
    assert run.summary["diagnostics"]["error_code"] == "invalid_input"
    assert (
        victim in run.summary["diagnostics"]["error_message"] and needle in run.summary["diagnostics"]["error_message"]
    )


@pytest.mark.parametrize(
    "victim, content, warning",
    [
        (
            "runs/index.csv",
            "run_id,timestamp,trades,wins\nx_1,20260101_000000,abc,1\n",
            "runs/index.csv: line 2: field trades: 'abc' is not a count (a whole number >= 0); row skipped",
        ),
        (
            "reports/portfolio_samples/router_demo/telemetry.json",
            '{"execution_health": {"s": {"slippage_bps": "x"}}}',
            "reports/portfolio_samples/router_demo/telemetry.json: execution_health.s: field slippage_bps: 'x' is not a "
            "number; entry skipped",
        ),
    ],
)
def test_a_bad_value_skips_its_row_with_a_warning(tmp_path, victim, content, warning):
    """The shared rule (observability.upstream.values): the row goes, the report does not fail."""
    ws = inputs_workspace(tmp_path / "ws")
    (ws / victim).write_text(content)
    run = weekly(ws, "report", "--week-start", WEEK, "--dry-run-webhook")
    assert run.exit_code == 0, run
    assert run.summary["diagnostics"]["warnings"] == [warning]
    assert run.summary["skipped_rows"] == 1


def test_daily_csv_without_a_usable_row_drops_only_its_daily_figures(tmp_path):
    ws = inputs_workspace(tmp_path / "ws")
    daily = sorted((ws / "runs").glob("*/daily.csv"))[0]
    daily.write_text("date,fills,wins,pnl_pips\nnot-a-date,1,0,2\n")
    run = weekly(ws, "report", "--week-start", WEEK, "--dry-run-webhook")
    assert run.exit_code == 0, run
    rel = daily.relative_to(ws).as_posix()
    assert run.summary["diagnostics"]["warnings"] == [
        f"{rel}: no usable row (1 skipped, first line 2: field date: 'not-a-date' is not a date (YYYY-MM-DD[ time])); "
        "run published without daily figures"
    ]


def test_empty_fields_and_time_parts_are_accepted(tmp_path):
    ws = inputs_workspace(tmp_path / "ws")
    index = ws / "runs" / "index.csv"
    index.write_text(index.read_text() + "lower_case_run_2,,,20260106_010203,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\n")
    _, doc = dry_run_payload(ws, weekly(ws, "report", "--week-start", WEEK, "--dry-run-webhook"))
    assert_conforms(doc)
    run = next(r for r in doc["runs"]["rolling"] if r["run_id"] == "lower_case_run_2")
    assert run["trades"] == 0 and run["win_rate_lcb"] is None and run["ev"]["latest"] is None


def test_schema_failure_writes_every_error_to_invalid_json(tmp_path):
    ws = inputs_workspace(tmp_path / "ws")
    strict = json.loads(json.dumps(SCHEMA))
    strict["$defs"]["run"]["properties"]["run_id"]["pattern"] = "^[A-Z0-9_]+$"  # seed 002's pattern
    (ws / "strict.schema.json").write_text(json.dumps(strict))
    run = weekly(
        ws,
        "report",
        "--week-start",
        WEEK,
        "--dry-run-webhook",
        "--payload-schema",
        "strict.schema.json",
        "--job-id",
        "20260108T000700Z-weekly",
    )
    assert run.exit_code == 1, run
    assert run.summary["status"] == "error"
    assert run.summary["diagnostics"]["error_code"] == "schema_validation_failed"
    invalid = read_json(ws / "out" / "weekly_report" / "20260108T000700Z-weekly_invalid.json")
    grid = sum(
        1 for part in ("baseline", "rolling") for r in invalid["payload"]["runs"][part] if not r["run_id"].isupper()
    )
    assert invalid["error_count"] == len(invalid["errors"]) == grid > 1
    assert all(e["path"].startswith("runs.") and "run_id" in e["path"] for e in invalid["errors"])
    assert not (ws / "out" / "weekly_report" / "20260108T000700Z-weekly.json").exists()
    assert log_lines(ws)[-1]["diagnostics"]["error_code"] == "schema_validation_failed"


def test_default_week_is_the_last_complete_iso_week():
    assert payload_mod.Week.last_complete(datetime(2026, 1, 8, 0, 7, tzinfo=UTC)).start == date(2025, 12, 29)
    assert payload_mod.Week.last_complete(datetime(2026, 1, 5, 0, 0, tzinfo=UTC)).start == date(2025, 12, 29)
    assert payload_mod.Week.last_complete(datetime(2026, 1, 4, 23, 59, tzinfo=UTC)).start == date(2025, 12, 22)


@pytest.mark.parametrize(
    "week, needle",
    [("2026-01-06", "weeks start on Monday"), ("2026-02-02", "in the future"), ("06/01/2026", "expected YYYY-MM-DD")],
)
def test_bad_week_start_is_exit_2(tmp_path, week, needle):
    ws = inputs_workspace(tmp_path / "ws")
    run = weekly(ws, "report", "--week-start", week, "--dry-run-webhook")
    assert run.exit_code == 2, run
    assert needle in run.summary["diagnostics"]["error_message"]


def test_no_url_and_no_dry_run_is_a_config_error(tmp_path):
    ws = inputs_workspace(tmp_path / "ws")
    run = weekly(ws, "report", "--week-start", WEEK)
    assert run.exit_code == 2, run
    assert run.summary["status"] == "error"
    assert "OBS_WEEKLY_WEBHOOK_URL is not set" in run.summary["diagnostics"]["error_message"]
    assert not (ws / "out" / "weekly_report").exists() or not list((ws / "out" / "weekly_report").glob("*.json"))


def test_step_summary_written_off_github(tmp_path):
    ws = sample_workspace(tmp_path / "ws")
    run = weekly(ws, "report", "--week-start", WEEK, "--dry-run-webhook", "--job-id", "20260108T000700Z-weekly")
    assert run.exit_code == 0, run
    md = (ws / "out" / "weekly_report" / "20260108T000700Z-weekly.md").read_text()
    for heading in (
        "## Weekly health report",
        "### Baseline runs",
        "### Rolling runs",
        "### Utilisation vs budget",
        "### Execution health",
        "### Signal latency",
        "### Alerts of the week",
        "### Artefacts",
    ):
        assert heading in md
    assert "```mermaid" in md and "xychart-beta" in md and "p95 by day, as a table" in md
    assert "out/weekly_report/20260108T000700Z-weekly.json" in md


def test_step_summary_and_outputs_on_github(tmp_path):
    ws = inputs_workspace(tmp_path / "ws")
    step_summary, outputs = tmp_path / "summary.md", tmp_path / "outputs.txt"
    run = weekly(
        ws,
        "report",
        "--week-start",
        WEEK,
        "--dry-run-webhook",
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(step_summary), "GITHUB_OUTPUT": str(outputs)},
    )
    assert run.exit_code == 0, run
    assert "## Weekly health report — week of 2026-01-05 (dry_run)" in step_summary.read_text()
    text = outputs.read_text()
    assert "payload-checksum<<" in text and run.summary["payload_checksum_sha256"] in text

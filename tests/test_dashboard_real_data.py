"""The export against real upstream files (../shared/fixtures/upstream), copied into tmp_path at test time."""

from __future__ import annotations

import collections
import shutil

import pytest
from click.testing import CliRunner

from _support_dashboard import DATASETS, FIXTURES, assert_valid, bundle, export, manifest, verify
from observability.cli import cli

NOW = "2025-10-11T12:07:00Z"
pytestmark = pytest.mark.skipif(
    not (FIXTURES / "ops" / "state_archive").is_dir(), reason=f"upstream fixtures not found at {FIXTURES}"
)


@pytest.fixture()
def ws(tmp_path):
    for part in ("ops", "runs", "reports"):
        shutil.copytree(FIXTURES / part, tmp_path / part)
    # the upstream notifier log becomes an input of our latency job, which writes the rollups
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.move(tmp_path / "ops" / "signal_latency.csv", logs / "signal_latency.csv")
    result = CliRunner().invoke(
        cli,
        ["latency", "sample", "--workspace", str(tmp_path), "--input", "logs/signal_latency.csv"],
        env={"OBS_NOW": NOW, "GITHUB_ACTIONS": None},
    )
    assert result.exit_code == 0, result.stderr
    return tmp_path


def test_real_upstream_workspace_exports_every_dataset(ws):
    result = export(ws, now=NOW)
    assert result.exit_code == 0, result
    assert result.summary["status"] == "ok", result.summary["diagnostics"]
    for name in DATASETS:
        for row in bundle(ws, name)["rows"]:
            assert_valid(f"dashboard_{name}_row", row)
    assert verify(ws, now=NOW).exit_code == 0


def test_default_ev_history_is_useful_on_real_data(ws):
    assert export(ws, now=NOW).exit_code == 0
    rows = bundle(ws, "ev_history")["rows"]
    series = collections.Counter((r["strategy"], r["symbol"], r["mode"], r["variant"]) for r in rows)
    # the main strategy gets its full history, merged across `strategies.`-prefixed and bare keys
    assert series[("day_orb_5m.DayORB5m", "USDJPY", "conservative", None)] == 32
    orb_keys = {r["archive_key"] for r in rows if r["strategy"] == "day_orb_5m.DayORB5m"}
    assert orb_keys >= {"day_orb_5m.DayORB5m", "strategies.day_orb_5m.DayORB5m"}
    # every strategy in the archive is represented, the flat legacy grid files too
    strategies = {s for s, *_ in series}
    assert {
        "tokyo_micro_mean_reversion.TokyoMicroMeanReversion",
        "mean_reversion.MeanReversionStrategy",
        "session_momentum_continuation.SessionMomentumContinuation",
        "grid",
    } <= strategies
    assert sum(n for (s, *_), n in series.items() if s == "grid") == 5  # two grid runs, five snapshots
    latest = [r for r in rows if r["strategy"] == "day_orb_5m.DayORB5m" and r["mode"] == "conservative"][-1]
    assert latest["generated_at"] == "2025-10-05T13:25:19Z"
    assert 0.3 < latest["win_rate_lcb"] < latest["win_rate_mean"] < 0.7
    assert all(0 <= r["win_rate_lcb"] <= 1 for r in rows)


def test_turnover_on_real_runs(ws):
    assert export(ws, now=NOW).exit_code == 0
    rows = {r["run_id"]: r for r in bundle(ws, "turnover")["rows"]}
    assert len(rows) == 229
    with_daily = [r for r in rows.values() if r["has_daily"]]
    assert len(with_daily) == 4
    for row in with_daily:
        assert row["active_days"] > 0 and row["avg_trades_per_day"] > 0
        assert (row["start_ts"], row["end_ts"]) == ("2018-01-01T00:00:00Z", "2024-12-31T00:00:00Z")
    # the old implementation's figures for this run (avg per day 0.0630, per active day 1.6047)
    run = rows["USDJPY_conservative_20250923_215717"]
    assert run["avg_trades_per_day"] == pytest.approx(0.06301369863013699)
    assert run["avg_trades_active_day"] == pytest.approx(1.6046511627906976)
    assert run["trades"] == 138 and run["win_rate"] == pytest.approx(93 / 138)
    without = rows["USDJPY_conservative_20251015_035143"]
    assert without["has_daily"] is False and without["trades"] == 3 and without["win_rate"] == 0.0


def test_slippage_and_latency_on_real_data(ws):
    assert export(ws, now=NOW).exit_code == 0
    slip = {r["strategy"]: r for r in bundle(ws, "slippage")["rows"]}
    assert (
        slip["day_orb_5m_v1"]["slippage_bps"] == 2.5 and slip["tokyo_micro_mean_reversion_v0"]["reject_rate"] == 0.032
    )
    latency = bundle(ws, "latency")["rows"]
    assert latency[0]["hour_utc"] == "2025-10-11T11:00:00Z" and latency[0]["p50_ms"] == 2100.0
    assert "/" not in manifest(ws)["datasets"][0]["path"]

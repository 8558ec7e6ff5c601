"""Each dataset: fields present, values in range, rows valid against schemas/dashboard_<name>_row."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from _support_dashboard import DATASETS, assert_valid, bundle, export, make_workspace
from observability.dashboard.datasets import win_rate_stats
from observability.upstream.state_archive import canonical_strategy, classify


@pytest.fixture()
def ws(tmp_path):
    make_workspace(tmp_path)
    result = export(tmp_path)
    assert result.exit_code == 0, result
    assert result.summary["status"] == "ok", result
    return tmp_path


@pytest.mark.parametrize("name", DATASETS)
def test_every_row_matches_its_schema_and_the_envelope_is_complete(ws, name):
    doc = bundle(ws, name)
    assert doc["dataset"] == name
    assert doc["schema"] == f"dashboard_{name}_row"
    assert doc["row_count"] == len(doc["rows"]) > 0
    for key in ("generated_at", "job_id", "sequence", "source_hash", "inputs", "schema_version"):
        assert key in doc, key
    assert all(not p.startswith("/") for p in doc["inputs"])
    for row in doc["rows"]:
        assert_valid(f"dashboard_{name}_row", row)


def test_ev_history_fields_and_ranges(ws):
    rows = bundle(ws, "ev_history")["rows"]
    for row in rows:
        for key in ("generated_at", "strategy", "symbol", "mode", "ev_alpha", "ev_beta", "ev_decay", "win_rate_lcb"):
            assert key in row
        assert 0 <= row["win_rate_lcb"] <= row["win_rate_mean"] <= 1
        assert row["ev_alpha"] > 0 and row["ev_beta"] > 0
    # strategies.<key>, <key> and the bare module all land in one series
    orb = [r for r in rows if r["strategy"] == "day_orb_5m.DayORB5m" and r["mode"] == "conservative"]
    assert [r["generated_at"] for r in orb] == ["2026-01-05T00:30:00Z", "2026-01-06T00:30:00Z", "2026-01-07T00:30:00Z"]
    assert {r["archive_key"] for r in rows} >= {"strategies.day_orb_5m.DayORB5m", "day_orb_5m", "grid"}
    bridge = [r for r in rows if r["archive_key"] == "day_orb_5m"]
    assert bridge[0]["strategy"] == "day_orb_5m.DayORB5m" and bridge[0]["ev_conf"] is None
    grid = [r for r in rows if r["strategy"] == "grid"]
    assert grid[0]["variant"] == "or4_ktp0.6_ksl0.4_20260104_120000"
    assert grid[0]["generated_at"] == "2026-01-05T03:00:00Z"


def test_ev_history_limit_is_per_series(tmp_path):
    make_workspace(tmp_path)
    result = export(tmp_path, "--dataset", "ev_history", "--ev-history-limit", "1")
    assert result.exit_code == 0, result
    rows = bundle(tmp_path, "ev_history")["rows"]
    series = [(r["strategy"], r["symbol"], r["mode"], r["variant"]) for r in rows]
    assert len(series) == len(set(series)) == 3
    orb = [r for r in rows if r["strategy"] == "day_orb_5m.DayORB5m" and r["mode"] == "conservative"]
    assert orb[0]["generated_at"] == "2026-01-07T00:30:00Z"  # the latest one is kept


def test_win_rate_lcb_is_the_normal_approximation_of_the_beta_posterior():
    _, lcb = win_rate_stats(24.446286992455548, 20.137977924673653, 0.95)
    # the value the upstream implementation published for this snapshot
    assert lcb == pytest.approx(0.4038479013994748, abs=1e-12)
    a, b = 30.0, 10.0
    sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    assert win_rate_stats(a, b, 0.9)[1] == pytest.approx(0.75 - NormalDist().inv_cdf(0.95) * sd)
    assert win_rate_stats(2.0, 2.0, None) == (0.5, pytest.approx(0.5 - 1.959963984540054 * math.sqrt(1 / 20)))
    assert win_rate_stats(0.001, 50.0, 0.95)[1] == 0.0  # clipped, never negative


def test_turnover_fields_and_ranges(ws):
    rows = {r["run_id"]: r for r in bundle(ws, "turnover")["rows"]}
    assert len(rows) == 3
    for row in rows.values():
        for key in (
            "run_id",
            "start_ts",
            "end_ts",
            "avg_trades_per_day",
            "avg_trades_active_day",
            "win_rate",
            "drawdown_pct",
        ):
            assert key in row
        if row["active_days"]:
            assert row["avg_trades_per_day"] > 0
            assert row["avg_trades_active_day"] >= row["avg_trades_per_day"]
        if row["win_rate"] is not None:
            assert 0 <= row["win_rate"] <= 1
    run = rows["USDJPY_conservative_20260105_010000"]
    # daily dates carry a time part; four days, three active, six fills, four wins
    assert (run["start_ts"], run["end_ts"]) == ("2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z")
    assert (run["days"], run["active_days"], run["trades"], run["wins"]) == (4, 3, 6, 4)
    assert run["avg_trades_per_day"] == 1.5 and run["avg_trades_active_day"] == 2.0
    assert run["win_rate"] == pytest.approx(4 / 6)
    # cumulative pips 0, 10, 6, 12: peak 10, trough 6 -> 4 pips, 40 % of the peak
    assert run["max_drawdown_pips"] == 4.0 and run["drawdown_pct"] == 40.0
    idle = rows["USDJPY_conservative_20260106_010000"]
    assert idle["avg_trades_per_day"] == 0.0 and idle["avg_trades_active_day"] is None and idle["win_rate"] is None
    no_daily = rows["grid_USDJPY_conservative_or4_ktp1.2_ksl0.4_20260105_020000"]
    assert no_daily["has_daily"] is False and no_daily["trades_source"] == "index"
    assert no_daily["start_ts"] is None and no_daily["avg_trades_per_day"] is None
    assert no_daily["win_rate"] == pytest.approx(12 / 30)  # empty win_rate field: wins / trades


def test_slippage_fields(ws):
    rows = {r["strategy"]: r for r in bundle(ws, "slippage")["rows"]}
    assert rows["day_orb_5m_v1"]["slippage_bps"] == 2.5 and rows["day_orb_5m_v1"]["fill_count"] == 140
    assert rows["tokyo_micro_mean_reversion_v0"]["fill_count"] is None
    assert all(r["window_days"] == 7 and 0 <= r["reject_rate"] <= 1 for r in rows.values())


def test_latency_rows_follow_the_rollup(ws):
    rows = bundle(ws, "latency")["rows"]
    assert len(rows) == 6
    assert [r["hour_utc"] for r in rows] == sorted(r["hour_utc"] for r in rows)
    assert sum(r["breach_flag"] for r in rows) == 2
    assert all(r["p95_ms"] >= r["p50_ms"] for r in rows)


@pytest.mark.parametrize(
    "parts, expected",
    [
        (("day_orb_5m.DayORB5m", "USDJPY", "conservative", "20250929_135058.json"), "2025-09-29T13:50:58Z"),
        (("x", "USDJPY", "conservative", "20251001_122207_state.json"), "2025-10-01T12:22:07Z"),
        (
            ("x", "USDJPY", "conservative", "20251002_144416_USDJPY_conservative_20251002_234416.json"),
            "2025-10-02T14:44:16Z",
        ),
        (("grid_USDJPY_bridge_or4_ktp0.6_ksl0.4_20250921_130919_20250922_002609.json",), "2025-09-22T00:26:09Z"),
    ],
)
def test_snapshot_file_name_forms(parts, expected):
    assert classify(parts).generated_at == expected


@pytest.mark.parametrize(
    "parts",
    [
        ("x", "USDJPY", "conservative", "latest.json"),
        ("x", "USDJPY", "20251301_000000.json"),
        ("x", "USDJPY", "conservative", "20251332_000000.json"),
        ("notes.json",),
    ],
)
def test_unrecognised_snapshot_paths(parts):
    assert classify(parts) is None


def test_strategy_keys_are_canonical():
    known = {"day_orb_5m.DayORB5m", "mean_reversion.MeanReversionStrategy"}
    assert canonical_strategy("strategies.day_orb_5m.DayORB5m", known) == "day_orb_5m.DayORB5m"
    assert canonical_strategy("day_orb_5m", known) == "day_orb_5m.DayORB5m"
    assert canonical_strategy("unknown_module", known) == "unknown_module"


@pytest.mark.parametrize("name", DATASETS)
def test_fast_row_check_never_accepts_what_jsonschema_rejects(ws, name):
    import random

    from observability import schemas
    from observability.dashboard import rowcheck

    schema = f"dashboard_{name}_row"
    check = rowcheck._compiled(schema)
    assert check is not None, "the row schema uses a keyword the fast checker does not compile"
    rows = bundle(ws, name)["rows"]
    values = [
        None,
        True,
        False,
        0,
        1,
        -1,
        0.5,
        1.5,
        -0.1,
        float("inf"),
        float("nan"),
        "",
        "x",
        "daily",
        "2026-01-01T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-01-01T00:00:00",
        "2026-01-01T00:00:00Z\n",
        [],
        {},
        2.0,
        3,
    ]
    rng = random.Random(name)
    for _ in range(1500):
        row = dict(rng.choice(rows))
        for _ in range(rng.randint(1, 2)):
            key, op = rng.choice(list(row)), rng.random()
            if op < 0.8:
                row[key] = rng.choice(values)
            elif op < 0.9:
                del row[key]
            else:
                row["extra"] = 1
        if check(row):
            assert not schemas.errors(schema, row), row
        assert (rowcheck.first_error(schema, row) is None) == (not schemas.errors(schema, row))


def test_every_dashboard_dataset_has_one_input_spec():
    import dataclasses

    from observability.dashboard import DATASETS
    from observability.dashboard.datasets import SPECS
    from observability.dashboard.job import INPUTS, ExportOptions

    fields = {f.name for f in dataclasses.fields(ExportOptions)}
    assert set(INPUTS) == set(SPECS) == set(DATASETS)
    assert all(spec.option in fields for spec in INPUTS.values())
    assert len({spec.cache for spec in INPUTS.values()}) == len(INPUTS)  # one content cache per input

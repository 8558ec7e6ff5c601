"""One rule for bad upstream values, the same in every job (real CLI, real processes).

The same bad file is fed to ``weekly report`` and to ``dashboard export``: each skips the same row
(or entry) with the same warning text naming file, line (or entry) and field, counts it, never
publishes the value and never fails the whole report.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from _support_inprocess import run_cli_in_process as run_cli
from _support_robust import clean_env, summary
from observability.resources import template_dir
from observability.samplegen import weekly as samplegen

NOW = "2026-01-08T00:07:00Z"
INDEX = "runs/index.csv"
TELEMETRY = "reports/portfolio_samples/router_demo/telemetry.json"
DAILY_RUN = "grid_USDJPY_conservative_or6_ktp1.0_ksl0.4_20260104_165800"  # has a daily.csv in the sample
# The real upstream artefacts are never committed; they sit beside the checkout (or where this variable says).
FIXTURES = Path(
    os.environ.get(
        "OBS_TEST_UPSTREAM_FIXTURES", Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "upstream"
    )
)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """The bundled sample workspace (ops-template) plus hourly rollups, so weekly has every input."""
    root = tmp_path_factory.mktemp("base") / "ws"
    shutil.copytree(template_dir(), root)
    samplegen.write_rollups(root / "ops" / "signal_latency_rollup.csv", end=datetime(2026, 1, 8, tzinfo=UTC), days=14)
    return root


@pytest.fixture
def ws(base, tmp_path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(base, root, symlinks=True)
    return root


def both(ws: Path) -> tuple[dict, dict]:
    """Run the weekly report (dry run) and the dashboard export over ``ws``; their summaries."""
    env = clean_env(OBS_NOW=NOW)
    weekly = run_cli(["weekly", "report", "--workspace", str(ws), "--dry-run-webhook"], env=env)
    dashboard = run_cli(["dashboard", "export", "--workspace", str(ws)], env=env)
    for proc in (weekly, dashboard):
        assert "Traceback" not in proc.stderr, proc.stderr
    return summary(weekly), summary(dashboard)


def warnings_about(doc: dict, rel: str) -> list[str]:
    return sorted(w for w in doc["diagnostics"].get("warnings", []) if w.startswith(f"{rel}:"))


def weekly_payload(ws: Path) -> dict:
    found = sorted((ws / "out" / "weekly_report").glob("*.json"))
    assert found, "the dry run wrote no payload"
    return json.loads(found[-1].read_text(encoding="utf-8"))


def bundle(ws: Path, name: str) -> dict:
    return json.loads((ws / "out" / "dashboard" / f"{name}.json").read_text(encoding="utf-8"))


def index_rows(ws: Path) -> tuple[str, list[str]]:
    lines = (ws / INDEX).read_text(encoding="utf-8").splitlines()
    return lines[0], lines[1:]


def write_index(ws: Path, header: str, rows: list[str], *, newline: bool = True) -> None:
    (ws / INDEX).write_text("\n".join([header, *rows]) + ("\n" if newline else ""), encoding="utf-8")


def set_field(header: str, row: str, column: str, value: str) -> str:
    names = header.split(",")
    cells = next(csv.reader(io.StringIO(row)))
    cells[names.index(column)] = value
    return ",".join(cells)


def published_runs(ws: Path) -> tuple[set[str], set[str]]:
    payload = weekly_payload(ws)
    weekly_ids = {r["run_id"] for r in payload["runs"]["baseline"] + payload["runs"]["rolling"]}
    dashboard_ids = {r["run_id"] for r in bundle(ws, "turnover")["rows"]}
    return weekly_ids, dashboard_ids


def assert_same_skip(weekly: dict, dashboard: dict, rel: str, expected: list[str]) -> None:
    assert warnings_about(weekly, rel) == expected, weekly["diagnostics"]
    assert warnings_about(dashboard, rel) == expected, dashboard["diagnostics"]
    assert dashboard["status"] == "warning"
    assert weekly["status"] == "dry_run"  # a dry run stays a dry run; a delivered one turns warning (below)
    assert weekly["skipped_rows"] == len(expected)


# -- router telemetry ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, raw, reason",
    [
        ("reject_rate", "-0.5", "-0.5 is outside [0, 1]"),
        ("reject_rate", "1.5", "1.5 is outside [0, 1]"),
        ("slippage_bps", "NaN", "nan is not a finite number"),
        ("slippage_bps", "Infinity", "inf is not a finite number"),
        ("slippage_bps", '"2.9"', "'2.9' is not a number"),
    ],
)
def test_bad_telemetry_value_is_skipped_alike(ws, field, raw, reason):
    path = ws / TELEMETRY
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["execution_health"]["day_orb_5m_v1"][field] = "__BAD__"
    path.write_text(json.dumps(doc).replace('"__BAD__"', raw), encoding="utf-8")
    weekly, dashboard = both(ws)
    expected = [f"{TELEMETRY}: execution_health.day_orb_5m_v1: field {field}: {reason}; entry skipped"]
    assert_same_skip(weekly, dashboard, TELEMETRY, expected)
    payload = weekly_payload(ws)
    assert [s["strategy"] for s in payload["execution_health"]["strategies"]] == ["tokyo_micro_mean_reversion_v0"]
    assert [r["strategy"] for r in bundle(ws, "slippage")["rows"]] == ["tokyo_micro_mean_reversion_v0"]


@pytest.mark.parametrize("stamp", ["yesterday", "2026-13-01T00:00:00Z"])
def test_bad_telemetry_time_is_skipped_alike(ws, stamp):
    """Once fatal in both jobs (the dashboard's slippage dataset, the whole weekly report): the stamp is now a
    skipped value, the file read as undated, its entries still published."""
    path = ws / TELEMETRY
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc.pop("as_of", None), doc.pop("timestamp", None)
    doc["generated_at"] = stamp
    path.write_text(json.dumps(doc), encoding="utf-8")
    weekly, dashboard = both(ws)
    expected = [f"{TELEMETRY}: generated_at: {stamp!r} is not an ISO-8601 timestamp; value skipped"]
    assert_same_skip(weekly, dashboard, TELEMETRY, expected)
    fresh = {i["name"]: i for i in weekly_payload(ws)["freshness"]["inputs"]}
    assert fresh["telemetry"]["as_of"] is None and fresh["telemetry"]["status"] == "unknown"
    rows = bundle(ws, "slippage")["rows"]
    assert len(rows) == 2 and all(r["telemetry_generated_at"] is None for r in rows)


def test_delivered_report_with_skipped_rows_is_a_warning_and_lists_them(ws):
    from _support_weekly import delivery_env, receiver, weekly

    path = ws / TELEMETRY
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["execution_health"]["day_orb_5m_v1"]["reject_rate"] = -0.5
    path.write_text(json.dumps(doc), encoding="utf-8")
    warning = f"{TELEMETRY}: execution_health.day_orb_5m_v1: field reject_rate: -0.5 is outside [0, 1]; entry skipped"
    with receiver([200]) as rec:
        run = weekly(ws, "report", env=delivery_env(rec))
    assert run.exit_code == 0, run
    assert run.summary["status"] == "warning" and run.summary["skipped_rows"] == 1
    assert run.summary["diagnostics"]["warnings"] == [warning]
    delivered = json.loads(rec.requests[0].body)
    assert [s["strategy"] for s in delivered["execution_health"]["strategies"]] == ["tokyo_micro_mean_reversion_v0"]
    review = (ws / next(p for p in run.summary["artefacts"] if p.endswith(".md"))).read_text(encoding="utf-8")
    # brackets escaped in the Markdown (no link forms from text); GitHub and the site show "[0, 1]"
    assert "Skipped input rows (1)" in review and "field reject_rate: -0.5 is outside \\[0, 1\\]" in review


# -- ops/signal_latency_rollup.csv (our own file, read by both jobs through outputs/rollups.py) -----------

ROLLUP = "ops/signal_latency_rollup.csv"


@pytest.mark.parametrize(
    "column, value, reason",
    [
        ("count", "x", "'x' is not a count (a whole number >= 0)"),
        ("failure_rate", "1.5", "1.5 is outside [0, 1]"),
        ("p95_ms", "nan", "'nan' is not a finite number"),
        ("p99_ms", "-3", "-3 is below 0"),
        ("breach_flag", "maybe", "'maybe' is neither true nor false"),
        ("hour_utc", "2026-01-06 10:00", "'2026-01-06 10:00' is not an hour (YYYY-MM-DDThh:00:00Z)"),
    ],
)
@pytest.mark.parametrize("layout", ["single file", "day partitions"])
def test_bad_rollup_row_is_skipped_alike(ws, column, value, reason, layout):
    """Once weekly failed on a bad row inside its week and never saw one outside it, and the dashboard failed
    the whole latency dataset on either: now both skip each bad row with the same warning (file and line)."""
    path = ws / ROLLUP
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    names = lines[0].strip().split(",")
    inside = next(i for i, line in enumerate(lines) if line.startswith("2026-01-06T10:00:00Z,"))  # in the week
    outside = next(i for i, line in enumerate(lines) if line.startswith("2025-12-26T03:00:00Z,"))  # before it
    bad_keys = {tuple(lines[i].split(",")[:2]) for i in (inside, outside)}
    for i in (inside, outside):
        cells = lines[i].rstrip("\n").split(",")
        cells[names.index(column)] = value
        lines[i] = ",".join(cells) + "\n"
    if layout == "single file":
        path.write_text("".join(lines), encoding="utf-8")
        where = {i: (ROLLUP, i + 1) for i in (inside, outside)}
    else:  # as the latency job keeps them: one file per day, the same header in each
        path.unlink()
        (ws / "ops" / "signal_latency_rollup").mkdir()
        days: dict[str, list[str]] = {}
        where = {}
        for i, line in enumerate(lines[1:], start=1):
            day = lines[i if i not in (inside, outside) or column != "hour_utc" else i - 1][:10]
            days.setdefault(day, [lines[0]]).append(line)
            if i in (inside, outside):
                where[i] = (f"ops/signal_latency_rollup/{day}.csv", len(days[day]))
        for day, content in days.items():
            (ws / "ops" / "signal_latency_rollup" / f"{day}.csv").write_text("".join(content), encoding="utf-8")
    weekly, dashboard = both(ws)
    expected = sorted(f"{rel}: line {n}: field {column}: {reason}; row skipped" for rel, n in where.values())
    prefix = "ops/signal_latency_rollup"
    for doc in (weekly, dashboard):
        assert sorted(w for w in doc["diagnostics"].get("warnings", []) if w.startswith(prefix)) == expected, doc
    assert dashboard["status"] == "warning" and weekly["status"] == "dry_run"
    assert weekly["skipped_rows"] == 2
    published = [(r["hour_utc"], r["source"]) for r in bundle(ws, "latency")["rows"]]
    assert len(published) == len(lines) - 3 and len(set(published)) == len(published)
    assert not bad_keys & set(published)
    payload = weekly_payload(ws)
    assert payload["latency"]["samples"] > 0


# -- reports/portfolio_summary.json (read by the weekly report only, through upstream/portfolio.py) ------

PORTFOLIO = "reports/portfolio_summary.json"


def test_bad_portfolio_times_and_points_are_skipped(ws):
    """Once a bad ``generated_at``, a bad point time or a point that is not an object failed the whole report."""
    path = ws / PORTFOLIO
    doc = json.loads(path.read_text(encoding="utf-8"))
    curve = doc["aggregate_equity_curve"]
    assert len(curve) >= 4
    doc["generated_at"] = "soon"
    curve[1]["ts"] = "2026-02-30T00:00:00Z"
    curve[2] = 7
    curve[3]["equity"] = "lots"
    path.write_text(json.dumps(doc), encoding="utf-8")
    env = clean_env(OBS_NOW=NOW)
    weekly = summary(run_cli(["weekly", "report", "--workspace", str(ws), "--dry-run-webhook"], env=env))
    assert warnings_about(weekly, PORTFOLIO) == sorted(
        [
            f"{PORTFOLIO}: aggregate_equity_curve[1]: field ts: '2026-02-30T00:00:00Z' is not an ISO-8601 timestamp; "
            "point skipped",
            f"{PORTFOLIO}: aggregate_equity_curve[2]: not an object; point skipped",
            f"{PORTFOLIO}: aggregate_equity_curve[3]: field equity: 'lots' is not a number; point skipped",
            f"{PORTFOLIO}: generated_at: 'soon' is not an ISO-8601 timestamp; value skipped",
        ]
    ), weekly["diagnostics"]
    assert weekly["status"] == "dry_run" and weekly["skipped_rows"] == 4
    payload = weekly_payload(ws)
    assert payload["portfolio"]["equity_curve"]["points"] == len(curve) - 3
    assert payload["portfolio"]["source_generated_at"] is None
    fresh = {i["name"]: i for i in payload["freshness"]["inputs"]}
    assert fresh["portfolio_summary"]["as_of_from"] == "equity_curve"


# -- runs/index.csv ------------------------------------------------------------------------------


def test_truncated_last_index_row_is_skipped_alike(ws):
    header, rows = index_rows(ws)
    last = rows[-1]
    cut = last[: last.index(",USDJPY,")]  # torn inside the row: run_id, run_dir, manifest_id, timestamp
    write_index(ws, header, rows[:-1] + [cut], newline=False)
    weekly, dashboard = both(ws)
    line = len(rows) + 1
    expected = [f"{INDEX}: line {line}: row has 4 of {len(header.split(','))} fields (truncated?); row skipped"]
    assert_same_skip(weekly, dashboard, INDEX, expected)
    run_id = cut.split(",")[0]
    weekly_ids, dashboard_ids = published_runs(ws)
    assert run_id not in weekly_ids and run_id not in dashboard_ids


@pytest.mark.parametrize(
    "column, value, reason",
    [
        ("win_rate", "1.5", "1.5 is outside [0, 1]"),
        ("win_rate", "nan", "'nan' is not a finite number"),
        ("trades", "-3", "'-3' is not a count (a whole number >= 0)"),
        ("total_pips", "inf", "'inf' is not a finite number"),
        ("total_pips", "lots", "'lots' is not a number"),
        ("sharpe", "NaN", "'NaN' is not a finite number"),
        ("timestamp", "yesterday", "'yesterday' is neither YYYYMMDD_hhmmss nor ISO-8601"),
    ],
)
def test_bad_index_value_is_skipped_alike(ws, column, value, reason):
    header, rows = index_rows(ws)
    target = 5  # USDJPY_bridge_20251113_231400, a baseline run in the weekly report
    run_id = rows[target].split(",")[0]
    rows[target] = set_field(header, rows[target], column, value)
    write_index(ws, header, rows)
    weekly, dashboard = both(ws)
    expected = [f"{INDEX}: line {target + 2}: field {column}: {reason}; row skipped"]
    assert_same_skip(weekly, dashboard, INDEX, expected)
    weekly_ids, dashboard_ids = published_runs(ws)
    assert run_id not in weekly_ids | dashboard_ids
    assert weekly_ids and dashboard_ids


# -- runs/<id>/daily.csv --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cells, field, reason",
    [
        ("2025-07-03,1,1,0,1,0,-1,0,3.5", "fills", "'-1' is not a count (a whole number >= 0)"),
        ("2025-07-03,1,1,0,1,0,2,0,nan", "pnl_pips", "'nan' is not a finite number"),
        ("2025-07-03,1,1,0,1,0,2,5,1.0", "wins", "5 wins > 2 fills"),
        ("2025-13-03,1,1,0,1,0,2,0,1.0", "date", "'2025-13-03' is not a date (YYYY-MM-DD[ time])"),
    ],
)
def test_bad_daily_row_is_skipped_alike(ws, cells, field, reason):
    rel = f"runs/{DAILY_RUN}/daily.csv"
    lines = (ws / rel).read_text(encoding="utf-8").splitlines()
    lines.insert(3, cells)
    (ws / rel).write_text("\n".join(lines) + "\n", encoding="utf-8")
    weekly, dashboard = both(ws)
    expected = [f"{rel}: line 4: field {field}: {reason}; row skipped"]
    assert_same_skip(weekly, dashboard, rel, expected)
    # the good rows around it still count, in both jobs
    payload = weekly_payload(ws)
    item = next(r for r in payload["runs"]["rolling"] if r["run_id"] == DAILY_RUN)
    row = next(r for r in bundle(ws, "turnover")["rows"] if r["run_id"] == DAILY_RUN)
    assert row["has_daily"] is True and row["trades"] == 772 == item["trades"]
    assert row["days"] == item["turnover"]["days"] == len(lines) - 2


# -- item 7: nothing outside the workspace is followed ---------------------------------------------


def _outside_run(tmp_path: Path) -> Path:
    outside = tmp_path / "outside" / "evil"
    outside.mkdir(parents=True)
    (outside / "daily.csv").write_text(
        "date,breakouts,gate_pass,gate_block,ev_pass,ev_reject,fills,wins,pnl_pips\n"
        "2025-12-30,1,1,0,1,0,999999,999999,123456789.0\n",
        encoding="utf-8",
    )
    return outside


@pytest.mark.parametrize(
    "column, value, reason",
    [
        ("run_id", "../../outside/evil", "'../../outside/evil' is not a run id (letters, digits, _ . - only)"),
        ("run_id", "/etc", "'/etc' is not a run id (letters, digits, _ . - only)"),
        ("run_dir", "../outside/evil", "'../outside/evil' leads outside the workspace"),
        ("run_dir", "runs/../../outside/evil", "'runs/../../outside/evil' leads outside the workspace"),
        ("run_dir", "/tmp/outside/evil", "'/tmp/outside/evil' is an absolute path (must be relative to the workspace)"),
    ],
)
def test_index_row_pointing_outside_is_refused_alike(ws, tmp_path, column, value, reason):
    _outside_run(tmp_path)
    header, rows = index_rows(ws)
    target = 5
    run_id = rows[target].split(",")[0]
    rows[target] = set_field(header, rows[target], column, value)
    write_index(ws, header, rows)
    weekly, dashboard = both(ws)
    expected = [f"{INDEX}: line {target + 2}: field {column}: {reason}; row skipped"]
    assert_same_skip(weekly, dashboard, INDEX, expected)
    weekly_ids, dashboard_ids = published_runs(ws)
    assert run_id not in weekly_ids | dashboard_ids and value not in weekly_ids | dashboard_ids
    for text in (json.dumps(weekly_payload(ws)), json.dumps(bundle(ws, "turnover"))):
        assert "999999" not in text and "123456789" not in text


def test_run_folder_symlinked_outside_is_refused_alike(ws, tmp_path):
    outside = _outside_run(tmp_path)
    header, rows = index_rows(ws)
    target = 5
    run_id = rows[target].split(",")[0]
    (ws / "runs" / run_id).symlink_to(outside, target_is_directory=True)
    weekly, dashboard = both(ws)
    expected = [
        f"{INDEX}: line {target + 2}: field run_id: runs/{run_id} leads outside the workspace "
        f"(symbolic link); row skipped"
    ]
    assert_same_skip(weekly, dashboard, INDEX, expected)
    weekly_ids, dashboard_ids = published_runs(ws)
    assert run_id not in weekly_ids | dashboard_ids
    for text in (json.dumps(weekly_payload(ws)), json.dumps(bundle(ws, "turnover"))):
        assert "999999" not in text and "123456789" not in text


def test_daily_csv_symlinked_outside_is_refused_alike(ws, tmp_path):
    """The run folder is a real directory inside the workspace but its daily.csv is a symbolic link out
    of it: the outside figures were published (total_pips 123456789 in turnover and the weekly payload)."""
    outside = _outside_run(tmp_path)
    header, rows = index_rows(ws)
    folder = ws / "runs" / DAILY_RUN
    line = next(i for i, row in enumerate(rows) if row.split(",")[0] == DAILY_RUN) + 2
    (folder / "daily.csv").unlink()
    (folder / "daily.csv").symlink_to(outside / "daily.csv")
    weekly, dashboard = both(ws)
    expected = [
        f"{INDEX}: line {line}: field run_id: runs/{DAILY_RUN}/daily.csv leads outside the workspace "
        f"(symbolic link); row skipped"
    ]
    assert_same_skip(weekly, dashboard, INDEX, expected)
    weekly_ids, dashboard_ids = published_runs(ws)
    assert DAILY_RUN not in weekly_ids | dashboard_ids
    for text in (json.dumps(weekly_payload(ws)), json.dumps(bundle(ws, "turnover"))):
        assert "999999" not in text and "123456789" not in text


# -- item 13: one reading of a run's figures --------------------------------------------------------


def _same_figures(ws: Path, *, expect_runs: int | None = None) -> tuple[dict, dict]:
    weekly, dashboard = both(ws)
    assert weekly["status"] in ("dry_run", "ok", "warning"), weekly
    assert dashboard["status"] in ("ok", "warning"), dashboard
    payload = weekly_payload(ws)
    weekly_runs = {r["run_id"]: r for r in payload["runs"]["baseline"] + payload["runs"]["rolling"]}
    rows = {r["run_id"]: r for r in bundle(ws, "turnover")["rows"]}
    assert weekly_runs
    for run_id, item in weekly_runs.items():
        row = rows[run_id]
        assert row["trades"] == item["trades"], run_id
        assert row["wins"] == item["wins"], run_id
        assert row["total_pips"] is not None and math.isclose(row["total_pips"], item["total_pips"], abs_tol=1e-6), (
            run_id
        )
    if expect_runs is not None:
        assert len(rows) == expect_runs
    return weekly_runs, rows


def test_sample_run_figures_agree(ws):
    weekly_runs, rows = _same_figures(ws)
    assert weekly_runs[DAILY_RUN]["trades"] == rows[DAILY_RUN]["trades"] == 772  # its daily.csv (index says 0)
    assert rows[DAILY_RUN]["trades_source"] == "daily"
    # every run has total_pips in the dashboard: from daily.csv when there is one, else from the index
    assert all(r["total_pips"] is not None for r in rows.values())


@pytest.mark.skipif(not FIXTURES.is_dir(), reason=f"real upstream fixtures not present at {FIXTURES}")
def test_real_run_figures_agree(tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(template_dir(), ws)
    for name in ("runs", "reports"):
        shutil.rmtree(ws / name)
        shutil.copytree(FIXTURES / name, ws / name)
    samplegen.write_rollups(ws / "ops" / "signal_latency_rollup.csv", end=datetime(2025, 10, 6, tzinfo=UTC), days=14)
    env = clean_env(OBS_NOW="2025-10-06T01:00:00Z")
    weekly = summary(run_cli(["weekly", "report", "--workspace", str(ws), "--dry-run-webhook"], env=env))
    dashboard = summary(run_cli(["dashboard", "export", "--workspace", str(ws), "--dataset", "turnover"], env=env))
    assert weekly["status"] in ("dry_run", "ok", "warning") and dashboard["status"] in ("ok", "warning")
    with open(FIXTURES / INDEX, encoding="utf-8", newline="") as handle:
        index = {r["run_id"]: r for r in csv.DictReader(handle)}
    rows = {r["run_id"]: r for r in bundle(ws, "turnover")["rows"]}
    carrying = [k for k, r in index.items() if r["total_pips"].strip()]
    assert len(carrying) == 229
    assert all(rows[k]["total_pips"] is not None for k in carrying)
    for k in carrying:
        assert math.isclose(rows[k]["total_pips"], float(index[k]["total_pips"]), abs_tol=1e-5), k
    payload = weekly_payload(ws)
    for item in payload["runs"]["baseline"] + payload["runs"]["rolling"]:
        row = rows[item["run_id"]]
        assert (row["trades"], row["wins"]) == (item["trades"], item["wins"])
        assert math.isclose(row["total_pips"], item["total_pips"], abs_tol=1e-5)

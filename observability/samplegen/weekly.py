"""Deterministic synthetic upstream inputs for the weekly report (sample workspace, tests, bench).

``python -m observability.samplegen.weekly DIR`` writes runs/, reports/ under DIR
(ops-template in this repository). Formats follow the upstream files (see docs/weekly.md);
the values are invented.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

from observability.clock import UTC
from observability.outputs.rollups import HEADER as ROLLUP_HEADER, RollupRow

INDEX_HEADER = (
    "run_id,run_dir,manifest_id,timestamp,symbol,mode,equity,or_n,k_tp,k_sl,k_tr,threshold_lcb,min_or_atr,"
    "rv_cuts,allow_low_rv,allowed_sessions,warmup,prior_alpha,prior_beta,include_expected_slip,rv_quantile,"
    "calibrate_days,ev_mode,size_floor,trades,wins,total_pips,sharpe,max_drawdown,win_rate,pnl_per_trade,"
    "state_path,gate_block,ev_reject,ev_bypass,dump_rows,state_loaded,state_archive_path,ev_profile_path"
)
SAMPLE_RUNS_END = datetime(2026, 1, 7, 18, 0, tzinfo=UTC)
EMPTY_7 = ("",) * 7  # seven columns left empty in a row


def _index_line(
    run_id: str,
    stamp: datetime,
    mode: str,
    or_n: int,
    ktp: float,
    ksl: float,
    trades: int,
    wins: int,
    total: float,
    sharpe: float | None,
    dd: float | None,
    manifest: str,
) -> str:
    ts = stamp.strftime("%Y%m%d_%H%M%S")
    fields = [
        run_id,
        f"runs/{run_id}",
        manifest,
        ts,
        "USDJPY",
        mode,
        "100000.0",
        str(or_n),
        str(ktp),
        str(ksl),
        "",
        "0.0",
        "0.4",
        "",
        "True",
        "",
        "50",
        *EMPTY_7,  # prior_alpha .. size_floor
        str(trades),
        f"{float(wins)}" if not wins else str(wins),
        repr(total),
        "" if sharpe is None else repr(sharpe),
        "" if dd is None else repr(dd),
        repr(wins / trades if trades else 0.0),
        repr(total / trades if trades else 0.0),
        f"runs/{run_id}/state.json",
        *EMPTY_7,  # gate_block .. ev_profile_path
    ]
    return ",".join(fields)


def index_rows(
    count: int, end: datetime = SAMPLE_RUNS_END, seed: int = 3
) -> tuple[list[tuple[str, datetime]], list[str]]:
    """``count`` runs spread over the 70 days before ``end``: mostly grid sweeps, some hand runs."""
    rng = random.Random(seed)
    out, lines = [], []
    for i in range(count):
        stamp = end - timedelta(minutes=int((count - 1 - i) * (70 * 24 * 60) / max(1, count - 1)))
        mode = "bridge" if i % 3 == 2 else "conservative"
        or_n, ktp, ksl = rng.choice((4, 6, 8)), rng.choice((0.6, 0.8, 1.0, 1.2)), rng.choice((0.4, 0.6, 0.8))
        trades = rng.randint(0, 900) if i % 11 else 0
        wins = round(trades * rng.uniform(0.4, 0.72))
        total = round(trades * rng.gauss(0.15, 0.6), 10)
        hand = i % 5 == 0
        run_id = (
            f"USDJPY_{mode}_{stamp.strftime('%Y%m%d_%H%M%S')}"
            if hand
            else f"grid_USDJPY_{mode}_or{or_n}_ktp{ktp}_ksl{ksl}_{stamp.strftime('%Y%m%d_%H%M%S')}"
        )
        sharpe = round(rng.gauss(0.4, 1.2), 6) if hand else None
        dd = round(-abs(rng.gauss(60, 30)), 6) if hand else None
        lines.append(
            _index_line(
                run_id, stamp, mode, or_n, ktp, ksl, trades, wins, total, sharpe, dd, "day_orb_5m_v1" if hand else ""
            )
        )
        out.append((run_id, stamp))
    return out, lines


def daily_lines(days: int, seed: int, *, start: date = date(2025, 7, 1), time_part: bool = False) -> list[str]:
    rng = random.Random(seed)
    lines = ["date,breakouts,gate_pass,gate_block,ev_pass,ev_reject,fills,wins,pnl_pips"]
    for d in range(days):
        day = start + timedelta(days=d)
        breakouts = rng.randint(5, 250)
        gate_pass = rng.randint(0, breakouts)
        ev_pass = rng.randint(0, gate_pass // 3)
        fills = ev_pass if rng.random() < 0.6 else 0
        wins = rng.randint(0, fills)
        pnl = round(sum(rng.gauss(0.4, 3.0) for _ in range(fills)), 9)
        stamp = f"{day.isoformat()} 00:00:00" if time_part else day.isoformat()
        lines.append(
            f"{stamp},{breakouts},{gate_pass},{breakouts - gate_pass},{ev_pass},{gate_pass - ev_pass},"
            f"{fills},{wins},{pnl}"
        )
    return lines


def portfolio_summary(*, day_used: float = 34.2) -> dict:
    return {
        "generated_at": "2026-01-07T22:15:03.120044+00:00",
        "input_dir": "runs/router_pipeline/latest",
        "strategies": [
            {
                "manifest_id": "day_orb_5m_v1",
                "name": "Day ORB 5m (USDJPY)",
                "category": "day",
                "tags": ["orb"],
                "max_concurrent_positions": 1,
                "risk_per_trade_pct": 0.25,
            },
            {
                "manifest_id": "tokyo_micro_mean_reversion_v0",
                "name": "Tokyo Micro Mean Reversion (USDJPY)",
                "category": "scalping",
                "tags": ["scalping"],
                "max_concurrent_positions": 2,
                "risk_per_trade_pct": 0.04,
            },
        ],
        "category_utilisation": [
            {
                "category": "day",
                "utilisation_pct": day_used,
                "cap_pct": 40.0,
                "headroom_pct": round(40.0 - day_used, 4),
                "utilisation_ratio": day_used / 40.0,
                "budget_pct": 40.0,
                "budget_headroom_pct": round(40.0 - day_used, 4),
                "budget_utilisation_ratio": day_used / 40.0,
                "budget_status": "ok",
            },
            {
                "category": "scalping",
                "utilisation_pct": 4.5,
                "cap_pct": 15.0,
                "headroom_pct": 10.5,
                "utilisation_ratio": 0.3,
                "budget_pct": 15.0,
                "budget_headroom_pct": 10.5,
                "budget_utilisation_ratio": 0.3,
                "budget_status": "ok",
            },
        ],
        "gross_exposure": {"current_pct": 38.7, "cap_pct": 60.0, "headroom_pct": 21.3},
        "execution_health": {},
        "drawdowns": {
            "aggregate": {
                "max_drawdown_pct": 1.8421,
                "peak_ts": "2026-01-02T00:00:00Z",
                "peak_equity": 203310.0,
                "trough_ts": "2026-01-05T00:00:00Z",
                "trough_equity": 199565.0,
            }
        },
        "aggregate_equity_curve": [
            {"ts": "2026-01-01T00:00:00.000000Z", "equity": 200000.0},
            {"ts": "2026-01-02T00:00:00Z", "equity": 203310.0},
            {"ts": "2026-01-05T00:00:00Z", "equity": 199565.0},
            {"ts": "2026-01-06T00:00:00Z", "equity": 201020.0},
            {"ts": "2026-01-07T00:00:00Z", "equity": 202480.0},
        ],
    }


def telemetry() -> dict:
    return {
        "active_positions": {"day_orb_5m_v1": 1, "tokyo_micro_mean_reversion_v0": 1},
        "category_utilisation_pct": {"day": 34.2, "scalping": 4.5},
        "category_budget_pct": {"day": 40.0, "scalping": 15.0},
        "gross_exposure_pct": 38.7,
        "execution_health": {
            "day_orb_5m_v1": {"reject_rate": 0.018, "slippage_bps": 2.9},
            "tokyo_micro_mean_reversion_v0": {"reject_rate": 0.061, "slippage_bps": 5.6},
        },
    }


def write_inputs(root: Path, *, runs: int = 24, daily_runs: int = 4, daily_days: int = 120) -> list[str]:
    """Write runs/index.csv, a few runs/<id>/daily.csv and the two reports under ``root``; returns run ids."""
    ids, lines = index_rows(runs)
    (root / "runs").mkdir(parents=True, exist_ok=True)
    (root / "runs" / "index.csv").write_text("\n".join([INDEX_HEADER, *lines]) + "\n", encoding="utf-8")
    recent = [run_id for run_id, _ in ids][-daily_runs:] if daily_runs else []
    for n, run_id in enumerate(recent):
        path = root / "runs" / run_id / "daily.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(daily_lines(daily_days, seed=100 + n, time_part=n == 0)) + "\n", encoding="utf-8")
    reports = root / "reports"
    (reports / "portfolio_samples" / "router_demo").mkdir(parents=True, exist_ok=True)
    (reports / "portfolio_summary.json").write_text(json.dumps(portfolio_summary(), indent=2) + "\n", encoding="utf-8")
    (reports / "portfolio_samples" / "router_demo" / "telemetry.json").write_text(
        json.dumps(telemetry(), indent=2) + "\n", encoding="utf-8"
    )
    return [run_id for run_id, _ in ids]


def write_rollups(
    path: Path,
    *,
    end: datetime,
    days: int,
    sources: tuple[str, ...] = ("broker_api", "dukascopy", "router_demo"),
    seed: int = 5,
    slo_ms: float = 120000.0,
) -> int:
    """Hourly rollups for ``days`` days before ``end`` (the latency job's format); returns the row count."""
    rng = random.Random(seed)
    lines, streak = [], {s: 0 for s in sources}
    hour = (end - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    while hour < end:
        for source in sources:
            p50 = rng.gauss(1800, 300)
            p95 = p50 * rng.uniform(1.3, 1.8) * (80 if rng.random() < 0.01 else 1)
            breach = p95 > slo_ms
            streak[source] = streak[source] + 1 if breach else 0
            count = 12
            failures = 1 if rng.random() < 0.05 else 0
            row = RollupRow(
                hour.strftime("%Y-%m-%dT%H:00:00Z"),
                source,
                count,
                failures,
                failures / count,
                round(p50, 3),
                round(p95, 3),
                round(p95 * 1.1, 3),
                round(p95 * 1.2, 3),
                breach,
                streak[source],
            )
            lines.append(row.line())
        hour += timedelta(hours=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ROLLUP_HEADER + "".join(lines), encoding="utf-8")
    return len(lines)


if __name__ == "__main__":
    write_inputs(Path(sys.argv[1] if len(sys.argv) > 1 else "ops-template"))

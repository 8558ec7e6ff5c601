"""The four dataset builders: parsed inputs in, schema-checked rows out (no I/O here).

Derived figures (win-rate LCB, drawdown_pct, turnover averages) are defined in docs/dashboard.md;
the docstrings below say the same in one line each.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

from observability.clock import iso, parse_iso
from observability.dashboard.sources import SourceData
from observability.outputs import rollups
from observability.upstream import runs as upstream_runs, state_archive

DEFAULT_CONF = 0.95
DEFAULT_EV_HISTORY_LIMIT = 32


@dataclass(frozen=True)
class BuildOptions:
    ev_history_limit: int = DEFAULT_EV_HISTORY_LIMIT
    generated_at: str = ""


def _round(value: float | None, places: int = 10) -> float | None:
    return None if value is None else round(float(value), places)


def win_rate_stats(alpha: float, beta: float, conf: float | None) -> tuple[float, float]:
    """(posterior mean, lower bound): mean - z * sd of Beta(alpha, beta), z two-sided at ``conf``, clipped to [0, 1]."""
    total = alpha + beta
    mean = alpha / total
    sd = math.sqrt(alpha * beta / (total * total * (total + 1)))
    z = NormalDist().inv_cdf(1 - (1 - (conf if conf is not None else DEFAULT_CONF)) / 2)
    return mean, min(1.0, max(0.0, mean - z * sd))


def build_ev_history(source: SourceData, opts: BuildOptions) -> tuple[list[dict], dict]:
    """Latest ``ev_history_limit`` snapshots of every (strategy, symbol, mode[, variant]) series."""
    known = {key.archive_key.removeprefix(state_archive.STRATEGY_PREFIX) for _, key, _ in source.value}
    series: dict[tuple, dict[str, dict]] = {}
    duplicates = 0
    for rel, key, ev in sorted(source.value, key=lambda item: item[0]):
        strategy = state_archive.canonical_strategy(key.archive_key, known)
        symbol = key.symbol or ev.get("symbol") or "unknown"
        mean, lcb = win_rate_stats(ev["alpha"], ev["beta"], ev["conf"])
        row = {
            "generated_at": key.generated_at,
            "strategy": strategy,
            "symbol": symbol,
            "mode": key.mode,
            "variant": key.variant,
            "ev_alpha": _round(ev["alpha"]),
            "ev_beta": _round(ev["beta"]),
            "ev_decay": _round(ev["decay"]),
            "ev_conf": _round(ev["conf"]),
            "ev_evidence": _round(ev["alpha"] + ev["beta"]),
            "win_rate_mean": _round(mean),
            "win_rate_lcb": _round(lcb),
            "archive_key": key.archive_key,
            "snapshot_path": rel,
        }
        bucket = series.setdefault((strategy, symbol, key.mode, key.variant or ""), {})
        if key.generated_at in bucket:
            duplicates += 1  # the same snapshot archived under two strategy keys: keep the first path
            continue
        bucket[key.generated_at] = row
    rows: list[dict] = []
    for name in sorted(series):
        stamps = sorted(series[name])[-opts.ev_history_limit :]
        rows.extend(series[name][s] for s in stamps)
    meta = {
        "series": len(series),
        "duplicates_dropped": duplicates,
        "selection": f"latest {opts.ev_history_limit} snapshots per strategy/symbol/mode series",
    }
    return rows, meta


def build_slippage(source: SourceData, opts: BuildOptions) -> tuple[list[dict], dict]:
    """One row per strategy in the router telemetry's ``execution_health``."""
    parsed = source.value
    telemetry_at = parsed["generated_at"]
    path = source.input_paths[0]
    rows = [
        {
            **row,
            "generated_at": telemetry_at or opts.generated_at,
            "telemetry_generated_at": telemetry_at,
            "source": path,
        }
        for row in parsed["rows"]
    ]
    return rows, {}


def _ts(stamp: str | None) -> str | None:
    if stamp is None:
        return None
    if len(stamp) == 10:
        return f"{stamp}T00:00:00Z"
    try:
        return iso(parse_iso(stamp))
    except ValueError:
        return f"{stamp[:10]}T00:00:00Z"


def build_turnover(source: SourceData, opts: BuildOptions) -> tuple[list[dict], dict]:
    """One row per run in runs/index.csv; daily figures when the run has a daily.csv."""
    rows = []
    with_daily = 0
    for run, daily in source.value:
        figures = upstream_runs.figures(run, daily)  # the same reading as the weekly report's
        row: dict[str, Any] = {
            "run_id": run.run_id,
            "symbol": run.symbol,
            "mode": run.mode,
            "run_timestamp": iso(run.timestamp),
            "has_daily": daily is not None,
            "start_ts": None,
            "end_ts": None,
            "days": None,
            "active_days": None,
            "avg_trades_per_day": None,
            "avg_trades_active_day": None,
            "max_drawdown_pips": None,
            "drawdown_pct": None,
            "trades": figures.trades,
            "wins": figures.wins,
            "trades_source": figures.source,
            "win_rate": _round(figures.win_rate),
            "total_pips": _round(figures.total_pips, 6),
        }
        if daily is not None:
            with_daily += 1
            fills = daily["fills"]
            max_dd, peak = daily["max_drawdown_pips"], daily["peak_at_drawdown_pips"]
            row.update(
                start_ts=_ts(daily["first"]),
                end_ts=_ts(daily["last"]),
                days=daily["days"],
                active_days=daily["active_days"],
                avg_trades_per_day=_round(fills / daily["days"]) if daily["days"] else None,
                avg_trades_active_day=_round(fills / daily["active_days"]) if daily["active_days"] else None,
                max_drawdown_pips=_round(max_dd, 6),
                drawdown_pct=0.0 if max_dd == 0 else (_round(100 * max_dd / peak, 6) if peak > 0 else None),
            )
        rows.append(row)
    rows.sort(key=lambda r: r["run_id"])
    return rows, {"runs": len(rows), "runs_with_daily": with_daily}


LATENCY_FIELDS = rollups.COLUMNS  # the rollup row as the latency job writes it


def build_latency(source: SourceData, opts: BuildOptions) -> tuple[list[dict], dict]:
    """The hourly rollups as they are, ordered by hour then source."""
    rows = [{k: row[k] for k in LATENCY_FIELDS} for row in source.value]
    rows.sort(key=lambda r: (r["hour_utc"], r["source"]))
    return rows, {"sources": sorted({r["source"] for r in rows})}


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    builder: Callable[[SourceData, BuildOptions], tuple[list[dict], dict]]
    builder_version: int
    source: str  # when it is refreshed: configs/observability/schedules.yaml (README.json, docs/dashboard.md)
    description: str

    @property
    def schema(self) -> str:
        return f"dashboard_{self.name}_row"


SPECS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            "ev_history",
            build_ev_history,
            2,
            "ops/state_archive/**/*.json",
            "EV posterior (alpha, beta, decay) and win-rate LCB per state snapshot",
        ),
        DatasetSpec(
            "slippage",
            build_slippage,
            1,
            "reports/portfolio_samples/router_demo/telemetry.json",
            "execution slippage and reject rate per strategy",
        ),
        DatasetSpec(
            "turnover",
            build_turnover,
            2,
            "runs/index.csv + runs/<id>/daily.csv",
            "trades per day, per active day, win rate and drawdown per run",
        ),
        DatasetSpec(
            "latency",
            build_latency,
            1,
            "ops/signal_latency_rollup.csv",
            "hourly signal-latency rollups per source",
        ),
    )
}

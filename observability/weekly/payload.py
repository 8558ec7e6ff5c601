"""The weekly payload: built from the inputs by one function, validated, serialised canonically.

Same inputs (and the same ``generated_at``/provenance) give byte-identical bodies: arrays are
sorted, floats rounded to fixed precision, JSON canonical (sorted keys, compact).
"""

from __future__ import annotations

import json
import math
import posixpath
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from statistics import NormalDist
from typing import Any

from observability import alertitem, freshness, fsio, schemas
from observability.clock import UTC, iso, parse_iso
from observability.config.weekly import WeeklyConfig
from observability.errors import InputError
from observability.outputs.rollups import RollupRow
from observability.outputs.weekly import CHECKSUM_FIELD, SCHEMA_NAME, SCHEMA_VERSION, checksum
from observability.slo import DEFAULT_TARGET_PERCENT
from observability.upstream import (
    portfolio as upstream_portfolio,
    runs as upstream_runs,
    telemetry as upstream_telemetry,
)
from observability.weekly.inputs import DailyStats, IndexRun, Reader

MAX_FUTURE = timedelta(hours=1)  # an input dated later than the clock by more is not judged fresh (as latency samples)

DIGITS = 6
_BUDGET_RANK = {"ok": 0, "warning": 1, "breach": 2}


@dataclass(frozen=True)
class Week:
    """The reported ISO week: [start, end), Monday 00:00 UTC to the next Monday."""

    start: date

    @property
    def end(self) -> date:
        return self.start + timedelta(days=7)

    @property
    def start_at(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        return self.start_at + timedelta(days=7)

    @classmethod
    def last_complete(cls, now: datetime) -> Week:
        today = now.astimezone(UTC).date()
        return cls(today - timedelta(days=today.weekday() + 7))


@dataclass(frozen=True)
class Provenance:
    job_id: str
    commit_sha: str | None
    source_command: str
    pulled: tuple[dict, ...] = ()  # out/inputs/pulled.json records: where each upstream input came from


def num(value: float | int | None, digits: int = DIGITS) -> float | None:
    """Fixed float formatting: rounded, -0.0 folded to 0.0, non-finite to None."""
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value):
        return None
    value = round(value, digits)
    return 0.0 if value == 0 else value


def wilson_lcb(wins: int, trades: int, confidence: float) -> float | None:
    """Lower bound of the two-sided Wilson score interval for wins/trades."""
    if trades <= 0:
        return None
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = min(max(wins / trades, 0.0), 1.0)
    denom = 1 + z * z / trades
    centre = p + z * z / (2 * trades)
    margin = z * math.sqrt(p * (1 - p) / trades + z * z / (4 * trades * trades))
    return max(0.0, (centre - margin) / denom)


# -- blocks ----------------------------------------------------------------------------------


def _run_item(run: IndexRun, daily: DailyStats | None, cfg: WeeklyConfig) -> dict:
    # The same reading of a run's figures as the dashboard's turnover dataset (upstream.runs.figures).
    figures = upstream_runs.figures(run, daily.totals if daily else None)
    trades, wins = figures.trades or 0, figures.wins or 0
    ev_latest = None
    if trades > 0:
        if figures.total_pips is not None:
            ev_latest = figures.total_pips / trades
        elif run.pnl_per_trade is not None:
            ev_latest = run.pnl_per_trade
    trend = None
    if daily and daily.recent_fills and daily.fills:
        trend = daily.recent_pnl_pips / daily.recent_fills - daily.pnl_pips / daily.fills
    per_day = daily.fills / daily.days if daily and daily.days else None
    per_active = daily.fills / daily.active_days if daily and daily.active_days else None
    win_rate = figures.win_rate
    return {
        "run_id": run.run_id,
        "symbol": run.symbol,
        "mode": run.mode,
        "timestamp": iso(run.timestamp),
        "start_ts": f"{daily.start.isoformat()}T00:00:00Z" if daily and daily.start else None,
        "end_ts": f"{daily.end.isoformat()}T00:00:00Z" if daily and daily.end else None,
        "trades": trades,
        "wins": wins,
        "win_rate": num(min(max(win_rate, 0.0), 1.0)) if win_rate is not None else None,
        "win_rate_lcb": num(wilson_lcb(min(wins, trades), trades, cfg.win_rate_confidence)),
        "sharpe": num(run.sharpe),
        "max_drawdown": num(run.max_drawdown),
        "total_pips": num(figures.total_pips),
        "ev": {"latest": num(ev_latest), "trend_7d": num(trend)},
        "turnover": {
            "avg_trades_per_day": num(per_day),
            "avg_trades_active_day": num(per_active),
            "days": daily.days if daily else 0,
            "active_days": daily.active_days if daily else 0,
        },
        "turnover_per_day": num(per_day),
    }


def _recent_first(runs: list[IndexRun]) -> list[IndexRun]:
    return sorted(runs, key=lambda r: (-r.timestamp.timestamp(), r.run_id))


def _runs_block(reader: Reader, cfg: WeeklyConfig, week: Week) -> dict:
    index = reader.runs_index(cfg.runs_index)
    runs_root = str(Path(cfg.runs_index).parent.as_posix()) or "runs"
    until = week.end_at
    known = [r for r in index if r.timestamp < until]
    reader.note_as_of("runs_index", max((r.timestamp for r in known), default=None), "latest_run")
    pattern = re.compile(cfg.baseline_pattern)
    baseline = _recent_first([r for r in known if pattern.match(r.run_id)])[: cfg.baseline_limit]
    since = until - timedelta(days=cfg.rolling_window_days)
    rolling = _recent_first([r for r in known if r.timestamp >= since])[: cfg.rolling_limit]
    cache: dict[str, DailyStats | None] = {}
    for run in sorted({r.run_id: r for r in baseline + rolling}.values(), key=lambda r: r.run_id):
        cache[run.run_id] = reader.daily(run, runs_root, cfg.ev_trend_days)
    return {
        "baseline": [_run_item(r, cache[r.run_id], cfg) for r in baseline],
        "rolling": [_run_item(r, cache[r.run_id], cfg) for r in rolling],
        "summary": {
            "indexed_runs": len(known),
            "runs_this_week": sum(1 for r in known if r.timestamp >= week.start_at),
            "baseline_count": len(baseline),
            "rolling_count": len(rolling),
            "runs_without_daily": sum(1 for v in cache.values() if v is None),
        },
    }


def _timestamp_or_none(value: Any, display: str, key: str) -> str | None:
    if value in (None, ""):
        return None
    try:
        return iso(parse_iso(str(value)))
    except ValueError:
        raise InputError(
            f"{display}: field {key}: {str(value)[:40]!r} is not an ISO-8601 timestamp", input=display
        ) from None


def _budget_status(ratio: float | None, cfg: WeeklyConfig) -> str:
    if ratio is None:
        return "ok"
    if ratio >= cfg.budget_breach_ratio:
        return "breach"
    if ratio >= cfg.budget_warning_ratio:
        return "warning"
    return "ok"


def _portfolio_blocks(reader: Reader, cfg: WeeklyConfig) -> tuple[dict, dict]:
    doc = reader.json("portfolio_summary", cfg.portfolio_summary, "portfolio summary")
    display = reader._display(cfg.portfolio_summary)
    try:
        summary, skips = upstream_portfolio.parse(doc)  # the one reader (observability.upstream.portfolio)
    except ValueError as exc:
        raise InputError(f"{display}: {exc}", input=display) from None
    reader.skip(skips.for_file(display))
    categories = []
    for cat in summary.categories:
        used, budget = cat.utilisation_pct, cat.budget_pct
        ratio = used / budget if used is not None and budget else None
        categories.append(
            {
                "name": cat.name,
                "utilisation_pct": num(used),
                "budget_pct": num(budget),
                "headroom_pct": num(cat.headroom_pct),
                "utilisation_ratio": num(ratio),
                "status": _budget_status(ratio, cfg),
                "upstream_status": cat.upstream_status,
            }
        )
    points = summary.equity_curve
    start_equity = points[0][1] if points else None
    last_equity = points[-1][1] if points else None
    peak = max((e for _, e in points), default=None)
    worst = max((str(c["status"]) for c in categories), key=_BUDGET_RANK.__getitem__, default="ok")
    portfolio: dict[str, Any] = {
        "budget_status": worst,
        "drawdown_pct": num((peak - last_equity) / peak * 100) if peak and last_equity is not None else None,
        "max_drawdown_pct": num(summary.max_drawdown_pct),
        "gross_exposure_pct": num(summary.gross_exposure_pct),
        "gross_exposure_cap_pct": num(summary.gross_exposure_cap_pct),
        "gross_headroom_pct": num(summary.gross_headroom_pct),
        "equity_curve": {
            "points": len(points),
            "start_ts": points[0][0] if points else None,
            "end_ts": points[-1][0] if points else None,
            "start_equity": num(start_equity),
            "last_equity": num(last_equity),
            "peak_equity": num(peak),
            "change_pct": (
                num((last_equity - start_equity) / start_equity * 100)
                if start_equity and last_equity is not None
                else None
            ),
        },
        "strategies": summary.strategies,
        "source_generated_at": summary.generated_at,
    }
    if portfolio["source_generated_at"]:
        reader.note_as_of("portfolio_summary", parse_iso(portfolio["source_generated_at"]), "generated_at")
    else:
        end_ts = portfolio["equity_curve"]["end_ts"]
        reader.note_as_of("portfolio_summary", parse_iso(end_ts) if end_ts else None, "equity_curve")
    return portfolio, {"categories": categories}


def _execution_block(reader: Reader, cfg: WeeklyConfig) -> dict:
    doc = reader.json("telemetry", cfg.telemetry, "router telemetry")
    display = reader._display(cfg.telemetry)
    key, stamp, stamp_skips = upstream_telemetry.generated_at(doc)  # the dashboard's slippage dataset's reading
    reader.skip(stamp_skips.for_file(display))
    reader.note_as_of("telemetry", parse_iso(stamp) if stamp else None, key)
    try:
        rows, skips = upstream_telemetry.execution_health(doc)
    except ValueError as exc:
        raise InputError(f"{display}: {exc}", input=display) from None
    reader.skip(skips.for_file(display))
    strategies = []
    for row in rows:
        slip, reject = row["slippage_bps"], row["reject_rate"]
        bad = (slip is not None and slip > cfg.max_slippage_bps) or (
            reject is not None and reject > cfg.max_reject_rate
        )
        strategies.append(
            {
                "strategy": row["strategy"],
                "slippage_bps": num(slip),
                "reject_rate": num(reject),
                "status": "warning" if bad else "ok",
            }
        )
    return {
        "slippage_bps": {s["strategy"]: s["slippage_bps"] for s in strategies},
        "reject_rate": {s["strategy"]: s["reject_rate"] for s in strategies},
        "strategies": strategies,
    }


def _weighted(rows: list[RollupRow], attr: str) -> float | None:
    total = sum(r.count for r in rows)
    if not total:
        return None
    return sum(getattr(r, attr) * r.count for r in rows) / total


def _latency_block(rows: list[RollupRow], alerts: list[dict], cfg: WeeklyConfig, target_percent: float) -> dict:
    total = sum(r.count for r in rows)
    failures = sum(r.failure_count for r in rows)
    breaches = [
        {
            "timestamp": r.hour_utc,
            "source": r.source,
            "p95_ms": num(r.p95_ms, 3),
            "failure_rate": num(r.failure_rate, 4),
            "breach_streak": r.breach_streak,
            "status": "critical" if r.breach_streak >= cfg.latency_critical_streak else "warning",
        }
        for r in rows
        if r.breach_flag
    ]
    breaches.sort(key=lambda b: (b["timestamp"], b["source"]))
    by_source: dict[str, list[RollupRow]] = {}
    by_day: dict[tuple[str, str], list[RollupRow]] = {}
    for r in rows:
        by_source.setdefault(r.source, []).append(r)
        by_day.setdefault((r.hour_utc[:10], r.source), []).append(r)
    sources = [
        {
            "source": name,
            "samples": sum(r.count for r in group),
            "p50_ms": num(_weighted(group, "p50_ms"), 3),
            "p95_ms": num(_weighted(group, "p95_ms"), 3),
            "p99_ms": num(_weighted(group, "p99_ms"), 3),
            "max_ms": num(max(r.max_ms for r in group), 3),
            "failure_rate": num(sum(r.failure_count for r in group) / max(1, sum(r.count for r in group)), 4),
            "breach_hours": sum(1 for r in group if r.breach_flag),
            "hours": len({r.hour_utc for r in group}),
        }
        for name, group in sorted(by_source.items())
    ]
    daily = [
        {
            "date": day,
            "source": source,
            "p95_ms": num(_weighted(group, "p95_ms"), 3),
            "samples": sum(r.count for r in group),
        }
        for (day, source), group in sorted(by_day.items())
    ]
    return {
        "samples": total,
        "hours": len({r.hour_utc for r in rows}),
        "p50_ms": num(_weighted(rows, "p50_ms"), 3),
        "p95_ms": num(_weighted(rows, "p95_ms"), 3),
        "p99_ms": num(_weighted(rows, "p99_ms"), 3),
        "max_ms": num(max((r.max_ms for r in rows), default=None), 3),
        "failure_rate": num(failures / total, 4) if total else None,
        "breach_count": len(breaches),
        "pending_alerts": sum(1 for a in alerts if a.get("status") == "firing"),
        "slo_target_percent": target_percent,
        "breaches": breaches,
        "sources": sources,
        "daily": daily,
    }


def alerts_block(
    latency_alerts: list[dict],
    utilisation: dict,
    execution: dict,
    cfg: WeeklyConfig,
    week: Week,
    alerts_dir: str,
    channels: dict[str, list[str]] | None = None,
) -> list[dict]:
    """The report's alerts; a latency alert carries the channels the alert inbox notified (``channels``),
    the report's own (budget, execution, freshness) none: they reach people through this report."""
    out = [alertitem.report_entry(a, alerts_dir, (channels or {}).get(a["id"])) for a in latency_alerts]
    for cat in utilisation["categories"]:
        if cat["status"] == "ok":
            continue
        out.append(
            {
                "id": f"weekly-budget-{_slug(cat['name'])}",
                "severity": "critical" if cat["status"] == "breach" else "warning",
                "message": (
                    f"category {cat['name']} uses {cat['utilisation_pct']}% of a {cat['budget_pct']}% budget "
                    f"(ratio {cat['utilisation_ratio']}): {cat['status']}"
                ),
                "owner": cfg.owner,
                "next_action": f"{cfg.runbook} (budget status)",
                "rule": "budget",
                "source": cat["name"],
                "status": "firing",
                "evidence": {
                    "utilisation_pct": cat["utilisation_pct"],
                    "budget_pct": cat["budget_pct"],
                    "utilisation_ratio": cat["utilisation_ratio"],
                    "week_start": week.start.isoformat(),
                },
                "evidence_path": cfg.portfolio_summary,
                "notified_channels": [],
            }
        )
    for s in execution["strategies"]:
        if s["status"] == "ok":
            continue
        out.append(
            {
                "id": f"weekly-execution-{_slug(s['strategy'])}",
                "severity": "warning",
                "message": (
                    f"{s['strategy']}: slippage {s['slippage_bps']} bps (max {cfg.max_slippage_bps}), "
                    f"reject rate {s['reject_rate']} (max {cfg.max_reject_rate})"
                ),
                "owner": cfg.owner,
                "next_action": f"{cfg.runbook} (execution health)",
                "rule": "execution_health",
                "source": s["strategy"],
                "status": "firing",
                "evidence": {"slippage_bps": s["slippage_bps"], "reject_rate": s["reject_rate"]},
                "evidence_path": cfg.telemetry,
                "notified_channels": [],
            }
        )
    out.sort(key=alertitem.report_order)
    return out


FRESHNESS_INPUTS = ("runs_index", "portfolio_summary", "telemetry", "latency_rollup", "dashboard_manifest")


def freshness_block(reader: Reader, cfg: WeeklyConfig, week: Week, generated_at: datetime) -> dict:
    """Each input's as-of time and age at the end of the week (or now, when earlier), against its max age.

    ``stale``: older than its max age (exactly at it is still ``ok``); ``unknown``: the input carries no
    time to judge by (it is never called ``ok``); inputs the run did not read are left out.
    """
    reference = min(week.end_at, generated_at)
    paths = {s.name: s.path for s in reader.sources}
    inputs = []
    for name in FRESHNESS_INPUTS:
        if name not in reader.as_of or name not in paths:
            continue
        stamp, origin = reader.as_of[name]
        age = freshness.age_seconds(stamp, reference)
        if stamp is not None and stamp > generated_at + MAX_FUTURE:
            # Clock skew or a mistyped year: its age would read 0 s (`ok`) until that date passes.
            age = None
            reader.skip(
                [
                    f"{paths[name]}: {name} is dated {iso(stamp)} ({origin}), in the future of this run's clock "
                    f"({iso(generated_at)}): its freshness cannot be judged (status unknown)"
                ],
                counted=False,
            )
        hours = cfg.max_age(name)
        limit = hours * 3600 if hours is not None else None
        status = "unknown" if age is None else ("stale" if freshness.is_stale(age, limit) else "ok")
        inputs.append(
            {
                "name": name,
                "path": paths[name],
                "as_of": iso(stamp) if stamp else None,
                "as_of_from": origin,
                "age_seconds": age,
                "max_age_seconds": limit,
                "status": status,
            }
        )
    return {
        "reference_at": iso(reference),
        "stale_count": sum(1 for i in inputs if i["status"] == "stale"),
        "inputs": inputs,
    }


def stale_alerts(fresh: dict, cfg: WeeklyConfig, week: Week) -> list[dict]:
    """One warning per stale input, shaped like the budget and execution alerts."""
    out = []
    for entry in fresh["inputs"]:
        if entry["status"] != "stale":
            continue
        out.append(
            {
                "id": f"weekly-stale-{_slug(entry['name'])}",
                "severity": "warning",
                "message": (
                    f"input {entry['name']} ({entry['path']}) is stale: as of {entry['as_of']} "
                    f"({freshness.age_text(entry['age_seconds'])} old), older than "
                    f"{entry['max_age_seconds'] // 3600} h; the figures taken from it are out of date"
                ),
                "owner": cfg.owner,
                "next_action": f"{cfg.runbook} (stale input): refresh {entry['path']} upstream "
                f"(or `observability inputs pull`), then rerun the report",
                "rule": "stale_input",
                "source": entry["name"],
                "status": "firing",
                "evidence": {
                    "as_of": entry["as_of"],
                    "as_of_from": entry["as_of_from"],
                    "age_seconds": entry["age_seconds"],
                    "max_age_seconds": entry["max_age_seconds"],
                    "week_start": week.start.isoformat(),
                },
                "evidence_path": entry["path"],
                "notified_channels": [],
            }
        )
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:100] or "unnamed"


def _attachments(reader: Reader, cfg: WeeklyConfig) -> list[dict]:
    manifest = reader.json("dashboard_manifest", cfg.dashboard_manifest, "dashboard manifest", required=False)
    if manifest is None:
        return []
    base = cfg.attachments_base_uri.rstrip("/") + "/" if cfg.attachments_base_uri else ""
    manifest_source = next(s for s in reader.sources if s.name == "dashboard_manifest")
    generated = manifest.get("generated_at")
    stamp = _timestamp_or_none(generated, manifest_source.path, "generated_at") if isinstance(generated, str) else None
    reader.note_as_of("dashboard_manifest", parse_iso(stamp) if stamp else None, "generated_at")
    out = [
        {"name": "dashboard_manifest", "uri": base + manifest_source.path, "checksum_sha256": manifest_source.sha256}
    ]
    manifest_dir = posixpath.dirname(manifest_source.path)
    datasets = manifest.get("datasets", [])
    items = (
        datasets.items() if isinstance(datasets, dict) else enumerate(datasets if isinstance(datasets, list) else [])
    )
    for key, entry in items:
        if not isinstance(entry, dict):
            continue
        name = entry.get("dataset") or entry.get("name") or (key if isinstance(key, str) else None)
        path = entry.get("path")
        if not isinstance(name, str) or not isinstance(path, str):
            continue
        checksum = entry.get("checksum_sha256")
        valid = isinstance(checksum, str) and re.fullmatch(r"[a-f0-9]{64}", checksum)
        if not path.startswith(manifest_dir + "/"):
            path = posixpath.normpath(posixpath.join(manifest_dir, path.lstrip("/")))  # relative to the manifest
        out.append({"name": f"dashboard_{name}", "uri": base + path, "checksum_sha256": checksum if valid else None})
    out.sort(key=lambda a: (a["name"], a["uri"]))
    return out


# -- the payload ------------------------------------------------------------------------------


def _with_origin(source: dict, pulled: tuple[dict, ...]) -> dict:
    """A ``sources`` item plus ``origin``: the pulled inputs (identity, source without credentials) behind it."""
    from observability import provenance as provenance_mod

    found = provenance_mod.origin(list(pulled), source["path"])
    if found:
        source["origin"] = [provenance_mod._compact(r) for r in sorted(found, key=lambda r: r["name"])]
    return source


def build(
    reader: Reader,
    cfg: WeeklyConfig,
    week: Week,
    generated_at: datetime,
    provenance: Provenance,
    slo_target_percent: float = DEFAULT_TARGET_PERCENT,
) -> dict:
    """Read every input through ``reader`` and return the payload, checksum included;
    ``slo_target_percent``: latency_alert.yaml's (the week's SLO attainment, docs/weekly.md)."""
    runs = _runs_block(reader, cfg, week)
    portfolio, utilisation = _portfolio_blocks(reader, cfg)
    execution = _execution_block(reader, cfg)
    rows = reader.rollups(cfg.latency_rollup, iso(week.start_at), iso(week.end_at))
    start_key = week.start_at.strftime("%Y%m%dT%H%M%SZ")
    end_key = week.end_at.strftime("%Y%m%dT%H%M%SZ")
    latency_alerts = reader.latency_alerts(cfg.latency_alerts_dir, start_key, end_key)
    latency = _latency_block(rows, latency_alerts, cfg, slo_target_percent)
    attachments = _attachments(reader, cfg)
    fresh = freshness_block(reader, cfg, week, generated_at)
    alerts = alerts_block(
        latency_alerts, utilisation, execution, cfg, week, cfg.latency_alerts_dir, reader.alert_channels()
    )
    alerts = sorted(alerts + stale_alerts(fresh, cfg, week), key=alertitem.report_order)
    payload = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": iso(generated_at),
        "week_start": week.start.isoformat(),
        "week_end": week.end.isoformat(),
        "period": {"start": iso(week.start_at), "end": iso(week.end_at)},
        "runs": runs,
        "portfolio": portfolio,
        "utilisation": utilisation,
        "execution_health": execution,
        "latency": latency,
        "alerts": alerts,
        "attachments": attachments,
        "freshness": fresh,
        "sources": sorted(
            (_with_origin(s.as_dict(), provenance.pulled) for s in reader.sources), key=lambda s: (s["name"], s["path"])
        ),
        "provenance": {
            "job_id": provenance.job_id,
            "commit_sha": provenance.commit_sha,
            "source_command": provenance.source_command,
        },
    }
    return with_checksum(payload)


def with_checksum(payload: dict) -> dict:
    return {**payload, CHECKSUM_FIELD: checksum(payload)}


def body_bytes(payload: dict) -> bytes:
    """The exact bytes sent, signed and stored: canonical compact JSON, UTF-8."""
    return fsio.canonical_json(payload).encode("utf-8")


def validation_errors(payload: Any, schema_file: Path | None = None) -> list[dict]:
    """Every schema error as ``{"path", "message"}``, sorted; the bundled schema unless one is given."""
    if schema_file is None:
        found = schemas.errors(SCHEMA_NAME, payload)
    else:
        from jsonschema import Draft202012Validator, FormatChecker

        validator = Draft202012Validator(load_schema_file(schema_file), format_checker=FormatChecker())
        found = sorted(
            ((list(e.absolute_path), e.message) for e in validator.iter_errors(payload)),
            key=lambda item: (schemas.json_path(item[0]), item[1]),
        )
    return [{"path": schemas.json_path(path), "message": message} for path, message in found]


def load_schema_file(path: Path) -> dict:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError as JsonSchemaError

    from observability.errors import ConfigError

    try:
        schema = fsio.parse_json(Path(path).read_bytes())
        Draft202012Validator.check_schema(schema)
    except FileNotFoundError:
        raise ConfigError(f"--payload-schema {path}: file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"--payload-schema {path}: not a readable JSON document ({exc})") from None
    except JsonSchemaError as exc:
        raise ConfigError(f"--payload-schema {path}: not a valid draft 2020-12 schema ({exc.message})") from None
    return schema

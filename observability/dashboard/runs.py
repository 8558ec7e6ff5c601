"""Reader for ``runs/index.csv`` and ``runs/<id>/daily.csv`` (upstream backtest/forward runs).

Upstream leaves fields empty, writes ``wins`` as ``0.0`` and may add a time part to daily dates
(``2024-01-02 00:00:00``, ``2024-01-02T00:00:00Z``); runs without a ``daily.csv`` are normal.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import operator
import re
from datetime import date
from pathlib import Path

from observability.dashboard.cache import ContentCache
from observability.dashboard.sources import SourceData, read_required
from observability.workspace import Workspace

INDEX_REQUIRED = ("run_id",)
DAILY_REQUIRED = ("date", "fills", "wins", "pnl_pips")


def _optional_number(text: str | None, column: str) -> float | None:
    if text is None or not text.strip():
        return None
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{column}: {text!r} is not finite")
    return value


def _count(text: str | None, column: str) -> int | None:
    value = _optional_number(text, column)
    if value is None:
        return None
    if value < 0 or value != int(value):
        raise ValueError(f"{column}: {text!r} is not a count")
    return int(value)


def parse_index(data: bytes) -> dict:
    """``{"runs": [...], "errors": [...]}``; a row with an unusable field is reported, not fatal."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 ({exc.reason})") from None
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in INDEX_REQUIRED if c not in header]
    if missing:
        raise ValueError(f"line 1: header lacks {', '.join(missing)} (found {','.join(header) or 'nothing'})")
    runs, errors, seen = [], [], set()
    for line, row in enumerate(reader, start=2):
        run_id = (row.get("run_id") or "").strip()
        if not run_id:
            errors.append(f"line {line}: empty run_id; row skipped")
            continue
        if run_id in seen:
            errors.append(f"line {line}: duplicate run_id {run_id}; later row kept")
        try:
            trades = _count(row.get("trades"), "trades")
            wins = _count(row.get("wins"), "wins")
            win_rate = _optional_number(row.get("win_rate"), "win_rate")
            if win_rate is not None and not 0 <= win_rate <= 1:
                raise ValueError(f"win_rate: {win_rate} outside 0..1")
            if trades is not None and wins is not None and wins > trades:
                raise ValueError(f"wins {wins} > trades {trades}")
        except ValueError as exc:
            errors.append(f"line {line}: {exc}; row skipped")
            continue
        seen.add(run_id)
        runs.append({"run_id": run_id, "run_dir": (row.get("run_dir") or "").strip() or None,
                     "timestamp": (row.get("timestamp") or "").strip() or None,
                     "symbol": (row.get("symbol") or "").strip() or None,
                     "mode": (row.get("mode") or "").strip() or None,
                     "trades": trades, "wins": wins, "win_rate": win_rate})
    by_id = {r["run_id"]: r for r in runs}
    return {"runs": [by_id[k] for k in dict.fromkeys(r["run_id"] for r in runs)], "errors": errors}


def _date_part(text: str) -> str:
    """``2024-01-02``, ``2024-01-02 00:00:00`` and ``2024-01-02T00:00:00Z`` -> ``2024-01-02``."""
    day = text.strip()[:10]
    if len(day) != 10 or day[4] != "-" or day[7] != "-" or not (day[:4] + day[5:7] + day[8:]).isdigit():
        raise ValueError(f"date {text.strip()!r} is not YYYY-MM-DD[ time]")
    return day


_VALID_DAYS: set[str] = set()
_DATES = re.compile(r"(?:\d{4}-\d{2}-\d{2}\n)*\d{4}-\d{2}-\d{2}")


def _parse_daily_fast(lines: list[str], header: list[str]) -> dict | None:
    """Column-wise aggregation with C-level map/zip/accumulate; None when any row needs the careful path."""
    rows = list(map(str.split, filter(None, lines), itertools.repeat(",")))
    if not rows or set(map(len, rows)) != {len(header)}:
        return None
    picked = operator.itemgetter(*(header.index(c) for c in DAILY_REQUIRED))
    raw_dates, raw_fills, raw_wins, raw_pnl = zip(*map(picked, rows))
    stamps = list(map(str.strip, raw_dates))
    days = list(map(operator.itemgetter(slice(0, 10)), stamps))
    if not _DATES.fullmatch("\n".join(days)):
        return None
    try:
        fills = list(map(int, raw_fills))
        wins = list(map(int, raw_wins))
        pnl = list(map(float, raw_pnl))
    except ValueError:
        return None  # "3.0", empty fields, junk: the careful path decides
    if min(fills) < 0 or min(wins) < 0 or any(map(operator.gt, wins, fills)) or not math.isfinite(sum(pnl)):
        return None
    distinct = set(days)
    unseen = distinct - _VALID_DAYS
    try:
        for day in unseen:
            date.fromisoformat(day)
    except ValueError:
        return None
    if len(_VALID_DAYS) < 200_000:  # runs share their calendar: check each date once per process
        _VALID_DAYS.update(unseen)
    cum = list(itertools.accumulate(pnl))
    peaks = list(itertools.accumulate(cum, max, initial=0.0))[1:]
    falls = list(map(operator.sub, peaks, cum))
    max_dd = max(falls)
    peak_at_dd = peaks[falls.index(max_dd)] if max_dd > 0 else 0.0
    return {"days": len(distinct), "active_days": len(set(itertools.compress(days, fills))),
            "fills": sum(fills), "wins": sum(wins), "first": min(stamps), "last": max(stamps),
            "max_drawdown_pips": max(max_dd, 0.0), "peak_at_drawdown_pips": peak_at_dd, "total_pips": cum[-1]}


def parse_daily(data: bytes) -> dict:
    """Aggregates of one daily.csv: days, active days, fills, wins, first/last date, drawdown."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 ({exc.reason})") from None
    lines = text.splitlines()
    if not lines:
        raise ValueError("empty file (no header)")
    header = [h.strip() for h in lines[0].split(",")]
    missing = [c for c in DAILY_REQUIRED if c not in header]
    if missing:
        raise ValueError(f"line 1: header lacks {', '.join(missing)}")
    fast = _parse_daily_fast(lines[1:], header)
    if fast is not None:
        return fast
    i_date, i_fills, i_wins, i_pnl = (header.index(c) for c in DAILY_REQUIRED)
    width = len(header)
    days: set[str] = set()
    active: set[str] = set()
    fills = wins = 0
    first = last = None
    cum = peak = 0.0
    max_dd = 0.0
    peak_at_dd = 0.0
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split(",")
        if len(parts) != width:
            raise ValueError(f"line {number}: expected {width} fields, found {len(parts)}")
        try:
            day = _date_part(parts[i_date])
            date.fromisoformat(day)
            f = int(float(parts[i_fills] or 0))
            w = int(float(parts[i_wins] or 0))
            pnl = float(parts[i_pnl] or 0.0)
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from None
        if f < 0 or w < 0 or w > f or not math.isfinite(pnl):
            raise ValueError(f"line {number}: fills={f}, wins={w}, pnl_pips={parts[i_pnl]} out of range")
        stamp = parts[i_date].strip()
        if first is None or stamp < first:
            first = stamp
        if last is None or stamp > last:
            last = stamp
        days.add(day)
        if f > 0:
            active.add(day)
        fills += f
        wins += w
        cum += pnl
        peak = max(peak, cum)
        if peak - cum > max_dd:
            max_dd, peak_at_dd = peak - cum, peak
    return {"days": len(days), "active_days": len(active), "fills": fills, "wins": wins,
            "first": first, "last": last, "max_drawdown_pips": max_dd, "peak_at_drawdown_pips": peak_at_dd,
            "total_pips": cum}


def read(ws: Workspace, runs_root: Path, cache: ContentCache) -> SourceData:
    index = runs_root / "index.csv"
    rel_index = ws.rel(index)
    digest, parsed = read_required(rel_index, index, "runs index", cache, parse_index)
    out = SourceData(value=[], inputs=[(rel_index, digest)])
    out.warnings.extend(f"{rel_index}: {e}" for e in parsed["errors"])
    out.skipped += sum(1 for e in parsed["errors"] if e.endswith("row skipped"))
    dailies: list[tuple[str, bytes]] = []
    for run in parsed["runs"]:
        daily_path = runs_root / run["run_id"] / "daily.csv"
        rel = ws.rel(daily_path)
        try:
            dailies.append((rel, daily_path.read_bytes()))
        except FileNotFoundError:
            pass
        except OSError as exc:
            out.warnings.append(f"{rel}: cannot read ({exc.strerror or exc}); run exported without daily figures")
    parsed_daily = cache.compute_many(dailies, parse_daily)
    for run in parsed["runs"]:
        rel = ws.rel(runs_root / run["run_id"] / "daily.csv")
        daily = None
        if rel in parsed_daily:
            digest, value = parsed_daily[rel]
            out.inputs.append((rel, digest))
            if isinstance(value, ValueError):
                out.warnings.append(f"{rel}: {value}; run exported without daily figures")
            else:
                daily = value
        out.value.append((run, daily))
    return out

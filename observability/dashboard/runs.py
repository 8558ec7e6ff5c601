"""Dashboard side of ``runs/index.csv`` and ``runs/<id>/daily.csv``: the shared reader
(:mod:`observability.upstream.runs`) behind the content cache, plus a fast path for clean daily files.

Rows with bad values, or naming a place outside the workspace, are skipped with the shared warning
text (:mod:`observability.upstream.values`); runs without a ``daily.csv`` are normal.
"""

from __future__ import annotations

import itertools
import math
import operator
import re
from datetime import date
from pathlib import Path

from observability.dashboard.cache import ContentCache
from observability.dashboard.sources import SourceData, read_required
from observability.upstream import runs as upstream_runs
from observability.upstream.values import BadValue
from observability.workspace import Workspace

INDEX_REQUIRED = upstream_runs.INDEX_REQUIRED
DAILY_REQUIRED = upstream_runs.DAILY_REQUIRED


def parse_index(data: bytes) -> dict:
    """``{"runs": [...], "errors": [...], "notes": [...]}`` (JSON-able, for the cache); bad rows are skipped."""
    index = upstream_runs.parse_index(data)
    return {"runs": [r.to_json() for r in index.rows], "errors": index.skips.warnings, "notes": index.notes}


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
    """Aggregates of one daily.csv (days, active days, fills, wins, first/last date, drawdown) and skip warnings."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 (byte {exc.start}: {exc.reason})") from None
    lines = text.splitlines()
    if not lines:
        raise ValueError("empty file (no header)")
    header = [h.strip() for h in lines[0].split(",")]
    if any(c not in header for c in DAILY_REQUIRED):
        return parse_daily_careful(data)
    fast = _parse_daily_fast(lines[1:], header)
    if fast is not None:
        return {**fast, "warnings": []}
    return parse_daily_careful(data)


def parse_daily_careful(data: bytes) -> dict:
    rows, skips = upstream_runs.parse_daily_rows(data)
    return {**upstream_runs.daily_totals(rows), "warnings": skips.warnings}


def read(ws: Workspace, runs_root: Path, cache: ContentCache) -> SourceData:
    index = runs_root / "index.csv"
    rel_index = ws.rel(index)
    digest, parsed = read_required(rel_index, index, "runs index", cache, parse_index)
    out = SourceData(value=[], inputs=[(rel_index, digest)])
    out.warnings.extend(f"{rel_index}: {e}" for e in parsed["errors"] + parsed["notes"])
    out.skipped += len(parsed["errors"])
    dailies: list[tuple[str, bytes]] = []
    usable: list[tuple[upstream_runs.IndexRow, Path]] = []
    for doc in parsed["runs"]:
        run = upstream_runs.IndexRow.from_json(doc)
        try:
            folder = upstream_runs.run_folder(ws.root, runs_root, run)
        except BadValue as exc:
            out.warnings.append(f"{rel_index}: line {run.line}: {exc}; row skipped")
            out.skipped += 1
            continue
        daily_path = folder / "daily.csv"
        usable.append((run, daily_path))
        rel = ws.rel(daily_path)
        try:
            dailies.append((rel, daily_path.read_bytes()))
        except FileNotFoundError:
            pass
        except OSError as exc:
            out.warnings.append(f"{rel}: cannot read ({exc.strerror or exc}); run published without daily figures")
    parsed_daily = cache.compute_many(dailies, parse_daily)
    for run, daily_path in usable:
        rel = ws.rel(daily_path)
        daily = None
        if rel in parsed_daily:
            digest, value = parsed_daily[rel]
            out.inputs.append((rel, digest))
            if isinstance(value, ValueError):
                out.warnings.append(f"{rel}: {value}; run published without daily figures")
            else:
                out.warnings.extend(f"{rel}: {w}" for w in value["warnings"])
                out.skipped += len(value["warnings"])
                daily = value
        out.value.append((run, daily))
    return out

"""Dashboard side of ``runs/index.csv`` and ``runs/<id>/daily.csv``: the shared reader
(:mod:`observability.upstream.runs`) behind the content cache, plus a fast path for clean daily files.

Rows with bad values, or naming a place outside the workspace, are skipped with the shared warning
text (:mod:`observability.upstream.values`); runs without a ``daily.csv`` are normal.
"""

from __future__ import annotations

import itertools
import math
import operator
import os
import stat
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
_NEWLINE = itertools.repeat("\n")
_EXACT = 2 ** 53  # counts above this differ between int() and the careful path's float reading
_SMALL = {str(n): n for n in range(1000)}


def _columns(body: str, width: int, wanted: list[int]) -> list[list[str]] | None:
    """The ``wanted`` columns of the body, or None unless every line has exactly ``width`` fields.

    Splitting the whole body on commas leaves each line's last field and the next line's first
    joined by a newline, every ``width - 1``-th item; the count of items and a newline in each of
    those joints prove every line has ``width - 1`` commas, without a list per line.
    """
    lines = body.count("\n") + 1
    step = width - 1
    flat = body.split(",")
    if len(flat) != lines * step + 1:
        return None
    joints = flat[step::step]
    if not all(map(operator.contains, itertools.islice(joints, lines - 1), _NEWLINE)):
        return None
    ends = "\n".join(joints).split("\n") if 0 in wanted or step in wanted else []
    # ends: last field of line 1, first of line 2, last of line 2, ...
    return [[flat[0], *ends[1::2]] if c == 0 else ends[0::2] if c == step else flat[c::step] for c in wanted]


def _parse_daily_fast(text: str, header: list[str]) -> dict | None:
    """Column-wise aggregation with C-level split/map/accumulate; None when any row needs the careful path."""
    # the careful path splits lines on every str.splitlines() boundary; only \n is handled here
    if not text.isascii() or any(c in text for c in "\r\x0b\x0c\x1c\x1d\x1e"):
        return None
    head_end = text.find("\n")
    body = text[head_end + 1:].rstrip("\n") if head_end >= 0 else ""
    if not body:
        return None
    columns = _columns(body, len(header), [header.index(c) for c in DAILY_REQUIRED])
    if columns is None:
        return None
    raw_dates, raw_fills, raw_wins, raw_pnl = columns
    stamps = list(map(str.strip, raw_dates))
    days = list(map(operator.itemgetter(slice(0, 10)), stamps))
    try:  # plain counts below 1,000 by lookup (no sign, no spaces, no leading zero), the rest by int()
        fills = list(map(_SMALL.__getitem__, raw_fills))
        wins = list(map(_SMALL.__getitem__, raw_wins))
    except KeyError:
        try:
            fills = list(map(int, raw_fills))
            wins = list(map(int, raw_wins))
        except ValueError:
            return None  # "3.0", empty fields, junk: the careful path decides
        if min(fills) < 0 or min(wins) < 0 or max(fills) > _EXACT:
            return None
    if any(map(operator.gt, wins, fills)):
        return None
    try:
        pnl = list(filter(None, map(float, raw_pnl)))  # a zero moves neither the sum nor the drawdown
    except ValueError:
        return None
    max_dd = peak_at_dd = total = 0.0
    if pnl:
        cum = list(itertools.accumulate(pnl, initial=0.0))
        del cum[0]
        total = cum[-1]
        if not math.isfinite(total):
            return None
        peaks = list(itertools.accumulate(cum, max, initial=0.0))
        del peaks[0]
        falls = list(map(operator.sub, peaks, cum))
        max_dd = max(falls)
        peak_at_dd = peaks[falls.index(max_dd)] if max_dd > 0 else 0.0
    distinct = set(days)
    unseen = distinct - _VALID_DAYS
    try:  # the careful path's rule (upstream.runs._day): 10 characters that date.fromisoformat reads
        for day in unseen:
            if len(day) != 10:
                return None
            date.fromisoformat(day)
    except ValueError:
        return None
    if len(_VALID_DAYS) < 200_000:  # runs share their calendar: check each date once per process
        _VALID_DAYS.update(unseen)
    return {"days": len(distinct), "active_days": len(set(itertools.compress(days, fills))),
            "fills": sum(fills), "wins": sum(wins), "first": min(stamps), "last": max(stamps),
            "max_drawdown_pips": max_dd, "peak_at_drawdown_pips": peak_at_dd, "total_pips": total}


def parse_daily(data: bytes) -> dict:
    """Aggregates of one daily.csv (days, active days, fills, wins, first/last date, drawdown) and skip warnings."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 (byte {exc.start}: {exc.reason})") from None
    if "\r" in text:
        text = text.replace("\r\n", "\n")  # upstream writes CRLF; a lone CR is left to the careful path
    header = [h.strip() for h in text.partition("\n")[0].split(",")]
    if any(c not in header for c in DAILY_REQUIRED):
        return parse_daily_careful(data)
    fast = _parse_daily_fast(text, header)
    if fast is not None:
        return {**fast, "warnings": []}
    return parse_daily_careful(data)


DAILY_FIELDS = ("days", "active_days", "fills", "wins", "first", "last", "max_drawdown_pips",
                "peak_at_drawdown_pips", "total_pips", "warnings")


def cached_daily(data: bytes) -> list:
    """:func:`parse_daily` as the cache holds it: the values of DAILY_FIELDS in order (half the JSON to read)."""
    totals = parse_daily(data)
    return [totals[k] for k in DAILY_FIELDS]


def parse_daily_careful(data: bytes) -> dict:
    rows, skips = upstream_runs.parse_daily_rows(data)
    return {**upstream_runs.daily_totals(rows), "warnings": skips.warnings}


def _linked(runs_root: Path) -> set[str] | None:
    """Casefolded names of the symbolic links directly in ``runs_root``; None when it cannot be listed."""
    try:
        with os.scandir(runs_root) as entries:
            return {e.name.casefold() for e in entries if e.is_symlink()}
    except OSError:
        return None


class Runs:
    """The usable runs as ``(IndexRow, daily totals or None)`` pairs, made when iterated.

    A dataset whose inputs are unchanged is never built, so an unchanged export of thousands of
    runs does not turn their cached rows back into objects.
    """

    def __init__(self) -> None:
        self._items: list[tuple[list, list | None]] = []

    def append(self, row: list, daily: list | None) -> None:
        self._items.append((row, daily))

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self):
        for row, daily in self._items:
            yield upstream_runs.IndexRow.from_json(row), (None if daily is None else dict(zip(DAILY_FIELDS, daily)))


def _is_link(path: str) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False


def read(ws: Workspace, runs_root: Path, cache: ContentCache) -> SourceData:
    index = runs_root / "index.csv"
    rel_index = ws.rel(index)
    digest, parsed = read_required(rel_index, index, "runs index", cache, parse_index)
    out = SourceData(value=Runs(), inputs=[(rel_index, digest)])
    out.warnings.extend(f"{rel_index}: {e}" for e in parsed["errors"] + parsed["notes"])
    out.skipped += len(parsed["errors"])
    # A run id is one plain name, so only a symbolic link among runs_root's entries, a daily.csv
    # that is one, or runs_root itself leading out can take a run's figures from outside the
    # workspace: only those rows need the shared, resolving check (upstream_runs.run_folder).
    links = _linked(runs_root)
    try:
        runs_root.resolve().relative_to(ws.root.resolve())
    except (ValueError, OSError, RuntimeError):
        links = None
    rel_runs = ws.rel(runs_root)
    prefix = "" if rel_runs == "." else rel_runs + "/"
    root = os.fspath(runs_root)
    usable: list[tuple[list, str]] = []
    dailies: list[tuple[str, str]] = []
    for row in parsed["runs"]:
        line, run_id = row[0], row[1]
        folder = f"{root}/{run_id}"
        if links is None or run_id.casefold() in links or _is_link(f"{folder}/daily.csv"):
            try:
                folder = os.fspath(upstream_runs.run_folder(ws.root, runs_root, upstream_runs.IndexRow.from_json(row)))
            except BadValue as exc:
                out.warnings.append(f"{rel_index}: line {line}: {exc}; row skipped")
                out.skipped += 1
                continue
        rel = f"{prefix}{run_id}/daily.csv"
        usable.append((row, rel))
        dailies.append((rel, f"{folder}/daily.csv"))
    parsed_daily = cache.compute_files(dailies, cached_daily)
    for row, rel in usable:
        daily = None
        if rel in parsed_daily:
            digest, value = parsed_daily[rel]
            if isinstance(value, OSError):
                out.warnings.append(f"{rel}: cannot read ({value}); run published without daily figures")
            elif isinstance(value, ValueError):
                out.inputs.append((rel, digest))
                out.warnings.append(f"{rel}: {value}; run published without daily figures")
            else:
                out.inputs.append((rel, digest))
                if value[-1]:
                    out.warnings.extend(f"{rel}: {w}" for w in value[-1])
                    out.skipped += len(value[-1])
                daily = value
        out.value.append(row, daily)
    return out

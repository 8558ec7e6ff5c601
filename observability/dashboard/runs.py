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
_CALENDARS: dict[bytes, tuple[str, str, int, list[str] | None]] = {}
_CALENDARS_KEPT = 32  # per process: ~40 KB of key (and at most one days list) per 2,000-row calendar
_EXACT = 2**53  # counts above this differ between int() and the careful path's float reading
_SMALL = {str(n).encode(): n for n in range(1000)}
_BOM = "\ufeff".encode()
# str.splitlines() boundaries within ASCII besides \n (a \r\n is made \n first): the careful path's lines
_OTHER_BREAKS = b"\r\x0b\x0c\x1c\x1d\x1e"
_NOT_SEPARATOR = bytes(b for b in range(256) if b not in b",\n" + _OTHER_BREAKS)  # kept: they spoil the match


def _fields(body: bytes, width: int) -> list[bytes] | None:
    """Every field of the body, line after line, or None unless every line has exactly ``width`` fields.

    Deleting every byte but commas and line breaks leaves ``width - 1`` commas and a newline per
    line when the widths are right and ``\n`` is the only break: one comparison proves both
    without a list per line.
    """
    separators = body.translate(None, _NOT_SEPARATOR)
    lines = separators.count(b"\n") + 1
    commas = b"," * (width - 1)
    if len(separators) != lines * width - 1 or separators != (commas + b"\n") * (lines - 1) + commas:
        return None
    return body.replace(b"\n", b",").split(b",")


def _calendar(raw_dates: list[bytes]) -> tuple[str, str, int, list[str] | None] | None:
    """(first stamp, last stamp, distinct days, days or None when no day repeats) of a date column.

    None when a date is not one the careful path reads. Runs over the same history share their
    date column, so the answer is kept per column (joined: a newline never occurs within a field).
    """
    key = b"\n".join(raw_dates)
    known = _CALENDARS.get(key)
    if known is not None:
        return known
    stamps = list(map(str.strip, key.decode("ascii").split("\n")))  # str.strip: the careful path's whitespace
    days = list(map(operator.itemgetter(slice(0, 10)), stamps))
    distinct = set(days)
    unseen = distinct - _VALID_DAYS
    try:  # the careful path's rule (upstream.runs._day): 10 characters that date.fromisoformat reads
        for day in unseen:
            if len(day) != 10:
                return None
            date.fromisoformat(day)
    except ValueError:
        return None
    if len(_VALID_DAYS) < 200_000:  # calendars overlap: check each date once per process
        _VALID_DAYS.update(unseen)
    if all(map(operator.le, stamps, itertools.islice(stamps, 1, None))):  # in date order, as upstream writes
        first, last = stamps[0], stamps[-1]
    else:
        first, last = min(stamps), max(stamps)
    found = (first, last, len(distinct), None if len(distinct) == len(days) else days)
    if len(_CALENDARS) >= _CALENDARS_KEPT:
        del _CALENDARS[next(iter(_CALENDARS))]
    _CALENDARS[key] = found
    return found


def _parse_daily_fast(data: bytes) -> dict | None:
    """Column-wise aggregation with C-level split/map/accumulate over the bytes; None when any row
    (or the file's text: not ASCII, lone CR, other line breaks) needs the careful path."""
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    if not data.isascii():
        return None
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")  # upstream writes CRLF; a lone CR is left to the careful path
    head, _, body = data.partition(b"\n")
    if any(map(head.__contains__, _OTHER_BREAKS)):  # in the body, _fields finds them
        return None
    header = [h.strip() for h in head.decode("ascii").split(",")]
    if any(c not in header for c in DAILY_REQUIRED):
        return None
    body = body.rstrip(b"\n")
    if not body:
        return None
    width = len(header)
    flat = _fields(body, width)
    if flat is None:
        return None
    i_date, i_fills, i_wins, i_pnl = (header.index(c) for c in DAILY_REQUIRED)
    raw_fills, raw_wins = flat[i_fills::width], flat[i_wins::width]
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
        pnl = list(filter(None, map(float, flat[i_pnl::width])))  # a zero moves neither the sum nor the drawdown
    except ValueError:
        return None
    max_dd = peak_at_dd = total = 0.0
    if pnl and (max(pnl) > upstream_runs.MAX_DAILY_PIPS or min(pnl) < -upstream_runs.MAX_DAILY_PIPS):
        return None  # the careful path skips those rows with a warning
    if pnl:
        cum = list(itertools.accumulate(pnl))  # from 0.0 as the careful path: 0.0 + x is x
        total = cum[-1]
        if not math.isfinite(total):
            return None
        peaks = list(itertools.accumulate(cum, max, initial=0.0))
        del peaks[0]
        falls = list(map(operator.sub, peaks, cum))
        max_dd = max(falls)
        peak_at_dd = peaks[falls.index(max_dd)] if max_dd > 0 else 0.0
    calendar = _calendar(flat[i_date::width])
    if calendar is None:
        return None
    first, last, days, repeated = calendar
    # a day is active when it has a fill; with no day repeated that is a row whose fills are not 0
    active = len(fills) - fills.count(0) if repeated is None else len(set(itertools.compress(repeated, fills)))
    return {
        "days": days,
        "active_days": active,
        "fills": sum(fills),
        "wins": sum(wins),
        "first": first,
        "last": last,
        "max_drawdown_pips": max_dd,
        "peak_at_drawdown_pips": peak_at_dd,
        "total_pips": total,
    }


def parse_daily(data: bytes) -> dict:
    """Aggregates of one daily.csv (days, active days, fills, wins, first/last date, drawdown) and skip warnings."""
    fast = _parse_daily_fast(data)
    if fast is not None:
        return {**fast, "warnings": []}
    return parse_daily_careful(data)


DAILY_FIELDS = (
    "days",
    "active_days",
    "fills",
    "wins",
    "first",
    "last",
    "max_drawdown_pips",
    "peak_at_drawdown_pips",
    "total_pips",
    "warnings",
)


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
            yield (
                upstream_runs.IndexRow.from_json(row),
                (None if daily is None else dict(zip(DAILY_FIELDS, daily, strict=False))),
            )


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
            daily_digest, value = parsed_daily[rel]
            if isinstance(value, OSError):
                out.warnings.append(f"{rel}: cannot read ({value}); run published without daily figures")
            elif isinstance(value, ValueError):
                assert daily_digest is not None  # read (and hashed): only an unreadable file has no digest
                out.inputs.append((rel, daily_digest))
                out.warnings.append(f"{rel}: {value}; run published without daily figures")
            else:
                assert daily_digest is not None
                out.inputs.append((rel, daily_digest))
                if value[-1]:
                    out.warnings.extend(f"{rel}: {w}" for w in value[-1])
                    out.skipped += len(value[-1])
                daily = value
        out.value.append(row, daily)
    return out

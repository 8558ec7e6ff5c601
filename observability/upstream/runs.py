"""The one reader of ``runs/index.csv`` and ``runs/<id>/daily.csv``, used by weekly and dashboard.

Upstream leaves fields empty, writes ``wins`` as ``0.0``, stamps runs ``20250921_130118`` (or
ISO-8601) and may add a time part to daily dates; runs without a ``daily.csv`` are normal. A row
with a bad value is skipped by the rule in :mod:`observability.upstream.values`. A row is also
refused when it names a place outside the workspace: a ``run_id`` that is not one plain name, a
``run_dir`` that is absolute or climbs out with ``..``, or a run folder that is a symbolic link
leading out. A run's daily file is always ``<folder of index.csv>/<run_id>/daily.csv``.

A run's figures (trades, wins, total pips, win rate) come from its ``daily.csv`` when it has a
usable one, else from its index row: :func:`figures`, so every job publishes the same numbers.
"""

from __future__ import annotations

import csv
import io
import posixpath
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from observability.clock import UTC, iso, parse_iso
from observability.upstream import values
from observability.upstream.values import BadValue, Skips

INDEX_REQUIRED = ("run_id",)
DAILY_REQUIRED = ("date", "fills", "wins", "pnl_pips")
# A day's pnl_pips beyond this is no real figure: the row is skipped with a warning. It also keeps
# every running total and drawdown finite (a million rows at the bound sum to 1e18), where two rows
# of 1e308 would overflow them.
MAX_DAILY_PIPS = 1e12
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")
_COMPACT = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})_([0-9]{2})([0-9]{2})([0-9]{2})")


@dataclass(frozen=True)
class IndexRow:
    """One usable row of ``runs/index.csv`` (``None`` where upstream left the field empty)."""

    line: int
    run_id: str
    run_dir: str | None
    timestamp: datetime
    timestamp_text: str
    symbol: str | None
    mode: str | None
    trades: int | None
    wins: int | None
    win_rate: float | None
    total_pips: float | None
    sharpe: float | None
    max_drawdown: float | None
    pnl_per_trade: float | None

    def to_json(self) -> list:
        """A compact JSON-able copy, the fields in order (for content caches); :meth:`from_json` gives the row back."""
        return [iso(v) if isinstance(v, datetime) else v for v in (getattr(self, k) for k in self.__dataclass_fields__)]

    @classmethod
    def from_json(cls, values: list) -> IndexRow:
        line, run_id, run_dir, stamp, *rest = values
        return cls(line, run_id, run_dir, parse_iso(stamp), *rest)


@dataclass(frozen=True)
class Index:
    rows: list[IndexRow]
    skips: Skips
    notes: list[str]  # not skips: e.g. a duplicate run_id whose later row replaced the earlier one


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 (byte {exc.start}: {exc.reason})") from None


def run_id(value: str | None) -> str:
    text = (value or "").strip()
    if not text:
        raise BadValue("run_id", "empty")
    if not RUN_ID.fullmatch(text):
        raise BadValue("run_id", f"{values._shown(text)} is not a run id (letters, digits, _ . - only)")
    return text


def run_dir(value: str | None) -> str | None:
    """The row's ``run_dir`` when it stays inside the workspace (it is checked, never followed)."""
    text = (value or "").strip()
    if not text:
        return None
    if text.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", text):
        raise BadValue("run_dir", f"{values._shown(text)} is an absolute path (must be relative to the workspace)")
    normal = posixpath.normpath(text.replace("\\", "/"))
    if normal == ".." or normal.startswith("../"):
        raise BadValue("run_dir", f"{values._shown(text)} leads outside the workspace")
    return text


def timestamp(value: str | None) -> datetime:
    text = (value or "").strip()
    if not text:
        raise BadValue("timestamp", "empty")
    compact = _COMPACT.fullmatch(text)
    if compact:  # what strptime("%Y%m%d_%H%M%S") reads, without its per-call overhead (a cold index: 10k rows)
        try:
            year, month, day, hour, minute, second = map(int, compact.groups())
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            pass
    try:
        return datetime.strptime(text, "%Y%m%d_%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        pass
    try:
        return parse_iso(text)
    except ValueError:
        raise BadValue("timestamp", f"{values._shown(text)} is neither YYYYMMDD_hhmmss nor ISO-8601") from None


def _index_row(line: int, row: dict[str, str]) -> IndexRow:
    trades = values.count(row.get("trades"), "trades", text=True)
    wins = values.count(row.get("wins"), "wins", text=True)
    if trades is not None and wins is not None and wins > trades:
        raise BadValue("wins", f"{wins} wins > {trades} trades")
    stamp = (row.get("timestamp") or "").strip()
    return IndexRow(
        line=line,
        run_id=run_id(row.get("run_id")),
        run_dir=run_dir(row.get("run_dir")),
        timestamp=timestamp(stamp),
        timestamp_text=stamp,
        symbol=(row.get("symbol") or "").strip() or None,
        mode=(row.get("mode") or "").strip() or None,
        trades=trades,
        wins=wins,
        win_rate=values.rate(row.get("win_rate"), "win_rate", text=True),
        total_pips=values.number(row.get("total_pips"), "total_pips", text=True),
        sharpe=values.number(row.get("sharpe"), "sharpe", text=True),
        max_drawdown=values.number(row.get("max_drawdown"), "max_drawdown", text=True),
        pnl_per_trade=values.number(row.get("pnl_per_trade"), "pnl_per_trade", text=True),
    )


def width_problem(found: int, width: int) -> str | None:
    if found < width:
        return f"row has {found} of {width} fields (truncated?)"
    if found > width:
        return f"row has {found} fields, the header {width}"
    return None


def parse_index(data: bytes) -> Index:
    """Every usable row; a bad row is skipped (ValueError only when the file as a whole is unusable)."""
    reader = csv.reader(io.StringIO(_text(data), newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        header = []
    missing = [c for c in INDEX_REQUIRED if c not in header]
    if missing:
        raise ValueError(f"line 1: header lacks {', '.join(missing)} (found {','.join(header) or 'nothing'})")
    skips, notes = Skips(), []
    by_id: dict[str, IndexRow] = {}
    for cells in reader:
        line = reader.line_num
        if not cells or not any(c.strip() for c in cells):
            continue
        problem = width_problem(len(cells), len(header))
        if problem:
            skips.add(f"line {line}", problem)
            continue
        try:
            row = _index_row(line, dict(zip(header, cells, strict=False)))
        except BadValue as exc:
            skips.add(f"line {line}", exc)
            continue
        if row.run_id in by_id:
            notes.append(f"line {line}: duplicate run_id {row.run_id} (line {by_id[row.run_id].line}); later row kept")
            del by_id[row.run_id]  # upstream appends a rerun: the later row is the current one
        by_id[row.run_id] = row
    return Index(rows=list(by_id.values()), skips=skips, notes=notes)


def run_folder(root: Path, runs_root: Path, row: IndexRow) -> Path:
    """``runs_root/<run_id>``, refused (BadValue) when a symbolic link takes it (or its daily.csv) out of ``root``."""
    folder = runs_root / row.run_id
    for path in (folder, folder / "daily.csv"):
        try:
            real = path.resolve()
            real.relative_to(root.resolve())
        except ValueError:
            shown = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()
            raise BadValue("run_id", f"{shown} leads outside the workspace (symbolic link)") from None
        except (OSError, RuntimeError):  # a symlink loop: reading the folder's daily.csv then fails, with a warning
            return folder
    return folder


# -- daily.csv ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DailyRow:
    line: int
    stamp: str  # as upstream wrote it (``2024-01-02`` or with a time part)
    day: str  # YYYY-MM-DD
    fills: int
    wins: int
    pnl_pips: float


def _day(text: str) -> str:
    day = text.strip()[:10]
    try:
        if len(day) != 10:
            raise ValueError
        date.fromisoformat(day)
    except ValueError:
        raise BadValue("date", f"{values._shown(text)} is not a date (YYYY-MM-DD[ time])") from None
    return day


def parse_daily_rows(data: bytes) -> tuple[list[DailyRow], Skips]:
    """Every usable row of one daily.csv in file order; ValueError when the file as a whole is unusable."""
    lines = _text(data).splitlines()
    if not lines:
        raise ValueError("empty file (no header)")
    header = [h.strip() for h in lines[0].split(",")]
    missing = [c for c in DAILY_REQUIRED if c not in header]
    if missing:
        raise ValueError(f"line 1: header lacks {', '.join(missing)}")
    i_date, i_fills, i_wins, i_pnl = (header.index(c) for c in DAILY_REQUIRED)
    rows, skips = [], Skips()
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split(",")
        problem = width_problem(len(parts), len(header))
        if problem:
            skips.add(f"line {number}", problem)
            continue
        try:
            day = _day(parts[i_date])
            fills = values.count(parts[i_fills], "fills", text=True) or 0
            wins = values.count(parts[i_wins], "wins", text=True) or 0
            pnl = values.number(parts[i_pnl], "pnl_pips", text=True, lo=-MAX_DAILY_PIPS, hi=MAX_DAILY_PIPS) or 0.0
            if wins > fills:
                raise BadValue("wins", f"{wins} wins > {fills} fills")
        except BadValue as exc:
            skips.add(f"line {number}", exc)
            continue
        rows.append(DailyRow(number, parts[i_date].strip(), day, fills, wins, pnl))
    if not rows and skips.count:
        raise ValueError(
            f"no usable row ({skips.count} skipped, first {skips.warnings[0].removesuffix('; row skipped')})"
        )
    return rows, skips


def daily_totals(rows: list[DailyRow]) -> dict:
    """Days, active days (distinct dates; active = any fill), fills, wins, first/last, drawdown, total pips."""
    days: set[str] = set()
    active: set[str] = set()
    fills = wins = 0
    first = last = None
    cum = peak = max_dd = peak_at_dd = 0.0
    for r in rows:
        first = r.stamp if first is None or r.stamp < first else first
        last = r.stamp if last is None or r.stamp > last else last
        days.add(r.day)
        if r.fills > 0:
            active.add(r.day)
        fills += r.fills
        wins += r.wins
        cum += r.pnl_pips
        peak = max(peak, cum)
        if peak - cum > max_dd:
            max_dd, peak_at_dd = peak - cum, peak
    return {
        "days": len(days),
        "active_days": len(active),
        "fills": fills,
        "wins": wins,
        "first": first,
        "last": last,
        "max_drawdown_pips": max_dd,
        "peak_at_drawdown_pips": peak_at_dd,
        "total_pips": cum,
    }


# -- one reading of a run's figures -------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    trades: int | None
    wins: int | None
    total_pips: float | None
    win_rate: float | None
    source: str  # "daily" or "index"


def figures(row: IndexRow, daily: dict | None) -> Figures:
    """Trades, wins, total pips and win rate of a run: from its daily totals when it has them, else its index row.

    The daily file is the finer record (upstream's index can lag it: the sample's index says 0 trades
    for a run whose daily.csv has 772 fills). No trades means no win rate.
    """
    if daily is not None:
        fills, wins = daily["fills"], daily["wins"]
        return Figures(fills, wins, daily["total_pips"], wins / fills if fills else None, "daily")
    trades, wins = row.trades, row.wins
    win_rate = row.win_rate
    if win_rate is None and trades and wins is not None:
        win_rate = wins / trades
    return Figures(trades, wins, row.total_pips, None if trades == 0 else win_rate, "index")


def index_cells(data: bytes) -> dict[str, dict[str, str]]:
    """The non-empty cells of each row of index.csv by run id (the later row of a duplicate id), every
    column included, also those :class:`IndexRow` does not name (``or_n``, ``k_tp``, ``gate_block``, ...):
    for a reader that keeps them all (the lake's ``stats`` and ``params``). Rows :func:`parse_index`
    skips are read here too; callers keep only the ids it kept."""
    reader = csv.reader(io.StringIO(_text(data), newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return {}
    out: dict[str, dict[str, str]] = {}
    for cells in reader:
        row = {k: v.strip() for k, v in zip(header, cells, strict=False) if v.strip()}
        if row.get("run_id"):
            out[row["run_id"]] = row
    return out

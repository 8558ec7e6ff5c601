"""Readers for the weekly report's inputs; each failure names the file (and line) it comes from.

Upstream files are read as they are: empty CSV fields become None, ``daily.csv`` dates may
carry a time part, run timestamps come as ``20250921_130118`` or ISO-8601.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from observability import fsio
from observability.clock import UTC, parse_iso
from observability.errors import InputError, MissingInputError
from observability.latency.rollup import COLUMNS as ROLLUP_COLUMNS
from observability.latency.rollup import RollupRow
from observability.workspace import Workspace

INDEX_REQUIRED = ("run_id", "timestamp", "trades", "wins")


@dataclass(frozen=True)
class Source:
    """One input file as the payload's ``sources`` block lists it."""

    name: str
    path: str
    sha256: str | None
    bytes: int

    def as_dict(self) -> dict:
        return {"name": self.name, "path": self.path, "sha256": self.sha256, "bytes": self.bytes}


@dataclass(frozen=True)
class IndexRun:
    run_id: str
    run_dir: str | None
    timestamp: datetime
    symbol: str | None
    mode: str | None
    trades: int
    wins: int
    win_rate: float | None
    total_pips: float | None
    sharpe: float | None
    max_drawdown: float | None
    pnl_per_trade: float | None


@dataclass(frozen=True)
class DailyStats:
    """What the weekly report needs from one ``runs/<id>/daily.csv``."""

    start: date | None
    end: date | None
    days: int
    active_days: int
    fills: int
    pnl_pips: float
    recent_fills: int  # over the last ``trend_days`` active days
    recent_pnl_pips: float


@dataclass
class Reader:
    """Reads inputs relative to a workspace and remembers what it read (the ``sources`` block)."""

    workspace: Workspace
    sources: list[Source] = field(default_factory=list)

    def _bytes(self, rel: str, what: str, *, required: bool = True) -> bytes | None:
        path = self.workspace.path(rel)
        display = self.workspace.rel(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            if not required:
                return None
            raise MissingInputError(f"{display}: {what} not found", input=display) from None
        except IsADirectoryError:
            raise InputError(f"{display}: {what} is a directory, expected a file", input=display) from None
        except OSError as exc:
            raise InputError(f"{display}: cannot read {what} ({exc.strerror or exc})", input=display) from None
        return data

    def _record(self, name: str, rel: str, data: bytes) -> None:
        self.sources.append(Source(name, self.workspace.rel(self.workspace.path(rel)),
                                   hashlib.sha256(data).hexdigest(), len(data)))

    def _text(self, data: bytes, rel: str, what: str) -> str:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(f"{self._display(rel)}: {what} is not UTF-8 (byte {exc.start})",
                             input=self._display(rel)) from None

    def _display(self, rel: str) -> str:
        return self.workspace.rel(self.workspace.path(rel))

    def json(self, name: str, rel: str, what: str, *, required: bool = True) -> Any:
        data = self._bytes(rel, what, required=required)
        if data is None:
            return None
        try:
            doc = fsio.parse_json(self._text(data, rel, what))
        except json.JSONDecodeError as exc:
            raise InputError(f"{self._display(rel)}: line {exc.lineno}: {what} is not valid JSON ({exc.msg})",
                             input=self._display(rel)) from None
        if not isinstance(doc, dict):
            raise InputError(f"{self._display(rel)}: {what} must be a JSON object", input=self._display(rel))
        self._record(name, rel, data)
        return doc

    # -- runs/index.csv ---------------------------------------------------------------------
    def runs_index(self, rel: str) -> list[IndexRun]:
        what = "runs index"
        data = self._bytes(rel, what)
        display = self._display(rel)
        reader = csv.DictReader(io.StringIO(self._text(data, rel, what)))
        missing = [c for c in INDEX_REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{display}: line 1: missing column(s) {', '.join(missing)}", input=display)
        runs, seen = [], set()
        for row in reader:
            line = reader.line_num
            where = f"{display}: line {line}"
            run_id = (row.get("run_id") or "").strip()
            if not run_id:
                raise InputError(f"{where}: empty run_id", input=display)
            if run_id in seen:
                continue  # upstream appends reruns; the first row of an id is the one kept
            seen.add(run_id)
            runs.append(IndexRun(
                run_id=run_id,
                run_dir=(row.get("run_dir") or "").strip() or None,
                timestamp=_run_timestamp(row.get("timestamp"), where),
                symbol=(row.get("symbol") or "").strip() or None,
                mode=(row.get("mode") or "").strip() or None,
                trades=_count(row.get("trades"), where, "trades"),
                wins=_count(row.get("wins"), where, "wins"),
                win_rate=_number(row.get("win_rate"), where, "win_rate"),
                total_pips=_number(row.get("total_pips"), where, "total_pips"),
                sharpe=_number(row.get("sharpe"), where, "sharpe"),
                max_drawdown=_number(row.get("max_drawdown"), where, "max_drawdown"),
                pnl_per_trade=_number(row.get("pnl_per_trade"), where, "pnl_per_trade"),
            ))
        self._record("runs_index", rel, data)
        return runs

    # -- runs/<id>/daily.csv ------------------------------------------------------------------
    def daily(self, run: IndexRun, runs_root: str, trend_days: int) -> DailyStats | None:
        """Stats of the run's daily.csv, or None when the run has none (not an error: many don't)."""
        rel = _daily_rel(run, runs_root, self.workspace)
        what = "daily results"
        data = self._bytes(rel, what, required=False)
        if data is None:
            return None
        display = self._display(rel)
        reader = csv.DictReader(io.StringIO(self._text(data, rel, what)))
        missing = [c for c in ("date", "fills", "pnl_pips") if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{display}: line 1: missing column(s) {', '.join(missing)}", input=display)
        start = end = None
        days = active = fills = 0
        pnl = 0.0
        active_rows: list[tuple[int, float]] = []
        for row in reader:
            where = f"{display}: line {reader.line_num}"
            day = _day(row.get("date"), where)
            n = _count(row.get("fills"), where, "fills")
            p = _number(row.get("pnl_pips"), where, "pnl_pips") or 0.0
            start = day if start is None or day < start else start
            end = day if end is None or day > end else end
            days += 1
            fills += n
            pnl += p
            if n > 0:
                active += 1
                active_rows.append((n, p))
        recent = active_rows[-trend_days:] if trend_days else []
        self._record(f"daily:{run.run_id}", rel, data)
        return DailyStats(start, end, days, active, fills, pnl, sum(n for n, _ in recent), sum(p for _, p in recent))

    # -- ops/signal_latency_rollup.csv ---------------------------------------------------------
    def rollups(self, rel: str, start: str, end: str) -> list[RollupRow]:
        """Rollup rows with start <= hour_utc < end (ISO strings compare in time order)."""
        what = "latency rollup"
        data = self._bytes(rel, what)
        display = self._display(rel)
        text = self._text(data, rel, what)
        lines = text.splitlines(keepends=True)
        header = lines[0].strip() if lines else ""
        if header != ",".join(ROLLUP_COLUMNS):
            raise InputError(f"{display}: line 1: unexpected header {header[:120]!r}", input=display)
        rows = []
        for number, line in enumerate(lines[1:], start=2):
            if not line.endswith("\n") or not line.strip():
                continue  # a torn tail is never written by the latency job's atomic rewrite
            hour = line[:20]
            if start <= hour < end:
                rows.append(RollupRow.parse(line, f"{display}: line {number}"))
        self._record("latency_rollup", rel, data)
        return rows

    # -- out/latency_alerts/<job_id>.json ------------------------------------------------------
    def latency_alerts(self, rel_dir: str, start_key: str, end_key: str) -> list[dict]:
        """Latest state of each alert id from the latency alert files written during the week.

        File names start with the job id (``YYYYMMDDThhmmssZ-...``), so the week is a name range.
        """
        directory = self.workspace.path(rel_dir)
        try:
            names = sorted(n for n in os.listdir(directory) if n.endswith(".json") and start_key <= n[:16] < end_key)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise InputError(f"{self.workspace.rel(directory)}: cannot list ({exc.strerror or exc})") from None
        latest: dict[str, dict] = {}
        for name in names:
            rel = f"{rel_dir.rstrip('/')}/{name}"
            doc = self.json(f"latency_alerts:{name}", rel, "latency alert file")
            items = doc.get("alerts")
            if not isinstance(items, list):
                raise InputError(f"{self._display(rel)}: field alerts: expected a list", input=self._display(rel))
            for item in items:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    latest[item["id"]] = {**item, "_file": self._display(rel)}
        return [latest[k] for k in sorted(latest)]


def _daily_rel(run: IndexRun, runs_root: str, workspace: Workspace) -> str:
    if run.run_dir and not Path(run.run_dir).is_absolute():
        return f"{run.run_dir.rstrip('/')}/daily.csv"
    return f"{runs_root}/{run.run_id}/daily.csv"


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def _number(value: str | None, where: str, column: str) -> float | None:
    if _blank(value):
        return None
    try:
        number = float(value)
    except ValueError:
        raise InputError(f"{where}: column {column}: {value.strip()[:40]!r} is not a number") from None
    return number if math.isfinite(number) else None


def _count(value: str | None, where: str, column: str) -> int:
    number = _number(value, where, column)
    if number is None:
        return 0
    if number < 0 or number != int(number):
        raise InputError(f"{where}: column {column}: {value.strip()[:40]!r} is not a count")
    return int(number)


def _run_timestamp(value: str | None, where: str) -> datetime:
    text = (value or "").strip()
    if not text:
        raise InputError(f"{where}: column timestamp: empty")
    try:
        return datetime.strptime(text, "%Y%m%d_%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        pass
    try:
        return parse_iso(text)
    except ValueError:
        raise InputError(f"{where}: column timestamp: {text[:40]!r} is neither YYYYMMDD_hhmmss nor ISO-8601") from None


def _day(value: str | None, where: str) -> date:
    text = (value or "").strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise InputError(f"{where}: column date: {text[:40]!r} is not a date") from None


def file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None

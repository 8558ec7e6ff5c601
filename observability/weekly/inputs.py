"""Readers for the weekly report's inputs; each failure names the file (and line) it comes from.

Upstream files are read as they are: empty CSV fields become None, ``daily.csv`` dates may
carry a time part, run timestamps come as ``20250921_130118`` or ISO-8601.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from observability import fsio
from observability.clock import parse_iso
from observability.digest import sha256_hex
from observability.errors import InputError, MissingInputError
from observability.outputs import alertinbox
from observability.outputs.rollups import (
    RollupRow,
    parse_parts as parse_rollup_parts,
    partition_dir,
    read_parts as read_rollup_parts,
)
from observability.upstream import runs as upstream_runs
from observability.upstream.values import BadValue, skip_warning
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


IndexRun = upstream_runs.IndexRow  # one row type for every job


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
    totals: dict | None = None  # upstream.runs.daily_totals: what upstream.runs.figures reads


@dataclass
class Reader:
    """Reads inputs relative to a workspace and remembers what it read (the ``sources`` block)."""

    workspace: Workspace
    sources: list[Source] = field(default_factory=list)
    # input name -> (as-of time, where it came from): the data's own time, for the freshness block.
    as_of: dict[str, tuple[datetime | None, str | None]] = field(default_factory=dict)

    def note_as_of(self, name: str, stamp: datetime | None, origin: str | None) -> None:
        self.as_of[name] = (stamp, origin if stamp is not None else None)

    warnings: list[str] = field(default_factory=list)  # skipped rows and entries (upstream.values), file named
    skipped: int = 0

    def skip(self, messages: list[str], *, counted: bool = True) -> None:
        self.warnings.extend(messages)
        if counted:
            self.skipped += len(messages)

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

    def _rollup_parts(self, rel: str, what: str) -> tuple[bytes, list[tuple[Path, bytes]]]:
        """The rollups as one file (hashed as the input) and the files they sit in (day partitions or one file)."""
        path = self.workspace.path(rel)
        display = self.workspace.rel(path)
        try:
            return read_rollup_parts(path)
        except FileNotFoundError:
            days = self.workspace.rel(partition_dir(path))
            raise MissingInputError(
                f"{display}: {what} not found (no day files under {days}/): `observability latency sample` "
                "writes them; run it first",
                input=display,
            ) from None
        except IsADirectoryError:
            raise InputError(f"{display}: {what} is a directory, expected a file", input=display) from None
        except InputError as exc:
            raise InputError(exc.message, input=display) from None
        except OSError as exc:
            raise InputError(f"{display}: cannot read {what} ({exc.strerror or exc})", input=display) from None

    def _record(self, name: str, rel: str, data: bytes) -> None:
        self.sources.append(Source(name, self.workspace.rel(self.workspace.path(rel)), sha256_hex(data), len(data)))

    def _text(self, data: bytes, rel: str, what: str) -> str:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{self._display(rel)}: {what} is not UTF-8 (byte {exc.start})", input=self._display(rel)
            ) from None

    def _display(self, rel: str) -> str:
        return self.workspace.rel(self.workspace.path(rel))

    def json(self, name: str, rel: str, what: str, *, required: bool = True) -> Any:
        data = self._bytes(rel, what, required=required)
        if data is None:
            return None
        try:
            doc = fsio.parse_json(self._text(data, rel, what))
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{self._display(rel)}: line {exc.lineno}: {what} is not valid JSON ({exc.msg})",
                input=self._display(rel),
            ) from None
        if not isinstance(doc, dict):
            raise InputError(f"{self._display(rel)}: {what} must be a JSON object", input=self._display(rel))
        self._record(name, rel, data)
        return doc

    # -- runs/index.csv (the shared reader: observability.upstream.runs) ---------------------
    def runs_index(self, rel: str) -> list[IndexRun]:
        what = "runs index"
        data = self._bytes(rel, what)
        assert data is not None  # required: a missing file raised
        display = self._display(rel)
        text = self._text(data, rel, what)
        header = next(csv.reader(io.StringIO(text)), [])
        missing = [c for c in INDEX_REQUIRED if c not in [h.strip() for h in header]]
        if missing:
            raise InputError(f"{display}: line 1: missing column(s) {', '.join(missing)}", input=display)
        try:
            index = upstream_runs.parse_index(data)
        except ValueError as exc:
            raise InputError(f"{display}: {exc}", input=display) from None
        self.skip(index.skips.for_file(display))
        self.skip([f"{display}: {n}" for n in index.notes], counted=False)
        runs_root = self.workspace.path(rel).parent
        usable = []
        for row in index.rows:
            try:
                upstream_runs.run_folder(self.workspace.root, runs_root, row)
            except BadValue as exc:
                self.skip([skip_warning(display, f"line {row.line}", exc)])
                continue
            usable.append(row)
        self._record("runs_index", rel, data)
        return usable

    # -- runs/<id>/daily.csv ------------------------------------------------------------------
    def daily(self, run: IndexRun, runs_root: str, trend_days: int) -> DailyStats | None:
        """Stats of the run's daily.csv, or None when the run has none (not an error: many don't) or it is unusable."""
        rel = f"{runs_root.rstrip('/')}/{run.run_id}/daily.csv"
        what = "daily results"
        data = self._bytes(rel, what, required=False)
        if data is None:
            return None
        display = self._display(rel)
        try:
            rows, skips = upstream_runs.parse_daily_rows(data)
        except ValueError as exc:
            self.skip([f"{display}: {exc}; run published without daily figures"], counted=False)
            self._record(f"daily:{run.run_id}", rel, data)
            return None
        self.skip(skips.for_file(display))
        totals = upstream_runs.daily_totals(rows)
        active_rows = [(r.fills, r.pnl_pips) for r in rows if r.fills > 0]
        recent = active_rows[-trend_days:] if trend_days else []
        days = sorted(r.day for r in rows)
        self._record(f"daily:{run.run_id}", rel, data)
        return DailyStats(
            date.fromisoformat(days[0]) if days else None,
            date.fromisoformat(days[-1]) if days else None,
            totals["days"],
            totals["active_days"],
            totals["fills"],
            totals["total_pips"],
            sum(n for n, _ in recent),
            sum(p for _, p in recent),
            totals,
        )

    # -- ops/signal_latency_rollup.csv ---------------------------------------------------------
    def rollups(self, rel: str, start: str, end: str) -> list[RollupRow]:
        """Rollup rows with start <= hour_utc < end (ISO strings compare in time order).

        Every row is read by the shared rule (observability.outputs.rollups.parse_parts), the dashboard's
        too: an unusable row anywhere in the file is skipped with a warning naming its file and line.
        """
        what = "latency rollup"
        data, parts = self._rollup_parts(rel, what)
        display = self._display(rel)
        try:
            every, warnings = parse_rollup_parts(parts, self.workspace.rel)
        except InputError as exc:
            raise InputError(exc.message, input=display) from None
        self.skip(warnings)
        rows = [r for r in every if start <= r.hour_utc < end]
        latest = max((r.hour_utc for r in every if r.hour_utc < end), default=None)
        self._record("latency_rollup", rel, data)
        self.note_as_of("latency_rollup", parse_iso(latest) if latest else None, "latest_hour")
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

    # -- ops/alert_inbox.json (the alert inbox's cache) --------------------------------------------
    def alert_channels(self) -> dict[str, list[str]]:
        """Alert id -> the channels that notified people of it (``notified_channels``); {} without a cache."""
        return alertinbox.notified_channels(self.workspace)


def file_sha256(path: Path) -> str | None:
    try:
        return sha256_hex(path.read_bytes())
    except OSError:
        return None

"""Hourly rollups per source, one CSV per UTC day; a cycle rewrites only the days whose hours it touched.

The file format (columns, row type, day partitions, :func:`read_combined` for the readers) is the
shared module ``observability.outputs.rollups``; this module is the latency job's writer. An old
single file is split into partitions by the first cycle that finds it (:meth:`RollupStore.migrate`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from observability import fsio, recovery
from observability.clock import parse_iso
from observability.errors import InputError
from observability.latency.stats import Stats
from observability.outputs.rollups import (
    DAY_FILE,
    HEADER,
    HEADER_BYTES,
    RollupRow,
    day_files,
    parse_parts,
    partition_dir,
)


def hour_label(key: str) -> str:
    """``2025-10-11T11`` -> ``2025-10-11T11:00:00Z``."""
    return f"{key}:00:00Z"


def row_from_stats(hour: str, source: str, stats: Stats, breach: bool) -> RollupRow:
    """The rollup row of one (hour, source) from its statistics."""
    return RollupRow(
        hour,
        source,
        stats.count,
        stats.failure_count,
        stats.failure_rate,
        stats.p50_ms,
        stats.p95_ms,
        stats.p99_ms,
        stats.max_ms,
        breach,
    )


def _previous_hour(hour: str, cache: dict[str, str]) -> str:
    found = cache.get(hour)
    if found is None:
        found = cache[hour] = (parse_iso(hour) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:00:00Z")
    return found


class ChartPoint(NamedTuple):
    hour_utc: str
    source: str
    p95_ms: float


class RollupStore:
    """The day partitions of one logical rollup file, as one latency cycle sees them.

    Partitions loaded or written during the cycle are held (as text lines), so the step-summary
    chart is read from memory rather than from disk again.
    """

    def __init__(self, path: Path, rel: Callable[[Path], str]):
        self.legacy = path
        self.dir = partition_dir(path)
        self.rel = rel
        self._lines: dict[str, list[str]] = {}
        self._days: list[str] | None = None
        self.written: list[Path] = []  # partitions this cycle rewrote

    # -- layout ----------------------------------------------------------------------------
    def part(self, day: str) -> Path:
        return self.dir / f"{day}.csv"

    def days(self) -> list[str]:
        if self._days is None:
            self._days = day_files(self.dir)
        return self._days

    def migrate(self) -> int:
        """Split an old single rollup file into day partitions, then remove it; returns rows moved.

        A partition already present wins over the old file's rows for its day (it is newer: a
        `state pull` may bring an old single file back after the split). Idempotent, so a run
        killed half-way through is finished by the next one.
        """
        try:
            text = self.legacy.read_text(encoding="utf-8")
        except FileNotFoundError:
            return 0
        except IsADirectoryError:
            raise InputError(f"{self.rel(self.legacy)}: is a directory, expected the rollup file") from None
        except UnicodeDecodeError as exc:
            raise InputError(
                recovery.explain(f"{self.rel(self.legacy)}: not UTF-8 ({exc.reason})", self.legacy)
            ) from None
        lines = text.splitlines(keepends=True)
        if lines and lines[0] != HEADER:
            raise InputError(
                recovery.explain(
                    f"{self.rel(self.legacy)}: line 1: unexpected header {lines[0].strip()[:120]!r}", self.legacy
                )
            )
        by_day: dict[str, list[str]] = {}
        for number, line in enumerate(lines[1:], start=2):
            if not line.endswith("\n"):
                continue
            if line.count(",") < 2 or not DAY_FILE.fullmatch(line[:10] + ".csv"):
                raise InputError(
                    recovery.explain(
                        f"{self.rel(self.legacy)}: line {number}: not a rollup row {line[:80]!r}", self.legacy
                    )
                )
            by_day.setdefault(line[:10], []).append(line)
        present = set(self.days())
        moved = 0
        for day, rows in sorted(by_day.items()):
            if day not in present:
                rows.sort(key=lambda line: line.split(",", 2)[:2])
                fsio.atomic_write_text(self.part(day), HEADER + "".join(rows))
                moved += len(rows)
        self.legacy.unlink()
        fsio.fsync_dir(self.legacy.parent)
        self._days = None
        return moved

    def missing_days(self, hours) -> set[str]:
        """Days of ``hours`` (``YYYY-MM-DDTHH`` keys) that have no partition (deleted: to be rebuilt)."""
        have = set(self.days())
        return {h[:10] for h in hours} - have

    # -- reading ---------------------------------------------------------------------------
    def _damaged(self, day: str, number: int | str, line: str) -> InputError:
        path = self.part(day)
        return InputError(recovery.explain(f"{self.rel(path)}: line {number}: not a rollup row {line[:80]!r}", path))

    def load(self, day: str) -> list[str]:
        """Row lines (no header) of one partition; [] when it does not exist."""
        held = self._lines.get(day)
        if held is not None:
            return held
        path = self.part(day)
        try:
            with open(path, encoding="utf-8") as handle:
                lines = handle.readlines()
        except FileNotFoundError:
            lines = []
        except UnicodeDecodeError as exc:
            raise InputError(recovery.explain(f"{self.rel(path)}: not UTF-8 ({exc.reason})", path)) from None
        if lines and lines[0] != HEADER:
            raise InputError(
                recovery.explain(f"{self.rel(path)}: line 1: unexpected header {lines[0].strip()[:120]!r}", path)
            )
        rows = []
        for number, line in enumerate(lines[1:], start=2):
            if not line.endswith("\n"):
                continue  # never produced by an atomic rewrite; ignore rather than trust
            if line.count(",") < 2 or line[:10] != day:
                raise self._damaged(day, number, line)
            rows.append(line)
        self._lines[day] = rows
        return rows

    def _parse(self, day: str, line: str) -> RollupRow:
        try:
            return RollupRow.parse(line, day)
        except InputError as exc:  # named here, not per row: the file name is only needed for the error
            number = 2 + self.load(day).index(line) if line in self.load(day) else "?"
            message = exc.message.split(": ", 1)[1]
            raise InputError(
                recovery.explain(f"{self.rel(self.part(day))}: line {number}: {message}", self.part(day))
            ) from None

    def _first_hour(self, day: str) -> str | None:
        """hour_utc of the first row of a partition, read from its first bytes only."""
        if day in self._lines:
            rows = self._lines[day]
            return rows[0][:20] if rows else None
        try:
            with open(self.part(day), "rb") as handle:
                head = handle.read(len(HEADER_BYTES) + 32)
        except FileNotFoundError:
            return None
        row = head[len(HEADER_BYTES) :]
        return row[:20].decode("ascii", "replace") if len(row) >= 21 else None

    def chart_since(self, since: str, sources: set[str] | None = None) -> list[ChartPoint]:
        """(hour_utc, source, p95_ms) of the rows with hour_utc >= ``since`` (of ``sources`` only, when
        given): what the step-summary chart shows, from the day files this cycle already holds (only
        p95 is parsed: 1,000s of sources). A day not held is searched as text for those sources' rows."""
        points = []
        for day in self.days():
            if day < since[:10]:
                continue
            if sources is not None and day not in self._lines:
                points.extend(self._find_rows(day, since, sources))
                continue
            for line in self.load(day):
                if sources is not None and line[21 : line.find(",", 21)] not in sources:
                    continue
                if line[:20] >= since:
                    parts = line.split(",", 7)
                    try:
                        points.append(ChartPoint(parts[0], parts[1], float(parts[6])))
                    except (IndexError, ValueError):
                        self._parse(day, line)  # raises the error naming the day file and line
                        raise
        return points

    def _find_rows(self, day: str, since: str, sources: set[str]) -> list[ChartPoint]:
        """chart_since for a few sources of a day not held: their rows found by text search, not line by line."""
        if not sources:
            return []
        path = self.part(day)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except UnicodeDecodeError as exc:
            raise InputError(recovery.explain(f"{self.rel(path)}: not UTF-8 ({exc.reason})", path)) from None
        if not text.startswith(HEADER):
            raise InputError(
                recovery.explain(
                    f"{self.rel(path)}: line 1: unexpected header {text.split(chr(10), 1)[0].strip()[:120]!r}", path
                )
            )
        # One regex pass (a literal newline first: the engine skips to each line start at C speed); a line
        # without its newline is a torn tail, never written by an atomic rewrite, and ignored as load() does.
        names = "|".join(re.escape(name) for name in sorted(sources))
        points = []
        for match in re.finditer(rf"\n(.{{20}},(?:{names}),[^\n]*)(?=\n)", text):
            line = match.group(1)
            if line[:20] < since:
                continue
            parts = line.split(",", 7)
            try:
                if line[:10] != day:
                    raise ValueError(line)
                points.append(ChartPoint(parts[0], parts[1], float(parts[6])))
            except (IndexError, ValueError):
                raise self._damaged(day, text.count("\n", 0, match.start()) + 2, line) from None
        return points

    def parsed_since(self, since: str):
        """Per day file from ``since`` on, one at a time: its usable rows with hour_utc >= ``since`` and the
        skip warnings of the rows it cannot use, read as the site and the weekly job read them
        (:func:`observability.outputs.rollups.parse_parts`), so the step summary's SLO marks count the hours
        theirs do. A file that is not UTF-8 or has a bad header raises InputError naming it."""
        for day in self.days():
            if day < since[:10]:
                continue
            path = self.part(day)
            held = self._lines.get(day)
            try:
                data = (HEADER + "".join(held)).encode("utf-8") if held is not None else path.read_bytes()
            except FileNotFoundError:
                continue
            rows, warnings = parse_parts([(path, data)], self.rel)
            yield [r for r in rows if r.hour_utc >= since], warnings

    def read_since(self, since: str) -> list[RollupRow]:
        """Rows with hour_utc >= ``since`` (for the step summary chart), from memory where held."""
        rows: list[RollupRow] = []
        for day in self.days():
            if day < since[:10]:
                continue
            rows.extend(self._parse(day, line) for line in self.load(day) if line[:20] >= since)
        return rows

    # -- updating --------------------------------------------------------------------------
    def update(
        self, fresh: dict[tuple[str, str], RollupRow], now: datetime, retention_days: int
    ) -> tuple[list[RollupRow], int]:
        """Merge recomputed rows, drop expired ones, refresh streaks from the earliest change.

        Only partitions holding a recomputed hour are rewritten, plus the oldest one when rows
        in it expired, and a later day whose first-hour streaks depend on a changed hour (late
        data). Rows before the earliest change of a day are copied through as text, unparsed.
        Returns (rows recomputed or re-streaked, rows dropped by retention).
        """
        cutoff = (now - timedelta(days=retention_days)).strftime("%Y-%m-%dT%H:00:00Z")
        dropped = 0
        self.dir.mkdir(parents=True, exist_ok=True)
        days = self.days()
        for day in [d for d in days if d < cutoff[:10]]:
            dropped += len(self.load(day))
            self.part(day).unlink()
            self._lines.pop(day, None)
        if dropped:
            fsio.fsync_dir(self.dir)
        days = self._days = [d for d in days if d >= cutoff[:10]]
        by_day: dict[str, dict[tuple[str, str], RollupRow]] = {}
        for key, row in fresh.items():
            if key[0] >= cutoff:
                by_day.setdefault(key[0][:10], {})[key] = row
        first = self._first_hour(cutoff[:10]) if cutoff[:10] in days else None
        if first is not None and first < cutoff:
            by_day.setdefault(cutoff[:10], {})
        written: list[RollupRow] = []
        hours: dict[str, str] = {}
        carry: dict[str, int] | None = None  # source -> streak at the last hour of the day just done
        carry_hour = ""
        todo = sorted(by_day)
        i = 0
        while i < len(todo):
            day = todo[i]
            i += 1
            changed = by_day[day]
            if carry is None and changed and self._append(day, changed, cutoff, hours, written):
                continue
            lines = self.load(day)
            start = min((h for h, _ in changed), default=None)
            if start is None and carry is not None:
                start = f"{day}T00:00:00Z"
            kept: list[str] = []
            tail: dict[tuple[str, str], RollupRow] = {}
            for line in lines:
                hour = line[:20]
                if hour < cutoff:
                    dropped += 1
                elif start is not None and hour >= start:
                    row = self._parse(day, line)
                    tail[(row.hour_utc, row.source)] = row
                else:
                    kept.append(line)
            tail.update(changed)
            ordered = sorted(tail.values(), key=lambda r: (r.hour_utc, r.source))
            if start is not None:
                before = _previous_hour(start, hours)
                if before[:10] == day:
                    previous = {
                        r.source: r.breach_streak
                        for r in (self._parse(day, line) for line in kept if line[:20] == before)
                    }
                elif carry is not None and carry_hour == before:
                    previous = carry
                else:
                    previous = {
                        r.source: r.breach_streak
                        for r in (
                            self._parse(before[:10], line) for line in self.load(before[:10]) if line[:20] == before
                        )
                    }
                last: dict[str, tuple[str, int]] = {s: (before, n) for s, n in previous.items()}
                for row in ordered:
                    prior = last.get(row.source)
                    contiguous = prior is not None and prior[0] == _previous_hour(row.hour_utc, hours)
                    row.breach_streak = (prior[1] + 1 if prior and contiguous else 1) if row.breach_flag else 0
                    last[row.source] = (row.hour_utc, row.breach_streak)
                written.extend(ordered)
            new_lines = kept + [r.line() for r in ordered]
            if new_lines != lines or not self.part(day).exists():
                fsio.atomic_write_text(self.part(day), HEADER + "".join(new_lines))
                self.written.append(self.part(day))
                if day not in days:
                    days.append(day)
                    days.sort()
            self._lines[day] = new_lines
            if start is None:  # only expired rows went: the streaks of the rows kept stand
                carry = None
                continue
            # A later day's first hour continues this day's streaks: when it is not being rewritten
            # anyway, check it (late data, or a run killed between two partition writes).
            end = f"{day}T23:00:00Z"
            carry, carry_hour = {r.source: r.breach_streak for r in ordered if r.hour_utc == end}, end
            later = [d for d in days if d > day]
            if later and later[0] not in by_day and self._needs_restreak(later[0], end, carry, hours):
                by_day[later[0]] = {}
                todo.insert(i, later[0])
        return written, dropped

    def _tail(self, day: str, since: str) -> list[str] | None:
        """Row lines of a day file with hour_utc >= ``since``, read backwards from its end (not the
        whole file); None when the file is missing, holds no row, ends in a torn line or its header
        is not the rollup header."""
        path = self.part(day)
        try:
            handle = open(path, "rb")  # noqa: SIM115 (closed by the with below; only open() may be missing)
        except FileNotFoundError:
            return None
        with handle:
            if handle.read(len(HEADER_BYTES)) != HEADER_BYTES:
                return None  # a damaged header: the rewrite's load() names it
            size = handle.seek(0, os.SEEK_END)
            if size <= len(HEADER_BYTES):
                return None
            chunk, at = b"", size
            while at > len(HEADER_BYTES):
                step = min(at - len(HEADER_BYTES), 1 << 16)
                at -= step
                handle.seek(at)
                chunk = handle.read(step) + chunk
                first = chunk.find(b"\n")  # the first line in the chunk may be cut: judged once whole
                whole = chunk[first + 1 :] if at > len(HEADER_BYTES) else chunk
                if whole and whole[:20].decode("ascii", "replace") < since:
                    break
        if not chunk.endswith(b"\n"):
            return None
        try:
            text = (chunk[first + 1 :] if at > len(HEADER_BYTES) else chunk).decode("utf-8")
        except UnicodeDecodeError:
            return None
        return [line for line in text.splitlines(keepends=True) if line[:20] >= since]

    def _append(
        self,
        day: str,
        changed: dict[tuple[str, str], RollupRow],
        cutoff: str,
        hours: dict[str, str],
        written: list[RollupRow],
    ) -> bool:
        """Rows of hours after every row of the newest day file, appended to it instead of rewriting it
        (the first cycle of each hour). False, with nothing written, when that does not hold.

        A run killed after the append and before its state commit is redone by the next one, which
        recomputes the same (hour, source) rows and replaces them in a rewrite.
        """
        days = self.days()
        if day in self._lines or not days or day != days[-1] or day <= cutoff[:10]:
            return False
        start = min(h for h, _ in changed)
        before = _previous_hour(start, hours)
        tail = self._tail(day, min(before, start))
        if tail is None or any(line[:20] >= start for line in tail):
            return False
        for line in tail:
            if line.count(",") < 2 or line[:10] != day:
                self.load(day)  # reads the whole file: raises the error naming the damaged row's line
                raise self._damaged(day, "?", line)
        previous = {
            r.source: r.breach_streak for r in (self._parse(day, line) for line in tail) if r.hour_utc == before
        }
        last: dict[str, tuple[str, int]] = {src: (before, n) for src, n in previous.items()}
        ordered = sorted(changed.values(), key=lambda r: (r.hour_utc, r.source))
        for row in ordered:
            prior = last.get(row.source)
            contiguous = prior is not None and prior[0] == _previous_hour(row.hour_utc, hours)
            row.breach_streak = (prior[1] + 1 if prior and contiguous else 1) if row.breach_flag else 0
            last[row.source] = (row.hour_utc, row.breach_streak)
        fsio.append_bytes(self.part(day), "".join(r.line() for r in ordered).encode("utf-8"))
        self.written.append(self.part(day))
        written.extend(ordered)
        return True

    def _needs_restreak(self, day: str, before: str, carry: dict[str, int], hours: dict[str, str]) -> bool:
        first = f"{day}T00:00:00Z"
        if _previous_hour(first, hours) != before:
            return False
        for line in self.load(day):
            if line[:20] != first:
                break
            row = self._parse(day, line)
            expected = carry.get(row.source, 0) + 1 if row.breach_flag else 0
            if row.breach_streak != expected:
                return True
        return False

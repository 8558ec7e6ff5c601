"""ops/signal_latency_rollup.csv: hourly rollups per source, recomputed only for touched hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from observability import fsio
from observability.clock import parse_iso
from observability import recovery
from observability.errors import InputError
from observability.latency.stats import Stats

COLUMNS = ("hour_utc", "source", "count", "failure_count", "failure_rate", "p50_ms", "p95_ms", "p99_ms",
           "max_ms", "breach_flag", "breach_streak")
HEADER = ",".join(COLUMNS) + "\n"


@dataclass
class RollupRow:
    hour_utc: str
    source: str
    count: int
    failure_count: int
    failure_rate: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    breach_flag: bool
    breach_streak: int = 0

    @classmethod
    def from_stats(cls, hour: str, source: str, stats: Stats, breach: bool) -> "RollupRow":
        return cls(hour, source, stats.count, stats.failure_count, stats.failure_rate, stats.p50_ms, stats.p95_ms,
                   stats.p99_ms, stats.max_ms, breach)

    @classmethod
    def parse(cls, line: str, where: str) -> "RollupRow":
        parts = line.rstrip("\n").split(",")
        if len(parts) != len(COLUMNS):
            raise InputError(f"{where}: expected {len(COLUMNS)} fields, found {len(parts)}")
        try:
            return cls(parts[0], parts[1], int(parts[2]), int(parts[3]), float(parts[4]), float(parts[5]),
                       float(parts[6]), float(parts[7]), float(parts[8]), parts[9] == "true", int(parts[10]))
        except ValueError as exc:
            raise InputError(f"{where}: {exc}") from None

    def as_dict(self) -> dict:
        return {c: getattr(self, c) for c in COLUMNS}

    def line(self) -> str:
        return (f"{self.hour_utc},{self.source},{self.count},{self.failure_count},{self.failure_rate:.4f},"
                f"{self.p50_ms:.3f},{self.p95_ms:.3f},{self.p99_ms:.3f},{self.max_ms:.3f},"
                f"{'true' if self.breach_flag else 'false'},{self.breach_streak}\n")


def hour_label(key: str) -> str:
    """``2025-10-11T11`` -> ``2025-10-11T11:00:00Z``."""
    return f"{key}:00:00Z"


class RollupFile:
    def __init__(self, path: Path, display: str):
        self.path = path
        self.display = display

    def update(self, fresh: dict[tuple[str, str], RollupRow], now: datetime,
               retention_days: int) -> tuple[list[RollupRow], int]:
        """Merge recomputed rows, drop expired ones, refresh streaks from the earliest change.

        Returns (rows from the earliest changed hour on, rows dropped by retention). Rows
        before the earliest change are copied through as text, unparsed. A damaged file is an
        InputError naming it and how to rebuild it.
        """
        try:
            return self._update(fresh, now, retention_days)
        except InputError as exc:
            raise InputError(recovery.explain(exc.message, self.path)) from None

    def _damaged_row(self, number: int, line: str) -> InputError:
        return InputError(recovery.explain(f"{self.display}: line {number}: not a rollup row {line[:80]!r}",
                                           self.path))

    def _update(self, fresh: dict[tuple[str, str], RollupRow], now: datetime,
                retention_days: int) -> tuple[list[RollupRow], int]:
        cutoff = (now - timedelta(days=retention_days)).strftime("%Y-%m-%dT%H:00:00Z")
        start = min((h for h, _ in fresh), default=None)
        kept_text: list[str] = []
        tail: dict[tuple[str, str], RollupRow] = {}
        last_before: dict[str, RollupRow] = {}
        dropped = 0
        try:
            with open(self.path, encoding="utf-8") as handle:
                lines = handle.readlines()
        except FileNotFoundError:
            lines = []
        if lines and lines[0] != HEADER:
            raise InputError(f"{self.display}: line 1: unexpected header {lines[0].strip()!r}")
        for number, line in enumerate(lines[1:], start=2):
            if not line.endswith("\n"):
                continue  # never produced by an atomic rewrite; ignore rather than trust
            if line.count(",") < 2:
                raise self._damaged_row(number, line)
            hour, source = line.split(",", 2)[:2]
            if hour < cutoff:
                dropped += 1
                continue
            if start is not None and hour >= start:
                tail[(hour, source)] = RollupRow.parse(line, f"{self.display}: line {number}")
            else:
                kept_text.append(line)
                if start is not None:
                    last_before[source] = (hour, line)  # type: ignore[assignment]
        tail.update({k: v for k, v in fresh.items() if k[0] >= cutoff})
        ordered = sorted(tail.values(), key=lambda r: (r.hour_utc, r.source))
        previous: dict[str, RollupRow] = {}
        for source, (hour, line) in last_before.items():  # type: ignore[misc]
            previous[source] = RollupRow.parse(line, self.display)
        for row in ordered:
            prior = previous.get(row.source)
            contiguous = prior is not None and parse_iso(row.hour_utc) - parse_iso(prior.hour_utc) == timedelta(hours=1)
            row.breach_streak = (prior.breach_streak + 1 if contiguous else 1) if row.breach_flag else 0
            previous[row.source] = row
        if fresh or dropped or not self.path.exists():
            fsio.atomic_write_text(self.path, HEADER + "".join(kept_text) + "".join(r.line() for r in ordered))
        return ordered, dropped

    def read_since(self, since: str) -> list[RollupRow]:
        """Rows with hour_utc >= ``since`` (for the step summary chart)."""
        try:
            return self._read_since(since)
        except InputError as exc:
            raise InputError(recovery.explain(exc.message, self.path)) from None

    def _read_since(self, since: str) -> list[RollupRow]:
        rows = []
        try:
            with open(self.path, encoding="utf-8") as handle:
                next(handle, None)
                for number, line in enumerate(handle, start=2):
                    if line[:20] >= since and line.endswith("\n"):
                        rows.append(RollupRow.parse(line, f"{self.display}: line {number}"))
        except FileNotFoundError:
            pass
        return rows

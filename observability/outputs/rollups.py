"""The hourly latency rollup file: its columns, its row type, and its day partitions read as one file.

The latency job writes ``ops/signal_latency_rollup.csv`` (``--rollup-output``) as the directory
``ops/signal_latency_rollup/`` of ``YYYY-MM-DD.csv`` partitions, each with the same header and rows
sorted by (hour_utc, source); concatenated in name order (headers dropped) they are exactly the old
single file. The weekly report and the dashboard read them through :func:`read_rows`, with the one rule
for bad values (:mod:`observability.upstream.values`): a row that cannot be read (wrong number of fields,
an hour that is not ``YYYY-MM-DDThh:00:00Z``, an empty source, a count that is not a whole number >= 0, a
failure rate outside [0, 1], a latency that is negative or not a finite number, a breach flag other than
``true``/``false``) is skipped with a warning naming the file (the day partition) and its line. A file
whose first line is not the header is unusable as a whole (an error, as before).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from observability import recovery
from observability.errors import InputError
from observability.upstream import values
from observability.upstream.values import BadValue, Skips

COLUMNS = (
    "hour_utc",
    "source",
    "count",
    "failure_count",
    "failure_rate",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "breach_flag",
    "breach_streak",
)
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
    def parse(cls, line: str, where: str) -> RollupRow:
        parts = line.rstrip("\n").split(",")
        if len(parts) != len(COLUMNS):
            raise InputError(f"{where}: expected {len(COLUMNS)} fields, found {len(parts)}")
        try:
            return cls(
                parts[0],
                parts[1],
                int(parts[2]),
                int(parts[3]),
                float(parts[4]),
                float(parts[5]),
                float(parts[6]),
                float(parts[7]),
                float(parts[8]),
                parts[9] == "true",
                int(parts[10]),
            )
        except ValueError as exc:
            raise InputError(f"{where}: {exc}") from None

    def as_dict(self) -> dict:
        return {c: getattr(self, c) for c in COLUMNS}

    def line(self) -> str:
        return (
            f"{self.hour_utc},{self.source},{self.count},{self.failure_count},{self.failure_rate:.4f},"
            f"{self.p50_ms:.3f},{self.p95_ms:.3f},{self.p99_ms:.3f},{self.max_ms:.3f},"
            f"{'true' if self.breach_flag else 'false'},{self.breach_streak}\n"
        )


HOUR = re.compile(r"\d{4}-\d\d-\d\dT\d\d:00:00Z")
_FLAGS = {"true": True, "false": False}


def _required(parsed, field_name: str):
    if parsed is None:
        raise BadValue(field_name, "missing")
    return parsed


def _checked(parts: list[str]) -> RollupRow:
    """The row field by field by the shared rule; raises BadValue naming the first unusable field."""
    hour, source = parts[0].strip(), parts[1].strip()
    if not HOUR.fullmatch(hour):
        raise BadValue("hour_utc", f"{values._shown(parts[0])} is not an hour (YYYY-MM-DDThh:00:00Z)")
    if not source:
        raise BadValue("source", "empty")
    count = _required(values.count(parts[2], "count", text=True), "count")
    failures = _required(values.count(parts[3], "failure_count", text=True), "failure_count")
    rate = _required(values.rate(parts[4], "failure_rate", text=True), "failure_rate")
    ms = [_required(values.non_negative(parts[i], COLUMNS[i], text=True), COLUMNS[i]) for i in range(5, 9)]
    flag = _FLAGS.get(parts[9].strip())
    if flag is None:
        raise BadValue("breach_flag", f"{values._shown(parts[9])} is neither true nor false")
    streak = _required(values.count(parts[10], "breach_streak", text=True), "breach_streak")
    if failures > count:
        raise BadValue("failure_count", f"{failures} failures > {count} samples")
    p50, p95, p99, peak = ms
    return RollupRow(hour, source, count, failures, rate, p50, p95, p99, peak, flag, streak)


_INF = math.inf
_is_hour = HOUR.fullmatch


def parse_row(line: str) -> RollupRow:
    """One rollup line as a row; ValueError (BadValue for a field) when it is unusable.

    The latency job's own lines take the fast path (weekly and dashboard read every row of 90 days);
    anything else is checked field by field so the warning names the field and the value.
    """
    parts = line.rstrip("\r\n").split(",")
    if len(parts) != len(COLUMNS):
        raise ValueError(f"row has {len(parts)} of {len(COLUMNS)} fields")
    hour, source, flag = parts[0], parts[1], parts[9]
    try:
        count, failures, streak = int(parts[2]), int(parts[3]), int(parts[10])
        rate, p50, p95, p99, top = float(parts[4]), float(parts[5]), float(parts[6]), float(parts[7]), float(parts[8])
    except ValueError:
        return _checked(parts)
    # Chained comparisons are False for NaN, and `< _INF` excludes infinity.
    if (
        count >= failures >= 0
        and streak >= 0
        and 0.0 <= rate <= 1.0
        and 0.0 <= p50 < _INF
        and 0.0 <= p95 < _INF
        and 0.0 <= p99 < _INF
        and 0.0 <= top < _INF
        and (flag == "true" or flag == "false")
        and source
        and source.strip() == source
        and _is_hour(hour)
    ):
        return RollupRow(hour, source, count, failures, rate, p50, p95, p99, top, flag == "true", streak)
    return _checked(parts)


DAY_FILE = re.compile(r"\d{4}-\d{2}-\d{2}\.csv")
HEADER_BYTES = HEADER.encode()


def partition_dir(path: Path) -> Path:
    """Directory of the day partitions of the logical rollup file ``path`` (``x.csv`` -> ``x/``)."""
    return path.with_suffix("") if path.suffix else path.with_name(path.name + ".d")


def day_files(directory: Path) -> list[str]:
    """Day names (``YYYY-MM-DD``) of the partitions in ``directory``, oldest first."""
    try:
        names = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(n[:-4] for n in names if DAY_FILE.fullmatch(n))


def read_parts(path: Path) -> tuple[bytes, list[tuple[Path, bytes]]]:
    """The rollups as one CSV (what :func:`read_combined` returns) and the files it came from, oldest first,
    each as (path, bytes): the day partitions (torn tail cut off) or an old single file.

    Raises FileNotFoundError when there are neither, OSError when unreadable, and InputError (naming
    the partition and line 1) when a partition does not start with the header.
    """
    directory = partition_dir(path)
    days = day_files(directory)
    if not days:
        if directory.is_dir() and not path.exists():
            return HEADER_BYTES, []  # every day expired: no rows, not a missing file
        data = path.read_bytes()
        return data, [(path, data)]
    parts = []
    for day in days:
        part = directory / f"{day}.csv"
        data = part.read_bytes()
        if not data.startswith(HEADER_BYTES):
            found = data.split(b"\n", 1)[0][:120].decode("utf-8", "replace")
            raise InputError(
                recovery.explain(f"{part.parent.name}/{part.name}: line 1: unexpected header {found!r}", part)
            )
        parts.append((part, data[: data.rfind(b"\n") + 1]))  # a torn tail is never written by an atomic rewrite
    return b"".join([HEADER_BYTES, *(data[len(HEADER_BYTES) :] for _, data in parts)]), parts


def parse_parts(parts: list[tuple[Path, bytes]], display: Callable[[Path], str]) -> tuple[list[RollupRow], list[str]]:
    """Every usable row of ``parts`` in order, and the skip warnings (``<file>: line N: ...; row skipped``).

    A part that is not UTF-8 or does not start with the header raises InputError naming it (the file as a
    whole is unusable); blank lines and an unterminated last line are passed over without a warning.
    """
    rows: list[RollupRow] = []
    warnings: list[str] = []
    for path, data in parts:
        name = display(path)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError(f"{name}: not UTF-8 (byte {exc.start})", input=name) from None
        lines = text.splitlines(keepends=True)
        if not lines or lines[0].rstrip("\r\n") != HEADER[:-1]:
            found = lines[0].strip()[:120] if lines else ""
            raise InputError(f"{name}: line 1: unexpected header {found!r}", input=name)
        skips = Skips()
        for number, line in enumerate(lines[1:], start=2):
            if not line.endswith("\n") or not line.strip():
                continue  # a torn tail is never written by the latency job's atomic rewrite
            try:
                rows.append(parse_row(line))
            except ValueError as exc:
                skips.add(f"line {number}", exc)
        warnings.extend(skips.for_file(name))
    return rows, warnings


def read_combined(path: Path) -> bytes:
    """The rollups as one CSV (header + every row in order), from the partitions or an old single file.

    Errors as :func:`read_parts`.
    """
    return read_parts(path)[0]

"""The hourly latency rollup file: its columns, its row type, and its day partitions read as one file.

The latency job writes ``ops/signal_latency_rollup.csv`` (``--rollup-output``) as the directory
``ops/signal_latency_rollup/`` of ``YYYY-MM-DD.csv`` partitions, each with the same header and rows
sorted by (hour_utc, source); concatenated in name order (headers dropped) they are exactly the old
single file. The weekly report and the dashboard read them through :func:`read_combined`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from observability import recovery
from observability.errors import InputError

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
    def parse(cls, line: str, where: str) -> RollupRow:
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


def read_combined(path: Path) -> bytes:
    """The rollups as one CSV (header + every row in order), from the partitions or an old single file.

    Raises FileNotFoundError when there are neither, OSError when unreadable, and InputError (naming
    the partition and line 1) when a partition does not start with the header.
    """
    directory = partition_dir(path)
    days = day_files(directory)
    if not days:
        if directory.is_dir() and not path.exists():
            return HEADER_BYTES  # every day expired: no rows, not a missing file
        return path.read_bytes()
    parts = [HEADER_BYTES]
    for day in days:
        part = directory / f"{day}.csv"
        data = part.read_bytes()
        if not data.startswith(HEADER_BYTES):
            found = data.split(b"\n", 1)[0][:120].decode("utf-8", "replace")
            raise InputError(recovery.explain(f"{part.parent.name}/{part.name}: line 1: unexpected header {found!r}",
                                              part))
        body = data[len(HEADER_BYTES):]
        parts.append(body[:body.rfind(b"\n") + 1])  # a torn tail is never written by an atomic rewrite
    return b"".join(parts)

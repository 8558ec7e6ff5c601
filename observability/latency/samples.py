"""Latency samples and the incremental reader for upstream signal logs (both formats).

A cursor remembers how far a log was read and a fingerprint of what was read, so a log
that is appended to continues where it stopped, and one that was truncated or rotated is
noticed (the unread tail of a rotated log is read from its rotated sibling when found).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from observability.clock import iso, parse_iso
from observability.errors import InputError, MissingInputError

SUCCESS_STATUSES = frozenset({"success", "ok", "stable"})
SOURCE_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
FINGERPRINT_BYTES = 1024
MAX_FUTURE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Sample:
    timestamp: datetime
    source: str
    latency_ms: float
    status: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status in SUCCESS_STATUSES

    @property
    def is_error(self) -> bool:
        return self.status == "error"

    @property
    def key(self) -> tuple:
        """Identity used to recognise a sample that is already stored."""
        return (iso(self.timestamp), self.source, round(self.latency_ms, 3), self.status, self.detail)


@dataclass(frozen=True)
class Reject:
    input: str
    line: int
    reason: str
    raw: str


class RowError(ValueError):
    """One sample row cannot be used (the reason goes to the rejects file)."""


def _timestamp(value: str, field: str, now: datetime) -> datetime:
    try:
        stamp = parse_iso(value)
    except ValueError:
        raise RowError(f"{field} {value!r} is not an ISO-8601 timestamp") from None
    if stamp > now + MAX_FUTURE:
        raise RowError(f"{field} {value!r} is more than 1 h in the future")
    return stamp


def _latency(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise RowError(f"latency_ms {value!r} is not a number") from None
    if not math.isfinite(number) or number < 0:
        raise RowError(f"latency_ms {value!r} must be a finite number >= 0")
    return number


def _source(value: str | None, default: str | None) -> str:
    source = (value or "").strip() or (default or "")
    if not source:
        raise RowError("source is empty and the input has no default source")
    if not SOURCE_RE.match(source):
        raise RowError(f"source {source[:80]!r} must match {SOURCE_RE.pattern}")
    return source


def _status(value: str | None) -> str:
    status = (value or "").strip().lower()
    if not status:
        raise RowError("status is empty")
    return status


class RowParser:
    """Turns CSV rows of one header (current or legacy notifier format) into samples."""

    def __init__(self, header: list[str], display: str, default_source: str | None):
        names = [h.strip().lower() for h in header]
        if names:
            names[0] = names[0].lstrip("\ufeff")  # a byte-order mark written by some spreadsheet exports
        self.columns = {name: i for i, name in enumerate(names)}
        self.width = len(names)
        self.default_source = default_source
        if {"timestamp_utc", "latency_ms"} <= self.columns.keys():
            self.kind = "current"
        elif {"ts_emit", "ts_ack"} <= self.columns.keys():
            self.kind = "legacy"
        else:
            raise InputError(
                f"{display}: line 1: unknown header {','.join(header)!r}; expected "
                "'timestamp_utc,latency_ms,status,detail,source' or 'signal_id,ts_emit,ts_ack,status,detail'")

    def _get(self, row: list[str], name: str) -> str | None:
        index = self.columns.get(name)
        return row[index] if index is not None and index < len(row) else None

    def parse(self, row: list[str], now: datetime) -> Sample:
        if len(row) < self.width:
            raise RowError(f"expected {self.width} fields, found {len(row)}")
        if self.kind == "current":
            stamp = _timestamp(self._get(row, "timestamp_utc") or "", "timestamp_utc", now)
            latency = _latency((self._get(row, "latency_ms") or "").strip())
        else:
            emit = _timestamp(self._get(row, "ts_emit") or "", "ts_emit", now)
            ack = _timestamp(self._get(row, "ts_ack") or "", "ts_ack", now)
            stamp, latency = ack, max((ack - emit).total_seconds() * 1000.0, 0.0)
        return Sample(stamp, _source(self._get(row, "source"), self.default_source), latency,
                      _status(self._get(row, "status")), (self._get(row, "detail") or "").strip()[:500])


def _fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_prefix(path: Path, length: int) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(length)


def _matches(path: Path, cursor: dict) -> bool:
    length = cursor.get("prefix_len", 0)
    if length == 0:
        return True
    try:
        return _fingerprint(_read_prefix(path, length)) == cursor.get("prefix_sha256")
    except OSError:
        return False


def _looks_rotated_from(path: Path, candidate: Path) -> bool:
    if candidate == path or not candidate.is_file():
        return False
    name = candidate.name
    return name.startswith(path.name + ".") or name.startswith(path.name + "-") or name.startswith(path.stem + "-")


def _rotated_sibling(path: Path, cursor: dict) -> Path | None:
    """A rotated copy of the log (``name.1``, ``name.2025...``, ``stem-...``) holding the cursor's bytes."""
    try:
        siblings = sorted(p for p in path.parent.iterdir() if _looks_rotated_from(path, p))
    except OSError:
        return None
    for candidate in siblings:
        if candidate.stat().st_size >= cursor.get("offset", 0) and _matches(candidate, cursor):
            return candidate
    return None


def _parse_chunk(text: str, first_line: int, parser: RowParser | None, display: str, rel: str,
                 default_source: str | None, now: datetime, samples: list, rejects: list):
    """Parse complete lines; returns the parser (created from the header when reading from the top)."""
    reader = csv.reader(io.StringIO(text))
    for row in reader:
        line_no = first_line + reader.line_num - 1
        if parser is None:
            parser = RowParser(row, display, default_source)
            continue
        if not row or all(not cell.strip() for cell in row):
            continue
        try:
            samples.append(parser.parse(row, now))
        except RowError as exc:
            rejects.append(Reject(rel, line_no, str(exc), ",".join(row)[:300]))
    return parser


def read_new(path: Path, cursor: dict | None, *, rel: str, default_source: str | None,
             now: datetime) -> tuple[list[Sample], list[Reject], dict, list[str]]:
    """Read what was appended to ``path`` since ``cursor``.

    Returns (samples, rejects, new cursor, notes). Only whole lines are consumed: a line
    still being written is left for the next run.
    """
    if path.is_dir():
        raise InputError(f"{rel}: signal log is a directory, expected a file", input=rel)
    if not path.is_file():
        raise MissingInputError(f"{rel}: signal log not found")
    cursor = dict(cursor or {})
    samples: list[Sample] = []
    rejects: list[Reject] = []
    notes: list[str] = []
    size = path.stat().st_size
    offset = int(cursor.get("offset", 0))
    if offset and (size < offset or not _matches(path, cursor)):
        sibling = _rotated_sibling(path, cursor)
        if sibling is not None:
            notes.append(f"{rel} was rotated; read the rest of {sibling.name} first")
            tail, _ = _read_from(sibling, offset)
            parser = RowParser(cursor["header"], rel, default_source) if cursor.get("header") else None
            _parse_chunk(tail.decode("utf-8", "replace"), cursor.get("line", 1) + 1, parser, rel, rel,
                         default_source, now, samples, rejects)
        else:
            notes.append(f"{rel} was truncated or replaced; reading it from the start")
        cursor, offset = {}, 0
    data, consumed = _read_from(path, offset)
    if not data:
        return samples, rejects, {**cursor, "offset": offset} if cursor else _cursor_for(path, 0, 0, None), notes
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{rel}: not UTF-8 text (byte {offset + exc.start})") from None
    parser = RowParser(cursor["header"], rel, default_source) if offset and cursor.get("header") else None
    line = int(cursor.get("line", 0))
    parser = _parse_chunk(text, line + 1, parser, rel, rel, default_source, now, samples, rejects)
    header = cursor.get("header")
    if header is None and parser is not None:
        header = next(csv.reader(io.StringIO(text.split("\n", 1)[0])))
    new_cursor = _cursor_for(path, offset + consumed, line + text.count("\n"), header)
    return samples, rejects, new_cursor, notes


def _read_from(path: Path, offset: int) -> tuple[bytes, int]:
    """Complete records after ``offset``: up to the last newline that is not inside a quoted field
    (a detail with a newline in it may still be being written)."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        data = handle.read()
    end = data.rfind(b"\n")
    if end < 0:
        return b"", 0
    chunk = data[: end + 1]
    if chunk.count(b'"') % 2:  # the last record is still open: stop before it
        quoted, last, position = False, 0, 0
        for line in chunk.splitlines(keepends=True):
            position += len(line)
            quoted ^= line.count(b'"') % 2 == 1
            if not quoted:
                last = position
        chunk = chunk[:last]
    return chunk, len(chunk)


def _cursor_for(path: Path, offset: int, line: int, header: list[str] | None) -> dict:
    length = min(offset, FINGERPRINT_BYTES)
    prefix = _read_prefix(path, length) if length else b""
    return {"offset": offset, "line": line, "header": header, "prefix_len": length,
            "prefix_sha256": _fingerprint(prefix)}

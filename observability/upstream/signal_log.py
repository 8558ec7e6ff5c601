"""The one reader of the upstream signal logs (both formats): latency samples, read incrementally.

Only the latency job reads the logs' rows; ``inputs pull`` fetches their bytes (observability.inputs.incremental,
which fingerprints the same ``FINGERPRINT_BYTES`` prefix) without parsing them.

A cursor remembers how far a log was read and a fingerprint of what was read, so a log
that is appended to continues where it stopped, and one that was truncated or rotated is
noticed (the unread tail of a rotated log is read from its rotated sibling when found).

The reader works line by line on bytes, so one bad row costs that row only (it goes to the
rejects file with its line number) and the cursor always moves past it. A record is one line;
it continues onto the next lines only while a field that *starts* with ``"`` is still open
(RFC 4180: a quoted detail may hold a newline, e.g. a traceback) and only over lines that are
not records on their own. A ``"`` inside an unquoted field is plain text.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

from observability.clock import iso, parse_iso
from observability.errors import InputError, MissingInputError
from observability.progress import Progress

SUCCESS_STATUSES = frozenset({"success", "ok", "stable"})
SOURCE_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
FINGERPRINT_BYTES = 1024
MAX_FUTURE = timedelta(hours=1)
# A record longer than this is rejected: the csv module's own field limit (131,072 characters)
# would otherwise fail the whole run, and a detail is cut to 500 characters anyway.
MAX_RECORD_BYTES = 128 * 1024
# A quoted field may hold a newline (a traceback); it may not run on for more lines than this.
MAX_RECORD_LINES = 200
RAW_CHARS = 300
UNTERMINATED = "unterminated quoted field: a field opens a quote that no later line closes"

# One CSV field as Python's csv module reads it (default dialect): a quoted field (``""`` is a
# quote) followed by anything up to the comma, or an unquoted field in which ``"`` is plain text.
# A line that does not match ends inside an open quoted field. Possessive quantifiers keep it linear.
_FIELD = r'(?:"(?:[^"]|"")*+"[^,]*+|[^,"][^,]*+|)'
_CLOSED = re.compile(rf"{_FIELD}(?:,{_FIELD})*+", re.S)


@dataclass(frozen=True, slots=True)
class Sample:
    """One latency measurement of one source."""

    timestamp: datetime
    source: str
    latency_ms: float
    status: str
    detail: str = ""
    # ms from the orchestrator's start to the moment the run took this sample (docs/runbook.md,
    # "Raw samples"); None for samples stored before the field existed. Not part of the identity.
    ingest_latency_ms: int | None = field(default=None, compare=False)

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
    """An input row that was not a sample, and why."""

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
                "'timestamp_utc,latency_ms,status,detail,source' or 'signal_id,ts_emit,ts_ack,status,detail'"
            )

        # Column positions, looked up once (hot path); parse() checks the width first.
        get = self.columns.get
        self._at: dict[str, int] = {
            name: at
            for name in ("timestamp_utc", "latency_ms", "ts_emit", "ts_ack", "status", "detail", "source")
            if (at := get(name)) is not None
        }

    def parse(self, row: list[str], now: datetime) -> Sample:
        if len(row) < self.width:
            raise RowError(f"expected {self.width} fields, found {len(row)}")
        at = self._at
        if self.kind == "current":
            stamp = _timestamp(row[at["timestamp_utc"]], "timestamp_utc", now)
            latency = _latency(row[at["latency_ms"]].strip())
        else:
            emit = _timestamp(row[at["ts_emit"]], "ts_emit", now)
            ack = _timestamp(row[at["ts_ack"]], "ts_ack", now)
            if ack < emit:
                raise RowError(
                    f"ts_ack {row[at['ts_ack']]!r} is before ts_emit {row[at['ts_emit']]!r} "
                    "(clock skew between the hosts): no latency can be measured"
                )
            stamp, latency = ack, (ack - emit).total_seconds() * 1000.0
        source, status, detail = at.get("source"), at.get("status"), at.get("detail")
        return Sample(
            stamp,
            _source(row[source] if source is not None else None, self.default_source),
            latency,
            _status(row[status] if status is not None else None),
            row[detail].strip()[:500] if detail is not None else "",
        )


def _fingerprint(data: bytes) -> str:
    from observability.digest import sha256  # built-in SHA-256: no OpenSSL load in a cycle

    return sha256(data).hexdigest()


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


def _open_quote(text: str) -> bool:
    """True when ``text`` ends inside a quoted field (the record goes on after its newline)."""
    return '"' in text and _CLOSED.fullmatch(text.rstrip("\r")) is None


def _fields(text: str) -> list[str]:
    """One record's fields, as csv reads them (raises csv.Error)."""
    if '"' not in text and "\r" not in text:
        return text.split(",")
    return next(csv.reader([text]), [])


def _blank(text: str) -> bool:
    """A line of nothing but commas and spaces (skipped, as csv readers do with empty rows)."""
    return not text.replace(",", "").replace('"', "").strip()


def _shown(data: bytes) -> str:
    return data[: RAW_CHARS * 4].decode("utf-8", "backslashreplace")[:RAW_CHARS]


class _Chunk:
    """Parses the complete lines of one read: samples, rejects, and how far it got."""

    def __init__(
        self,
        parser: RowParser | None,
        rel: str,
        default_source: str | None,
        now: datetime,
        samples: list,
        rejects: list,
    ):
        self.parser, self.rel, self.default_source, self.now = parser, rel, default_source, now
        self.samples, self.rejects = samples, rejects
        self.header: list[str] | None = None

    def reject(self, line_no: int, reason: str, raw: str) -> None:
        self.rejects.append(Reject(self.rel, line_no, reason, raw.rstrip("\r")[:RAW_CHARS]))

    def _sample(self, text: str) -> Sample | None:
        """The sample of one whole record (None for a blank one); raises RowError or csv.Error."""
        assert self.parser is not None  # records come after the header
        try:
            return self.parser.parse(_fields(text), self.now)
        except RowError:
            if _blank(text):
                return None
            raise

    def _is_record(self, text: str | None) -> bool:
        if text is None:
            return False
        try:
            return self._sample(text) is not None
        except (RowError, csv.Error):
            return False

    def _header(self, text: str | None, line_no: int) -> None:
        if text is None:
            raise InputError(f"{self.rel}: line {line_no}: the header is not UTF-8 text")
        try:
            self.header = next(csv.reader([text]), [])
        except csv.Error as exc:
            raise InputError(f"{self.rel}: line {line_no}: unreadable header ({exc})") from None
        self.parser = RowParser(self.header, self.rel, self.default_source)

    def run(self, data: bytes, first_line: int, *, final: bool, label: str | None = None) -> tuple[int, int]:
        """Parse ``data`` (whole lines); returns (bytes consumed, lines consumed).

        Unless ``final``, a record still open at the end (a quoted field not closed yet) is left
        for the next read; at the end of a rotated file nothing more can come, so it is rejected.
        A read taking over two seconds (a backfill) reports its progress on stderr as ``label``.
        """
        with Progress(label or self.rel, len(data), unit="B") as progress:
            consumed, lines = self._run(data, first_line, final, progress)
            progress.done = float(consumed)
        return consumed, lines

    def _run(self, data: bytes, first_line: int, final: bool, progress: Progress) -> tuple[int, int]:
        lines = data.split(b"\n")
        lines.pop()  # data ends with a newline: the last piece is empty
        try:
            texts = cast("list[str | None]", data.decode("utf-8").split("\n"))
        except UnicodeDecodeError:
            texts = []
            for line in lines:
                try:
                    texts.append(line.decode("utf-8"))
                except UnicodeDecodeError:
                    texts.append(None)
        count, i, consumed = len(lines), 0, 0
        append, now = self.samples.append, self.now
        parse = self.parser.parse if self.parser is not None else None
        while i < count:
            if not i & 0x3FFF:  # every 16,384 lines: the clock is read rarely in the hot loop
                progress.update(consumed)
            text, line_no = texts[i], first_line + i
            if parse is None:
                self._header(text, line_no)
                assert self.parser is not None  # _header made it or raised
                parse = self.parser.parse
            elif len(lines[i]) > MAX_RECORD_BYTES:
                self.reject(
                    line_no,
                    f"line is {len(lines[i])} bytes, longer than the {MAX_RECORD_BYTES}-byte limit for one row",
                    _shown(lines[i]),
                )
            elif text is None:
                try:
                    lines[i].decode("utf-8")
                except UnicodeDecodeError as exc:
                    where = exc.start
                self.reject(line_no, f"not UTF-8 text (byte {where + 1} of the line)", _shown(lines[i]))
            elif _open_quote(text):
                end = self._continued(lines, texts, i)
                if end is None and not final:
                    break  # maybe still being written: read it again next time
                if end is None or end == i + 1:
                    end = i + 1
                    self.reject(line_no, UNTERMINATED, text)
                else:
                    self._record("\n".join(cast("list[str]", texts[i:end])), line_no)  # _continued: all text
                consumed += sum(len(line) + 1 for line in lines[i:end])
                i = end
                continue
            elif '"' in text or "\r" in text:
                self._record(text, line_no)
            else:  # the common case, inline: a plain line splits on commas exactly as csv would
                try:
                    append(parse(text.split(","), now))
                except RowError as exc:
                    if not _blank(text):
                        self.reject(line_no, str(exc), text)
            consumed += len(lines[i]) + 1
            i += 1
        return consumed, i

    def _continued(self, lines: list[bytes], texts: list[str | None], i: int) -> int | None:
        """End (exclusive line index) of the record opened on line ``i``: past the line that closes its
        quote; ``i + 1`` when the next line cannot continue it; None when the data ends first."""
        text, size = texts[i], len(lines[i])
        for j in range(i + 1, min(len(lines), i + MAX_RECORD_LINES)):
            size += len(lines[j]) + 1
            if texts[j] is None or size > MAX_RECORD_BYTES or self._is_record(texts[j]):
                return i + 1
            text = f"{text}\n{texts[j]}"
            if not _open_quote(text):
                return j + 1
        return None if len(lines) < i + MAX_RECORD_LINES else i + 1

    def _record(self, text: str, line_no: int) -> None:
        try:
            sample = self._sample(text)
        except RowError as exc:
            self.reject(line_no, str(exc), text)
        except csv.Error as exc:
            self.reject(line_no, f"not a CSV row ({exc})", text)
        else:
            if sample is not None:
                self.samples.append(sample)


def read_new(
    path: Path, cursor: dict | None, *, rel: str, default_source: str | None, now: datetime
) -> tuple[list[Sample], list[Reject], dict, list[str]]:
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
            tail = _read_from(sibling, offset, finished=True)
            parser = RowParser(cursor["header"], rel, default_source) if cursor.get("header") else None
            # Its rejects name the rotated file, where their line numbers hold.
            sibling_rel = f"{rel.rsplit('/', 1)[0]}/{sibling.name}" if "/" in rel else sibling.name
            _Chunk(parser, sibling_rel, default_source, now, samples, rejects).run(
                tail, int(cursor.get("line", 0)) + 1, final=True
            )
        else:
            notes.append(f"{rel} was truncated or replaced; reading it from the start")
        cursor, offset = {}, 0
    data = _read_from(path, offset)
    if not data:
        return samples, rejects, {**cursor, "offset": offset} if cursor else _cursor_for(path, 0, 0, None), notes
    parser = RowParser(cursor["header"], rel, default_source) if offset and cursor.get("header") else None
    line = int(cursor.get("line", 0))
    chunk = _Chunk(parser, rel, default_source, now, samples, rejects)
    consumed, lines = chunk.run(data, line + 1, final=False, label=f"{rel}: reading new rows")
    header = cursor.get("header") if offset else chunk.header
    new_cursor = _cursor_for(path, offset + consumed, line + lines, header)
    return samples, rejects, new_cursor, notes


def _read_from(path: Path, offset: int, *, finished: bool = False) -> bytes:
    """The complete lines after ``offset`` (a last line without its newline is still being written,
    unless the file is ``finished``: a rotated log gets no more bytes, so its last line is whole).

    Lines that end in a bare CR (old Mac style) are read as lines: with no LF at all in what is
    unread, each CR becomes an LF (same length, so offsets hold). A single trailing CR may be the
    first half of a CRLF still being written, so such a file waits for its second line.
    """
    with open(path, "rb") as handle:
        handle.seek(offset)
        data = handle.read()
    if b"\n" not in data and b"\r" in data.rstrip(b"\r"):
        data = data.replace(b"\r", b"\n")
    if finished:
        return data if not data or data.endswith(b"\n") else data + b"\n"
    return data[: data.rfind(b"\n") + 1]


def _cursor_for(path: Path, offset: int, line: int, header: list[str] | None) -> dict:
    length = min(offset, FINGERPRINT_BYTES)
    prefix = _read_prefix(path, length) if length else b""
    return {
        "offset": offset,
        "line": line,
        "header": header,
        "prefix_len": length,
        "prefix_sha256": _fingerprint(prefix),
    }

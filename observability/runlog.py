"""The automation log: one schema-checked JSON line per job event, with a gap-detectable sequence.

The live log ``ops/automation_runs.log`` holds the newest lines; older ones are rotated (by size and
by UTC month) into immutable, deterministically gzipped segments
``ops/automation_runs/YYYY/MM/<first_seq>-<last_seq>_<first_start>-<last_start>.jsonl.gz`` kept
``RETENTION_DAYS``. Every reader goes through ``iter_lines``/``iter_records``, which open only the
segments whose time range overlaps the window asked for.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from observability import clock, fsio, schemas, secrets
from observability.errors import InputError, WorkspaceError
from observability.workspace import Workspace

MAX_LINE_BYTES = 4096
LOCK_TIMEOUT_SECONDS = 60
# The live log is re-uploaded by every state push: keep it well under the 1 MB a push may cost.
ROTATE_BYTES = 512 * 1024
RETENTION_DAYS = 90
KEEP = timedelta(hours=6)  # GitHub's job time limit: no run's lines are older than this when it ends
GZIP_LEVEL = 6  # fixed, with mtime 0 and no file name: the same lines give the same segment bytes
_STAMP = "%Y%m%dT%H%M%SZ"
_SEGMENT_RE = re.compile(r"^([0-9]{12})-([0-9]{12})_([0-9]{8}T[0-9]{6}Z)-([0-9]{8}T[0-9]{6}Z)\.jsonl\.gz$")
_JOB_ID_TIME = re.compile(r"^([0-9]{8}T[0-9]{6}Z)-")
# How far a run's started_at may lie from the time in its job id (lock waits, retries, --job-id reuse).
JOB_ID_SLACK = timedelta(days=2)


class SegmentError(InputError):
    """A rotated segment of the automation log cannot be read (damaged gzip, unreadable file)."""


@dataclass(frozen=True)
class Segment:
    """One rotated segment, described by its name alone (no need to open it to select it)."""

    path: Path
    first_sequence: int
    last_sequence: int
    first_at: datetime  # earliest started_at of its lines
    last_at: datetime  # latest started_at of its lines


@dataclass(frozen=True)
class Line:
    """One raw line of the log: where it is (workspace-relative file, 1-based line) and its bytes."""

    source: str
    number: int
    data: bytes
    torn: bool = False  # the live log's last line without a newline: a writer was killed mid-line


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime(_STAMP)


def _parse_stamp(text: str) -> datetime:
    """``YYYYMMDDThhmmssZ`` (callers match it by regex first); ValueError for an impossible time.

    Not strptime: its first call compiles a locale-aware regex, a few ms of every job's start-up."""
    if (
        len(text) != 16
        or text[8] != "T"
        or text[15] != "Z"
        or not (text[:8] + text[9:15]).isdigit()
        or not text.isascii()
    ):
        raise ValueError(f"not a {_STAMP} time: {text!r}")
    return datetime(
        int(text[0:4]), int(text[4:6]), int(text[6:8]), int(text[9:11]), int(text[11:13]), int(text[13:15]), tzinfo=UTC
    )


def segment_name(first_sequence: int, last_sequence: int, first_at: datetime, last_at: datetime) -> str:
    """``YYYY/MM/<first_seq:012d>-<last_seq:012d>_<first>-<last>.jsonl.gz`` (month of ``first_at``)."""
    first_at = first_at.astimezone(UTC)
    return (
        f"{first_at:%Y}/{first_at:%m}/{first_sequence:012d}-{last_sequence:012d}_"
        f"{_stamp(first_at)}-{_stamp(last_at)}.jsonl.gz"
    )


def segments(workspace: Workspace, problems: list[tuple[str, str]] | None = None) -> list[Segment]:
    """Every segment under ops/automation_runs/, oldest sequence first (names are the index).

    A ``.jsonl.gz`` whose name does not parse is reported in ``problems`` as (path, message).
    """
    top = workspace.run_segments
    found: list[Segment] = []
    try:
        years = sorted(os.listdir(top))
    except (FileNotFoundError, NotADirectoryError):
        return found
    for year in years:
        for month in sorted(_listdir(top / year)):
            for name in sorted(_listdir(top / year / month)):
                if name.startswith(".") or not name.endswith(".jsonl.gz"):
                    continue  # temp files of an atomic write, foreign files
                path = top / year / month / name
                match = _SEGMENT_RE.match(name)
                if not match:
                    if problems is not None:
                        problems.append(
                            (
                                workspace.rel(path),
                                "not a segment name (<first_seq>-<last_seq>_<first_start>-<last_start>.jsonl.gz)",
                            )
                        )
                    continue
                try:
                    first_at, last_at = _parse_stamp(match.group(3)), _parse_stamp(match.group(4))
                except ValueError:
                    if problems is not None:
                        problems.append((workspace.rel(path), "the time range in its name is not a valid time"))
                    continue
                found.append(Segment(path, int(match.group(1)), int(match.group(2)), first_at, last_at))
    found.sort(key=lambda s: (s.first_sequence, s.last_sequence, s.path.name))
    return found


def _listdir(path: Path) -> list[str]:
    try:
        return os.listdir(path)
    except (FileNotFoundError, NotADirectoryError):
        return []


def encode_segment(lines: list[bytes]) -> bytes:
    """Deterministic gzip of whole lines (newline-terminated): same lines, same bytes on every machine."""
    import gzip  # segments are written once a month and read by verify: not in every job's start-up

    return gzip.compress(b"".join(line + b"\n" for line in lines), compresslevel=GZIP_LEVEL, mtime=0)


def read_segment(workspace: Workspace, segment: Segment | Path) -> bytes:
    """The decompressed bytes of a segment; SegmentError names the file when it is damaged."""
    path = segment.path if isinstance(segment, Segment) else Path(segment)
    shown = workspace.rel(path)
    import gzip
    import zlib

    try:
        return gzip.decompress(path.read_bytes())
    except FileNotFoundError:
        raise SegmentError(
            f"{shown}: segment vanished while being read (pruned by a concurrent run?)", input=shown
        ) from None
    except OSError as exc:  # gzip.BadGzipFile is an OSError
        raise SegmentError(
            f"{shown}: damaged segment ({exc.strerror or exc}); restore it from the state store", input=shown
        ) from None
    except (EOFError, zlib.error) as exc:
        raise SegmentError(
            f"{shown}: damaged segment ({exc or 'truncated'}); restore it from the state store", input=shown
        ) from None


def _whole_lines(raw: bytes) -> tuple[list[bytes], bytes]:
    """Whole lines of ``raw`` (empty ones dropped) and the torn tail (b"" when it ends in a newline)."""
    chunks = raw.split(b"\n")
    tail = chunks.pop()
    return [c for c in chunks if c.strip()], tail


def _fields(line: bytes) -> tuple[int | None, datetime | None]:
    """(sequence, started_at) of a line, None for what does not parse."""
    try:
        record = fsio.parse_json(line)
    except ValueError:
        return None, None
    if not isinstance(record, dict):
        return None, None
    sequence = record.get("sequence")
    if not isinstance(sequence, int) or isinstance(sequence, bool):
        sequence = None
    try:
        started = clock.parse_iso(record["started_at"])
    except (KeyError, TypeError, ValueError, AttributeError):
        started = None
    return sequence, started


def line_fields(line: bytes) -> tuple[int | None, datetime | None]:
    """(sequence, started_at) of a raw line, None for what does not parse."""
    return _fields(line)


def lost_numbers(record: dict[str, Any]) -> set[int]:
    """The sequence numbers a line says were lost with the live log (``diagnostics.log_lost.missing``,
    ``"a-b"`` or ``"n"``, written by :func:`append` when the log had vanished); empty when it says none."""
    lost = (record.get("diagnostics") or {}).get("log_lost")
    text = str(lost.get("missing") or "") if isinstance(lost, dict) else ""
    low, _, high = text.partition("-")
    if not low.isdigit() or not (high or low).isdigit():
        return set()
    return set(range(int(low), int(high or low) + 1))


def read_sequence(path: Path) -> int:
    """The value of the sequence file (0 when missing or unreadable)."""
    return _read_sequence(path)


def _last_sequence_in_log(path: Path) -> int:
    """Sequence of the last whole line of the log (0 when empty or unreadable)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 3 * MAX_LINE_BYTES))
            tail = handle.read()
    except FileNotFoundError:
        return 0
    for line in reversed(tail.split(b"\n")):
        if not line.strip():
            continue
        try:
            value = fsio.parse_json(line).get("sequence")
        except (ValueError, AttributeError):
            continue
        if isinstance(value, int):
            return value
    return 0


def _read_sequence(path: Path) -> int:
    try:
        return int(path.read_text(encoding="ascii").strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _shrink(record: dict[str, Any]) -> bytes:
    """Encode ``record`` as one line under 4 KB, cutting diagnostics, alerts and artefacts if needed."""
    line = (fsio.canonical_json(record) + "\n").encode("utf-8")
    if len(line) < MAX_LINE_BYTES:
        return line
    record = dict(record)
    diagnostics = dict(record.get("diagnostics") or {})
    for key, value in list(diagnostics.items()):
        if isinstance(value, str) and len(value) > 300:
            diagnostics[key] = value[:300] + "…"
        elif isinstance(value, (list, dict)) and len(json.dumps(value)) > 300:
            diagnostics[key] = f"<{type(value).__name__} of {len(value)} cut>"
    diagnostics["truncated"] = True
    record["diagnostics"] = diagnostics
    for key, value in list(record.items()):  # e.g. a source_command with very long paths
        if isinstance(value, str) and len(value) > 300:
            record[key] = value[:300] + "…"
    record["alerts"] = [{k: a[k] for k in ("id", "severity", "status") if k in a} for a in record.get("alerts", [])]
    for cut in (True, False):
        line = (fsio.canonical_json(record) + "\n").encode("utf-8")
        if len(line) < MAX_LINE_BYTES:
            return line
        if cut:
            diagnostics["alerts_omitted"] = max(0, len(record["alerts"]) - 5)
            record["alerts"] = record["alerts"][:5]
            diagnostics["artefacts_omitted"] = max(0, len(record.get("artefacts", [])) - 10)
            record["artefacts"] = record.get("artefacts", [])[:10]
    record["alerts"], record["artefacts"] = [], []
    record["diagnostics"] = {
        k: diagnostics[k] for k in ("error_code", "truncated", "config_version") if k in diagnostics
    }
    return (fsio.canonical_json(record) + "\n").encode("utf-8")


def _first_line(path: Path) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            head = handle.read(2 * MAX_LINE_BYTES)
    except FileNotFoundError:
        return None
    for chunk in head.split(b"\n")[:-1]:
        if chunk.strip():
            return chunk
    return None


def _write_segment(workspace: Workspace, lines: list[bytes]) -> Segment | None:
    """Write ``lines`` as one segment (atomically); None when no line has a sequence and a time."""
    fields = [_fields(line) for line in lines]
    sequences = [s for s, _ in fields if s is not None]
    times = [t for _, t in fields if t is not None]
    if not sequences or not times:
        return None
    first_at, last_at = min(times), max(times)
    path = workspace.run_segments / segment_name(min(sequences), max(sequences), first_at, last_at)
    data = encode_segment(lines)
    try:
        if path.read_bytes() != data:
            return None  # never overwrite other lines: they stay live, verify reports the duplicates
    except FileNotFoundError:
        fsio.atomic_write_bytes(path, data)
    except OSError as exc:
        raise WorkspaceError(f"{workspace.rel(path)}: cannot read ({exc.strerror or exc})") from None
    return Segment(
        path, min(sequences), max(sequences), first_at.replace(microsecond=0), last_at.replace(microsecond=0)
    )


def _drop_rotated(workspace: Workspace, lines: list[bytes], found: list[Segment]) -> list[bytes]:
    """Drop live lines already held, byte for byte, by a segment (a rotation killed before the cut)."""
    cache: dict[Path, set[bytes] | None] = {}
    kept = []
    for line in lines:
        sequence, _ = _fields(line)
        holders = [s for s in found if sequence is not None and s.first_sequence <= sequence <= s.last_sequence]
        held = False
        for segment in holders:
            if segment.path not in cache:
                try:
                    cache[segment.path] = set(_whole_lines(read_segment(workspace, segment))[0])
                except SegmentError:
                    cache[segment.path] = None  # cannot prove the line is there: keep it (readers dedup)
            held_lines = cache[segment.path]
            if held_lines and line in held_lines:
                held = True
                break
        if not held:
            kept.append(line)
    return kept


def maintain(
    workspace: Workspace, at: datetime, *, rotate_bytes: int = ROTATE_BYTES, retention_days: int = RETENTION_DAYS
) -> tuple[list[Segment], list[str]]:
    """Repair, rotate and prune before a line stamped ``at`` is appended (caller holds the log lock).

    Rotation moves the lines started before ``at - KEEP`` (and before ``at``'s month once ``at`` is
    KEEP into a new month, so a month's lines end in that month's directory) into one segment:
    when the live log is over ``rotate_bytes`` and at least half of that would move, or when a
    new month has begun. Order for crash safety: the segment is written (atomically) before the
    live log is cut (atomically), so a kill in between leaves the lines in both places; the next
    call finds the live log starting inside a segment's range and drops the lines that segment
    holds. Returns the segments afterwards and the workspace-relative paths of the segments pruned.
    """
    found = segments(workspace)
    live = workspace.run_log
    size = fsio.file_size(live)
    head = _first_line(live) if size else None
    if head is not None:
        first_sequence, first_at = _fields(head)
        month_start = at.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        earlier_month = first_at is not None and first_at < month_start
        # Lines of the last KEEP stay live: every line of a run still going on (a chain logs one
        # per step) is in the live log when it ends, whatever rotated meanwhile.
        cut = min(at - KEEP, month_start) if earlier_month else at - KEEP
        new_month = earlier_month and at - KEEP >= month_start
        repair = bool(found) and first_sequence is not None and first_sequence <= found[-1].last_sequence
        if repair or new_month or size >= rotate_bytes:
            raw = live.read_bytes()
            lines, _torn = _whole_lines(raw)  # a torn tail is never a record: dropped
            if repair:
                lines = _drop_rotated(workspace, lines, found)
            times = [_fields(line)[1] for line in lines]
            moved = [line for line, started in zip(lines, times, strict=True) if started is None or started < cut]
            kept = lines
            # a size rotation moves at least half the threshold: no trickle of tiny segments
            if moved and (new_month or sum(len(line) + 1 for line in moved) >= rotate_bytes // 2):
                segment = _write_segment(workspace, moved)
                if segment is not None:
                    found = sorted([*found, segment], key=lambda s: (s.first_sequence, s.last_sequence, s.path.name))
                    gone = set(moved)
                    kept = [line for line in lines if line not in gone]
            data = b"".join(line + b"\n" for line in kept)
            if data != raw:
                fsio.atomic_write_bytes(live, data)
    pruned = []
    cutoff = at - timedelta(days=retention_days)
    for segment in list(found):
        if segment.last_at < cutoff:
            try:
                segment.path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise WorkspaceError(f"{workspace.rel(segment.path)}: cannot prune ({exc.strerror or exc})") from None
            found.remove(segment)
            pruned.append(workspace.rel(segment.path))
    return found, pruned


def _record_time(record: dict[str, Any]) -> datetime:
    try:
        return clock.parse_iso(record["started_at"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return clock.now()


CONFIG_DIR = "configs/observability"
NO_CONFIG = "none"


def config_version(workspace: Workspace) -> str:
    """The version of the configuration a run saw, for ``diagnostics.config_version`` on every log line.

    12 hex digits of SHA-256 over ``<name>\n<sha256 of its bytes>\n`` for each ``*.yaml``/``*.yml``
    file directly under configs/observability/, in name order; ``none`` when there is none. Any edit
    to any of those files gives a new version, and the same files give the same version on any
    machine (docs/architecture.md, "Config version").
    """
    from observability.digest import sha256  # built-in SHA-256 (no OpenSSL load in a cycle)

    directory = workspace.root / CONFIG_DIR
    try:
        names = sorted(p.name for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    except OSError:
        return NO_CONFIG
    if not names:
        return NO_CONFIG
    outer = sha256()
    for name in names:
        try:
            data = (directory / name).read_bytes()
        except OSError:
            data = b"\0unreadable"
        outer.update(f"{name}\n{sha256(data).hexdigest()}\n".encode())
    return outer.hexdigest()[:12]


def log_lock(workspace: Workspace, timeout: float = LOCK_TIMEOUT_SECONDS):
    """The one lock every writer of the automation log (appends, ``log rebuild``) holds."""
    from observability.locking import FileLock

    workspace.ops.mkdir(parents=True, exist_ok=True)
    return FileLock(str(fsio.guard(workspace.ops / ".automation_runs.lock")), timeout=timeout)


def append(
    workspace: Workspace, record: dict[str, Any], *, rotate_bytes: int | None = None, retention_days: int | None = None
) -> int:
    """Rotate when due, then validate and append ``record``; returns the sequence number it was given.

    The sequence is max(sequence file, last logged line, newest segment) + 1, so a run killed
    between the append and the sequence update never reuses a number. Rotation happens before
    the append, never after: the run's own line is always in the live log when the run ends.
    Segments pruned by retention are listed in this line's ``diagnostics.log_segments_pruned``.
    """
    with log_lock(workspace):
        found, pruned = maintain(
            workspace,
            _record_time(record),
            rotate_bytes=ROTATE_BYTES if rotate_bytes is None else rotate_bytes,
            retention_days=RETENTION_DAYS if retention_days is None else retention_days,
        )
        counter = _read_sequence(workspace.run_sequence)
        in_segments = found[-1].last_sequence if found else 0
        sequence = max(counter, _last_sequence_in_log(workspace.run_log), in_segments) + 1
        record = {**record, "sequence": sequence}
        if counter > in_segments and not workspace.run_log.exists():
            # Lines were written after the last segment, yet the live log is gone (deleted, lost in a
            # restore): this line says so, so verify still reports the loss once new lines follow.
            lost = {
                "missing": f"{in_segments + 1}-{counter}" if counter > in_segments + 1 else str(counter),
                "count": counter - in_segments,
            }
            record["diagnostics"] = {**(record.get("diagnostics") or {}), "log_lost": lost}
        if pruned:
            record["diagnostics"] = {**(record.get("diagnostics") or {}), "log_segments_pruned": pruned}
        if "config_version" not in (record.get("diagnostics") or {}):
            record["diagnostics"] = {**(record.get("diagnostics") or {}), "config_version": config_version(workspace)}
        # Scrubbed here as well as by each producer: the log travels to the state store and artifacts.
        # Values only (keys stay, the line stays valid JSON), and before _shrink cuts a long value.
        line = _shrink(secrets.redact_value(record))
        schemas.validate("automation_run", json.loads(line), what=f"{workspace.rel(workspace.run_log)} record")
        fsio.append_bytes(workspace.run_log, line)
        fsio.atomic_write_text(workspace.run_sequence, f"{sequence}\n")
    return sequence


# --- reading ------------------------------------------------------------------------------------

# Jobs that keep no heartbeat: the files they list may be other jobs' heartbeats (a state pull
# lists every file it brought). Lines written before `heartbeat` was recorded are judged by this.
NO_HEARTBEAT = frozenset({"state", "inputs"})


def heartbeat_of(record: dict[str, Any]) -> str | None:
    """The heartbeat file a logged run wrote: its ``heartbeat`` field, or for older lines the
    heartbeat among its artefacts (never for a job that keeps none)."""
    if "heartbeat" in record:
        return record["heartbeat"] or None
    if record.get("job") in NO_HEARTBEAT:
        return None
    return next((a for a in record.get("artefacts", []) if a.endswith("heartbeat.json")), None)


def select(
    workspace: Workspace,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    problems: list[tuple[str, str]] | None = None,
) -> list[Segment]:
    """The segments whose started_at range overlaps [since, until] (by name; nothing is opened)."""
    since = since.replace(microsecond=0) if since else None  # names carry whole seconds
    return [
        s
        for s in segments(workspace, problems)
        if (since is None or s.last_at >= since) and (until is None or s.first_at <= until)
    ]


def _segment_or_problem(workspace: Workspace, segment: Segment, problems: list[tuple[str, str]] | None) -> bytes | None:
    """A segment's bytes; a damaged one is noted in ``problems`` (None returned) or, without a list, raised."""
    try:
        return read_segment(workspace, segment)
    except SegmentError as exc:
        if problems is None:
            raise
        problems.append((workspace.rel(segment.path), exc.message))
        return None


def iter_lines(
    workspace: Workspace,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    problems: list[tuple[str, str]] | None = None,
) -> Iterator[Line]:
    """Raw lines of the selected segments (oldest first), then of the live log.

    A damaged segment goes to ``problems`` as (path, message) and is skipped; without a
    ``problems`` list it raises SegmentError. An unreadable live log raises InputError.
    """
    for segment in select(workspace, since=since, until=until, problems=problems):
        data = _segment_or_problem(workspace, segment, problems)
        if data is not None:
            yield from _split(workspace.rel(segment.path), data)
    shown = workspace.rel(workspace.run_log)
    try:
        raw = workspace.run_log.read_bytes()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise InputError(f"{shown}: cannot read ({exc.strerror or exc})", input=shown) from None
    yield from _split(shown, raw)


def _split(source: str, data: bytes) -> Iterator[Line]:
    chunks = data.split(b"\n")
    tail = chunks.pop()
    for number, chunk in enumerate(chunks, start=1):
        yield Line(source, number, chunk)
    if tail:
        yield Line(source, len(chunks) + 1, tail, torn=True)


def job_id_time(job_id: str) -> datetime | None:
    """The UTC time a job id starts with (``YYYYMMDDThhmmssZ-...``), None when it has none."""
    match = _JOB_ID_TIME.match(job_id)
    if not match:
        return None
    try:
        return _parse_stamp(match.group(1))
    except ValueError:
        return None


def iter_records(
    workspace: Workspace,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    job_id: str | None = None,
    problems: list[tuple[str, str]] | None = None,
) -> Iterator[dict[str, Any]]:
    """Parsed records, oldest segment first, then the live log; a line held twice (a rotation
    killed before the cut) is given once. ``since``/``until`` filter on started_at; ``job_id``
    reads only the segments around the time in the id (all of them when that finds nothing).
    Torn, non-JSON and non-object lines are skipped (``verify`` reports them).
    """
    if job_id is not None:
        stamp = job_id_time(job_id)
        if stamp is not None:
            low, high = stamp - JOB_ID_SLACK, stamp + JOB_ID_SLACK
            low, high = max(low, since) if since else low, min(high, until) if until else high
            found = list(iter_records(workspace, since=low, until=high, problems=problems))
            found = [r for r in found if r.get("job_id") == job_id]
            if found:
                yield from found
                return
        # an id given by hand (--job-id) may carry any time: fall back to the whole history
        yield from (
            r for r in iter_records(workspace, since=since, until=until, problems=problems) if r.get("job_id") == job_id
        )
        return
    seen: set[bytes] = set()
    for line in iter_lines(workspace, since=since, until=until, problems=problems):
        if line.torn or not line.data.strip() or line.data in seen:
            continue
        seen.add(line.data)
        try:
            record = fsio.parse_json(line.data)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        if since is not None or until is not None:
            try:
                started = clock.parse_iso(record["started_at"])
            except (KeyError, TypeError, ValueError, AttributeError):
                continue
            if (since is not None and started < since) or (until is not None and started > until):
                continue
        yield record


def latest_record(
    workspace: Workspace, predicate, *, problems: list[tuple[str, str]] | None = None
) -> dict[str, Any] | None:
    """The record with the highest sequence for which ``predicate(record)`` holds, reading newest first
    (the live log, then segments newest first) and stopping at the first file that has one."""
    newest_first = [("segment", s) for s in reversed(segments(workspace, problems))]
    sources: list[tuple[str, Any]] = [("live", None), *newest_first]
    for kind, segment in sources:
        if kind == "live":
            try:
                data = workspace.run_log.read_bytes()
            except FileNotFoundError:
                continue
        else:
            held = _segment_or_problem(workspace, segment, problems)
            if held is None:
                continue
            data = held
        best = None
        for chunk in _whole_lines(data)[0]:
            try:
                record = fsio.parse_json(chunk)
            except ValueError:
                continue
            if (
                isinstance(record, dict)
                and predicate(record)
                and (best is None or record.get("sequence", 0) >= best.get("sequence", 0))
            ):
                best = record
        if best is not None:
            return best
    return None

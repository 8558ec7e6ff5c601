"""ops/signal_latency.csv: the raw sample store, its hour index, and rotation into gzip archives.

Appends are committed by the state file (which records the committed size); a tail past
that size was written by a run that died and is cut off on recovery. Rotation is a small
journaled transaction so a run killed halfway is finished, not repeated, by the next one.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from observability import fsio, recovery, schemas
from observability.clock import iso, parse_iso
from observability.errors import InputError
from observability.outputs.rawsamples import HEADER, HEADER_BYTES, LEGACY_HEADER_BYTES, format_rows, parse_rows
from observability.upstream.signal_log import Sample

__all__ = [
    "HEADER",
    "HEADER_BYTES",
    "LEGACY_HEADER_BYTES",
    "RawStore",
    "format_rows",
    "hour_key",
    "hour_start",
    "parse_rows",
]


# The raw file format is shared with `migrate` (observability/outputs/rawsamples.py); kept importable here.
_HOUR_KEY = re.compile(rb"\d{4}-\d\d-\d\dT\d\d")


def hour_key(stamp: datetime) -> str:
    """``2025-10-11T11`` for any time in that UTC hour (hot path: no strftime; isoformat pads the year
    to four digits as the format below does, and is ~3x faster)."""
    return stamp.isoformat()[:13]


def hour_start(key: str) -> datetime:
    return parse_iso(key + ":00:00Z")


class RawStore:
    def __init__(self, path: Path, archive_dir: Path, rel):
        self.path = path
        self.archive_dir = archive_dir
        self.manifest = archive_dir / "manifest.jsonl"
        self.rotating = path.with_name(path.name + ".rotating")
        self.rel = rel

    # -- reading -------------------------------------------------------------------------
    def size(self) -> int:
        return fsio.file_size(self.path)

    def header(self) -> bytes:
        """The header the file has (HEADER_BYTES when it has none yet; LEGACY_HEADER_BYTES for an older file)."""
        try:
            with open(self.path, "rb") as handle:
                head = handle.read(len(LEGACY_HEADER_BYTES))
        except FileNotFoundError:
            return HEADER_BYTES
        return LEGACY_HEADER_BYTES if head == LEGACY_HEADER_BYTES else HEADER_BYTES

    def read_bytes_from(self, offset: int) -> bytes:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(offset)
                return handle.read()
        except FileNotFoundError:
            return b""

    def read_from(self, offset: int) -> list[Sample]:
        return parse_rows(self.read_bytes_from(offset))

    def _records(self):
        """(offset, bytes) of each complete record after the header, in file order.

        A record is one line, or several when a quoted detail holds a newline; a torn tail
        (no final newline, or an unclosed quote) is not yielded.
        """
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 (closed by the with below; only open() may be missing)
        except FileNotFoundError:
            return
        with handle:
            offset, start, parts, quoted = 0, 0, [], False
            for line in handle:
                if not line.endswith(b"\n"):
                    return
                if not parts:
                    start = offset
                parts.append(line)
                quoted ^= line.count(b'"') % 2 == 1
                offset += len(line)
                if not quoted:
                    record = b"".join(parts) if len(parts) > 1 else parts[0]
                    parts = []
                    if not record.startswith(b"timestamp_utc"):
                        yield start, record

    def scan_index(self) -> tuple[dict[str, int], int]:
        """Rebuild the hour index (hour -> first byte offset) by reading the whole file.

        Returns the index and the size up to the last complete record.
        """
        index: dict[str, int] = {}
        size = self.size()
        header = self.header()
        end = len(header) if size >= len(header) else 0
        if size:
            with open(self.path, "rb") as handle:
                head = handle.read(len(header))
            if head != header[: len(head)]:
                first = head.split(b"\n")[0][:60]
                if first.rstrip(b"\r").lower() in (
                    b"timestamp_utc,latency_ms,status,detail,source",
                    b"signal_id,ts_emit,ts_ack,status,detail",
                ):
                    shown = self.rel(self.path)
                    raise InputError(
                        f"{shown}: line 1: is an upstream signal log (notifier format), not this job's "
                        f"raw sample store: move it (e.g. `mv {shown} logs/`) and read it with --input",
                        input=shown,
                    )
                raise self._damaged(1, f"unexpected header {first!r}")
        line = 2
        for offset, record in self._records():
            if not _HOUR_KEY.match(record):
                raise self._damaged(line, f"not a sample row ({record[:60]!r})")
            index.setdefault(record[:13].decode("ascii", "replace"), offset)
            end = offset + len(record)
            line += record.count(b"\n")
        return index, end

    def _damaged(self, line: int, what: str) -> InputError:
        shown = self.rel(self.path)
        return InputError(
            recovery.explain(f"{shown}: line {line}: {what}: the raw sample store is damaged", shown), input=shown
        )

    # -- appending -----------------------------------------------------------------------
    def append(self, samples: list[Sample], index: dict[str, int]) -> int:
        """Append samples (header first on a new file), update ``index``; returns the new size."""
        start = self.size()
        chunks = [] if start else [HEADER_BYTES]
        offset = start + (0 if start else len(HEADER_BYTES))
        ingest = not start or self.header() == HEADER_BYTES  # a legacy file keeps five columns until rotated
        for sample, row in zip(samples, format_rows(samples, ingest=ingest), strict=True):
            key = hour_key(sample.timestamp)
            if key not in index or index[key] > offset:
                index[key] = offset
            chunks.append(row)
            offset += len(row)
        if not chunks:
            return start
        return fsio.append_bytes(self.path, b"".join(chunks))

    # -- rotation ------------------------------------------------------------------------
    def plan_cutoff(
        self, index: dict[str, int], size: int, now: datetime, retention_days: int, max_bytes: int
    ) -> tuple[datetime, str] | None:
        """Hour boundary before which rows leave the raw file, and why; None when nothing is due."""
        if not index:
            return None
        retention_cut = (now - timedelta(days=retention_days)).replace(hour=0, minute=0, second=0, microsecond=0)
        oldest = hour_start(min(index))
        if size > max_bytes:
            # Keep the newest hours that fit in half the budget, so rotation is not due every run.
            hours = sorted(index)
            ends = {h: (index[hours[i + 1]] if i + 1 < len(hours) else size) for i, h in enumerate(hours)}
            kept, cut = 0, hours[-1]
            for h in reversed(hours):
                kept += max(0, ends[h] - index[h])
                if kept > max_bytes // 2:
                    break
                cut = h
            cut_at = max(hour_start(cut), retention_cut)
            if cut_at > oldest:
                return cut_at, "size"
        if oldest < retention_cut:
            return retention_cut, "retention"
        return None

    def begin_rotation(
        self, cutoff: datetime, reason: str, job_id: str, now: datetime, provenance: dict
    ) -> dict | None:
        """Write the rewritten raw file and the archive aside; return the journal entry to commit.

        Rows are split at the byte level on their leading timestamp (our canonical ISO text sorts
        like time), so a rotation costs one pass over the file, not a parse of every row. The
        rewritten raw file is written first: its presence is how the next run knows a rotation
        was under way and looks for an orphaned archive.
        """
        cut = iso(cutoff).encode("ascii")
        old: list[bytes] = []
        keep: list[bytes] = []
        index: dict[str, int] = {}
        offset = len(HEADER_BYTES)
        header = self.header()
        legacy = header == LEGACY_HEADER_BYTES  # rewritten under HEADER: each kept row gets an empty sixth field
        for _, record in self._records():
            if record[:20] < cut:
                old.append(record)
            else:
                if legacy:
                    record = record[:-1] + b",\n"
                index.setdefault(record[:13].decode("ascii", "replace"), offset)
                keep.append(record)
                offset += len(record)
        if not old:
            return None
        stamps = [record[:20].decode("ascii", "replace") for record in old]
        first, last = min(stamps), max(stamps)
        fsio.atomic_write_bytes(self.rotating, HEADER_BYTES + b"".join(keep))
        month = first[:7].replace("-", "/")
        archive = self.archive_dir / month / f"{job_id}.csv.gz"
        taken = self.manifest_paths()
        n = 1
        while archive.exists() or self.rel(archive) in taken:  # a rerun with the same --job-id
            n += 1
            archive = self.archive_dir / month / f"{job_id}-{n}.csv.gz"
        import gzip  # rotation only (once a day): not in every cycle's start-up
        import hashlib

        packed = gzip.compress(header + b"".join(old), compresslevel=6, mtime=0)  # the rows as they were
        fsio.atomic_write_bytes(archive, packed)
        entry = {
            "job_id": job_id,
            "path": self.rel(archive),
            "sha256": hashlib.sha256(packed).hexdigest(),
            "row_count": len(old),
            "bytes": len(packed),
            "rotated_at": iso(now),
            "reason": reason,
            "first_timestamp_utc": first,
            "last_timestamp_utc": last,
            "source_command": provenance.get("source_command", ""),
            "commit_sha": provenance.get("commit_sha"),
        }
        schemas.validate("signal_latency_archive", entry, what=f"{self.rel(self.manifest)} line")
        return {"entry": entry, "raw_size": offset, "index": index, "cutoff": iso(cutoff)}

    def finish_rotation(self, journal: dict) -> None:
        """Idempotently: record the manifest line, then swap in the rewritten raw file."""
        entry = journal["entry"]
        if entry["path"] not in self.manifest_paths():
            fsio.append_bytes(self.manifest, (fsio.canonical_json(entry) + "\n").encode())
        if self.rotating.exists():
            os.replace(self.rotating, self.path)

    def manifest_paths(self) -> set[str]:
        paths = set()
        try:
            with open(self.manifest, "rb") as handle:
                for line in handle:
                    try:
                        paths.add(fsio.parse_json(line)["path"])
                    except (ValueError, KeyError, TypeError):
                        continue
        except FileNotFoundError:
            pass
        return paths

    def discard_orphans(self) -> list[str]:
        """Remove leftovers of a rotation that died before its journal was committed.

        Only when the rewritten raw file is there: it is written before the archive, so
        without it no archive can be orphaned, and a normal run never lists the archives.
        """
        removed: list[str] = []
        if not self.rotating.exists():
            return removed
        known = self.manifest_paths()
        for archive in sorted(self.archive_dir.rglob("*.csv.gz")) if self.archive_dir.is_dir() else []:
            if self.rel(archive) not in known:
                archive.unlink()
                removed.append(self.rel(archive))
        self.rotating.unlink()  # last: while it exists, the next run looks for orphans again
        removed.append(self.rel(self.rotating))
        return removed


def hours_by_source(samples: Iterable[Sample]) -> dict[tuple[str, str], list[Sample]]:
    groups: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for sample in samples:
        groups[(hour_key(sample.timestamp), sample.source)].append(sample)
    return groups

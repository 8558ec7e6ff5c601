"""ops/signal_latency.csv: the raw sample store, its hour index, and rotation into gzip archives.

Appends are committed by the state file (which records the committed size); a tail past
that size was written by a run that died and is cut off on recovery. Rotation is a small
journaled transaction so a run killed halfway is finished, not repeated, by the next one.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterable

from observability import fsio, schemas
from observability.clock import iso, parse_iso
from observability.latency.samples import Sample

HEADER = "timestamp_utc,source,latency_ms,status,detail\n"
HEADER_BYTES = HEADER.encode()


def hour_key(stamp: datetime) -> str:
    return stamp.strftime("%Y-%m-%dT%H")


def hour_start(key: str) -> datetime:
    return parse_iso(key + ":00:00Z")


def format_rows(samples: Iterable[Sample]) -> list[bytes]:
    out = []
    for s in samples:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(
            [iso(s.timestamp), s.source, f"{s.latency_ms:.3f}", s.status, s.detail])
        out.append(buffer.getvalue().encode("utf-8"))
    return out


def parse_rows(data: bytes) -> list[Sample]:
    """Parse rows of our own raw format (header lines skipped)."""
    samples = []
    for row in csv.reader(io.StringIO(data.decode("utf-8", "replace"))):
        if not row or row[0] == "timestamp_utc" or len(row) < 4:
            continue
        try:
            samples.append(Sample(parse_iso(row[0]), row[1], float(row[2]), row[3], row[4] if len(row) > 4 else ""))
        except ValueError:
            continue
    return samples


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

    def read_from(self, offset: int) -> list[Sample]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        return parse_rows(data)

    def scan_index(self) -> tuple[dict[str, int], int]:
        """Rebuild the hour index (hour -> first byte offset) by reading the whole file."""
        index: dict[str, int] = {}
        offset = complete = 0
        quoted = False  # inside a quoted field that spans lines (a detail with a newline in it)
        try:
            with open(self.path, "rb") as handle:
                for line in handle:
                    if not line.endswith(b"\n"):
                        break
                    if not quoted and not line.startswith(b"timestamp_utc"):
                        key = line[:13].decode("ascii", "replace")
                        index.setdefault(key, offset)
                    quoted ^= line.count(b'"') % 2 == 1
                    offset += len(line)
                    if not quoted:
                        complete = offset
        except FileNotFoundError:
            return {}, 0
        return index, complete

    # -- appending -----------------------------------------------------------------------
    def append(self, samples: list[Sample], index: dict[str, int]) -> int:
        """Append samples (header first on a new file), update ``index``; returns the new size."""
        start = self.size()
        chunks = [] if start else [HEADER_BYTES]
        offset = start + (0 if start else len(HEADER_BYTES))
        for sample, row in zip(samples, format_rows(samples)):
            key = hour_key(sample.timestamp)
            if key not in index or index[key] > offset:
                index[key] = offset
            chunks.append(row)
            offset += len(row)
        if not chunks:
            return start
        return fsio.append_bytes(self.path, b"".join(chunks))

    # -- rotation ------------------------------------------------------------------------
    def plan_cutoff(self, index: dict[str, int], size: int, now: datetime, retention_days: int,
                    max_bytes: int) -> tuple[datetime, str] | None:
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

    def begin_rotation(self, cutoff: datetime, reason: str, job_id: str, now: datetime, provenance: dict) -> dict | None:
        """Write the archive and the rewritten raw file aside; return the journal entry to commit."""
        try:
            samples = self.read_from(0)
        except OSError:
            return None
        old = sorted((s for s in samples if s.timestamp < cutoff), key=lambda s: (s.timestamp, s.source))
        keep = sorted((s for s in samples if s.timestamp >= cutoff), key=lambda s: (s.timestamp, s.source))
        if not old:
            return None
        month = old[0].timestamp.strftime("%Y/%m")
        archive = self.archive_dir / month / f"{job_id}.csv.gz"
        taken = self.manifest_paths()
        n = 1
        while archive.exists() or self.rel(archive) in taken:  # a rerun with the same --job-id
            n += 1
            archive = self.archive_dir / month / f"{job_id}-{n}.csv.gz"
        body = HEADER_BYTES + b"".join(format_rows(old))
        packed = gzip.compress(body, mtime=0)
        fsio.atomic_write_bytes(archive, packed)
        kept_rows = format_rows(keep)
        fsio.atomic_write_bytes(self.rotating, HEADER_BYTES + b"".join(kept_rows))
        index, offset = {}, len(HEADER_BYTES)
        for sample, row in zip(keep, kept_rows):
            index.setdefault(hour_key(sample.timestamp), offset)
            offset += len(row)
        entry = {
            "job_id": job_id,
            "path": self.rel(archive),
            "sha256": hashlib.sha256(packed).hexdigest(),
            "row_count": len(old),
            "bytes": len(packed),
            "rotated_at": iso(now),
            "reason": reason,
            "first_timestamp_utc": iso(old[0].timestamp),
            "last_timestamp_utc": iso(old[-1].timestamp),
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
                        paths.add(json.loads(line)["path"])
                    except (ValueError, KeyError, TypeError):
                        continue
        except FileNotFoundError:
            pass
        return paths

    def discard_orphans(self) -> list[str]:
        """Remove leftovers of a rotation that died before its journal was committed."""
        removed = []
        if self.rotating.exists():
            self.rotating.unlink()
            removed.append(self.rel(self.rotating))
        if self.archive_dir.is_dir():
            known = self.manifest_paths()
            for archive in self.archive_dir.rglob("*.csv.gz"):
                if self.rel(archive) not in known:
                    archive.unlink()
                    removed.append(self.rel(archive))
        return removed


def hours_by_source(samples: Iterable[Sample]) -> dict[tuple[str, str], list[Sample]]:
    groups: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for sample in samples:
        groups[(hour_key(sample.timestamp), sample.source)].append(sample)
    return groups

"""Bundle snapshots in ``ops/dashboard_export_history/<job_id>/`` and their retention.

A snapshot is a complete copy of the bundle (manifest, README.json, dataset files), so a rollback
is a copy back. Each pruned snapshot is recorded as one JSON line before it is deleted. Past
``THIN_AFTER_HOURS`` only the last snapshot of each UTC day is kept (the hourly latency refresh
would otherwise keep 24 full bundles a day for the whole retention).
"""

from __future__ import annotations

import errno
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from observability import clock, fsio, schemas
from observability.digest import sha256_file

PRUNE_SCHEMA = "dashboard_history_prune"
MANIFEST_NAME = "manifest.json"
THIN_AFTER_HOURS = 48  # every snapshot of the last two days is kept; before that, one per UTC day


@dataclass(frozen=True)
class Snapshot:
    name: str
    path: Path
    generated_at: datetime | None
    sequence: int | None


def _job_id_time(name: str) -> datetime | None:
    try:
        return datetime.strptime(name[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=clock.UTC)
    except ValueError:
        return None


def list_snapshots(history_dir: Path) -> list[Snapshot]:
    """Snapshots by age (manifest generated_at, else the job id's time); temp dirs are ignored."""
    out = []
    try:
        children = sorted(history_dir.iterdir())
    except FileNotFoundError:
        return []
    for child in children:
        if not child.is_dir() or child.name.startswith("."):
            continue
        generated_at, sequence = None, None
        try:
            doc = fsio.parse_json((child / MANIFEST_NAME).read_bytes())
            generated_at = clock.parse_iso(doc["generated_at"])
            sequence = doc.get("sequence") if isinstance(doc.get("sequence"), int) else None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
        out.append(Snapshot(child.name, child, generated_at or _job_id_time(child.name), sequence))
    return out


def max_sequence(history_dir: Path) -> int:
    return max((s.sequence or 0 for s in list_snapshots(history_dir)), default=0)


def restore_latest(history_dir: Path, manifest_path: Path) -> Snapshot | None:
    """Refill an empty bundle directory from the newest snapshot; returns the snapshot used.

    A scheduled runner starts with an empty out/ while the history travels in the state store:
    without this every run would start from nothing, a daily export would publish a manifest
    without the weekly datasets, and a failed dataset would have no last good file to keep.
    """
    from observability import fsio

    bundle_dir = manifest_path.parent
    if manifest_path.exists():
        return None
    candidates = [s for s in list_snapshots(history_dir) if (s.path / MANIFEST_NAME).is_file()]
    if not candidates:
        return None
    newest = max(candidates, key=lambda s: (s.sequence or 0, s.generated_at or datetime.min.replace(tzinfo=clock.UTC)))
    for item in sorted(p for p in newest.path.rglob("*") if p.is_file()):
        if item.name != MANIFEST_NAME:
            fsio.atomic_write_bytes(bundle_dir / item.relative_to(newest.path), item.read_bytes())
    fsio.atomic_write_bytes(manifest_path, (newest.path / MANIFEST_NAME).read_bytes())  # last: the commit
    return newest


def write_snapshot(history_dir: Path, name: str, files: dict[str, bytes]) -> Path:
    """Write ``files`` into ``history_dir/name`` as a whole: a temp dir renamed into place.

    Never over another snapshot: when ``name`` is taken (a ``--job-id`` given twice, or two
    writers racing) the bundle lands under ``name.2``, ``name.3``, ... The rename itself is the
    claim - renaming a directory onto a non-empty one fails - so two writers never share a name.
    """
    history_dir = fsio.guard(history_dir)  # never through a symlink leading out of the workspace
    history_dir.mkdir(parents=True, exist_ok=True)
    tmp = history_dir / f".{name}.tmp-{os.getpid()}-{os.urandom(4).hex()}"  # one per writer, even in threads
    tmp.mkdir()
    try:
        for rel, data in files.items():
            dest = tmp / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(dest, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        for attempt in range(1, 1000):
            target = history_dir / (name if attempt == 1 else f"{name}.{attempt}")
            try:
                os.rename(tmp, target)
            except OSError as exc:
                if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
                    continue
                raise
            return target
        raise FileExistsError(f"{history_dir / name}: 999 snapshots under this name already")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _files(path: Path) -> list[dict]:
    out = []
    for item in sorted(p for p in path.rglob("*") if p.is_file()):
        out.append(
            {"path": item.relative_to(path).as_posix(), "sha256": sha256_file(item), "bytes": item.stat().st_size}
        )
    return out


def expired(history_dir: Path, now: datetime, retention_days: int) -> list[Snapshot]:
    cutoff = now - timedelta(days=retention_days)
    return [s for s in list_snapshots(history_dir) if s.generated_at is not None and s.generated_at < cutoff]


def thinned(history_dir: Path, now: datetime, retention_days: int) -> list[Snapshot]:
    """Snapshots older than THIN_AFTER_HOURS (and within the retention) that are not the last of their
    UTC day: the last one holds the day's final bundle, every dataset included (entries carry over)."""
    cutoff, oldest = now - timedelta(hours=THIN_AFTER_HOURS), now - timedelta(days=retention_days)
    by_day: dict[object, list[Snapshot]] = {}
    for snap in list_snapshots(history_dir):
        if snap.generated_at is not None and oldest <= snap.generated_at < cutoff:
            by_day.setdefault(snap.generated_at.date(), []).append(snap)
    out = []
    for snaps in by_day.values():
        snaps.sort(key=lambda s: (s.generated_at, s.sequence or 0, s.name))
        out.extend(snaps[:-1])
    return sorted(out, key=lambda s: s.name)


def prune(
    history_dir: Path,
    record_path: Path,
    *,
    now: datetime,
    retention_days: int,
    job_id: str,
    keep: str | None = None,
    display=str,
) -> list[dict]:
    """Delete snapshots older than ``retention_days`` and the thinned ones (:func:`thinned`), appending
    one record per snapshot first."""
    records = []
    doomed: list[tuple[Snapshot, str | None]] = [(snap, None) for snap in expired(history_dir, now, retention_days)]
    doomed += [(snap, "thinned") for snap in thinned(history_dir, now, retention_days)]
    for snap, reason in doomed:
        if snap.name == keep:
            continue
        record = {
            "event": "pruned",
            "pruned_at": clock.iso(now),
            "job_id": job_id,
            "snapshot": display(snap.path),
            "sequence": snap.sequence,
            "retention_days": retention_days,
            "snapshot_generated_at": clock.iso(snap.generated_at) if snap.generated_at else None,
            "files": _files(snap.path),
        }
        if reason:
            record["reason"] = reason
        schemas.validate(PRUNE_SCHEMA, record, what=f"{display(record_path)} record")
        fsio.append_bytes(record_path, (fsio.canonical_json(record) + "\n").encode("utf-8"))
        trash = history_dir / f".{snap.name}.pruned-{os.getpid()}"
        os.replace(snap.path, trash)
        shutil.rmtree(trash, ignore_errors=True)
        records.append(record)
    for leftover in history_dir.glob(".*.tmp-*"):  # a run killed mid-snapshot
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in history_dir.glob(".*.pruned-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    return records

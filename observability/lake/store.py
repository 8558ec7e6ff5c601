"""Where a lake lives and how it changes: its root (a workspace directory or S3 through
observability/storage), the manifest, and the one commit every writer makes.

A commit puts the new Parquet files first, then the manifest (the commit point), then deletes the files
it replaced. A process killed before the manifest is written leaves the previous manifest, which lists
only complete files: the lake stays readable, and the next run removes the files no manifest lists.
Readers take the files a manifest lists (:func:`live_files`), never a directory listing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from observability import fsio, secrets
from observability.digest import sha256_hex
from observability.errors import ConfigError, InputError, ObservabilityError
from observability.lake import schema
from observability.storage import Bucket, open_bucket
from observability.storage.url import Location, locate
from observability.workspace import Workspace

MANIFEST = "_manifest.json"
COMMITS = "_commits"  # _commits/<generation>.json: created only if absent, the commit point
KEEP_COMMITS = 10  # the newest commit records kept; older ones are removed by the next commit
MANIFEST_VERSION = 1
LAKE_SCHEMES = "a workspace directory, file:///abs/dir or s3://bucket/prefix"


class LakeConflict(ObservabilityError):
    """Another writer committed to the lake since this run read its manifest: nothing was committed."""

    error_code = "lake_conflict"


@dataclass
class Lake:
    """One open lake: its bucket, a name safe to print, and its manifest as loaded."""

    bucket: Bucket
    display: str
    manifest: dict[str, Any]
    local: Path | None = None  # the directory of a lake on this machine (DuckDB reads it in place)


def location(ws: Workspace, value: str) -> tuple[Location, Path | None]:
    """A ``--lake`` value as a storage location: a URL (file:// or s3://) or a workspace directory."""
    if "://" in value:
        where = locate(value, option="--lake", env="lake.yaml lake", what="lake", schemes=LAKE_SCHEMES)
        if where.kind not in ("file", "s3"):
            raise ConfigError(f"--lake {where.display}: a lake is {LAKE_SCHEMES}")
        if where.path is not None and where.path.resolve().is_relative_to(ws.ops.resolve()):
            raise ConfigError(f"--lake {where.display}: not under ops/ (the state store syncs it); use e.g. lake/")
        return where, where.path
    path = ws.output_dir(value, "--lake")
    rel = ws.rel(path)
    # resolved: lake/../ops/x or a symbolic link to ops/ names ops/ all the same
    if path.resolve().is_relative_to(ws.ops.resolve()):
        # the state store syncs ops/: a lake there would be copied on every state push
        raise ConfigError(f"--lake {value}: not under ops/ (the state store syncs it); use e.g. lake/")
    return Location("file", rel, path=path), path


def open_lake(ws: Workspace, value: str) -> Lake:
    where, local = location(ws, value)
    bucket = open_bucket(where)
    return Lake(bucket, where.display, load_manifest(bucket, where.display), local)


def empty_manifest() -> dict[str, Any]:
    return {
        "version": MANIFEST_VERSION,
        "schema_version": schema.SCHEMA_VERSION,
        "updated_at": "",
        "inputs": [],
        "files": {},
    }


def _commit_key(generation: int) -> str:
    return f"{COMMITS}/{generation:012d}.json"


def load_manifest(bucket: Bucket, display: str) -> dict[str, Any]:
    """The newest manifest: ``_manifest.json``, or a newer commit record a writer killed before it
    rewrote ``_manifest.json`` left (rolled forward; the next commit rewrites ``_manifest.json``)."""
    doc = _load_manifest(bucket, MANIFEST, bucket.get(MANIFEST), display)
    while (data := bucket.get(_commit_key(doc.get("generation", 0) + 1))) is not None:
        doc = _load_manifest(bucket, _commit_key(doc.get("generation", 0) + 1), data, display)
    return doc


def _load_manifest(bucket: Bucket, key: str, data: bytes | None, display: str) -> dict[str, Any]:
    if data is None:
        return empty_manifest()
    shown = f"{display}/{key}"
    try:
        doc = fsio.parse_json(data)
    except ValueError as exc:
        raise InputError(f"{shown}: not JSON ({exc})", input=shown) from None
    from observability import schemas

    problems = schemas.errors("lake_manifest", doc)
    if problems:
        where, message = problems[0]
        raise InputError(f"{shown}: {schemas.json_path(where)}: {message}", input=shown)
    if doc["schema_version"] != schema.SCHEMA_VERSION:
        raise InputError(
            f"{shown}: tables of schema version {doc['schema_version']}, this release writes "
            f"{schema.SCHEMA_VERSION}; ingest into a new lake directory",
            input=shown,
        )
    return doc


def live_files(manifest: dict[str, Any], table: str) -> list[str]:
    """The lake-relative Parquet files of ``table`` the manifest lists (sorted): what a reader reads."""
    return sorted(k for k, f in manifest["files"].items() if f["table"] == table)


def to_parquet(table: str, rows: list[dict[str, Any]]) -> bytes:
    """``rows`` as one Parquet file with the table's schema (a value of the wrong type: InputError). A
    registered secret in any text cell (a token in a run's params.json) is written redacted."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [secrets.redact_value(row) for row in rows]

    try:
        data = pa.Table.from_pylist(rows, schema=schema.arrow_schema(table))
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError) as exc:
        raise InputError(f"table {table}: {exc}") from None
    out = io.BytesIO()
    pq.write_table(data, out, compression="zstd")
    return out.getvalue()


def from_parquet(data: bytes) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(data)).to_pylist()


def part_key(table: str, day: str | None, data: bytes) -> str:
    return f"{schema.partition_key(table, day)}/part-{sha256_hex(data)[:16]}.parquet"


@dataclass
class Change:
    """What one run of a writer adds and drops; :func:`commit` applies it."""

    put: dict[str, bytes] = field(default_factory=dict)
    drop: set[str] = field(default_factory=set)

    def add(self, manifest: dict[str, Any], table: str, day: str | None, rows: list[dict[str, Any]]) -> str:
        data = to_parquet(table, rows)
        key = part_key(table, day, data)
        self.put[key] = data
        self.drop.discard(key)
        manifest["files"][key] = {"table": table, "date": day, "rows": len(rows), "sha256": sha256_hex(data)}
        return key


def commit(lake: Lake, change: Change, updated_at: str) -> None:
    """Files first, the manifest last (the commit point), then the replaced files removed."""
    for key, data in sorted(change.put.items()):
        lake.bucket.put(key, data)
    live = set(lake.manifest["files"])
    lake.manifest["updated_at"] = updated_at
    lake.manifest["inputs"].sort(key=lambda e: (e["source"], e["table"]))
    # The commit point: the next generation's record, created only if no other writer (another runner
    # on the same S3 prefix or directory: the job lock guards one workspace) made it first.
    generation = lake.manifest.get("generation", 0) + 1
    lake.manifest["generation"] = generation
    data = fsio.canonical_json(lake.manifest, indent=1).encode()
    if not lake.bucket.create(_commit_key(generation), data):
        raise LakeConflict(
            f"{lake.display}: another writer committed to the lake (generation {generation}) since this run "
            "read it; nothing was committed. Run again: it starts from the new manifest"
        )
    lake.bucket.put(MANIFEST, data)
    gone = sorted(k for k in change.drop if k not in live)
    if generation > KEEP_COMMITS:
        gone.append(_commit_key(generation - KEEP_COMMITS))
    if gone:
        lake.bucket.delete_many(gone)


def sweep(lake: Lake) -> list[str]:
    """Parquet files the manifest does not list (left by a killed run): their keys, removed by the
    commit once it has won its generation. Removed now, they could be another writer's newer commit,
    which this run's manifest, read earlier, does not know about."""
    live = set(lake.manifest["files"])
    found: list[str] = []
    for table in schema.TABLES:
        for key in lake.bucket.list(f"{table}/"):
            if PurePosixPath(key).suffix == ".parquet" and key not in live:
                found.append(key)
    lake.bucket.sweep_temps()  # temp files of writes killed over an hour ago
    return sorted(found)

"""The snapshot manifest: generation, per-file sha256 and size, created_at, job_id (schema state_manifest)."""

from __future__ import annotations

import gzip
import re
import zlib
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from observability import fsio, schemas
from observability.errors import SchemaError
from observability.state.errors import SnapshotCorrupt
from observability.state.selection import Entry, is_local_config, is_synced, is_upstream

SCHEMA = "state_manifest"
SCHEMA_VERSION = "1.0.0"
SCHEMA_VERSION_ENCODED = "1.1.0"  # some blobs are stored compressed (files[].encoding)
GZIP_MAGIC = b"\x1f\x8b"  # a manifest stored compressed (file and S3 stores); JSON never starts so


@dataclass(frozen=True)
class Manifest:
    """One generation of the store."""

    generation: int
    parent_generation: int
    created_at: str
    job_id: str
    files: dict[str, Entry] = field(default_factory=dict)
    merged_generation: int | None = None
    source_command: str | None = None
    commit_sha: str | None = None

    def as_dict(self) -> dict[str, Any]:
        files = {path: entry_dict(e) for path, e in sorted(self.files.items())}
        # Readers that predate blob encodings refuse 1.1.0 loudly instead of reading gzip as content.
        encoded = any(e.encoding for e in self.files.values())
        data: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION_ENCODED if encoded else SCHEMA_VERSION,
            "generation": self.generation,
            "parent_generation": self.parent_generation,
            "created_at": self.created_at,
            "job_id": self.job_id,
            "files": files,
        }
        if self.merged_generation is not None:
            data["merged_generation"] = self.merged_generation
        if self.source_command is not None:
            data["source_command"] = self.source_command
        data["commit_sha"] = self.commit_sha
        return data

    def to_bytes(self) -> bytes:
        """Canonical JSON (compact: a year-old store names thousands of files), validated before it leaves."""
        data = self.as_dict()
        check(data, what=f"state manifest generation {self.generation}")
        return fsio.canonical_json(data).encode("utf-8")


def entry_dict(entry: Entry) -> dict[str, Any]:
    out: dict[str, Any] = {"sha256": entry.sha256, "size": entry.size}
    if entry.encoding:
        out["encoding"] = entry.encoding
    return out


def parse(raw: bytes, *, where: str) -> Manifest:
    """Read a manifest from the store (plain or gzip-compressed JSON); anything malformed is SnapshotCorrupt."""
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise SnapshotCorrupt(f"{where}: manifest is not valid gzip ({exc})") from None
    try:
        data = fsio.parse_json(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise SnapshotCorrupt(f"{where}: manifest is not valid JSON ({exc})") from None
    try:
        check(data, what=where)
    except SchemaError as exc:
        raise SnapshotCorrupt(exc.message) from None
    files = {}
    for path, entry in data["files"].items():
        # The schema pattern already refuses these; checked again because a pull writes these paths.
        if is_upstream(path):
            continue  # a store written before inputs left the state (0.1.0): dropped by the next push
        if is_local_config(path):
            continue  # pushed by a release that did not know ops/observability/: dropped by the next push
        if not is_synced(path):
            raise SnapshotCorrupt(f"{where}: file path {path!r} is outside the synced ops/ tree")
        files[path] = Entry(entry["sha256"], entry["size"], entry.get("encoding"))
    return Manifest(
        generation=data["generation"],
        parent_generation=data["parent_generation"],
        created_at=data["created_at"],
        job_id=data["job_id"],
        files=files,
        merged_generation=data.get("merged_generation"),
        source_command=data.get("source_command"),
        commit_sha=data.get("commit_sha"),
    )


# Keywords of the per-file entry schema that the fast check below implements. If the schema ever
# uses another one, every manifest takes the full jsonschema walk instead (slower, never laxer).
_ENTRY_KEYWORDS = {"type", "required", "additionalProperties", "properties"}
_FIELD_KEYWORDS = {"type", "pattern", "minimum", "enum", "description"}


@dataclass(frozen=True)
class _Field:
    kind: str | None
    pattern: re.Pattern[str] | None
    minimum: float | None
    enum: tuple | None


@cache
def _entry_rules() -> tuple[re.Pattern[str], frozenset[str], dict[str, _Field]] | None:
    files = schemas.load_schema(SCHEMA)["properties"]["files"]
    entry = files["additionalProperties"]
    if (
        set(files) - {"type", "description", "propertyNames", "additionalProperties"}
        or set(entry) - _ENTRY_KEYWORDS
        or entry.get("additionalProperties") is not False
        or any(
            set(spec) - _FIELD_KEYWORDS or spec.get("type") not in (None, "string", "integer")
            for spec in entry["properties"].values()
        )
    ):
        return None
    fields = {
        key: _Field(
            spec.get("type"),
            re.compile(spec["pattern"]) if "pattern" in spec else None,
            spec.get("minimum"),
            tuple(spec["enum"]) if "enum" in spec else None,
        )
        for key, spec in entry["properties"].items()
    }
    return re.compile(files["propertyNames"]["pattern"]), frozenset(entry.get("required", ())), fields


def _entry_ok(entry: Any, required: frozenset[str], fields: dict[str, _Field]) -> bool:
    if not isinstance(entry, dict) or not required <= entry.keys():
        return False
    for key, value in entry.items():
        spec = fields.get(key)
        if spec is None:
            return False
        if spec.kind == "string" and not isinstance(value, str):
            return False
        if spec.kind == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
            return False
        if spec.pattern is not None and not (isinstance(value, str) and spec.pattern.search(value)):
            return False
        if spec.minimum is not None and not (
            isinstance(value, (int, float)) and not isinstance(value, bool) and value >= spec.minimum
        ):
            return False
        if spec.enum is not None and value not in spec.enum:
            return False
    return True


def check(data: Any, *, what: str) -> None:
    """Validate a manifest against its schema; SchemaError names the first bad field.

    A year-old store names thousands of files, and jsonschema's generic walk costs about 0.2 s per
    6,000 entries on every pull and push. So the document is validated with an empty ``files``
    and each entry by the rules the schema states for it (read from the schema itself); only a
    manifest that fails that check is walked in full, for the exact message.
    """
    rules = _entry_rules()
    files = data.get("files") if isinstance(data, dict) else None
    if rules is None or not isinstance(files, dict):
        schemas.validate(SCHEMA, data, what=what)
        return
    names, required, fields = rules
    schemas.validate(SCHEMA, {**data, "files": {}}, what=what)
    if not all(
        isinstance(path, str) and names.search(path) and _entry_ok(entry, required, fields)
        for path, entry in files.items()
    ):
        schemas.validate(SCHEMA, data, what=what)

"""The snapshot manifest: generation, per-file sha256 and size, created_at, job_id (schema state_manifest)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from observability import fsio, schemas
from observability.errors import SchemaError
from observability.store.errors import SnapshotCorrupt
from observability.store.selection import Entry, is_synced

SCHEMA = "state_manifest"
SCHEMA_VERSION = "1.0.0"


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
        data: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION, "generation": self.generation,
            "parent_generation": self.parent_generation, "created_at": self.created_at, "job_id": self.job_id,
            "files": {path: {"sha256": e.sha256, "size": e.size} for path, e in sorted(self.files.items())},
        }
        if self.merged_generation is not None:
            data["merged_generation"] = self.merged_generation
        if self.source_command is not None:
            data["source_command"] = self.source_command
        data["commit_sha"] = self.commit_sha
        return data

    def to_bytes(self) -> bytes:
        """Canonical JSON, validated against the schema before it leaves the process."""
        data = self.as_dict()
        schemas.validate(SCHEMA, data, what=f"state manifest generation {self.generation}")
        return fsio.canonical_json(data, indent=2).encode("utf-8")


def parse(raw: bytes, *, where: str) -> Manifest:
    """Read a manifest from the store; anything malformed is SnapshotCorrupt naming ``where``."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise SnapshotCorrupt(f"{where}: manifest is not valid JSON ({exc})") from None
    try:
        schemas.validate(SCHEMA, data, what=where)
    except SchemaError as exc:
        raise SnapshotCorrupt(exc.message) from None
    files = {}
    for path, entry in data["files"].items():
        # The schema pattern already refuses these; checked again because a pull writes these paths.
        if not is_synced(path):
            raise SnapshotCorrupt(f"{where}: file path {path!r} is outside the synced ops/ tree")
        files[path] = Entry(entry["sha256"], entry["size"])
    return Manifest(generation=data["generation"], parent_generation=data["parent_generation"],
                    created_at=data["created_at"], job_id=data["job_id"], files=files,
                    merged_generation=data.get("merged_generation"), source_command=data.get("source_command"),
                    commit_sha=data.get("commit_sha"))

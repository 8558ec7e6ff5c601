"""The bundle manifest and its sequence: +1 per export, never reused, serialised by a lock.

The sequence is max(sequence file, manifest on disk, newest history snapshot) + 1 and the
sequence file is written before the manifest, so a run killed in between leaves a gap, never a
reused number, and a deleted or restored manifest cannot send the sequence backwards.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from observability import fsio, schemas

SCHEMA = "dashboard_manifest"
SCHEMA_VERSION = "1.0.0"
LOCK_TIMEOUT_SECONDS = 120
SEQUENCE_FILE = "ops/dashboard_export.sequence"  # the last manifest sequence number, kept across bundles


def load(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(manifest, problem): a missing manifest is (None, None); an unreadable one names why."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"cannot read ({exc.strerror or exc})"
    try:
        doc = fsio.parse_json(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"not valid JSON ({exc})"
    if not isinstance(doc, dict):
        return None, "not a JSON object"
    return doc, None


def entries(doc: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The manifest's dataset entries by name (entries that are not objects are ignored)."""
    if not doc or not isinstance(doc.get("datasets"), list):
        return {}
    return {e["dataset"]: e for e in doc["datasets"] if isinstance(e, dict) and isinstance(e.get("dataset"), str)}


def _read_int(path: Path) -> int:
    try:
        return int(path.read_text(encoding="ascii").strip() or 0)
    except (OSError, ValueError):
        return 0


def next_sequence(counter: Path, manifest_doc: dict[str, Any] | None, history_max: int) -> int:
    """Reserve the next sequence number (call with the bundle lock held)."""
    on_disk = manifest_doc.get("sequence") if manifest_doc else 0
    current = max(_read_int(counter), on_disk if isinstance(on_disk, int) else 0, history_max)
    sequence = current + 1
    fsio.atomic_write_text(counter, f"{sequence}\n")
    return sequence


def last_sequence(counter: Path) -> int:
    return _read_int(counter)


def write(path: Path, doc: dict[str, Any], *, display: str) -> bytes:
    """Validate against schemas/dashboard_manifest.schema.json and write atomically; returns the bytes."""
    schemas.validate(SCHEMA, doc, what=display)
    data = fsio.canonical_json(doc, indent=2).encode("utf-8")
    fsio.atomic_write_bytes(path, data)
    return data

"""Reader for the router demo telemetry (``execution_health`` per strategy)."""

from __future__ import annotations

from pathlib import Path

from observability.clock import iso, parse_iso
from observability.dashboard.cache import ContentCache
from observability.dashboard.sources import SourceData, json_object, read_required
from observability.errors import InputError
from observability.upstream import telemetry as upstream_telemetry
from observability.workspace import Workspace


def parse(data: bytes) -> dict:
    """``{"generated_at", "rows": [...], "errors": [...]}``; entries with bad values are skipped (upstream.values)."""
    doc = json_object(data)
    rows, skips = upstream_telemetry.execution_health(doc)
    generated_at = None
    for key in ("generated_at", "as_of", "timestamp"):
        if isinstance(doc.get(key), str):
            try:
                generated_at = iso(parse_iso(doc[key]))
            except ValueError:
                raise ValueError(f"field {key}: {doc[key]!r} is not an ISO-8601 timestamp") from None
            break
    return {"generated_at": generated_at, "rows": rows, "errors": skips.warnings}


def read(ws: Workspace, path: Path, cache: ContentCache) -> SourceData:
    rel = ws.rel(path)
    digest, parsed = read_required(rel, path, "router telemetry", cache, parse)
    out = SourceData(value=parsed, inputs=[(rel, digest)])
    out.warnings.extend(f"{rel}: {e}" for e in parsed["errors"])
    out.skipped = len(parsed["errors"])
    if not parsed["rows"]:
        raise InputError(f"{rel}: execution_health has no usable strategy entry"
                         + (f" ({parsed['errors'][0]})" if parsed["errors"] else ""))
    return out

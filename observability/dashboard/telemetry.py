"""Reader for the router demo telemetry (``execution_health`` per strategy)."""

from __future__ import annotations

from pathlib import Path

from observability.dashboard.cache import ContentCache
from observability.dashboard.sources import SourceData, json_object, read_required
from observability.errors import InputError
from observability.upstream import telemetry as upstream_telemetry
from observability.workspace import Workspace


def parse(data: bytes) -> dict:
    """``{"generated_at", "rows": [...], "errors": [...]}``; entries with bad values are skipped (upstream.values)."""
    doc = json_object(data)
    _key, generated_at, stamp_skips = upstream_telemetry.generated_at(doc)
    rows, skips = upstream_telemetry.execution_health(doc)
    return {"generated_at": generated_at, "rows": rows, "errors": stamp_skips.warnings + skips.warnings}


def read(ws: Workspace, path: Path, cache: ContentCache) -> SourceData:
    rel = ws.rel(path)
    digest, parsed = read_required(rel, path, "router telemetry", cache, parse)
    out = SourceData(value=parsed, inputs=[(rel, digest)])
    out.warnings.extend(f"{rel}: {e}" for e in parsed["errors"])
    out.skipped = len(parsed["errors"])
    if not parsed["rows"]:
        raise InputError(
            f"{rel}: execution_health has no usable strategy entry"
            + (f" ({parsed['errors'][0]})" if parsed["errors"] else "")
        )
    return out

"""Reader for ``ops/signal_latency_rollup.csv``, the hourly rollups the latency job maintains (as day files
under ``ops/signal_latency_rollup/``): read with the weekly report's rule, :func:`observability.outputs.rollups.parse_parts`
(an unusable row is skipped with a warning naming its file and line)."""

from __future__ import annotations

from pathlib import Path

from observability.dashboard.cache import ContentCache
from observability.dashboard.sources import SourceData, read_required
from observability.outputs.rollups import parse_parts, read_parts
from observability.workspace import Workspace


def read(ws: Workspace, path: Path, cache: ContentCache) -> SourceData:
    rel = ws.rel(path)
    parts: list = []

    def combined(p: Path) -> bytes:
        data, found = read_parts(p)
        parts.extend(found)
        return data

    def parse(_data: bytes) -> dict:
        rows, warnings = parse_parts(parts, ws.rel)
        return {"rows": [r.as_dict() for r in rows], "errors": warnings}

    digest, parsed = read_required(
        rel, path, "latency rollups (run `observability latency sample` first)", cache, parse, read=combined
    )
    return SourceData(
        value=parsed["rows"], inputs=[(rel, digest)], warnings=list(parsed["errors"]), skipped=len(parsed["errors"])
    )

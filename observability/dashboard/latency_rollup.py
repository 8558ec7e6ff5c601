"""Reader for ``ops/signal_latency_rollup.csv``, the hourly rollups the latency job maintains (as day files
under ``ops/signal_latency_rollup/``, joined by :func:`observability.outputs.rollups.read_combined`)."""

from __future__ import annotations

from pathlib import Path

from observability.dashboard.cache import ContentCache
from observability.dashboard.sources import SourceData, read_required
from observability.errors import InputError
from observability.outputs.rollups import HEADER, RollupRow, read_combined
from observability.workspace import Workspace


def parse(data: bytes, display: str) -> list[dict]:
    """Rollup rows as dicts, parsed with the latency job's own row type (same columns, same rules)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 ({exc.reason})") from None
    lines = text.splitlines(keepends=True)
    if not lines or lines[0] != HEADER:
        found = lines[0].strip() if lines else "nothing"
        raise ValueError(f"line 1: unexpected header {found!r}")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.endswith("\n"):
            continue  # the latency job rewrites atomically; an unterminated line is not its output
        try:
            rows.append(RollupRow.parse(line, f"{display}: line {number}").as_dict())
        except InputError as exc:
            raise ValueError(exc.message.split(": ", 1)[1]) from None
    return rows


def read(ws: Workspace, path: Path, cache: ContentCache) -> SourceData:
    rel = ws.rel(path)
    digest, rows = read_required(rel, path, "latency rollups (run `observability latency sample` first)", cache,
                                 lambda raw: parse(raw, rel), read=read_combined)
    return SourceData(value=rows, inputs=[(rel, digest)])

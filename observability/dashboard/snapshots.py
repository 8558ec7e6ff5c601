"""The ev_history dataset's input: the state archive read by :mod:`observability.upstream.state_archive`,
each snapshot parsed through the dashboard's content cache."""

from __future__ import annotations

from pathlib import Path

from observability.dashboard.cache import ContentCache
from observability.dashboard.sources import SourceData
from observability.upstream import state_archive
from observability.workspace import Workspace


def read(ws: Workspace, root: Path, cache: ContentCache) -> SourceData:
    """Every usable snapshot under ``root`` as (workspace path, key, posterior); the others are warnings."""
    archive = state_archive.read(
        ws, root, lambda rel, data: cache.get_or_compute(rel, data, state_archive.parse_snapshot)
    )
    return SourceData(
        value=archive.snapshots, inputs=archive.inputs, warnings=archive.warnings, skipped=archive.skipped
    )

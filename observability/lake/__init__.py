"""The history lake: every run's artefacts and our own telemetry as Parquet tables, queried with DuckDB.

``from observability.lake import query, query_runs, aggregate_stats`` (docs/lake.md). DuckDB and
PyArrow come with the optional ``[lake]`` extra and are imported only when a lake is opened.
"""

from __future__ import annotations

# The function ``query`` is bound after the submodule observability.lake.query is imported (by api),
# so the package attribute is the function; the module stays importable by its full name.
from observability.lake.api import aggregate_stats, query, query_runs

__all__ = ["aggregate_stats", "query", "query_runs"]

"""The history lake (seed 004 §1): every run's artefacts and our own facts as Parquet tables under one
root, queried with DuckDB. ``lake ingest`` and ``lake compact`` are its jobs, ``lake query``/``runs``/
``stats`` its questions; ``from observability.lake import ingest, query, query_runs, aggregate_stats``
(docs/lake.md). Nothing here imports PyArrow or DuckDB until a function needs them (the ``[lake]`` extra).
"""

from __future__ import annotations

# The function ``query`` is bound after the submodule observability.lake.query is imported (by api),
# so the package attribute is the function; the module stays importable by its full name.
from observability.lake.api import aggregate_stats, query, query_runs
from observability.lake.ingest import ingest

__all__ = ["aggregate_stats", "ingest", "query", "query_runs"]

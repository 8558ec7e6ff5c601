"""The history lake (seed 004 §1): every run's artefacts and our own facts as Parquet tables under one
root, queried with DuckDB. ``lake ingest`` and ``lake compact`` are its jobs; docs/lake.md the manual.

Nothing here imports pyarrow or DuckDB until a function needs them (the ``[lake]`` extra).
"""

from __future__ import annotations

from observability.lake.ingest import ingest

__all__ = ["ingest"]

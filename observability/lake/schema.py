"""The lake's tables: their columns and types, which are partitioned by day, and the schema version.

This is the contract between ``lake ingest`` (which writes the Parquet files) and ``lake query``
(which reads them); docs/lake.md describes every column. Bump :data:`SCHEMA_VERSION` when a column
changes: the manifest records it and an ingest into a lake of another version refuses to mix them.
Every table also carries ``_input``: the workspace path of the input its row came from, so a changed
input's rows can be replaced even after ``lake compact`` merged its files with others.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA_VERSION = 1
INPUT_COLUMN = "_input"
# Parquet logical types, spelled as DuckDB names them (DESCRIBE): what tests/test_lake.py checks.
TYPES = ("VARCHAR", "DATE", "TIMESTAMP WITH TIME ZONE", "DOUBLE", "BIGINT", "BOOLEAN")


@dataclass(frozen=True)
class Table:
    """One table: its columns (name, DuckDB type), and what gives the UTC day of its partition (a
    column, or for ``stats`` its run's timestamp; ``None``: a dimension table, unpartitioned)."""

    name: str
    columns: tuple[tuple[str, str], ...]
    partition_by: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.columns)


_TS = "TIMESTAMP WITH TIME ZONE"

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "runs",
            (
                ("run_id", "VARCHAR"),
                ("strategy", "VARCHAR"),
                ("symbol", "VARCHAR"),
                ("start_date", "DATE"),
                ("end_date", "DATE"),
                ("git_sha", "VARCHAR"),
                ("timestamp", _TS),
                ("stage", "VARCHAR"),
                ("runner", "VARCHAR"),
                ("params", "VARCHAR"),
                (INPUT_COLUMN, "VARCHAR"),
            ),
            "timestamp",
        ),
        Table(
            "stats",
            (("run_id", "VARCHAR"), ("metric", "VARCHAR"), ("value", "DOUBLE"), (INPUT_COLUMN, "VARCHAR")),
            "the run's timestamp",
        ),
        Table(
            "trades",
            (
                ("run_id", "VARCHAR"),
                ("timestamp", _TS),
                ("symbol", "VARCHAR"),
                ("side", "VARCHAR"),
                ("quantity", "DOUBLE"),
                ("price", "DOUBLE"),
                ("pnl", "DOUBLE"),
                (INPUT_COLUMN, "VARCHAR"),
            ),
            "timestamp",
        ),
        Table(
            "strategies",
            (
                ("strategy", "VARCHAR"),
                ("tier", "VARCHAR"),
                ("category", "VARCHAR"),
                ("last_updated", _TS),
                (INPUT_COLUMN, "VARCHAR"),
            ),
        ),
        Table(
            "latency_hourly",
            (
                ("hour_utc", _TS),
                ("source", "VARCHAR"),
                ("count", "BIGINT"),
                ("failure_count", "BIGINT"),
                ("failure_rate", "DOUBLE"),
                ("p50_ms", "DOUBLE"),
                ("p95_ms", "DOUBLE"),
                ("p99_ms", "DOUBLE"),
                ("max_ms", "DOUBLE"),
                ("breach_flag", "BOOLEAN"),
                ("breach_streak", "BIGINT"),
                (INPUT_COLUMN, "VARCHAR"),
            ),
            "hour_utc",
        ),
        Table(
            "ev_snapshots",
            (
                ("generated_at", _TS),
                ("strategy", "VARCHAR"),
                ("symbol", "VARCHAR"),
                ("mode", "VARCHAR"),
                ("variant", "VARCHAR"),
                ("alpha", "DOUBLE"),
                ("beta", "DOUBLE"),
                ("decay", "DOUBLE"),
                ("conf", "DOUBLE"),
                (INPUT_COLUMN, "VARCHAR"),
            ),
            "generated_at",
        ),
        Table(
            "router_telemetry",
            (
                ("generated_at", _TS),
                ("strategy", "VARCHAR"),
                ("slippage_bps", "DOUBLE"),
                ("reject_rate", "DOUBLE"),
                ("fill_count", "BIGINT"),
                ("window_days", "DOUBLE"),
                (INPUT_COLUMN, "VARCHAR"),
            ),
            "generated_at",
        ),
        Table(
            "weekly_reports",
            (
                ("week_start", "DATE"),
                ("generated_at", _TS),
                ("runs", "BIGINT"),
                ("trades", "BIGINT"),
                ("total_pips", "DOUBLE"),
                ("budget_status", "VARCHAR"),
                ("gross_exposure_pct", "DOUBLE"),
                ("drawdown_pct", "DOUBLE"),
                ("latency_p95_ms", "DOUBLE"),
                ("latency_breaches", "BIGINT"),
                ("alerts", "BIGINT"),
                (INPUT_COLUMN, "VARCHAR"),
            ),
            "generated_at",
        ),
        Table(
            "alerts",
            (
                ("job_id", "VARCHAR"),
                ("job", "VARCHAR"),
                ("at", _TS),
                ("id", "VARCHAR"),
                ("rule", "VARCHAR"),
                ("source", "VARCHAR"),
                ("severity", "VARCHAR"),
                ("status", "VARCHAR"),
                ("breach_streak", "BIGINT"),
                (INPUT_COLUMN, "VARCHAR"),
            ),
            "at",
        ),
        Table(
            "job_runs",
            (
                ("job_id", "VARCHAR"),
                ("job", "VARCHAR"),
                ("status", "VARCHAR"),
                ("started_at", _TS),
                ("completed_at", _TS),
                ("duration_ms", "BIGINT"),
                ("attempts", "BIGINT"),
                ("error_code", "VARCHAR"),
                ("commit_sha", "VARCHAR"),
                ("sequence", "BIGINT"),
                (INPUT_COLUMN, "VARCHAR"),
            ),
            "started_at",
        ),
    )
}
FACT_TABLES = tuple(t for t, spec in TABLES.items() if spec.partition_by)
STAGES = ("backtest", "research", "live")


def arrow_schema(table: str):
    """The pyarrow schema of ``table`` (pyarrow imported here: the ``[lake]`` extra)."""
    import pyarrow as pa

    kinds = {
        "VARCHAR": pa.string(),
        "DATE": pa.date32(),
        _TS: pa.timestamp("us", tz="UTC"),
        "DOUBLE": pa.float64(),
        "BIGINT": pa.int64(),
        "BOOLEAN": pa.bool_(),
    }
    return pa.schema([pa.field(name, kinds[kind]) for name, kind in TABLES[table].columns])


def partition_key(table: str, day: str | None) -> str:
    """The folder of a table's files under the lake root: ``<table>/date=YYYY-MM-DD`` or ``<table>``."""
    return f"{table}/date={day}" if day else table

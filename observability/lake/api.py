"""The lake's query API in Python: ``query``, ``query_runs`` and ``aggregate_stats``, each returning
plain Python (a list of dicts) read through DuckDB from the Parquet files.

Examples (``lake`` is the lake root, a directory or ``s3://bucket/prefix``)::

    from observability.lake import aggregate_stats, query, query_runs

    # All runs with Sharpe > 2.0 in Q4 2024, best first
    query_runs("sharpe > 2.0", since="2024-10-01", until="2024-12-31", order_by="sharpe desc", limit=10)

    # Average (and median, min, max, stddev) Sharpe by strategy in 2024-Q4
    aggregate_stats("sharpe", group_by="strategy", period="2024-Q4")

    # Anything else, in SQL over the views runs, stats, trades, strategies, ...
    query("SELECT symbol, count(*) AS runs FROM runs GROUP BY symbol ORDER BY runs DESC")
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from observability.lake import where as where_lang
from observability.lake.query import (
    LakeQueryError,
    LakeUnavailableError,
    Result,
    check_read_only,
    connect,
    execute,
    local_root,
)

DEFAULT_LAKE = "lake"
GROUP_BY = ("strategy", "symbol", "stage", "runner", "month")
LAKE_TABLES = ("runs", "stats")  # what query_runs and aggregate_stats read


def query(sql: str, *, lake: str | Path = DEFAULT_LAKE, timeout: float | None = None) -> list[dict[str, Any]]:
    """Rows of one read-only SQL statement over the lake's tables (each a view named after it),
    stopped after ``timeout`` seconds (default query.QUERY_TIMEOUT_S)."""
    return query_result(sql, lake=lake, timeout=timeout).records()


def query_result(sql: str, *, lake: str | Path = DEFAULT_LAKE, timeout: float | None = None) -> Result:
    check_read_only(sql)
    with local_root(lake) as root:
        return execute(connect(root), sql, timeout=timeout)


def _instant(text: str | dt.date | None, option: str, *, end: bool = False) -> dt.datetime | None:
    """An ISO date or time as a naive UTC datetime; a bare date as ``end`` of day (exclusive) when ``end``."""
    if text is None or text == "":
        return None
    if isinstance(text, dt.datetime):
        value = text
    elif isinstance(text, dt.date):
        value = dt.datetime(text.year, text.month, text.day) + (dt.timedelta(days=1) if end else dt.timedelta())
    else:
        try:
            value = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
        except ValueError:
            raise LakeQueryError(f"{option}: {text!r} is not an ISO date (YYYY-MM-DD) or time") from None
        if end and re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(text)):
            value += dt.timedelta(days=1)  # --until 2024-12-31 includes that day
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def period_range(period: str, option: str = "--period") -> tuple[dt.datetime, dt.datetime]:
    """``2024``, ``2024-Q4`` or ``2024-10`` as [start, end) in UTC."""
    text = period.strip()
    if m := re.fullmatch(r"(\d{4})", text):
        year = int(m[1])
        return dt.datetime(year, 1, 1), dt.datetime(year + 1, 1, 1)
    if m := re.fullmatch(r"(\d{4})-[Qq]([1-4])", text):
        year, q = int(m[1]), int(m[2])
        start = dt.datetime(year, 3 * q - 2, 1)
        return start, (dt.datetime(year + 1, 1, 1) if q == 4 else dt.datetime(year, 3 * q + 1, 1))
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        year, month = int(m[1]), int(m[2])
        if 1 <= month <= 12:
            return dt.datetime(year, month, 1), (
                dt.datetime(year + 1, 1, 1) if month == 12 else dt.datetime(year, month + 1, 1)
            )
    raise LakeQueryError(f"{option}: {period!r} is not a year (2024), quarter (2024-Q4) or month (2024-10)")


def _metrics(con) -> list[str]:
    if not _has(con, "stats"):
        return []
    return [
        row[0] for row in execute(con, "SELECT DISTINCT metric FROM stats WHERE metric IS NOT NULL ORDER BY 1").rows
    ]


def _has(con, table: str) -> bool:
    found = execute(con, "SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND NOT internal", [table]).rows
    return bool(found and found[0][0])


def _runs_columns(con) -> list[str]:
    if not _has(con, "runs"):
        raise LakeUnavailableError(
            "the lake has no runs table: run `observability lake ingest` first (an ingest writes none when "
            "runs/index.csv is missing or every run is past its stage's retention, lake.yaml retention_days)"
        )
    # the view's columns as bound when it was created: no second read of every file's footer
    found = execute(
        con,
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'runs' AND NOT internal ORDER BY column_index",
    )
    return [row[0] for row in found.rows]


def _runs_relation(con) -> tuple[str, list[Any], list[str]]:
    """SQL for runs with each metric of ``stats`` as a column (a runs column of the same name wins)."""
    columns = _runs_columns(con)
    metrics = [m for m in _metrics(con) if m.lower() not in {c.lower() for c in columns}]
    if not metrics:
        return "SELECT * FROM runs", [], columns
    pivots = ", ".join(
        f"max(value) FILTER (WHERE metric = ? AND NOT isnan(value)) AS {where_lang.quote(m)}" for m in metrics
    )
    sql = (
        f"SELECT runs.*, {', '.join('m.' + where_lang.quote(x) for x in metrics)} FROM runs "
        f"LEFT JOIN (SELECT run_id, {pivots} FROM stats GROUP BY run_id) AS m USING (run_id)"
    )
    return sql, list(metrics), columns + metrics


def _time_filter(column: str, since, until, period: str | None, conditions: list[str], params: list[Any]) -> None:
    start = _instant(since, "--since")
    end = _instant(until, "--until", end=True)
    if period:
        p_start, p_end = period_range(period)
        start = max(start, p_start) if start else p_start
        end = min(end, p_end) if end else p_end
    if start is not None:
        conditions.append(f"{column} >= ?")
        params.append(start)
    if end is not None:
        conditions.append(f"{column} < ?")
        params.append(end)


@dataclass(frozen=True)
class RunsQuery:
    """What ``query_runs`` and ``lake runs`` ask: filters (and-ed), time range, order and limit."""

    where: tuple[str, ...] = ()
    since: str | dt.date | None = None
    until: str | dt.date | None = None
    order_by: str | None = None
    limit: int | None = None


def runs_result(ask: RunsQuery, lake: str | Path = DEFAULT_LAKE) -> Result:
    if ask.limit is not None and ask.limit < 0:
        raise LakeQueryError(f"--limit: {ask.limit} is negative")
    with local_root(lake) as root:
        con = connect(root, LAKE_TABLES)
        base, params, known = _runs_relation(con)
        conditions: list[str] = []
        for clause in ask.where:
            sql, values = where_lang.compile_where(clause, known)
            conditions.append(sql)
            params.extend(values)
        _time_filter('"timestamp"', ask.since, ask.until, None, conditions, params)
        text = f"SELECT * FROM ({base}) AS r"
        if conditions:
            text += " WHERE " + " AND ".join(conditions)
        order = where_lang.compile_order(ask.order_by, known) if ask.order_by else '"timestamp" DESC, run_id'
        text += f" ORDER BY {order}"
        if ask.limit is not None:
            text += f" LIMIT {int(ask.limit)}"
        return execute(con, text, params)


def query_runs(
    where: str | Iterable[str] | None = None,
    *,
    lake: str | Path = DEFAULT_LAKE,
    since: str | dt.date | None = None,
    until: str | dt.date | None = None,
    order_by: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Runs with their metrics (every metric of ``stats`` as a column), filtered and ordered.

    ``where``: comparisons of known columns/metrics with literals, joined by and/or/not (several
    strings are and-ed); ``since``/``until``: the run's timestamp, ISO dates inclusive; ``order_by``:
    ``"sharpe desc, run_id"`` (default newest first). An unknown name is a LakeQueryError naming it
    and listing the known ones.
    """
    clauses = (where,) if isinstance(where, str) else tuple(where or ())
    return runs_result(RunsQuery(clauses, since, until, order_by, limit), lake).records()


@dataclass(frozen=True)
class StatsQuery:
    """What ``aggregate_stats`` and ``lake stats`` ask: one metric, its grouping and its runs' time range."""

    metric: str
    group_by: str | None = "strategy"
    period: str | None = None
    since: str | dt.date | None = None
    until: str | dt.date | None = None


def stats_result(ask: StatsQuery, lake: str | Path = DEFAULT_LAKE) -> Result:
    metric, group_by = ask.metric, ask.group_by
    if group_by is not None and group_by not in GROUP_BY:
        raise LakeQueryError(f"--group-by: unknown {group_by!r}; known: {', '.join(GROUP_BY)}", column=group_by)
    with local_root(lake) as root:
        con = connect(root, LAKE_TABLES)
        columns = _runs_columns(con)
        known = _metrics(con)
        if metric not in known:
            raise LakeQueryError(
                f"--metric: unknown metric {metric!r}; known: {', '.join(known) or '(the stats table is empty)'}",
                column=metric,
            )
        if group_by and group_by != "month" and group_by not in columns:
            raise LakeQueryError(f"--group-by: the runs table has no column {group_by!r}", column=group_by)
        key = "strftime(r.\"timestamp\", '%Y-%m')" if group_by == "month" else f"r.{where_lang.quote(group_by or '')}"
        conditions = ["s.metric = ?", "s.value IS NOT NULL", "NOT isnan(s.value)"]
        params: list[Any] = [metric]
        _time_filter('r."timestamp"', ask.since, ask.until, ask.period, conditions, params)
        select = f"{key} AS {where_lang.quote(group_by)}, " if group_by else ""
        text = (
            f"SELECT {select}count(s.value) AS count, avg(s.value) AS mean, median(s.value) AS median, "
            "min(s.value) AS min, max(s.value) AS max, stddev_samp(s.value) AS stddev "
            f"FROM stats AS s JOIN runs AS r USING (run_id) WHERE {' AND '.join(conditions)}"
        )
        if group_by:
            text += " GROUP BY 1 ORDER BY 1 NULLS LAST"
        return execute(con, text, params)


def aggregate_stats(
    metric: str,
    *,
    group_by: str | None = "strategy",
    period: str | None = None,
    since: str | dt.date | None = None,
    until: str | dt.date | None = None,
    lake: str | Path = DEFAULT_LAKE,
) -> list[dict[str, Any]]:
    """count, mean, median, min, max and stddev of one metric per ``group_by`` (strategy, symbol,
    stage, runner, month; None: one row overall), for the runs in ``period`` (``2024``, ``2024-Q4``,
    ``2024-10``) and/or ``since``..``until`` on the run's timestamp."""
    return stats_result(StatsQuery(metric, group_by, period, since, until), lake).records()

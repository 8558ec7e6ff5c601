"""Hourly rollup statistics straight from raw-store bytes: the full-recompute path.

The raw store's rows are canonical (``YYYY-MM-DDTHH:MM:SSZ,source,latency_ms,status,detail``, written by
:func:`observability.latency.rawstore.format_rows`), so the hour is the first 13 characters of a row
and a row without a quote splits on commas. No csv row, datetime or Sample is made per row; a record
holding a quote (a quoted detail, maybe over several lines) and a timestamp in another form go through
the same rules as :func:`observability.latency.rawstore.parse_rows`, so both give the same groups.

:func:`hourly_stats_duckdb` does the same with DuckDB's ``quantile_cont`` when the ``lake`` extra is
installed (``pip install 'observability[lake]'``); the pure-Python path is the default and the reference.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

from observability.clock import parse_iso
from observability.latency.stats import Stats, percentile
from observability.upstream.signal_log import SUCCESS_STATUSES


def _slow_key(stamp: str, source: str) -> tuple[str, str] | None:
    """The (hour, source) key of a row whose timestamp is not canonical; None when parse_rows skips it."""
    if stamp == "timestamp_utc":
        return None
    try:
        value = datetime.fromisoformat(stamp) if stamp.endswith("Z") else parse_iso(stamp)
    except ValueError:
        return None
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}", source


class _Groups:
    def __init__(self):
        self.values: dict[tuple[str, str], list[float]] = {}
        self.failures: dict[tuple[str, str], int] = {}
        self.errors: dict[tuple[str, str], int] = {}

    def add_row(self, row: list[str]) -> None:
        """One csv-parsed row, with parse_rows's rules."""
        if not row or len(row) < 4:
            return
        stamp = row[0]
        key = (
            (stamp[:13], row[1])
            if len(stamp) == 20 and stamp[19] == "Z" and stamp[10] == "T"
            else _slow_key(stamp, row[1])
        )
        if key is None:
            return
        try:
            value = float(row[2])
        except ValueError:
            return
        self.values.setdefault(key, []).append(value)
        if row[3] not in SUCCESS_STATUSES:
            self.failures[key] = self.failures.get(key, 0) + 1
            if row[3] == "error":
                self.errors[key] = self.errors.get(key, 0) + 1

    def add_lines(self, lines: list[str]) -> None:
        """Plain lines (no quote, no carriage return): the hot loop."""
        values, failures, errors = self.values, self.failures, self.errors
        get = values.get
        ok = SUCCESS_STATUSES
        for line in lines:
            parts = line.split(",", 4)
            if len(parts) < 4:
                continue
            stamp = parts[0]
            if len(stamp) == 20 and stamp[19] == "Z" and stamp[10] == "T":
                key = (stamp[:13], parts[1])
            else:
                slow = _slow_key(stamp, parts[1])
                if slow is None:
                    continue
                key = slow
            try:
                value = float(parts[2])
            except ValueError:
                continue
            found = get(key)
            if found is None:
                values[key] = [value]
            else:
                found.append(value)
            status = parts[3]
            if status not in ok:
                failures[key] = failures.get(key, 0) + 1
                if status == "error":
                    errors[key] = errors.get(key, 0) + 1

    def stats(self) -> dict[tuple[str, str], Stats]:
        out = {}
        failures, errors = self.failures, self.errors
        for key, values in self.values.items():
            values.sort()
            out[key] = Stats(
                len(values),
                failures.get(key, 0),
                errors.get(key, 0),
                percentile(values, 0.50),
                percentile(values, 0.95),
                percentile(values, 0.99),
                values[-1],
            )
        return out


def hourly_stats(data: bytes) -> dict[tuple[str, str], Stats]:
    """Stats per (``YYYY-MM-DDTHH``, source) of raw-store bytes (header lines skipped), as
    ``summarise(hours_by_source(parse_rows(data)))`` gives them."""
    text = data.decode("utf-8", "replace")
    groups = _Groups()
    if '"' not in text and "\r" not in text:
        groups.add_lines(text.split("\n"))
        return groups.stats()
    plain: list[str] = []
    pending: list[str] = []
    for line in text.split("\n"):
        if pending or '"' in line or "\r" in line:
            pending.append(line)
            record = "\n".join(pending)
            if record.count('"') % 2:
                continue  # a quoted field goes on over the next line
            pending = []
            if plain:
                groups.add_lines(plain)
                plain = []
            for row in csv.reader(io.StringIO(record)):
                groups.add_row(row)
        else:
            plain.append(line)
    groups.add_lines(plain)
    if pending:  # a torn quoted tail: csv reads what it can, as parse_rows does
        for row in csv.reader(io.StringIO("\n".join(pending))):
            groups.add_row(row)
    return groups.stats()


DUCKDB_QUERY = """
SELECT strftime(date_trunc('hour', strptime(timestamp_utc, '%Y-%m-%dT%H:%M:%SZ')), '%Y-%m-%dT%H') AS hour,
       source,
       count(*) AS count,
       count(*) FILTER (WHERE status NOT IN ('success', 'ok', 'stable')) AS failure_count,
       count(*) FILTER (WHERE status = 'error') AS error_count,
       quantile_cont(latency_ms, 0.50) AS p50_ms,
       quantile_cont(latency_ms, 0.95) AS p95_ms,
       quantile_cont(latency_ms, 0.99) AS p99_ms,
       max(latency_ms) AS max_ms
FROM read_csv(?, header = true, quote = '"', escape = '"',
              columns = {'timestamp_utc': 'VARCHAR', 'source': 'VARCHAR', 'latency_ms': 'DOUBLE',
                         'status': 'VARCHAR', 'detail': 'VARCHAR'COLUMNS})
GROUP BY ALL
"""


def duckdb_available() -> bool:
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return False
    return True


def hourly_stats_duckdb(path: Path) -> dict[tuple[str, str], Stats]:
    """The same groups with DuckDB (the ``lake`` extra); raises ImportError without it."""
    import duckdb

    con = duckdb.connect()
    try:
        with open(path, "rb") as handle:  # a file from before ingest_latency_ms has five columns
            legacy = b"ingest_latency_ms" not in handle.readline()
        query = DUCKDB_QUERY.replace("COLUMNS", "" if legacy else ", 'ingest_latency_ms': 'VARCHAR'")
        rows = con.execute(query, [str(path)]).fetchall()
    finally:
        con.close()
    assert set(SUCCESS_STATUSES) == {"success", "ok", "stable"}  # the query spells them out
    return {
        (hour, source): Stats(count, failures, errors, p50, p95, p99, top)
        for hour, source, count, failures, errors, p50, p95, p99, top in rows
    }

"""Full rollup recompute with DuckDB (the DuckDB baselines of bench/run.py; benchmark-only dependency).

Same input and output as bench/recompute_ours.py: timestamps parsed, grouped per hour and
source, quantile_cont (linear interpolation) for p50/p95/p99, max and count.

Usage: python bench/recompute_duckdb.py RAW.csv OUT.csv
"""

import sys

import duckdb

QUERY = """
COPY (
  SELECT strftime(date_trunc('hour', strptime(timestamp_utc, '%Y-%m-%dT%H:%M:%SZ')), '%Y-%m-%dT%H') AS hour,
         source,
         count(*) AS count,
         quantile_cont(latency_ms, 0.50) AS p50_ms,
         quantile_cont(latency_ms, 0.95) AS p95_ms,
         quantile_cont(latency_ms, 0.99) AS p99_ms,
         max(latency_ms) AS max_ms
  FROM read_csv(?, header = true,
                columns = {'timestamp_utc': 'VARCHAR', 'source': 'VARCHAR', 'latency_ms': 'DOUBLE',
                           'status': 'VARCHAR', 'detail': 'VARCHAR', 'ingest_latency_ms': 'VARCHAR'})
  GROUP BY ALL
  ORDER BY hour, source
) TO '{out}' (HEADER, DELIMITER ',')
"""


def main(raw: str, out: str) -> None:
    con = duckdb.connect()
    con.execute(QUERY.replace("{out}", out.replace("'", "''")), [raw])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

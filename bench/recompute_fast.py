"""Full rollup recompute with the product's recompute path (observability.latency.recompute).

Same input and output as bench/recompute_ours.py and bench/recompute_duckdb.py: hour,source,count,
p50_ms,p95_ms,p99_ms,max_ms per (hour, source), sorted. ``--engine python`` (default) is the pure-Python
path (hourly_stats over the raw bytes: no csv row, datetime or Sample per row); ``--engine duckdb``
the product's DuckDB path (the ``lake`` extra). Phase times go to stderr as one JSON line.

Usage: python bench/recompute_fast.py RAW.csv OUT.csv [--engine python|duckdb]
"""

import json
import sys
import time
from pathlib import Path

from observability.latency import recompute


def main(raw: str, out: str, engine: str) -> None:
    t0 = time.perf_counter()
    if engine == "duckdb":
        stats = recompute.hourly_stats_duckdb(Path(raw))
        t1 = t2 = time.perf_counter()
    else:
        with open(raw, "rb") as handle:
            data = handle.read()
        t1 = time.perf_counter()
        stats = recompute.hourly_stats(data)
        t2 = time.perf_counter()
    lines = ["hour,source,count,p50_ms,p95_ms,p99_ms,max_ms\n"]
    for (hour, source), s in sorted(stats.items()):
        lines.append(f"{hour},{source},{s.count},{s.p50_ms!r},{s.p95_ms!r},{s.p99_ms!r},{s.max_ms!r}\n")
    with open(out, "w", encoding="utf-8") as handle:
        handle.writelines(lines)
    t3 = time.perf_counter()
    print(json.dumps({"engine": engine, "read": t1 - t0, "hourly_stats": t2 - t1, "write": t3 - t2}), file=sys.stderr)


if __name__ == "__main__":
    args = sys.argv[1:]
    engine = "python"
    if "--engine" in args:
        i = args.index("--engine")
        engine = args[i + 1]
        del args[i:i + 2]
    main(args[0], args[1], engine)

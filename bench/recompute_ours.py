"""Full rollup recompute with the product's own code (the 1M-sample recompute row of bench/run.py).

Reads a raw CSV in our raw format and computes count, p50/p95/p99 (linear interpolation, as SQL
quantile_cont) and max per (hour, source) with observability.latency.recompute: ``--engine python``
(default) is the pure-Python path, hourly_stats over the raw bytes (no csv row, datetime or Sample
per row); ``--engine duckdb`` is the product's optional DuckDB engine (the ``lake`` extra);
``--engine samples`` is the per-sample path the job used before (rawstore.parse_rows +
hours_by_source + stats.summarise), kept for comparison. Writes hour,source,count,p50_ms,p95_ms,
p99_ms,max_ms (sorted) to OUT, and the time of each phase as one JSON line on stderr.

Usage: python bench/recompute_ours.py RAW.csv OUT.csv [--engine python|duckdb|samples]
"""

import json
import sys
import time
from pathlib import Path


def compute(raw: str, engine: str) -> tuple[dict, dict]:
    t0 = time.perf_counter()
    if engine == "duckdb":
        from observability.latency.recompute import hourly_stats_duckdb

        stats = hourly_stats_duckdb(Path(raw))
        return stats, {"duckdb": time.perf_counter() - t0}
    with open(raw, "rb") as handle:
        data = handle.read()
    t1 = time.perf_counter()
    if engine == "samples":
        from observability.latency.rawstore import hours_by_source, parse_rows
        from observability.latency.stats import summarise

        samples = parse_rows(data)
        t2 = time.perf_counter()
        groups = hours_by_source(samples)
        t3 = time.perf_counter()
        stats = {key: summarise(group) for key, group in groups.items()}
        return stats, {
            "read": t1 - t0,
            "parse_rows": t2 - t1,
            "hours_by_source": t3 - t2,
            "summarise": time.perf_counter() - t3,
        }
    from observability.latency.recompute import hourly_stats

    stats = hourly_stats(data)
    return stats, {"read": t1 - t0, "hourly_stats": time.perf_counter() - t1}


def main(raw: str, out: str, engine: str) -> None:
    stats, phases = compute(raw, engine)
    t4 = time.perf_counter()
    lines = ["hour,source,count,p50_ms,p95_ms,p99_ms,max_ms\n"]
    for (hour, source), s in sorted(stats.items()):
        lines.append(f"{hour},{source},{s.count},{s.p50_ms!r},{s.p95_ms!r},{s.p99_ms!r},{s.max_ms!r}\n")
    with open(out, "w", encoding="utf-8") as handle:
        handle.writelines(lines)
    phases["write"] = time.perf_counter() - t4
    print(json.dumps({"engine": engine, **phases}), file=sys.stderr)


if __name__ == "__main__":
    args = sys.argv[1:]
    engine = "python"
    if "--engine" in args:
        i = args.index("--engine")
        engine = args[i + 1]
        del args[i : i + 2]
    if engine not in ("python", "duckdb", "samples"):
        raise SystemExit(f"--engine {engine!r}: expected python, duckdb or samples")
    main(args[0], args[1], engine)

"""Full rollup recompute with the product's own code (the 1M-sample recompute row of bench/run.py).

Reads a raw CSV in our raw format, parses it with observability.latency.rawstore.parse_rows,
groups it per (hour, source) with rawstore.hours_by_source and summarises each group with
observability.latency.stats.summarise. Writes hour,source,count,p50_ms,p95_ms,p99_ms,max_ms
(sorted) to OUT, and the time of each phase as one JSON line on stderr.

Usage: python bench/recompute_ours.py RAW.csv OUT.csv
"""

import json
import sys
import time

from observability.latency.rawstore import hours_by_source, parse_rows
from observability.latency.stats import summarise


def main(raw: str, out: str) -> None:
    t0 = time.perf_counter()
    with open(raw, "rb") as handle:
        data = handle.read()
    t1 = time.perf_counter()
    samples = parse_rows(data)
    t2 = time.perf_counter()
    groups = hours_by_source(samples)
    t3 = time.perf_counter()
    stats = {key: summarise(group) for key, group in groups.items()}
    t4 = time.perf_counter()
    lines = ["hour,source,count,p50_ms,p95_ms,p99_ms,max_ms\n"]
    for (hour, source), s in sorted(stats.items()):
        lines.append(f"{hour},{source},{s.count},{s.p50_ms!r},{s.p95_ms!r},{s.p99_ms!r},{s.max_ms!r}\n")
    with open(out, "w", encoding="utf-8") as handle:
        handle.writelines(lines)
    t5 = time.perf_counter()
    print(json.dumps({"read": t1 - t0, "parse_rows": t2 - t1, "hours_by_source": t3 - t2, "summarise": t4 - t3,
                      "write": t5 - t4}), file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

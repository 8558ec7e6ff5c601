"""The raw sample store's row format (ops/signal_latency.csv): written by the latency job, by ``migrate``.

``timestamp_utc,source,latency_ms,status,detail,ingest_latency_ms`` (the columns differ from the
upstream signal log's, whose file once had the same name: docs/migration.md).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import datetime

from observability.clock import iso, parse_iso
from observability.upstream.signal_log import Sample

HEADER = "timestamp_utc,source,latency_ms,status,detail,ingest_latency_ms\n"
HEADER_BYTES = HEADER.encode()
# The header before ingest_latency_ms: such a file is still read and appended to (its rows keep five
# columns) until its next rotation rewrites it under HEADER; rows without the field read as None.
LEGACY_HEADER_BYTES = b"timestamp_utc,source,latency_ms,status,detail\n"


_SPECIAL = re.compile(r'[,"\r\n]')


def format_rows(samples: Iterable[Sample], *, ingest: bool = True) -> list[bytes]:
    """Rows of the raw store; ``ingest=False`` leaves out ingest_latency_ms (a legacy-header file)."""
    out = []
    special = _SPECIAL.search
    for s in samples:
        tail = ("," + ("" if s.ingest_latency_ms is None else str(s.ingest_latency_ms))) if ingest else ""
        if not (special(s.source) or special(s.status) or special(s.detail)):
            # Nothing the csv module would quote: the same text without a writer per row.
            out.append(f"{iso(s.timestamp)},{s.source},{s.latency_ms:.3f},{s.status},{s.detail}{tail}\n".encode())
            continue
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(
            [iso(s.timestamp), s.source, f"{s.latency_ms:.3f}", s.status, s.detail]
        )
        out.append((buffer.getvalue()[:-1] + tail + "\n").encode("utf-8"))
    return out


def _ingest(row: list[str]) -> int | None:
    try:
        return int(row[5]) if len(row) > 5 and row[5] else None
    except ValueError:
        return None


def parse_rows(data: bytes) -> list[Sample]:
    """Parse rows of our own raw format (header lines skipped)."""
    samples = []
    for row in csv.reader(io.StringIO(data.decode("utf-8", "replace"))):
        if not row or row[0] == "timestamp_utc" or len(row) < 4:
            continue
        try:
            # Our own rows carry canonical UTC text, which fromisoformat reads directly (3.11+).
            stamp = datetime.fromisoformat(row[0]) if row[0].endswith("Z") else parse_iso(row[0])
            samples.append(Sample(stamp, row[1], float(row[2]), row[3], row[4] if len(row) > 4 else "", _ingest(row)))
        except ValueError:
            continue
    return samples

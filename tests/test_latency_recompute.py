"""The full-recompute path (observability.latency.recompute) against the per-sample path and DuckDB."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from observability.latency.rawstore import HEADER_BYTES, format_rows, hours_by_source, parse_rows
from observability.latency.recompute import duckdb_available, hourly_stats, hourly_stats_duckdb
from observability.latency.stats import summarise
from observability.upstream.signal_log import Sample

START = datetime(2026, 1, 1, 22, tzinfo=UTC)
DETAILS = ["", "", "", "timeout", "a, comma", 'a "quoted" word', "Traceback:\n  line 1\n  line 2", "x\r\ny"]
STATUSES = ["success", "success", "success", "ok", "stable", "failure", "error", "timeout"]


def raw_bytes(seed: int, count: int = 3000) -> bytes:
    rng = random.Random(seed)
    samples = [
        Sample(
            START + timedelta(seconds=rng.randrange(0, 4 * 3600)),
            rng.choice(["a", "b", "c.d"]),
            round(rng.expovariate(1 / 800), 3),
            rng.choice(STATUSES),
            rng.choice(DETAILS),
        )
        for _ in range(count)
    ]
    return HEADER_BYTES + b"".join(format_rows(samples))


def reference(data: bytes) -> dict:
    return {key: summarise(group) for key, group in hours_by_source(parse_rows(data)).items()}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_recompute_equals_the_per_sample_path(seed):
    data = raw_bytes(seed)
    assert b'"' in data  # quoted details, some over several lines, take the csv path
    assert hourly_stats(data) == reference(data)


def test_recompute_of_plain_rows_equals_the_per_sample_path():
    rows = [r for r in raw_bytes(4).split(b"\n") if b'"' not in r and b"\r" not in r]
    data = b"\n".join(rows) + b"\n"
    got = hourly_stats(data)
    assert got == reference(data) and len(got) >= 12


def test_rows_parse_rows_skips_are_skipped_and_other_timestamp_forms_grouped_alike():
    data = (
        HEADER_BYTES + b"2026-01-01T10:59:59Z,a,5.000,success,\n"
        b"2026-01-01T12:30:00+01:00,a,7.000,failure,\n"  # 11:30 UTC
        b"not a time,a,1.000,success,\n"
        b"2026-01-01T10:10:00Z,a,fast,success,\n"
        b"short,row\n"
        b"\n" + HEADER_BYTES + b"2026-01-01T11:00:00Z,a,9.000,error,x\n"
    )
    got = hourly_stats(data)
    assert got == reference(data)
    assert got[("2026-01-01T11", "a")].count == 2 and got[("2026-01-01T11", "a")].error_count == 1


@pytest.mark.skipif(not duckdb_available(), reason="duckdb is not installed (the optional `lake` extra)")
@pytest.mark.parametrize("seed", [5, 6])
def test_duckdb_path_equals_the_python_path_within_1e_9(tmp_path, seed):
    data = raw_bytes(seed)
    path = tmp_path / "raw.csv"
    path.write_bytes(data)
    ours, theirs = hourly_stats(data), hourly_stats_duckdb(path)
    assert set(ours) == set(theirs)
    for key, mine in ours.items():
        other = theirs[key]
        assert (mine.count, mine.failure_count, mine.error_count) == (
            other.count,
            other.failure_count,
            other.error_count,
        ), key
        for field in ("p50_ms", "p95_ms", "p99_ms", "max_ms"):
            assert abs(getattr(mine, field) - getattr(other, field)) <= 1e-9, (key, field)

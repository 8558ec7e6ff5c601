"""Hourly rollups against an independent computation; rollup retention; raw retention and size rotation."""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import statistics
from collections import Counter, defaultdict
from datetime import timedelta

import pytest

from _support_latency import (
    append_log,
    archive_rows,
    assert_valid,
    current_row,
    iso,
    ok_run,
    raw_rows,
    rollup_rows,
    row_key,
    ts,
    write_log,
)

SLO = 1000.0
SUCCESS = {"success", "ok", "stable"}


def reference_rollups(all_rows: list[tuple]) -> dict[tuple[str, str], dict]:
    """(stamp, latency, status, source) tuples -> expected rollup values per (hour, source)."""
    groups = defaultdict(list)
    for stamp, latency, status, source in all_rows:
        groups[(stamp.strftime("%Y-%m-%dT%H:00:00Z"), source)].append((latency, status))
    out = {}
    for key, items in groups.items():
        values = [v for v, _ in items]
        failures = sum(s not in SUCCESS for _, s in items)
        errors = sum(s == "error" for _, s in items)
        if len(values) == 1:
            p50 = p95 = p99 = values[0]
        else:
            cuts = statistics.quantiles(values, n=100, method="inclusive")
            p50, p95, p99 = statistics.median(values), cuts[94], cuts[98]
        out[key] = {
            "count": len(values),
            "failure_count": failures,
            "failure_rate": failures / len(values),
            "p50_ms": p50,
            "p95_ms": p95,
            "p99_ms": p99,
            "max_ms": max(values),
            "breach_flag": p95 > SLO or failures / len(values) > 0.2 or errors > 0,
        }
    return out


def expected_streaks(ref: dict) -> dict:
    out, last = {}, {}
    for hour, source in sorted(ref):
        prev = last.get(source)
        contiguous = prev is not None and ts(hour) - ts(prev[0]) == timedelta(hours=1)
        if ref[(hour, source)]["breach_flag"]:
            out[(hour, source)] = (prev[1] + 1) if contiguous else 1
        else:
            out[(hour, source)] = 0
        last[source] = (hour, out[(hour, source)])
    return out


def check_against_reference(ws, generated: list[tuple]) -> None:
    ref = reference_rollups(generated)
    streaks = expected_streaks(ref)
    got = {(r["hour_utc"], r["source"]): r for r in rollup_rows(ws)}
    assert set(got) == set(ref)
    for key, exp in ref.items():
        row = got[key]
        assert int(row["count"]) == exp["count"], key
        assert int(row["failure_count"]) == exp["failure_count"], key
        assert float(row["failure_rate"]) == pytest.approx(exp["failure_rate"], abs=1e-4), key
        for col in ("p50_ms", "p95_ms", "p99_ms", "max_ms"):
            assert float(row[col]) == pytest.approx(exp[col], abs=1e-3), (key, col)
        assert row["breach_flag"] == ("true" if exp["breach_flag"] else "false"), key
        assert int(row["breach_streak"]) == streaks[key], key


def gen(rng, start, hours, sources=("feed_a", "feed_b")) -> list[tuple]:
    out = []
    for h in range(hours):
        for source in sources:
            slow = rng.random() < 0.5
            for _ in range(rng.randint(1, 12)):
                stamp = start + timedelta(hours=h, seconds=rng.randrange(3600))
                latency = round(rng.uniform(900, 3000) if slow else rng.uniform(5, 900), 3)
                status = rng.choices(["success", "ok", "stable", "failure", "timeout"], [6, 2, 2, 1, 1])[0]
                out.append((stamp.replace(microsecond=0), latency, status, source))
    return out


def to_rows(items) -> list[str]:
    return [current_row(s, v, st, "", src) for s, v, st, src in items]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rollups_match_independent_computation(tmp_path, seed):
    rng = random.Random(seed)
    start = ts("2025-10-11T00:00:00Z")
    generated = gen(rng, start, 8)
    rng.shuffle(generated)  # the log is not in time order
    write_log(tmp_path / "log.csv", to_rows(generated))
    summary = ok_run(tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=9))
    check_against_reference(tmp_path, generated)
    assert summary["rollups_written"] == len(reference_rollups(generated))
    # a second run adds samples to some hours (including a late one) and must agree again
    more = gen(rng, start + timedelta(hours=5), 5)
    append_log(tmp_path / "log.csv", to_rows(more))
    ok_run(tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=10, minutes=15))
    check_against_reference(tmp_path, generated + more)


def test_breach_streak_across_consecutive_hours(tmp_path):
    start = ts("2025-10-11T00:00:00Z")
    bad = lambda h: [(start + timedelta(hours=h, minutes=m), 5000.0, "success", "feed_a") for m in (1, 2)]
    good = lambda h: [(start + timedelta(hours=h, minutes=m), 10.0, "success", "feed_a") for m in (1, 2)]
    items = bad(0) + bad(1) + bad(2) + good(3) + bad(4) + bad(6) + bad(7)  # hour 5 has no samples
    write_log(tmp_path / "log.csv", to_rows(items))
    ok_run(tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=8))
    streaks = [(r["hour_utc"][11:13], int(r["breach_streak"])) for r in rollup_rows(tmp_path)]
    assert streaks == [("00", 1), ("01", 2), ("02", 3), ("03", 0), ("04", 1), ("06", 1), ("07", 2)]
    # continuing in a later run: hour 08 extends the streak persisted in the file
    append_log(tmp_path / "log.csv", to_rows(bad(8)))
    ok_run(tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=9))
    assert [int(r["breach_streak"]) for r in rollup_rows(tmp_path)][-1] == 3


def test_untouched_hours_are_kept_byte_identical(tmp_path):
    start = ts("2025-10-11T00:00:00Z")
    rng = random.Random(11)
    generated = gen(rng, start, 4)
    write_log(tmp_path / "log.csv", to_rows(generated))
    ok_run(tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=5))
    path = tmp_path / "ops" / "signal_latency_rollup" / "2025-10-11.csv"  # the day file of every hour here
    lines = path.read_text().splitlines(keepends=True)
    # Mark untouched rows so a recomputation would be visible: hour 00 (before the change), 02 and 03 (after).
    marked = []
    for line in lines:
        if line.startswith(
            ("2025-10-11T00:00:00Z,feed_a,", "2025-10-11T02:00:00Z,feed_a,", "2025-10-11T03:00:00Z,feed_b,")
        ):
            parts = line.split(",")
            parts[5] = "4242.000"  # p50_ms: a value no recomputation would produce
            line = ",".join(parts)
        marked.append(line)
    path.write_text("".join(marked))
    before = {tuple(line.split(",")[:2]): line for line in marked[1:]}
    # a late sample for hour 01 of feed_a that does not change its breach flag
    late = [(start + timedelta(hours=1, minutes=30), 1.0, "success", "feed_a")]
    append_log(tmp_path / "log.csv", to_rows(late))
    summary = ok_run(tmp_path, "--input", "log.csv", "--slo-ms", str(SLO), now=start + timedelta(hours=5, minutes=15))
    assert summary["rollups_written"] == 2  # hour 01 is touched: both of its rows are recomputed
    after_lines = path.read_text().splitlines(keepends=True)
    after = {tuple(line.split(",")[:2]): line for line in after_lines[1:]}
    assert set(after) == set(before)
    for key, line in before.items():
        if key[0] != "2025-10-11T01:00:00Z":
            assert after[key] == line, key
    ref = reference_rollups(generated + late)
    for source in ("feed_a", "feed_b"):
        row = after[("2025-10-11T01:00:00Z", source)].split(",")
        assert int(row[2]) == ref[("2025-10-11T01:00:00Z", source)]["count"]
        assert float(row[5]) == pytest.approx(ref[("2025-10-11T01:00:00Z", source)]["p50_ms"], abs=1e-3)
    assert after[("2025-10-11T01:00:00Z", "feed_a")] != before[("2025-10-11T01:00:00Z", "feed_a")]


def test_rollup_retention_drops_old_rows(tmp_path):
    now = ts("2025-10-11T12:00:00Z")
    items = [
        (now - timedelta(days=5, minutes=30), 100.0, "success", "feed_a"),
        (now - timedelta(days=3, minutes=30), 100.0, "success", "feed_a"),
        (now - timedelta(hours=1), 100.0, "success", "feed_a"),
    ]
    write_log(tmp_path / "log.csv", to_rows(items))
    ok_run(tmp_path, "--input", "log.csv", now=now)
    assert len(rollup_rows(tmp_path)) == 3
    append_log(tmp_path / "log.csv", to_rows([(now + timedelta(minutes=5), 50.0, "success", "feed_a")]))
    summary = ok_run(tmp_path, "--input", "log.csv", "--rollup-retention-days", "4", now=now + timedelta(minutes=15))
    hours = [r["hour_utc"] for r in rollup_rows(tmp_path)]
    assert summary["rollups_dropped"] == 1
    assert hours == sorted(hours)
    cutoff = iso(now + timedelta(minutes=15) - timedelta(days=4))
    assert all(h >= cutoff[:13] for h in hours)
    assert hours == [iso(items[1][0])[:13] + ":00:00Z", iso(items[2][0])[:13] + ":00:00Z", iso(now)[:13] + ":00:00Z"]


def _manifest(ws) -> list[dict]:
    path = ws / "ops" / "signal_latency_archive" / "manifest.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _check_manifest(ws) -> list[dict]:
    lines = _manifest(ws)
    for entry in lines:
        assert_valid("signal_latency_archive", entry)
        archive = ws / entry["path"]
        data = archive.read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        body = gzip.decompress(data).decode().splitlines()
        assert body[0] == "timestamp_utc,source,latency_ms,status,detail,ingest_latency_ms"
        assert len(body) - 1 == entry["row_count"]
        assert archive.name == f"{entry['job_id']}.csv.gz"
    return lines


def _assert_union(ws, items) -> None:
    union = [row_key(r) for r in raw_rows(ws) + archive_rows(ws)]
    assert not [k for k, n in Counter(union).items() if n > 1]
    expected = sorted((iso(s), src, round(v, 3), st) for s, v, st, src in items)
    assert sorted(union) == expected


def test_raw_retention_archives_whole_days(tmp_path):
    now = ts("2025-10-30T12:00:00Z")  # cutoff: 2025-10-16T00:00:00Z with 14 days
    stamps = [
        "2025-10-10T05:00:00Z",
        "2025-10-14T23:00:00Z",
        "2025-10-15T00:00:00Z",
        "2025-10-15T23:59:59Z",
        "2025-10-16T00:00:00Z",
        "2025-10-16T00:30:00Z",
        "2025-10-29T10:00:00Z",
        "2025-10-30T11:00:00Z",
    ]
    items = [(ts(s), 100.0 + i, "success", "feed_a") for i, s in enumerate(stamps)]
    write_log(tmp_path / "log.csv", to_rows(items))
    summary = ok_run(tmp_path, "--input", "log.csv", "--raw-retention-days", "14", now=now)
    lines = _check_manifest(tmp_path)
    assert len(lines) == 1
    entry = lines[0]
    assert entry["reason"] == "retention" and entry["row_count"] == 4
    assert entry["path"] == f"ops/signal_latency_archive/2025/10/{summary['job_id']}.csv.gz"
    assert summary["rotated"] == [entry["path"]]
    assert entry["first_timestamp_utc"] == "2025-10-10T05:00:00Z"
    assert entry["last_timestamp_utc"] == "2025-10-15T23:59:59Z"
    assert sorted(r["timestamp_utc"] for r in archive_rows(tmp_path)) == stamps[:4]
    assert sorted(r["timestamp_utc"] for r in raw_rows(tmp_path)) == stamps[4:]
    _assert_union(tmp_path, items)
    # the next day, 2025-10-16 becomes due; nothing else moves and nothing is lost
    append_log(tmp_path / "log.csv", to_rows([(ts("2025-10-31T11:00:00Z"), 5.0, "success", "feed_a")]))
    items.append((ts("2025-10-31T11:00:00Z"), 5.0, "success", "feed_a"))
    ok_run(tmp_path, "--input", "log.csv", now=ts("2025-10-31T12:00:00Z"))
    lines = _check_manifest(tmp_path)
    assert len(lines) == 2 and lines[1]["row_count"] == 2
    assert sorted(r["timestamp_utc"] for r in raw_rows(tmp_path)) == stamps[6:] + ["2025-10-31T11:00:00Z"]
    _assert_union(tmp_path, items)


def test_size_rotation_keeps_every_sample(tmp_path):
    start = ts("2025-10-11T00:00:00Z")
    items: list[tuple] = []
    log = tmp_path / "log.csv"
    write_log(log, [])
    for run in range(6):
        batch = [
            (start + timedelta(hours=run * 2, minutes=m * 7), 100.0 + run * 100 + m, "success", "feed_a")
            for m in range(17)
        ]
        items.extend(batch)
        append_log(log, to_rows(batch))
        summary = ok_run(
            tmp_path, "--input", "log.csv", "--max-raw-bytes", "1024", now=start + timedelta(hours=run * 2 + 2)
        )
        raw_size = (tmp_path / "ops" / "signal_latency.csv").stat().st_size
        assert raw_size <= 1024, (run, raw_size)
        assert summary["next_rotation_bytes"] == 1024 - raw_size
        _assert_union(tmp_path, items)
    lines = _check_manifest(tmp_path)
    assert len(lines) >= 2
    assert {e["reason"] for e in lines} == {"size"}
    assert len({e["path"] for e in lines}) == len(lines)
    # archives hold whole hours, oldest first
    archived = [r["timestamp_utc"] for r in archive_rows(tmp_path)]
    kept = [r["timestamp_utc"] for r in raw_rows(tmp_path)]
    assert max(archived) < min(kept)
    # rollups still cover every hour that had samples
    assert len(rollup_rows(tmp_path)) == len({iso(s)[:13] for s, *_ in items})
